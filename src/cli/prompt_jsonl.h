// Prompt JSON Lines (`generate --jsonl`): one object per line,
//   {"prompt": "...", "max_tokens": 32, "temperature": 0.7, "stop": ["\n"], ...}
// or {"messages": [{"role": "user", "content": "..."}]} for chat. Optional
// per-prompt overrides of the command line's sampling flags: max_tokens,
// min_tokens, temperature, top_k, top_p, min_p, repetition_penalty,
// presence_penalty, frequency_penalty, seed, stop (string or list),
// ignore_eos. Anything else is an error naming the line and the field.
#pragma once
#include "request.h"
#include <string>

namespace lightllm {

// `defaults`: the flags' sampling parameters. Throws Error("line N: ...").
RequestInput parse_prompt_jsonl_line(const std::string& line, int line_no, const SamplingParams& defaults);

}  // namespace lightllm
