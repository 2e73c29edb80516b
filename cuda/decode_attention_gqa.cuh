// The tensor-core decode attention for grouped-query models
// (decode_attention_gqa.cu), called by decode_attention.cu's launcher.
#pragma once
#include "attention_common.cuh"

namespace lightllm::gpu {

// True without ALiBi, for 2 to 16 query heads per KV head
// and a head_dim of 64, 80, 96 or 128.
bool decode_attention_gqa_applies(const AttnArgs& a);
// One launch: n_splits chunks of each request's keys (from kv_begin[r] on
// when kv_begin is set: cascade groups), partials at parts 0..n_splits-1 of
// n_parts per (request, query head) in ws.
struct GqaLaunch {
    int n_reqs = 0;
    float* ws = nullptr;
    int n_splits = 1, n_parts = 1;
    const int* kv_begin = nullptr;
};
// Writes the output (n_parts == 1) or decode_reduce_kernel's partial
// results to ws, as decode_attention_kernel does.
void decode_attention_gqa(const AttnArgs& a, bool f16, const GqaLaunch& l, Stream s);

}  // namespace lightllm::gpu
