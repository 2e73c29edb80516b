// `lightllm convert`: a GGUF model -> a Hugging Face directory, and
// `convert --info`: a summary of any model (HF directory or GGUF).
//
// The directory holds config.json (architectures / model_type of the
// family, sizes, rope, eps, token ids), generation_config.json,
// model.safetensors (every HF-named tensor, dequantized and un-permuted via
// gguf_model.h, in F16, BF16 or F32; lm_head omitted when tied),
// tokenizer.json (byte-level BPE) or tokenizer.model (SentencePiece),
// tokenizer_config.json (chat template, bos/eos, add_bos_token) and
// special_tokens_map.json. transformers and lightllm both load it.
#pragma once
#include "model_config.h"
#include "tensor_source.h"
#include <string>

namespace lightllm {

struct ConvertOptions {
    FileDType dtype = FileDType::Unknown;  // F16, BF16 or F32; Unknown: the config's dtype
    bool force = false;                    // write into an existing, non-empty directory
    bool progress = true;                  // progress bar on stderr
};

// Throws Error naming the file or directory: input not a GGUF file, output
// exists (without force), unsupported architecture or tokenizer.
void convert_gguf_to_hf(const std::string& gguf_path, const std::string& out_dir, const ConvertOptions& opt);

// config.json / generation_config.json text for `c` (parse_hf_config reads
// them back to the same ModelConfig).
std::string hf_config_json(const ModelConfig& c);
std::string hf_generation_config_json(const ModelConfig& c);

// Multi-line summary: architecture, sizes (layers, hidden, heads, kv heads,
// ff, vocab, context), rope, tensor count, dtype histogram, parameter
// count, tokenizer kind.
std::string model_info(const std::string& path);

}  // namespace lightllm
