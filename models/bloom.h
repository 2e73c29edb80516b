// BLOOM decoder: word embeddings followed by a LayerNorm, pre-LN layers with
// biases everywhere, MHA with ALiBi position bias (no positional embedding,
// no RoPE), GELU (tanh) MLP of width 4 n_embd, final LayerNorm, lm_head tied
// to the word embeddings.
#pragma once
#include "gelu_layer.h"
#include "model.h"
#include <vector>

namespace lightllm {

struct BloomWeights {
    Tensor tok_embd;                   // [n_vocab, n_embd]
    Tensor tok_norm, tok_norm_b;       // [n_embd] word_embeddings_layernorm
    std::vector<GeluLayerWeights> layers;  // input_layernorm, query_key_value (rows re-ordered), dense,
                                           // post_attention_layernorm, dense_h_to_4h, dense_4h_to_h
    Tensor output_norm, output_norm_b; // [n_embd] ln_f
    Tensor lm_head;                    // [n_vocab, n_embd]; the same memory as tok_embd when tied
};

std::unique_ptr<Model> load_bloom(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                  const TpShard& shard = {}, ProgressReporter* progress = nullptr);
std::unique_ptr<Model> make_dummy_bloom(const ModelConfig& cfg, Backend& backend, uint64_t seed,
                                        const TpShard& shard = {}, ProgressReporter* progress = nullptr);

}  // namespace lightllm
