// POST /tokenize {"text": "...", "add_special_tokens": true}
//   -> {"tokens": [ids], "count": n, "max_model_len": ctx}
// POST /detokenize {"tokens": [ids], "skip_special_tokens": true} -> {"text": "..."}
#pragma once
#include "request_validation.h"
#include "tokenizer.h"

namespace lightllm {

json tokenize_response(const json& body, const Tokenizer& tok, const RequestLimits& limits);
json detokenize_response(const json& body, const Tokenizer& tok, const RequestLimits& limits);

}  // namespace lightllm
