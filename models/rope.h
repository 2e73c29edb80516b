// RoPE inverse frequencies for every scaling type of ModelConfig, computed as
// Hugging Face transformers' rope init functions do (modeling_rope_utils.py):
//   base:      inv_freq[j] = 1 / theta^(2j / rope_dim),  j < rope_dim / 2
//   linear:    base / factor  (== positions / factor)
//   dynamic:   NTK-aware: theta' = theta * (factor * L / max_pos - (factor - 1))^(rope_dim / (rope_dim - 2))
//              with L = max(seq_len, max_pos). transformers recomputes this
//              every forward from the longest position so far; a KV cache
//              cannot follow a changing rotation, so the engine fixes
//              seq_len = its context length (max_context) once at start-up.
//              When max_context <= max_position this is the unscaled base.
//   llama3:    Llama 3.1's piecewise rule: wavelengths above
//              orig / low_freq_factor are divided by factor, those below
//              orig / high_freq_factor are kept, those between are blended
//              with smooth = (orig / wavelen - low) / (high - low).
//   yarn:      not supported (throws Error).
// Computed in double, returned as float.
#pragma once
#include "model_config.h"
#include <cstdint>
#include <vector>

namespace lightllm {

// [rope_dim / 2] inverse frequencies; empty when cfg.rope_dim == 0.
std::vector<float> rope_inv_freq(const ModelConfig& cfg, int64_t seq_len);

}  // namespace lightllm
