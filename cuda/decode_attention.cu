// Decode attention (one new query per request), flash-decoding style.
// Grouped-query models (2 to 16 query heads per KV head, no ALiBi) run the
// tensor-core kernel of decode_attention_gqa.cu instead of kernel 1 below;
// kernel 2 merges either's splits. Kernel 1 serves MHA models and ALiBi.
//
// Kernel 1, grid (n_head / G, n_reqs, n_splits), 128 threads: a block takes
// G query heads that share one KV head (G = 1, 2 or 4, chosen by the
// launcher; G = 1 for ratios such as 7), so each K/V vector is read once for
// all G heads instead of once per head. Request r's visible keys are cut into
// n_splits equal chunks (sized here from kv_len, so the launch shape never
// depends on per-step host values). The block's 8 groups of 16 lanes each
// take every 8th key of the chunk; a lane holds 8 dims of the head (one
// 16-byte load of K and of V per key, K and V of 4 keys issued together),
// the 16 lanes reduce the G dot products
// with shuffles, and each group keeps G online softmaxes (max m, sum l, acc).
// The groups are merged through shared memory, per query head. With one split
// the block writes the output; otherwise it writes (m, l, acc) per (request,
// query head, split) to the workspace and kernel 2 merges the splits.
// Scores are in base 2 (q pre-scaled by scale * log2 e).
//
// Cascade groups (cascade_attention.cu): a grouped request reads only keys
// [kv_begin[r], kv_len) here; the cascade kernel writes its shared prefix's
// partials into workspace parts n_splits .. n_parts - 1 of the same layout,
// and kernel 2 merges those too (for grouped requests only: the parts of the
// others hold stale values).
#include "attention_common.cuh"
#include "cascade_attention.cuh"
#include "decode_attention_gqa.cuh"
#include "launch.cuh"
#include <algorithm>
#include <type_traits>

