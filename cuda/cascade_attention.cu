// Cascade attention's shared part: the keys a group of decode requests shares
// (backend.h, CascadeGroups), read once for all the group's queries.
//
// Grid (row tiles, n_groups * n_kv_head, n_chunks), 4 warps. For group gi and
// KV head g the queries are the group's members' query heads that use g:
// row i = member (i / ratio), query head g * ratio + i % ratio, so a group of
// M members has M * ratio rows, taken 64 per block (tiles past the group's
// rows exit). Chunk c of the shared keys [0, L) is read through the first
// member's table row (every member holds the same slots there) in tiles of 64
// keys: S = Q K^T and O += P V on tensor cores with an online softmax in base
// 2, as prefill_attention.cu does, but without a causal mask (every member
// sees the whole shared prefix; keys past the chunk are masked). Each row's
// unnormalised (m, l, acc) goes to its request's workspace part part0 + c
// (cascade_attention.cuh), which decode_reduce_kernel merges with the parts
// of the request's own keys [L, kv_len).
#include "cascade_attention.cuh"
#include "launch.cuh"
#include "mma_tile.cuh"
#include <algorithm>

namespace lightllm::gpu {

namespace {

constexpr int kRows = 64, kKeys = 64, kWarps = 4, kThreads = kWarps * 32;

struct GroupArgs {
    const int* group_start;  // [n_groups + 1]
    const int* members;      // [n_members]
    const int* shared_len;   // [n_groups]
};

template <typename T, int D>
__global__ __launch_bounds__(kThreads) void cascade_prefix_kernel(AttnArgs a, GroupArgs grp, CascadeParts parts) {
    pdl_wait();
    pdl_launch_dependents();
    constexpr int LD = D + 8;
    constexpr int kDK = D / 16;    // k-steps of Q K^T
    constexpr int kDT = D / 8;     // n8 tiles of O
    constexpr int kNT = kKeys / 8; // n8 tiles of S
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T* sQ = reinterpret_cast<T*>(smem_raw);
    T* sK = sQ + kRows * LD;
    T* sV = sK + kKeys * LD;

    const int ratio = a.n_head / a.n_kv_head;
    const int gi = blockIdx.y / a.n_kv_head, g = blockIdx.y % a.n_kv_head, chunk = blockIdx.z;
    const int m0 = grp.group_start[gi], n_rows = (grp.group_start[gi + 1] - m0) * ratio;
    const int row_lo = blockIdx.x * kRows;
    if (row_lo >= n_rows) return;
    const int L = grp.shared_len[gi];
    // Chunks of whole key tiles; the last ones may be short or empty (they
    // still write their (-inf, 0, 0) partials).
    const int per = ((L + parts.n_chunks - 1) / parts.n_chunks + kKeys - 1) / kKeys * kKeys;
    const int k0 = min(L, chunk * per), k1 = min(L, k0 + per);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t q_stride = int64_t(a.n_head) * D;

    // Q rows -> smem -> A fragments. A decode request's one query sits at token q_start[r].
    for (int c = threadIdx.x; c < kRows * (D / 8); c += kThreads) {
        const int row = c / (D / 8), col = (c % (D / 8)) * 8, i = row_lo + row;
        Vec16<T> v;
        if (i < n_rows) {
            const int r = grp.members[m0 + i / ratio], h = g * ratio + i % ratio;
            v = *reinterpret_cast<const Vec16<T>*>(static_cast<const T*>(a.q) + a.q_start[r] * q_stride + h * D + col);
        } else {
#pragma unroll
            for (int e = 0; e < 8; ++e) v.v[e] = from_float<T>(0.0f);
        }
        *reinterpret_cast<Vec16<T>*>(sQ + row * LD + col) = v;
    }
    __syncthreads();
    uint32_t qf[kDK][4];
#pragma unroll
    for (int kk = 0; kk < kDK; ++kk)
        ldmatrix_x4(qf[kk], sQ + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8);

    float o[kDT][4];
#pragma unroll
    for (int i = 0; i < kDT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    const int* trow = a.table + int64_t(a.req_rows[grp.members[m0]]) * a.table_stride;

    for (int kb = k0; kb < k1; kb += kKeys) {
        __syncthreads();  // previous tile fully consumed
        load_kv_tile<T, D, LD, kKeys, kThreads>(a, a.k_cache, a.k_scale, trow, kb, k1, g, sK);
        load_kv_tile<T, D, LD, kKeys, kThreads>(a, a.v_cache, a.v_scale, trow, kb, k1, g, sV);
        __syncthreads();

        float sc[kNT][4];
#pragma unroll
        for (int i = 0; i < kNT; ++i) sc[i][0] = sc[i][1] = sc[i][2] = sc[i][3] = 0.0f;
        mma_scores<T, D, LD, kNT / 2>(sc, qf, sK, lane);
        // Mask keys past the chunk, scale, online softmax.
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int key = kb + nt * 8 + (lane & 3) * 2 + (i & 1);
                sc[nt][i] = key < k1 ? sc[nt][i] * a.scale_log2 : -INFINITY;
            }
        }
        online_softmax_step<kNT, kDT>(sc, m, l, o);
        mma_pv<T, D, LD, kKeys / 16>(o, sc, sV, lane);
    }

