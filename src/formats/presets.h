// Dummy-weight presets: config.json-style files in models/presets/ (e.g.
// llama-2-7b.json) that `--load-format dummy` runs with random weights.
#pragma once
#include "model_config.h"
#include <string>
#include <vector>

namespace lightllm {

// `name_or_path`: a preset name ("llama-3-8b"), a .json file, or a directory
// holding config.json. Names are looked up, in order, in $LIGHTLLM_PRESETS,
// <executable dir>/presets, <executable dir>/../share/lightllm/presets and the
// source tree's models/presets. Throws Error listing the known presets when
// nothing matches.
ModelConfig load_preset_config(const std::string& name_or_path);

// The tokenizer folder a preset names with "lightllm_tokenizer" (a folder
// under `cache_root`, e.g. ~/.cache/lightllm/llama3-tokenizer, written by
// bench/prepare_sharegpt.sh), when it holds a tokenizer.json; "" otherwise
// (no such preset, no such key, or not prepared).
std::string preset_tokenizer_dir(const std::string& name_or_path, const std::string& cache_root);

// Names of the presets found in the search directories, sorted.
std::vector<std::string> preset_names();

}  // namespace lightllm
