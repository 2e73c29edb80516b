// Decode attention for grouped-query models on tensor cores: the query heads
// that share a KV head (ratio 2..16: Llama-3, Mistral, Qwen2, Yi) are the rows
// of one m16n8k16 tile, so S = Q K^T and O += P V are mma.sync instructions
// instead of per-lane dot products and shuffles. The CUDA-core kernel of
// decode_attention.cu spends ~60 instructions per key and KV head at ratio 4
// and reads only ~2.4 TB/s of the H200's 4.3 at serving batches, issue-bound
// (ncu: SM 72 %, DRAM 53 %; bench/NOTES.md run 11); here a key costs ~2 MMAs.
//
// Grid (n_kv_head, n_reqs, n_splits), 4 warps. The block's keys [s0, s1) (one
// split of the request's visible keys, as decode_attention.cu cuts them) stream
// through shared memory in tiles of 64, gathered through the table with
// cp.async, two tiles in flight (the next loads while one is computed; each
// thread looks its chunks' slots up one tile ahead). Warp w takes keys
// [16w, 16w + 16) of every tile and keeps its own online softmax (base 2) for
// the 16 rows (rows >= ratio are zero queries, never read back); at the end
// the 4 warps merge through shared memory and the block writes the output,
// or (m, l, acc) per query head for decode_reduce_kernel when split (or when
// the step has cascade groups: then a grouped request reads only its keys
// from kv_begin[r] on, cascade_attention.cu taking the shared prefix).
// Int8 caches: the stage holds the int8 rows and their scales, dequantized
// into one tile of T after they land. Fragment layouts: mma_tile.cuh. No
// ALiBi (no such model uses both GQA and ALiBi): decode_attention.cu's kernel.
#include "decode_attention_gqa.cuh"
#include "launch.cuh"
#include "mma_tile.cuh"