namespace lightllm::gpu {

constexpr int kThreads = 128;
constexpr int kGroups = kThreads / 16;

// 8 values of K or V for dims [d0, d0 + 8) of (slot, g) as stored: 16 bytes
// of f16/bf16, or 8 bytes of int8 (in raw.x, raw.y) and their scale. Loads
// are issued for K and V of several keys before any is used (unpack8 turns
// them into floats), so one memory latency covers both.
struct KvRaw {
    uint4 raw;
    float scale;
};

__device__ __forceinline__ KvRaw load_raw(const AttnArgs& a, const void* cache, const float* scale, int64_t slot,
                                          int g, int d0, int elem_bytes) {
    int64_t idx = (slot * a.n_kv_head + g) * a.head_dim + d0;
    KvRaw r;
    if (a.kv_int8) {
        uint2 v = *reinterpret_cast<const uint2*>(static_cast<const int8_t*>(cache) + idx);
        r.raw = make_uint4(v.x, v.y, 0u, 0u);
        r.scale = scale[slot * a.n_kv_head + g];
    } else {
        r.raw = *reinterpret_cast<const uint4*>(static_cast<const char*>(cache) + idx * elem_bytes);
        r.scale = 1.0f;
    }
    return r;
}

template <typename T>
__device__ __forceinline__ void unpack8(const AttnArgs& a, const KvRaw& r, float* out) {
    if (a.kv_int8) {
        const int8_t* b = reinterpret_cast<const int8_t*>(&r.raw);
#pragma unroll
        for (int i = 0; i < 8; ++i) out[i] = float(b[i]) * r.scale;
    } else {
        const T* v = reinterpret_cast<const T*>(&r.raw);
#pragma unroll
        for (int i = 0; i < 8; ++i) out[i] = to_float(v[i]);
    }
}

// Blocks per SM the compiler must fit: 6 (80 registers instead of 96, no
// spills) for one head of 128 dims per block, as MHA models (Llama-2-7B) run;
// other shapes spill at 80 registers and keep the compiler's choice.
template <int D, int G> constexpr int kMinBlocks = G == 1 && D == 128 ? 6 : 1;

// G query heads per block; all register arrays below are indexed by
// unrolled loop counters only, so they stay in registers. The body of both
// kernels below: n_splits chunks of the keys [kv_begin[r] or 0, kv_len),
// partials in workspace parts 0..n_splits-1 of n_parts per (request, head).
template <typename T, int D, int G>
__device__ __forceinline__ void decode_attention_body(const AttnArgs& a, float* ws, int n_splits, int n_parts,
                                                      const int* kv_begin) {
    static_assert(sizeof(T) == 2, "16-bit types only");
    constexpr int kLanes = D / 8;               // lanes of a group that hold dims
    constexpr int kUnroll = 4;  // keys per group in flight (8 measured no faster: bench/NOTES.md run 7)
    int h0 = blockIdx.x * G, r = blockIdx.y, split = blockIdx.z;
    int n_reqs = gridDim.y;
    int q_end = a.q_start[r + 1];
    if (q_end - a.q_start[r] < 1) return;
    int token = q_end - 1;
    int L = a.kv_len[r], qpos = L - 1;
    int begin = first_visible_key(qpos, a.sliding_window);
    if (kv_begin) begin = max(begin, kv_begin[r]);
    int chunk = (L - begin + n_splits - 1) / n_splits;
    int s0 = begin + split * chunk, s1 = min(L, s0 + chunk);
    int g = h0 / (a.n_head / a.n_kv_head);  // G divides the ratio: one KV head
    int li = threadIdx.x & 15, grp = threadIdx.x >> 4;
    bool active = li < kLanes;
    int d0 = active ? li * 8 : 0;

    float qv[G][8], acc[G][8], m[G], l[G], slope[G];
#pragma unroll
    for (int j = 0; j < G; ++j) {
        Vec16<T> v = *reinterpret_cast<const Vec16<T>*>(static_cast<const T*>(a.q) +
                                                        (int64_t(token) * a.n_head + h0 + j) * D + d0);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            qv[j][i] = active ? to_float(v.v[i]) * a.scale_log2 : 0.0f;
            acc[j][i] = 0.0f;
        }
        m[j] = -INFINITY;
        l[j] = 0.0f;
        slope[j] = a.alibi ? alibi_slope(a.alibi_h0 + h0 + j, a.alibi_n_head) * 1.4426950408889634f : 0.0f;
    }
    const int* trow = a.table + int64_t(a.req_rows[r]) * a.table_stride;
    int64_t slot[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
        int p = s0 + u * kGroups + grp;
        slot[u] = p < s1 ? trow[p] : -1;
    }
    for (int base = s0; base < s1; base += kGroups * kUnroll) {  // uniform over the block
        // The next iteration's slots are fetched now, so the table lookup
        // overlaps this iteration's K/V loads.
        int64_t next[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            int p = base + kGroups * kUnroll + u * kGroups + grp;
            next[u] = p < s1 ? trow[p] : -1;
        }
        KvRaw kr[kUnroll], vr[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            if (slot[u] >= 0 && active) {
                kr[u] = load_raw(a, a.k_cache, a.k_scale, slot[u], g, d0, int(sizeof(T)));
                vr[u] = load_raw(a, a.v_cache, a.v_scale, slot[u], g, d0, int(sizeof(T)));
            }
        }
        float sc[kUnroll][G];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            float kf[8];
            float dot[G];
#pragma unroll
            for (int j = 0; j < G; ++j) dot[j] = 0.0f;
            if (slot[u] >= 0 && active) {
                unpack8<T>(a, kr[u], kf);
#pragma unroll
                for (int j = 0; j < G; ++j) {
#pragma unroll
                    for (int i = 0; i < 8; ++i) dot[j] += qv[j][i] * kf[i];
                }
            }
            float rel = float(base + u * kGroups + grp - qpos);
#pragma unroll
            for (int j = 0; j < G; ++j) {
#pragma unroll
                for (int o = 8; o > 0; o >>= 1) dot[j] += __shfl_xor_sync(0xffffffffu, dot[j], o);
                sc[u][j] = slot[u] >= 0 ? dot[j] + slope[j] * rel : -INFINITY;
            }
        }
        // A score is -inf exactly where its slot is absent, for every head
        // alike, so head 0 tells whether anything is visible yet.
        float m_new[G];
#pragma unroll
        for (int j = 0; j < G; ++j) {
            m_new[j] = m[j];
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) m_new[j] = fmaxf(m_new[j], sc[u][j]);
        }
        if (m_new[0] == -INFINITY) {  // group-uniform: nothing visible yet
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) slot[u] = next[u];
            continue;
        }
