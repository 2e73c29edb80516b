// Prefill attention on tensor cores, FlashAttention-2 style, over packed
// variable-length sequences (nopad). Also serves chunked prefill: the new
// queries of a request attend to its cached tokens through the table.
//
// Grid (q tiles, n_reqs, n_head); a block of 4 warps takes 64 consecutive new
// queries of one request and head (tiles past the request's length exit). Each
// warp owns 16 query rows: Q stays in registers as mma A fragments; for each
// tile of 64 keys, K and V are gathered through the table into shared memory
// (rows padded by 16 bytes against bank conflicts), S = Q K^T is computed with
// mma.sync m16n8k16 (fp32 accumulate), masked, turned into P with an online
// softmax in base 2, and O += P V with P reused straight from the S
// accumulators as A fragments (fragment layouts: mma_tile.cuh).
#include "attention_common.cuh"
#include "launch.cuh"
#include "mma_tile.cuh"

namespace lightllm::gpu {

constexpr int kBM = 64, kBN = 64, kWarps = 4;

template <typename T, int D>
static __global__ __launch_bounds__(kWarps * 32) void prefill_attention_kernel(AttnArgs a) {
    pdl_wait();
    pdl_launch_dependents();
    constexpr int LD = D + 8;
    constexpr int kDK = D / 16;   // k-steps of Q K^T
    constexpr int kDT = D / 8;    // n8 tiles of O
    constexpr int kNT = kBN / 8;  // n8 tiles of S
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T* sQ = reinterpret_cast<T*>(smem_raw);
    T* sK = sQ + kBM * LD;
    T* sV = sK + kBN * LD;

    int r = blockIdx.y, h = blockIdx.z;
    int tile = gridDim.x - 1 - blockIdx.x;  // longest tiles first
    int q0 = a.q_start[r], q_len = a.q_start[r + 1] - q0;
    if (tile * kBM >= q_len) return;
    int L = a.kv_len[r];
    int first_pos = L - q_len;  // position of new token 0
    int row_lo = tile * kBM, row_hi = min(q_len, row_lo + kBM);
    int kv_lo = first_visible_key(first_pos + row_lo, a.sliding_window);
    int kv_hi = first_pos + row_hi;  // one past the last query's position
    int g = h / (a.n_head / a.n_kv_head);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int64_t q_stride = int64_t(a.n_head) * D;

    // Q tile -> smem -> A fragments.
    for (int c = threadIdx.x; c < kBM * (D / 8); c += kWarps * 32) {
        int row = c / (D / 8), col = (c % (D / 8)) * 8;
        Vec16<T> v;
        if (row_lo + row < row_hi) {
            v = *reinterpret_cast<const Vec16<T>*>(static_cast<const T*>(a.q) + (q0 + row_lo + row) * q_stride +
                                                   h * D + col);
        } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) v.v[i] = from_float<T>(0.0f);
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
    int qpos[2];
    qpos[0] = first_pos + row_lo + warp * 16 + (lane >> 2);
    qpos[1] = qpos[0] + 8;
    float slope = a.alibi ? alibi_slope(a.alibi_h0 + h, a.alibi_n_head) * 1.4426950408889634f : 0.0f;
    const int* trow = a.table + int64_t(a.req_rows[r]) * a.table_stride;

    for (int kb = kv_lo; kb < kv_hi; kb += kBN) {
        __syncthreads();  // previous tile fully consumed
        load_kv_tile<T, D, LD, kBN, kWarps * 32>(a, a.k_cache, a.k_scale, trow, kb, kv_hi, g, sK);
        load_kv_tile<T, D, LD, kBN, kWarps * 32>(a, a.v_cache, a.v_scale, trow, kb, kv_hi, g, sV);
        __syncthreads();

        float sc[kNT][4];
#pragma unroll
        for (int i = 0; i < kNT; ++i) sc[i][0] = sc[i][1] = sc[i][2] = sc[i][3] = 0.0f;
        mma_scores<T, D, LD, kNT / 2>(sc, qf, sK, lane);
        // Mask, scale, online softmax.
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                int key = kb + nt * 8 + (lane & 3) * 2 + (i & 1);
                int qp = qpos[i >> 1];
                bool ok = key <= qp && key < kv_hi && (a.sliding_window <= 0 || key > qp - a.sliding_window);
                sc[nt][i] = ok ? sc[nt][i] * a.scale_log2 + slope * float(key - qp) : -INFINITY;
            }
        }
        online_softmax_step<kNT, kDT>(sc, m, l, o);
        mma_pv<T, D, LD, kBN / 16>(o, sc, sV, lane);
    }

    float inv[2];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 1);
        l[j] += __shfl_xor_sync(0xffffffffu, l[j], 2);
        inv[j] = l[j] > 0.0f ? 1.0f / l[j] : 0.0f;
    }
    T* out = static_cast<T*>(a.out);
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        int row = row_lo + warp * 16 + (lane >> 2) + j * 8;
        if (row >= row_hi) continue;
        T* dst = out + (q0 + row) * q_stride + h * D + (lane & 3) * 2;
#pragma unroll
        for (int dt = 0; dt < kDT; ++dt)
            *reinterpret_cast<uint32_t*>(dst + dt * 8) =
                MmaType<T>::pack(o[dt][2 * j] * inv[j], o[dt][2 * j + 1] * inv[j]);
    }
}

template <typename T, int D>
static void launch_prefill(const AttnArgs& a, const AttentionBatch& b, Stream s) {
    constexpr int LD = D + 8;
    size_t smem = size_t(kBM + 2 * kBN) * LD * sizeof(T);
    CUDA_CHECK(cudaFuncSetAttribute(prefill_attention_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(smem)));
    dim3 grid((b.max_q_len + kBM - 1) / kBM, b.n_reqs, a.n_head);
    launch_pdl(prefill_attention_kernel<T, D>, grid, kWarps * 32, smem, s, a);
    CUDA_CHECK_LAUNCH();
}

template <typename T>
static void dispatch_prefill(const AttnArgs& a, const AttentionBatch& b, Stream s) {
    switch (a.head_dim) {
        case 64: launch_prefill<T, 64>(a, b, s); break;
        case 80: launch_prefill<T, 80>(a, b, s); break;
        case 96: launch_prefill<T, 96>(a, b, s); break;
        case 128: launch_prefill<T, 128>(a, b, s); break;
        default: LL_CHECK(false, "prefill attention: head_dim {}", a.head_dim);
    }
}

void prefill_attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                       const AttentionParams& params, Tensor& out, Stream s) {
    AttnArgs a = make_attn_args(q, kv, batch, heads, params, out);
    LL_CHECK(attention_fast_path(q.dtype, heads.head_dim), "prefill attention: dtype {} head_dim {}",
             dtype_name(q.dtype), heads.head_dim);
    if (batch.n_reqs == 0 || batch.max_q_len == 0) return;
    if (q.dtype == DType::F16) dispatch_prefill<__half>(a, batch, s);
    else dispatch_prefill<__nv_bfloat16>(a, batch, s);
}

}  // namespace lightllm::gpu