namespace lightllm::gpu {

namespace {

constexpr int kWarps = 4, kThreads = kWarps * 32;
constexpr int kKeys = 64;  // keys of a tile: 16 per warp
constexpr int kStages = 2;

template <int D> constexpr int kLd = D + 8;  // smem row pitch in elements (16 bytes of padding: no bank conflicts)
// A tile of K and V rows as the MMAs read them (T), and a stage as copied:
// the same for 16-bit caches; int8 rows and their scales (dequantized into
// one such tile before the MMAs) for int8 caches.
template <typename T, int D> constexpr size_t kTileBytes = size_t(2) * kKeys * kLd<D> * sizeof(T);
template <int D> constexpr size_t kInt8StageBytes = size_t(2) * kKeys * (D + sizeof(float));
template <typename T, int D, bool I8> constexpr size_t kStageBytes = I8 ? kInt8StageBytes<D> : kTileBytes<T, D>;
template <typename T, int D, bool I8>
constexpr size_t kSmemBytes = kStages * kStageBytes<T, D, I8> + (I8 ? kTileBytes<T, D> : 0);

__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
    const uint32_t d = uint32_t(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(src));
}
__device__ __forceinline__ void cp_async4(void* dst, const void* src) {
    const uint32_t d = uint32_t(__cvta_generic_to_shared(dst));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(d), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

template <typename T, int D, bool I8>
static __global__ __launch_bounds__(kThreads, 3) void decode_attention_gqa_kernel(AttnArgs a, float* ws, int n_splits,
                                                                                   int n_parts, const int* kv_begin) {
    pdl_wait();
    pdl_launch_dependents();
    constexpr int LD = kLd<D>;
    constexpr int kDK = D / 16;               // k-steps of Q K^T
    constexpr int kDT = D / 8;                // n8 tiles of O
    constexpr int kRowBytes = I8 ? D : D * int(sizeof(T));  // a row as stored
    constexpr int kRowChunks = kRowBytes / 16;              // its 16-byte chunks
    constexpr int kChunks = kKeys * kRowChunks;             // of a K (or V) tile
    constexpr int kRounds = (kChunks + kThreads - 1) / kThreads;
    extern __shared__ __align__(16) unsigned char smem_raw[];

    const int g = blockIdx.x, r = blockIdx.y, split = blockIdx.z, n_reqs = gridDim.y;
    const int q_end = a.q_start[r + 1];
    if (q_end - a.q_start[r] < 1) return;
    const int token = q_end - 1;
    const int L = a.kv_len[r], qpos = L - 1;
    int begin = first_visible_key(qpos, a.sliding_window);
    if (kv_begin) begin = max(begin, kv_begin[r]);  // cascade: the group's shared prefix is read elsewhere
    const int chunk = (L - begin + n_splits - 1) / n_splits;
    const int s0 = begin + split * chunk, s1 = min(L, s0 + chunk);
    const int ratio = a.n_head / a.n_kv_head, h0 = g * ratio;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

    // Q as A fragments: row i = query head h0 + i (zeros past the ratio).
    uint32_t qf[kDK][4];
    {
        const T* q = static_cast<const T*>(a.q) + (int64_t(token) * a.n_head + h0) * D;
#pragma unroll
        for (int kk = 0; kk < kDK; ++kk)
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int row = (lane >> 2) + (i & 1) * 8, col = kk * 16 + (lane & 3) * 2 + (i >> 1) * 8;
                qf[kk][i] = row < ratio ? *reinterpret_cast<const uint32_t*>(q + row * D + col) : 0u;
            }
    }
    float o[kDT][4];
#pragma unroll
    for (int i = 0; i < kDT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

    // The copy side: chunk c of a tile's K (and V) goes to thread c % kThreads.
    const int* trow = a.table + int64_t(a.req_rows[r]) * a.table_stride;
    const int n_tiles = s1 > s0 ? (s1 - s0 + kKeys - 1) / kKeys : 0;
    const char* kc = static_cast<const char*>(a.k_cache);
    const char* vc = static_cast<const char*>(a.v_cache);
    auto stage = [&](int t) { return smem_raw + (t % kStages) * kStageBytes<T, D, I8>; };
    // Where chunk `chunk` of key `key`'s K row goes (V: kv_off further); the
    // int8 scales follow the rows of a stage.
    constexpr int kPitch = I8 ? D : LD * int(sizeof(T));  // bytes between rows in a stage
    constexpr int kVOff = kKeys * kPitch;
    auto lookup = [&](int t, int* slots) {
#pragma unroll
        for (int j = 0; j < kRounds; ++j) {
            const int c = int(threadIdx.x) + j * kThreads, p = s0 + t * kKeys + c / kRowChunks;
            slots[j] = c < kChunks && t < n_tiles && p < s1 ? trow[p] : -1;
        }
    };
    // Keys past s1 become zeros (a masked P times V must stay finite).
    auto issue = [&](int t, const int* slots) {
        if (t < n_tiles) {
            unsigned char* st = stage(t);
            float* scales = reinterpret_cast<float*>(st + 2 * kVOff);  // int8: K's, then V's
#pragma unroll
            for (int j = 0; j < kRounds; ++j) {
                const int c = int(threadIdx.x) + j * kThreads;
                if (c >= kChunks) continue;
                const int key = c / kRowChunks, part = c % kRowChunks;
                unsigned char* dk = st + key * kPitch + part * 16;
                if (slots[j] >= 0) {
                    const int64_t row = int64_t(slots[j]) * a.n_kv_head + g;
                    cp_async16(dk, kc + row * kRowBytes + part * 16);
                    cp_async16(dk + kVOff, vc + row * kRowBytes + part * 16);
                    if (I8 && part == 0) {
                        cp_async4(scales + key, a.k_scale + row);
                        cp_async4(scales + kKeys + key, a.v_scale + row);
                    }
                } else {
                    *reinterpret_cast<uint4*>(dk) = make_uint4(0u, 0u, 0u, 0u);
                    *reinterpret_cast<uint4*>(dk + kVOff) = make_uint4(0u, 0u, 0u, 0u);
                    if (I8 && part == 0) scales[key] = scales[kKeys + key] = 0.0f;
                }
            }
        }
        cp_async_commit();  // one group per tile, empty or not: the wait counts stay uniform
    };
    // Int8: a landed stage dequantized into the MMAs' tile (every thread).
    T* dequant = reinterpret_cast<T*>(smem_raw + kStages * kStageBytes<T, D, I8>);
    auto dequantize = [&](const unsigned char* st) {
        const float* scales = reinterpret_cast<const float*>(st + 2 * kVOff);
        for (int c = threadIdx.x; c < 2 * kChunks; c += kThreads) {
            const int kv = c / kChunks, key = (c % kChunks) / kRowChunks, part = c % kRowChunks;
            const uint4 raw = *reinterpret_cast<const uint4*>(st + kv * kVOff + key * kPitch + part * 16);
            const int8_t* b = reinterpret_cast<const int8_t*>(&raw);
            const float sc = scales[kv * kKeys + key];
            Vec16<T> lo, hi;
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                lo.v[i] = from_float<T>(float(b[i]) * sc);
                hi.v[i] = from_float<T>(float(b[8 + i]) * sc);
            }
            T* dst = dequant + (kv * kKeys + key) * LD + part * 16;
            *reinterpret_cast<Vec16<T>*>(dst) = lo;
            *reinterpret_cast<Vec16<T>*>(dst + 8) = hi;
        }
    };
    int slots[kRounds];
    lookup(0, slots);
    issue(0, slots);
    lookup(1, slots);

    for (int t = 0; t < n_tiles; ++t) {  // uniform over the block
        __syncthreads();                 // tile t - 1's stage is consumed: the next tile may go there
        issue(t + 1, slots);
        lookup(t + 2, slots);
        cp_async_wait<1>();  // this thread's copies of tile t have landed
        __syncthreads();     // everyone's have (and their zero stores are visible)
        const T* sk;
        if constexpr (I8) {
            dequantize(stage(t));
            __syncthreads();
            sk = dequant;
        } else {
            sk = reinterpret_cast<const T*>(stage(t));
        }
        const T* sv = sk + kKeys * LD;
        const int kw = warp * 16;  // this warp's keys in the tile

        float sc[2][4] = {};
        mma_scores<T, D, LD, 1>(sc, qf, sk + kw * LD, lane);
        // Mask the keys past the split, scale, online softmax (rows g and g + 8).
        const int key0 = s0 + t * kKeys + kw;
#pragma unroll
        for (int nt = 0; nt < 2; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int key = key0 + nt * 8 + (lane & 3) * 2 + (i & 1);
                sc[nt][i] = key < s1 ? sc[nt][i] * a.scale_log2 : -INFINITY;
            }
        online_softmax_step<2, kDT>(sc, m, l, o);
        mma_pv<T, D, LD, 1>(o, sc, sv + kw * LD, lane);  // O += P V over the warp's 16 keys
    }
    cp_async_wait<0>();
    __syncthreads();  // the stages are free: the warps' partial results go there

    // Merge the 4 warps, per query head (rows < ratio).
    float* s_acc = reinterpret_cast<float*>(smem_raw);  // [kWarps][16][D]
    __shared__ float s_m[kWarps][16], s_l[kWarps][16];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 1);
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 2);
        const int row = (lane >> 2) + j * 8;
        if ((lane & 3) == 0) {
            s_m[warp][row] = m[j];
            s_l[warp][row] = l[j];
        }
        if (row >= ratio) continue;
