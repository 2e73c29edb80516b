// OpenAI-compatible HTTP API:
//   POST /v1/completions       prompt (string | [string] | [ids] | [[ids]]) -> text_completion
//   POST /v1/chat/completions  messages (the model's chat template applies) -> chat.completion
//   GET  /v1/models            the one model served
// stream: true answers with Server-Sent Events `data: {chunk}\n\n` ending in
// `data: [DONE]`; stream_options.include_usage adds a last chunk with usage.
// Sampling: temperature (default 1), top_p, n, stop, max_tokens /
// max_completion_tokens, seed, presence_penalty, frequency_penalty, and the
// common extensions top_k, min_p, repetition_penalty, ignore_eos, min_tokens,
// skip_special_tokens. logprobs: an int (completions) or a bool with
// top_logprobs (chat). Unknown fields are ignored; a known field asking for
// something we do not do (echo, suffix, logit_bias, tools, best_of != n,
// non-text response_format or content parts) is a 400 naming it.
// Errors: {"error": {"message", "type", "param", "code"}}.
#pragma once
#include "generation_call.h"
#include "tokenizer.h"

namespace lightllm {

// Per-request facts that appear in every response of it.
struct OpenAiContext {
    std::string id;         // "cmpl-..." / "chatcmpl-..." (without the prefix: the caller's unique hex)
    std::string model;      // the served model's name
    int64_t created = 0;
    uint64_t seed = 0;      // used when the request gives none
};

GenerationCall openai_completion_call(const json& body, const RequestLimits& limits, const OpenAiContext& ctx,
                                      const Tokenizer& tok);
GenerationCall openai_chat_call(const json& body, const RequestLimits& limits, const OpenAiContext& ctx,
                                const Tokenizer& tok);

// The one model; max_model_len and vocab_size (extensions) when known (> 0).
json openai_models(const std::string& model, int64_t created, int max_context, int vocab_size);

// {"error": {...}} with type invalid_request_error (4xx) or server_error (5xx).
json openai_error(int status, const std::string& message, const std::string& param = "", const std::string& code = "");

// OpenAI's word for why a choice ended.
const char* openai_finish_reason(FinishReason r);

}  // namespace lightllm
