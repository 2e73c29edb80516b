// The tensor-core decode attention for grouped-query models
// (decode_attention_gqa.cu), called by decode_attention.cu's launcher.
#pragma once
#include "attention_common.cuh"

namespace lightllm::gpu {

// True without ALiBi, for 2 to 16 query heads per KV head
// and a head_dim of 64, 80, 96 or 128.
bool decode_attention_gqa_applies(const AttnArgs& a);
// Writes the output (n_splits == 1) or decode_reduce_kernel's partial
// results to ws, as decode_attention_kernel does.
void decode_attention_gqa(const AttnArgs& a, bool f16, int n_reqs, float* ws, int n_splits, Stream s);

}  // namespace lightllm::gpu