#pragma unroll
        for (int j = 0; j < G; ++j) {
            float alpha = exp2f(m[j] - m_new[j]);
            l[j] *= alpha;
#pragma unroll
            for (int i = 0; i < 8; ++i) acc[j][i] *= alpha;
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            if (slot[u] < 0) continue;
            float w[G];
#pragma unroll
            for (int j = 0; j < G; ++j) {
                w[j] = exp2f(sc[u][j] - m_new[j]);
                l[j] += w[j];
            }
            if (!active) continue;
            float vf[8];
            unpack8<T>(a, vr[u], vf);
#pragma unroll
            for (int j = 0; j < G; ++j) {
#pragma unroll
                for (int i = 0; i < 8; ++i) acc[j][i] += w[j] * vf[i];
            }
        }
#pragma unroll
        for (int j = 0; j < G; ++j) m[j] = m_new[j];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) slot[u] = next[u];
    }

    __shared__ float sm_m[kGroups][G], sm_l[kGroups][G];
    __shared__ float sm_acc[kGroups][G][D];  // 32 KB at G = 8, D = 128
    if (li == 0) {
#pragma unroll
        for (int j = 0; j < G; ++j) {
            sm_m[grp][j] = m[j];
            sm_l[grp][j] = l[j];
        }
    }
    if (active) {
#pragma unroll
        for (int j = 0; j < G; ++j) {
#pragma unroll
            for (int i = 0; i < 8; ++i) sm_acc[grp][j][d0 + i] = acc[j][i];
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < G * D; e += kThreads) {
        int j = e / D, d = e - j * D, h = h0 + j;
        float M = -INFINITY;
#pragma unroll
        for (int k = 0; k < kGroups; ++k) M = fmaxf(M, sm_m[k][j]);
        float o = 0.0f, lsum = 0.0f;
#pragma unroll
        for (int k = 0; k < kGroups; ++k) {
            float w = M == -INFINITY ? 0.0f : exp2f(sm_m[k][j] - M);
            lsum += w * sm_l[k][j];
            o += w * sm_acc[k][j][d];
        }
        if (n_parts == 1) {
            static_cast<T*>(a.out)[(int64_t(token) * a.n_head + h) * D + d] =
                from_float<T>(lsum > 0.0f ? o / lsum : 0.0f);
        } else {
            int64_t idx = (int64_t(r) * a.n_head + h) * n_parts + split;
            ws[idx * D + d] = o;
            if (d == 0) {
                float* ml = ws + int64_t(n_reqs) * a.n_head * n_parts * D;
                ml[idx * 2] = M;
                ml[idx * 2 + 1] = lsum;
            }
        }
    }
}

// Plain decode (the CUDA-graph path). Kept apart from the cascade kernel so
// that it compiles exactly as tuned: the 80-register D = 128, G = 1 build is
// on the edge of spilling (a field added to AttnArgs made it spill 44 bytes).
template <typename T, int D, int G>
static __global__ __launch_bounds__(kThreads, kMinBlocks<D, G>) void decode_attention_kernel(AttnArgs a, float* ws,
                                                                                            int n_splits) {
    pdl_wait();
    pdl_launch_dependents();
    decode_attention_body<T, D, G>(a, ws, n_splits, n_splits, nullptr);
}

// Decode of a step with cascade groups: grouped requests read keys from
// kv_begin[r] on, and every request writes partials (n_parts per request).
template <typename T, int D, int G>
static __global__ __launch_bounds__(kThreads, kMinBlocks<D, G>) void decode_cascade_own_kernel(AttnArgs a, float* ws,
                                                                                              int n_parts,
                                                                                              const int* kv_begin) {
    pdl_wait();
    pdl_launch_dependents();
    decode_attention_body<T, D, G>(a, ws, int(gridDim.z), n_parts, kv_begin);
}

