// ModelConfig: everything the engine needs to know about an architecture's
// shape, filled from a Hugging Face config.json (hf_config.cpp), from GGUF
// metadata (gguf_model.cpp) or from a dummy-weight preset (models/presets/).
#pragma once
#include "tensor.h"
#include <string>
#include <vector>

namespace lightllm {

// Families of forward passes; each has one file in models/.
enum class Arch : uint8_t { Llama, Bloom, StarCoder };

enum class RopeScalingType : uint8_t { None, Linear, Dynamic, Llama3, Yarn };

struct RopeScaling {
    RopeScalingType type = RopeScalingType::None;
    float factor = 1.0f;
    // llama3
    float low_freq_factor = 1.0f;
    float high_freq_factor = 4.0f;
    int original_max_position = 0;  // original_max_position_embeddings
};

struct ModelConfig {
    Arch arch = Arch::Llama;
    std::string hf_architecture;  // e.g. "LlamaForCausalLM", as in config.json
    std::string model_type;       // e.g. "llama", "qwen2", "mistral", "baichuan"

    int n_vocab = 0;
    int n_embd = 0;         // hidden_size
    int n_layer = 0;        // num_hidden_layers
    int n_head = 0;         // num_attention_heads
    int n_kv_head = 0;      // num_key_value_heads (== n_head for MHA, 1 for MQA)
    int head_dim = 0;       // usually n_embd / n_head
    int n_ff = 0;           // intermediate_size
    int max_position = 0;   // max_position_embeddings (context length)

    float norm_eps = 1e-6f;
    float rope_theta = 10000.0f;
    int rope_dim = 0;       // rotated dims per head (== head_dim unless partial rotary)
    RopeScaling rope_scaling;
    int sliding_window = 0; // 0: full attention
    bool alibi = false;     // ALiBi position bias instead of RoPE (Baichuan-13B, BLOOM)

    bool tie_word_embeddings = false;
    bool qkv_bias = false;  // Qwen2
    DType dtype = DType::BF16;  // torch_dtype: the dtype weights are kept in on GPU

    // Token ids (from config.json / generation_config.json / GGUF metadata).
    int bos_id = -1;
    std::vector<int> eos_ids;
    int pad_id = -1;

    // Generation defaults from generation_config.json (negative: not given).
    float default_temperature = -1.0f;
    float default_top_p = -1.0f;
    int default_top_k = -1;
    float default_repetition_penalty = -1.0f;
};

// Fills derived fields (head_dim, rope_dim, n_kv_head) and checks the
// config for consistency; throws Error naming `source` and the field.
void finalize_model_config(ModelConfig& cfg, const std::string& source);

}  // namespace lightllm
