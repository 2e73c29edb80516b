// StarCoder / SantaCoder decoder (GPTBigCodeForCausalLM): token embeddings
// plus learned position embeddings, pre-LN layers with biases everywhere,
// multi-query attention (one K/V head; MHA when multi_query is false), no
// RoPE, GELU (tanh) MLP, final LayerNorm, lm_head tied to the token embeddings.
#pragma once
#include "model.h"
#include <vector>

namespace lightllm {

struct StarCoderLayerWeights {
    Tensor attn_norm, attn_norm_b;  // [n_embd] ln_1 weight, bias
    Tensor wqkv;                    // [(n_head + 2 n_kv_head) * head_dim, n_embd]: q rows, then k, then v
    Tensor bqkv;                    // [(n_head + 2 n_kv_head) * head_dim]
    Tensor wo, bo;                  // [n_embd, n_embd], [n_embd] attn.c_proj
    Tensor ffn_norm, ffn_norm_b;    // [n_embd] ln_2
    Tensor w_up, b_up;              // [n_ff, n_embd], [n_ff] mlp.c_fc
    Tensor w_down, b_down;          // [n_embd, n_ff], [n_embd] mlp.c_proj
};

struct StarCoderWeights {
    Tensor tok_embd;                   // [n_vocab, n_embd] wte
    Tensor pos_embd;                   // [max_position, n_embd] wpe
    std::vector<StarCoderLayerWeights> layers;
    Tensor output_norm, output_norm_b; // [n_embd] ln_f
    Tensor lm_head;                    // [n_vocab, n_embd]; the same memory as tok_embd when tied
};

// `max_context` may not exceed the learned positions (cfg.max_position).
std::unique_ptr<Model> load_starcoder(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                      int64_t max_context);
std::unique_ptr<Model> make_dummy_starcoder(const ModelConfig& cfg, Backend& backend, uint64_t seed,
                                            int64_t max_context);

}  // namespace lightllm