template <typename T, int D>
static __global__ void decode_reduce_kernel(AttnArgs a, const float* ws, int n_splits, int n_parts,
                                            const int* kv_begin) {
    pdl_wait();
    pdl_launch_dependents();
    int h = blockIdx.x, r = blockIdx.y, n_reqs = gridDim.y;
    int q_end = a.q_start[r + 1];
    if (q_end - a.q_start[r] < 1) return;
    int64_t idx0 = (int64_t(r) * a.n_head + h) * n_parts;
    const float* ml = ws + int64_t(n_reqs) * a.n_head * n_parts * D;
    if (kv_begin && kv_begin[r] > 0) n_splits = n_parts;  // a grouped request: its prefix's parts too
    float M = -INFINITY;
    for (int j = 0; j < n_splits; ++j) M = fmaxf(M, ml[(idx0 + j) * 2]);
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float o = 0.0f, lsum = 0.0f;
        for (int j = 0; j < n_splits; ++j) {
            float w = M == -INFINITY ? 0.0f : exp2f(ml[(idx0 + j) * 2] - M);
            o += w * ws[(idx0 + j) * D + d];
            lsum += w * ml[(idx0 + j) * 2 + 1];
        }
        static_cast<T*>(a.out)[(int64_t(q_end - 1) * a.n_head + h) * D + d] =
            from_float<T>(lsum > 0.0f ? o / lsum : 0.0f);
    }
}

bool attention_fast_path(DType dtype, int head_dim) {
    return (dtype == DType::F16 || dtype == DType::BF16) &&
           (head_dim == 64 || head_dim == 80 || head_dim == 96 || head_dim == 128);
}

// Sized for a grid of one block per KV head (grouped-query models, whose
// tensor-core kernel takes all of a KV head's query heads) or per query head
// (MHA); the CUDA-core launcher then groups heads only while the grouped grid
// keeps every SM busy.
int decode_attention_splits(int n_reqs, int n_head, int n_kv_head, int n_sm) {
    // Grouped-query models run a block per KV head (decode_attention_gqa.cu).
    const int per_req = n_kv_head > 0 && n_kv_head < n_head ? n_kv_head : n_head;
    int blocks = std::max(1, n_reqs * per_req);
    int target = 2 * n_sm;  // a couple of waves of blocks (16 measured no faster at batch 64: NOTES run 7)
    return std::clamp((target + blocks - 1) / blocks, 1, 16);
}

size_t decode_attention_workspace_bytes(int n_reqs, int n_head, int head_dim, int n_parts) {
    if (n_parts <= 1) return 0;
    return size_t(n_reqs) * n_head * n_parts * (head_dim + 2) * sizeof(float);
}

// Largest number of query heads a block takes. The kernel also builds for 8
// (208 registers, no spills), but then only 2 blocks (8 warps) fit an SM with
// 2 keys in flight per group, too little to cover DRAM latency; at 4 (128
// registers) 4 blocks fit and two blocks of a ratio-8 model read the same K/V
// close together, mostly from L2. Unmeasured: raise to 8 to try it.
constexpr int kMaxHeadsPerBlock = 4;

// Query heads per block: the largest power of two up to kMaxHeadsPerBlock
// that divides the GQA ratio and still leaves at least one block per SM
// (fewer, fatter blocks would idle SMs: the split count was chosen for the
// ungrouped grid); else 1. Depends only on the launch shape, so a captured
// graph replays the same choice.
static int heads_per_block(int n_head, int n_kv_head, int n_reqs, int n_splits, int n_sm) {
    int ratio = n_head / n_kv_head, group = kMaxHeadsPerBlock;
    while (group > 1 && ratio % group != 0) group /= 2;
    while (group > 1 && int64_t(n_reqs) * (n_head / group) * n_splits < n_sm) group /= 2;
    return group;
}

// How one launch lays out its workspace: n_splits parts of each request's
// own keys, then n_parts - n_splits parts of cascade prefixes.
struct DecodeLaunch {
    int n_reqs = 0;
    float* ws = nullptr;
    int n_splits = 1, n_parts = 1;
    int group = 1;  // query heads per block (0: the GQA tensor-core kernel)
    const int* kv_begin = nullptr;  // cascade: [n_reqs] first key a request reads itself (its group's shared length)
};

