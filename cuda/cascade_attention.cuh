// The decode launcher's side of cascade attention (cascade_attention.cu):
// where the shared-prefix partials go in the decode workspace.
#pragma once
#include "attention_common.cuh"

namespace lightllm::gpu {

// Workspace of decode_attention.cu: for request r (of n_reqs) and query head
// h, part p's accumulator is ws[((r * n_head + h) * n_parts + p) * D ..] and
// its (max, sum) pair sits at ml[((r * n_head + h) * n_parts + p) * 2], with
// ml = ws + n_reqs * n_head * n_parts * D. Chunk c of a group's prefix writes
// part part0 + c of each member.
struct CascadeParts {
    float* ws = nullptr;
    int n_reqs = 0;
    int n_parts = 0;
    int part0 = 0;
    int n_chunks = 0;
};

// Queues the shared-prefix kernel: for every group, KV head and key chunk,
// the partial softmax of its members' query heads over the chunk's keys.
void cascade_prefix_attention(const AttnArgs& a, const CascadeGroups& groups, const CascadeParts& parts, DType dtype,
                              Stream s);

}  // namespace lightllm::gpu