#pragma unroll
        for (int dt = 0; dt < kDT; ++dt) {
            float* dst = s_acc + (warp * 16 + row) * D + dt * 8 + (lane & 3) * 2;
            dst[0] = o[dt][2 * j];
            dst[1] = o[dt][2 * j + 1];
        }
    }
    __syncthreads();
    for (int e = threadIdx.x; e < ratio * D; e += kThreads) {
        const int row = e / D, d = e - row * D, h = h0 + row;
        float M = -INFINITY;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) M = fmaxf(M, s_m[w][row]);
        float acc = 0.0f, lsum = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
            const float wt = M == -INFINITY ? 0.0f : exp2f(s_m[w][row] - M);
            lsum += wt * s_l[w][row];
            acc += wt * s_acc[(w * 16 + row) * D + d];
        }
        if (n_parts == 1) {
            static_cast<T*>(a.out)[(int64_t(token) * a.n_head + h) * D + d] = from_float<T>(lsum > 0.0f ? acc / lsum : 0.0f);
        } else {  // decode_reduce_kernel's layout (decode_attention.cu)
            const int64_t idx = (int64_t(r) * a.n_head + h) * n_parts + split;
            ws[idx * D + d] = acc;
            if (d == 0) {
                float* ml = ws + int64_t(n_reqs) * a.n_head * n_parts * D;
                ml[idx * 2] = M;
                ml[idx * 2 + 1] = lsum;
            }
        }
    }
}

template <typename T, int D, bool I8>
static void launch_gqa_kernel(const AttnArgs& a, const GqaLaunch& l, Stream s) {
    constexpr size_t smem = kSmemBytes<T, D, I8>;
    static_assert(sizeof(float) * kWarps * 16 * D <= smem, "the warps' partial results fit the stages");
    auto kernel = decode_attention_gqa_kernel<T, D, I8>;
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    launch_pdl(kernel, dim3(a.n_kv_head, l.n_reqs, l.n_splits), kThreads, smem, s, a, l.ws, l.n_splits, l.n_parts,
               l.kv_begin);
    CUDA_CHECK_LAUNCH();
}

template <typename T, int D>
static void launch_gqa(const AttnArgs& a, const GqaLaunch& l, Stream s) {
    if (a.kv_int8) launch_gqa_kernel<T, D, true>(a, l, s);
    else launch_gqa_kernel<T, D, false>(a, l, s);
}

template <typename T> static void dispatch_gqa(const AttnArgs& a, const GqaLaunch& l, Stream s) {
    switch (a.head_dim) {
        case 64: launch_gqa<T, 64>(a, l, s); break;
        case 80: launch_gqa<T, 80>(a, l, s); break;
        case 96: launch_gqa<T, 96>(a, l, s); break;
        case 128: launch_gqa<T, 128>(a, l, s); break;
        default: LL_CHECK(false, "decode attention (GQA): head_dim {}", a.head_dim);
    }
}

}  // namespace

bool decode_attention_gqa_applies(const AttnArgs& a) {
    const int ratio = a.n_head / a.n_kv_head;
    return !a.alibi && ratio >= 2 && ratio <= 16 &&
           (a.head_dim == 64 || a.head_dim == 80 || a.head_dim == 96 || a.head_dim == 128);
}

void decode_attention_gqa(const AttnArgs& a, bool f16, const GqaLaunch& l, Stream s) {
    if (f16) dispatch_gqa<__half>(a, l, s);
    else dispatch_gqa<__nv_bfloat16>(a, l, s);
}

}  // namespace lightllm::gpu