template <typename T, int D, int G>
static void launch_grouped(const AttnArgs& a, const DecodeLaunch& l, Stream s) {
    dim3 grid(a.n_head / G, l.n_reqs, l.n_splits);
    if (l.kv_begin) launch_pdl(decode_cascade_own_kernel<T, D, G>, grid, kThreads, 0, s, a, l.ws, l.n_parts, l.kv_begin);
    else launch_pdl(decode_attention_kernel<T, D, G>, grid, kThreads, 0, s, a, l.ws, l.n_splits);
    CUDA_CHECK_LAUNCH();
}

// group 0: the tensor-core kernel of decode_attention_gqa.cu.
template <typename T, int D>
static void launch_decode(const AttnArgs& a, const DecodeLaunch& l, Stream s) {
    static_assert(kMaxHeadsPerBlock == 4, "instantiate the kernel for the largest group");
    switch (l.group) {
        case 0:
            decode_attention_gqa(a, std::is_same_v<T, __half>, {l.n_reqs, l.ws, l.n_splits, l.n_parts, l.kv_begin}, s);
            break;
        case 4: launch_grouped<T, D, 4>(a, l, s); break;
        case 2: launch_grouped<T, D, 2>(a, l, s); break;
        default: launch_grouped<T, D, 1>(a, l, s); break;
    }
    if (l.n_parts > 1) {
        launch_pdl(decode_reduce_kernel<T, D>, dim3(a.n_head, l.n_reqs), D, 0, s, a, l.ws, l.n_splits, l.n_parts,
                   l.kv_begin);
        CUDA_CHECK_LAUNCH();
    }
}

template <typename T>
static void dispatch_decode(const AttnArgs& a, const DecodeLaunch& l, Stream s) {
    switch (a.head_dim) {
        case 64: launch_decode<T, 64>(a, l, s); break;
        case 80: launch_decode<T, 80>(a, l, s); break;
        case 96: launch_decode<T, 96>(a, l, s); break;
        case 128: launch_decode<T, 128>(a, l, s); break;
        default: LL_CHECK(false, "decode attention: head_dim {}", a.head_dim);
    }
}

void decode_attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                      const AttentionParams& params, Tensor& out, const DecodeSplits& split, Stream s) {
    const int n_splits = split.n_splits, n_sm = split.n_sm;
    AttnArgs a = make_attn_args(q, kv, batch, heads, params, out);
    LL_CHECK(attention_fast_path(q.dtype, heads.head_dim), "decode attention: dtype {} head_dim {}",
             dtype_name(q.dtype), heads.head_dim);
    LL_CHECK(batch.max_q_len <= 1, "decode attention with {} new tokens per request", batch.max_q_len);
    const bool cascade = split.n_cascade_chunks > 0 && batch.cascade.n_groups > 0;
    LL_CHECK(!cascade || (params.sliding_window <= 0 && !params.alibi),
             "decode attention: cascade groups with a sliding window or ALiBi");
    DecodeLaunch l;
    l.n_reqs = batch.n_reqs;
    l.ws = static_cast<float*>(split.workspace);
    l.n_splits = n_splits;
    l.n_parts = n_splits + (cascade ? split.n_cascade_chunks : 0);
    LL_CHECK(l.n_parts == 1 || l.ws != nullptr, "decode attention: no workspace for {} parts", l.n_parts);
    if (batch.n_reqs == 0) return;
    l.group = decode_attention_gqa_applies(a) ? 0 : heads_per_block(a.n_head, a.n_kv_head, batch.n_reqs, n_splits, n_sm);
    if (cascade) {
        l.kv_begin = batch.cascade.req_shared.ptr<int>();
        cascade_prefix_attention(a, batch.cascade, {l.ws, batch.n_reqs, l.n_parts, n_splits, split.n_cascade_chunks},
                                 q.dtype, s);
    }
    if (q.dtype == DType::F16) dispatch_decode<__half>(a, l, s);
    else dispatch_decode<__nv_bfloat16>(a, l, s);
}

}  // namespace lightllm::gpu
