// The CPU twin of cascade (shared-prefix) decode attention (backend.h,
// CascadeGroups): the split-and-merge math the CUDA kernels use, in plain
// fp32/fp64 loops, so that a test can show it equals plain attention and the
// CPU backend can run the engine's cascade plans.
//
// A partial softmax over keys [k0, k1) of one query is (m, l, acc): m the
// largest score, l = sum exp(s - m), acc = sum exp(s - m) v. Two partials of
// disjoint key ranges merge as M = max(m1, m2), l = l1 e^(m1-M) + l2 e^(m2-M),
// acc likewise; the output is acc / l. Scores here are in natural-log units
// (the CUDA kernels keep them in base 2; the merge is the same).
#pragma once
#include "backend.h"
#include <vector>

namespace lightllm {

struct SoftmaxPartial {
    float m = -INFINITY;
    double l = 0.0;
    std::vector<double> acc;  // [head_dim]
};

// Where one query looks: its vector, its KV head, and the keys [k0, k1) of
// the table row `table_row` (no mask: every key in the range is visible).
struct PartialQuery {
    const float* q = nullptr;         // [head_dim]
    const int32_t* table_row = nullptr;
    int k0 = 0, k1 = 0;
    int kv_head = 0;
};

// The partial softmax of `pq` over its keys; scores are q.k * scale.
SoftmaxPartial attention_partial(const KvLayer& kv, const HeadShape& heads, float scale, const PartialQuery& pq);

// Merges `b` into `a` (disjoint key ranges of the same query).
void merge_partial(SoftmaxPartial& a, const SoftmaxPartial& b);

// acc / l (zeros when no key was seen) into out [head_dim].
void finish_partial(const SoftmaxPartial& p, int head_dim, float* out);

// Decode attention of the requests in batch.cascade's groups (the others are
// left to the caller): for each member and query head, the partial over the
// group's shared keys [0, L) read through the group's first member's table
// row, merged with the partial over its own keys [L, kv_len) read through its
// own row. No sliding window or ALiBi (the caller checks). F32 q and out,
// host memory.
void cascade_decode_attention_cpu(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch,
                                  const HeadShape& heads, float scale, Tensor& out);

}  // namespace lightllm
