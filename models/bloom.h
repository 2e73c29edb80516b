// BLOOM decoder: word embeddings followed by a LayerNorm, pre-LN layers with
// biases everywhere, MHA with ALiBi position bias (no positional embedding,
// no RoPE), GELU (tanh) MLP of width 4 n_embd, final LayerNorm, lm_head tied
// to the word embeddings.
#pragma once
#include "model.h"
#include <vector>

namespace lightllm {

struct BloomLayerWeights {
    Tensor attn_norm, attn_norm_b;  // [n_embd] input_layernorm weight, bias
    Tensor wqkv;                    // [3 n_embd, n_embd]: q rows, then k, then v (re-ordered from per-head)
    Tensor bqkv;                    // [3 n_embd]
    Tensor wo, bo;                  // [n_embd, n_embd], [n_embd] self_attention.dense
    Tensor ffn_norm, ffn_norm_b;    // [n_embd] post_attention_layernorm
    Tensor w_up, b_up;              // [n_ff, n_embd], [n_ff] dense_h_to_4h
    Tensor w_down, b_down;          // [n_embd, n_ff], [n_embd] dense_4h_to_h
};

struct BloomWeights {
    Tensor tok_embd;                   // [n_vocab, n_embd]
    Tensor tok_norm, tok_norm_b;       // [n_embd] word_embeddings_layernorm
    std::vector<BloomLayerWeights> layers;
    Tensor output_norm, output_norm_b; // [n_embd] ln_f
    Tensor lm_head;                    // [n_vocab, n_embd]; the same memory as tok_embd when tied
};

std::unique_ptr<Model> load_bloom(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend);
std::unique_ptr<Model> make_dummy_bloom(const ModelConfig& cfg, Backend& backend, uint64_t seed);

}  // namespace lightllm
