// LLaMA-family decoder (LLaMA 1/2/3, Yi, Mistral, Qwen2, Baichuan): RMSNorm,
// fused QKV with optional bias, RoPE (or ALiBi for Baichuan-13B), GQA
// attention, SwiGLU MLP, optionally tied embeddings.
#pragma once
#include "model.h"
#include <vector>

namespace lightllm {

struct LlamaLayerWeights {
    Tensor attn_norm;  // [n_embd]
    Tensor wqkv;       // [(n_head + 2 n_kv_head) * head_dim, n_embd]: q rows, then k, then v
    Tensor bqkv;       // [(n_head + 2 n_kv_head) * head_dim], Qwen2 only (else empty)
    Tensor wo;         // [n_embd, n_head * head_dim]
    Tensor ffn_norm;   // [n_embd]
    Tensor w_gate_up;  // [2 n_ff, n_embd]: gate rows, then up
    Tensor w_down;     // [n_embd, n_ff]
};

struct LlamaWeights {
    Tensor tok_embd;     // [n_vocab, n_embd]
    std::vector<LlamaLayerWeights> layers;
    Tensor output_norm;  // [n_embd]
    Tensor lm_head;      // [n_vocab, n_embd]; the same memory as tok_embd when tied
    Tensor inv_freq;     // [rope_dim / 2] F32; empty without RoPE
};

std::unique_ptr<Model> load_llama(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                  int64_t max_context, const TpShard& shard = {}, ProgressReporter* progress = nullptr);
std::unique_ptr<Model> make_dummy_llama(const ModelConfig& cfg, Backend& backend, uint64_t seed, int64_t max_context,
                                        const TpShard& shard = {}, ProgressReporter* progress = nullptr);

}  // namespace lightllm
