// What the attention kernels share: their argument block (raw pointers taken
// from the backend's Tensor/AttentionBatch), the validity rule for a key and
// the launcher-side checks. Positions: request r's new query j sits at
// position kv_len[r] - n_new_r + j and sees keys at positions p <= its own
// (and p > pos - sliding_window when a window is set). ALiBi adds
// slope_h * (p - pos) to the score.
#pragma once
#include "common.cuh"
#include "kernels.h"

namespace lightllm::gpu {

struct AttnArgs {
    const void* q;          // [n_tokens, n_head * head_dim]
    void* out;              // [n_tokens, n_head * head_dim]
    const void* k_cache;    // [capacity, n_kv_head, head_dim]
    const void* v_cache;
    const float* k_scale;   // int8 KV only: [capacity, n_kv_head]
    const float* v_scale;
    const int* q_start;     // [n_reqs + 1]
    const int* kv_len;      // [n_reqs]
    const int* req_rows;    // [n_reqs]
    const int* table;       // [max_requests, table_stride]
    int64_t table_stride;
    int n_head, n_kv_head, head_dim;
    int sliding_window;
    bool alibi;
    int alibi_h0;           // ALiBi: global index of head 0 here (tensor parallelism)
    int alibi_n_head;       // ALiBi: heads of the whole model
    bool kv_int8;
    float scale_log2;       // softmax scale * log2(e): scores are kept in base 2
};

inline AttnArgs make_attn_args(const Tensor& q, const KvLayer& kv, const AttentionBatch& b, const HeadShape& heads,
                               const AttentionParams& p, Tensor& out) {
    LL_CHECK(q.dim(-1) == int64_t(heads.n_head) * heads.head_dim && out.numel() == q.numel() &&
                 out.dtype == q.dtype && q.rows() == b.n_tokens,
             "attention: q {} out {} n_tokens {}", q.shape_str(), out.shape_str(), b.n_tokens);
    LL_CHECK(heads.n_kv_head > 0 && heads.n_head % heads.n_kv_head == 0, "attention: {} heads over {} kv heads",
             heads.n_head, heads.n_kv_head);
    bool int8 = kv.k.dtype == DType::I8;
    LL_CHECK(int8 ? !kv.k_scale.empty() && !kv.v_scale.empty() : kv.k.dtype == q.dtype,
             "attention: kv dtype {} with q dtype {}", dtype_name(kv.k.dtype), dtype_name(q.dtype));
    LL_CHECK(b.table.ndim == 2 && b.table.dtype == DType::I32, "attention: table {}", b.table.shape_str());
    AttnArgs a{};
    a.q = q.data;
    a.out = out.data;
    a.k_cache = kv.k.data;
    a.v_cache = kv.v.data;
    a.k_scale = int8 ? kv.k_scale.ptr<float>() : nullptr;
    a.v_scale = int8 ? kv.v_scale.ptr<float>() : nullptr;
    a.q_start = b.q_start.ptr<int>();
    a.kv_len = b.kv_len.ptr<int>();
    a.req_rows = b.req_rows.ptr<int>();
    a.table = b.table.ptr<int>();
    a.table_stride = b.table.dim(1);
    a.n_head = heads.n_head;
    a.n_kv_head = heads.n_kv_head;
    a.head_dim = heads.head_dim;
    a.sliding_window = p.sliding_window;
    a.alibi = p.alibi;
    a.alibi_h0 = p.alibi_head_offset;
    a.alibi_n_head = p.alibi_n_head > 0 ? p.alibi_n_head : heads.n_head;
    a.kv_int8 = int8;
    a.scale_log2 = p.scale * 1.4426950408889634f;
    return a;
}

// First key position query position `qpos` may see.
__device__ __forceinline__ int first_visible_key(int qpos, int window) {
    return window > 0 ? max(0, qpos - window + 1) : 0;
}

}  // namespace lightllm::gpu
