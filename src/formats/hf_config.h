// Hugging Face config.json (+ generation_config.json) -> ModelConfig.
//
// Reads the field names of every supported family, including their aliases
// (GPTBigCode's n_embd/n_layer/n_head/n_inner/n_positions, BLOOM's n_embed,
// Baichuan-13B's model_max_length), applies each family's defaults
// (tie_word_embeddings, qkv_bias, alibi) and finishes with
// finalize_model_config. A missing required field is an Error
// "DIR/config.json: missing field 'hidden_size'".
#pragma once
#include "model_config.h"
#include <string>

namespace lightllm {

// `dir`: a Hugging Face model directory with config.json; also reads
// generation_config.json when present (its eos/bos/pad ids override
// config.json's, and it gives the sampling defaults).
ModelConfig load_hf_config(const std::string& dir);

// The same from JSON text; `source` names the file in error messages.
// `generation_json` may be empty.
ModelConfig parse_hf_config(const std::string& config_json, const std::string& source,
                            const std::string& generation_json = "", const std::string& generation_source = "");

// Forward-pass family of a config.json `architectures` entry
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// BaichuanForCausalLM/BaiChuanForCausalLM, BloomForCausalLM,
// GPTBigCodeForCausalLM). Throws Error naming `source` and the value.
Arch arch_for_hf_architecture(const std::string& name, const std::string& source);

// "LlamaForCausalLM, MistralForCausalLM, ..." for messages and --help.
std::string supported_hf_architectures();

}  // namespace lightllm
