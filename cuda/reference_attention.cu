// Attention for any dtype and head_dim <= 256: one warp per (query, head),
// keys visited one at a time with an online softmax. The simple, general
// path (F32 compute, unusual head sizes); the fast kernels are
// decode_attention.cu and prefill_attention.cu.
#include "attention_common.cuh"

namespace lightllm::gpu {

template <typename T>
__device__ __forceinline__ float load_kv(const AttnArgs& a, const void* cache, const float* scale, int64_t slot, int g,
                                         int e) {
    int64_t idx = (slot * a.n_kv_head + g) * a.head_dim + e;
    if (a.kv_int8) return float(static_cast<const int8_t*>(cache)[idx]) * scale[slot * a.n_kv_head + g];
    return to_float(static_cast<const T*>(cache)[idx]);
}

template <typename T>
static __global__ void reference_attention_kernel(AttnArgs a, int n_reqs, int n_tokens) {
    constexpr int kPer = 8;
    int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    int token = warp / a.n_head, h = warp % a.n_head;
    if (token >= n_tokens) return;
    int lo = 0, hi = n_reqs - 1;  // request r with q_start[r] <= token < q_start[r + 1]
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (a.q_start[mid] <= token) lo = mid; else hi = mid - 1;
    }
    int r = lo;
    int q_len = a.q_start[r + 1] - a.q_start[r];
    int L = a.kv_len[r];
    int qpos = L - q_len + (token - a.q_start[r]);
    int g = h / (a.n_head / a.n_kv_head);
    const T* qr = static_cast<const T*>(a.q) + (int64_t(token) * a.n_head + h) * a.head_dim;
    float qv[kPer], acc[kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        int e = lane + 32 * i;
        qv[i] = e < a.head_dim ? to_float(qr[e]) * a.scale_log2 : 0.0f;
        acc[i] = 0.0f;
    }
    float slope = a.alibi ? alibi_slope(a.alibi_h0 + h, a.alibi_n_head) * 1.4426950408889634f : 0.0f;
    const int* trow = a.table + int64_t(a.req_rows[r]) * a.table_stride;
    float m = -INFINITY, l = 0.0f;
    for (int p = first_visible_key(qpos, a.sliding_window); p <= qpos; ++p) {
        int64_t slot = trow[p];
        float dot = 0.0f;
#pragma unroll
        for (int i = 0; i < kPer; ++i) {
            int e = lane + 32 * i;
            if (e < a.head_dim) dot += qv[i] * load_kv<T>(a, a.k_cache, a.k_scale, slot, g, e);
        }
        float sc = warp_sum(dot) + slope * float(p - qpos);
        float m_new = fmaxf(m, sc);
        float alpha = exp2f(m - m_new), w = exp2f(sc - m_new);
        l = l * alpha + w;
#pragma unroll
        for (int i = 0; i < kPer; ++i) {
            int e = lane + 32 * i;
            float v = e < a.head_dim ? load_kv<T>(a, a.v_cache, a.v_scale, slot, g, e) : 0.0f;
            acc[i] = acc[i] * alpha + w * v;
        }
        m = m_new;
    }
    T* o = static_cast<T*>(a.out) + (int64_t(token) * a.n_head + h) * a.head_dim;
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        int e = lane + 32 * i;
        if (e < a.head_dim) o[e] = from_float<T>(acc[i] * inv);
    }
}

void reference_attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                         const AttentionParams& params, Tensor& out, Stream s) {
    AttnArgs a = make_attn_args(q, kv, batch, heads, params, out);
    LL_CHECK(heads.head_dim <= 256, "attention: head_dim {} > 256", heads.head_dim);
    if (batch.n_tokens == 0) return;
    int64_t warps = int64_t(batch.n_tokens) * heads.n_head;
    int blocks = int((warps * 32 + 127) / 128);
    LL_DISPATCH_FLOAT(q.dtype, reference_attention_kernel<scalar_t><<<blocks, 128, 0, s>>>(a, batch.n_reqs,
                                                                                          batch.n_tokens));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
