#include "model_config.h"
#include "check.h"

namespace lightllm {

void finalize_model_config(ModelConfig& c, const std::string& source) {
    auto positive = [&](int v, const char* field) {
        if (v <= 0) fail("{}: field '{}' must be positive (got {})", source, field, v);
    };
    // Generous ceilings (several times today's largest models) that refuse a
    // corrupt or absurd size before anything is allocated from it.
    auto at_most = [&](int v, int limit, const char* field) {
        if (v > limit) fail("{}: field '{}' = {} is larger than lightllm supports ({})", source, field, v, limit);
    };
    at_most(c.n_vocab, 1 << 24, "vocab_size");
    at_most(c.n_embd, 1 << 16, "hidden_size");
    at_most(c.n_layer, 1 << 12, "num_hidden_layers");
    at_most(c.n_head, 1 << 12, "num_attention_heads");
    at_most(c.n_kv_head, 1 << 12, "num_key_value_heads");
    at_most(c.n_ff, 1 << 20, "intermediate_size");
    at_most(c.max_position, 1 << 24, "max_position_embeddings");
    at_most(c.head_dim, 1 << 12, "head_dim");
    positive(c.n_vocab, "vocab_size");
    positive(c.n_embd, "hidden_size");
    positive(c.n_layer, "num_hidden_layers");
    positive(c.n_head, "num_attention_heads");
    positive(c.n_ff, "intermediate_size");
    positive(c.max_position, "max_position_embeddings");
    if (c.n_kv_head == 0) c.n_kv_head = c.n_head;
    positive(c.n_kv_head, "num_key_value_heads");
    if (c.n_head % c.n_kv_head != 0)
        fail("{}: num_attention_heads ({}) is not a multiple of num_key_value_heads ({})", source, c.n_head,
             c.n_kv_head);
    if (c.head_dim == 0) {
        if (c.n_embd % c.n_head != 0)
            fail("{}: hidden_size ({}) is not a multiple of num_attention_heads ({})", source, c.n_embd, c.n_head);
        c.head_dim = c.n_embd / c.n_head;
    }
    positive(c.head_dim, "head_dim");
    if (c.alibi) {
        c.rope_dim = 0;
    } else {
        if (c.rope_dim == 0) c.rope_dim = c.head_dim;
        if (c.rope_dim < 0 || c.rope_dim > c.head_dim || c.rope_dim % 2 != 0)
            fail("{}: rotary dimension {} must be even and at most head_dim {}", source, c.rope_dim, c.head_dim);
        if (!(c.rope_theta > 0)) fail("{}: field 'rope_theta' must be positive", source);
    }
    if (!(c.norm_eps > 0)) fail("{}: field 'rms_norm_eps' must be positive", source);
    if (c.sliding_window < 0) fail("{}: field 'sliding_window' must not be negative", source);
    if (c.rope_scaling.type != RopeScalingType::None && !(c.rope_scaling.factor > 0))
        fail("{}: field 'rope_scaling.factor' must be positive", source);
    if (c.bos_id >= c.n_vocab) fail("{}: bos_token_id {} is outside the vocabulary ({})", source, c.bos_id, c.n_vocab);
    for (int e : c.eos_ids)
        if (e < 0 || e >= c.n_vocab) fail("{}: eos_token_id {} is outside the vocabulary ({})", source, e, c.n_vocab);
}

}  // namespace lightllm