    // The quad of lanes holding a row sums its l; every lane of the quad
    // writes its 2 columns of each n8 tile of the unnormalised accumulator.
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 1);
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 2);
    }
    float* ml = parts.ws + int64_t(parts.n_reqs) * a.n_head * parts.n_parts * D;
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        const int i = row_lo + warp * 16 + (lane >> 2) + j * 8;
        if (i >= n_rows) continue;
        const int r = grp.members[m0 + i / ratio], h = g * ratio + i % ratio;
        const int64_t idx = (int64_t(r) * a.n_head + h) * parts.n_parts + parts.part0 + chunk;
        float* dst = parts.ws + idx * D + (lane & 3) * 2;
#pragma unroll
        for (int dt = 0; dt < kDT; ++dt) {
            dst[dt * 8] = o[dt][2 * j];
            dst[dt * 8 + 1] = o[dt][2 * j + 1];
        }
        if ((lane & 3) == 0) {
            ml[idx * 2] = m[j];
            ml[idx * 2 + 1] = l[j];
        }
    }
}

template <typename T, int D>
void launch_cascade(const AttnArgs& a, const CascadeGroups& groups, const CascadeParts& parts, Stream s) {
    constexpr int LD = D + 8;
    const size_t smem = size_t(kRows + 2 * kKeys) * LD * sizeof(T);
    CUDA_CHECK(cudaFuncSetAttribute(cascade_prefix_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(smem)));
    const int ratio = a.n_head / a.n_kv_head;
    const int tiles = (groups.max_members * ratio + kRows - 1) / kRows;
    const dim3 grid(tiles, groups.n_groups * a.n_kv_head, parts.n_chunks);
    const GroupArgs g{groups.group_start.ptr<int>(), groups.members.ptr<int>(), groups.shared_len.ptr<int>()};
    launch_pdl(cascade_prefix_kernel<T, D>, grid, kThreads, smem, s, a, g, parts);
    CUDA_CHECK_LAUNCH();
}

template <typename T>
void dispatch_cascade(const AttnArgs& a, const CascadeGroups& groups, const CascadeParts& parts, Stream s) {
    switch (a.head_dim) {
        case 64: launch_cascade<T, 64>(a, groups, parts, s); break;
        case 80: launch_cascade<T, 80>(a, groups, parts, s); break;
        case 96: launch_cascade<T, 96>(a, groups, parts, s); break;
        case 128: launch_cascade<T, 128>(a, groups, parts, s); break;
        default: LL_CHECK(false, "cascade attention: head_dim {}", a.head_dim);
    }
}

}  // namespace

int cascade_attention_chunks(const CascadeGroups& groups, const HeadShape& heads, int n_sm) {
    if (groups.n_groups == 0) return 0;
    const int ratio = heads.n_head / heads.n_kv_head;
    const int64_t tiles = (int64_t(groups.max_members) * ratio + kRows - 1) / kRows;
    const int64_t blocks = std::max<int64_t>(1, int64_t(groups.n_groups) * heads.n_kv_head * tiles);
    // A couple of waves of blocks, but chunks of at least 4 key tiles.
    const int64_t want = (2 * int64_t(n_sm) + blocks - 1) / blocks;
    const int64_t most = std::max(1, (groups.max_shared_len + 4 * kKeys - 1) / (4 * kKeys));
    return int(std::clamp<int64_t>(std::min(want, most), 1, 16));
}

void cascade_prefix_attention(const AttnArgs& a, const CascadeGroups& groups, const CascadeParts& parts, DType dtype,
                              Stream s) {
    LL_CHECK(groups.n_groups > 0 && parts.n_chunks > 0 && parts.ws != nullptr &&
                 parts.part0 + parts.n_chunks <= parts.n_parts,
             "cascade attention: {} groups, {} chunks into parts {}.. of {}", groups.n_groups, parts.n_chunks,
             parts.part0, parts.n_parts);
    if (dtype == DType::F16) dispatch_cascade<__half>(a, groups, parts, s);
    else dispatch_cascade<__nv_bfloat16>(a, groups, parts, s);
}

}  // namespace lightllm::gpu
