// StarCoder / SantaCoder decoder (GPTBigCodeForCausalLM): token embeddings
// plus learned position embeddings, pre-LN layers with biases everywhere,
// multi-query attention (one K/V head; MHA when multi_query is false), no
// RoPE, GELU (tanh) MLP, final LayerNorm, lm_head tied to the token embeddings.
#pragma once
#include "gelu_layer.h"
#include "model.h"
#include <vector>

namespace lightllm {

struct StarCoderWeights {
    Tensor tok_embd;                   // [n_vocab, n_embd] wte
    Tensor pos_embd;                   // [max_position, n_embd] wpe
    std::vector<GeluLayerWeights> layers;  // ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj
    Tensor output_norm, output_norm_b; // [n_embd] ln_f
    Tensor lm_head;                    // [n_vocab, n_embd]; the same memory as tok_embd when tied
};

// `max_context` may not exceed the learned positions (cfg.max_position).
std::unique_ptr<Model> load_starcoder(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                      int64_t max_context, const TpShard& shard = {},
                                      ProgressReporter* progress = nullptr);
std::unique_ptr<Model> make_dummy_starcoder(const ModelConfig& cfg, Backend& backend, uint64_t seed,
                                            int64_t max_context, const TpShard& shard = {},
                                            ProgressReporter* progress = nullptr);

}  // namespace lightllm
