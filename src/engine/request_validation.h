// Request validation: the helpers every HTTP protocol parser (LightLLM's
// /generate, OpenAI's /v1/*, /tokenize) uses to read a JSON body. Each one
// checks a field's type and range and throws ApiError (an HTTP status plus a
// message naming the field) on anything a client can get wrong, so a bad
// request is a 4xx with a clear message and never an abort.
#pragma once
#include "check.h"
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lightllm {

using json = nlohmann::json;

// A client error (or 503 when overloaded). `param` names the offending field
// (OpenAI's error.param), empty when the error is not about one field.
struct ApiError : Error {
    int status;
    std::string param;
    std::string code;
    ApiError(int status_, const std::string& message, std::string param_ = "", std::string code_ = "")
        : Error(message), status(status_), param(std::move(param_)), code(std::move(code_)) {}
};

[[noreturn]] void bad_request(const std::string& param, const std::string& message);

// Limits a server applies to every request (serve's command-line flags).
struct RequestLimits {
    int max_context = 0;           // model context in tokens; max_new_tokens may not exceed it (0: no check)
    int max_new_tokens = 0;        // cap on max_new_tokens / max_tokens (0: max_context)
    size_t max_prompt_chars = 1 << 20;  // text prompt (or all messages) in bytes
    int max_n = 16;                // choices per request (n / best_of)
    int max_stop = 16;             // stop strings per request
    size_t max_stop_chars = 256;   // bytes per stop string
    int max_logprobs = 20;         // top logprobs per token
    int n_vocab = 0;               // ids in prompt_ids / tokens must be below this (0: no check)

    int max_new_tokens_cap() const { return max_new_tokens > 0 ? max_new_tokens : max_context; }
};

// Parses a request body that must be a JSON object (400 otherwise).
json parse_json_object(const std::string& body);

// Typed optional fields of a JSON object. Absent or null gives nullopt; a
// value of the wrong type or out of [lo, hi] is a 400 naming the field.
std::optional<bool> opt_bool(const json& obj, const char* name);
std::optional<int64_t> opt_int(const json& obj, const char* name, int64_t lo, int64_t hi);
std::optional<double> opt_number(const json& obj, const char* name, double lo, double hi);
std::optional<std::string> opt_string(const json& obj, const char* name);
// An object-valued field (400 when present and not an object).
const json* opt_object(const json& obj, const char* name);

// A string or a list of strings (e.g. OpenAI's `stop`), at most max_count,
// each at most max_chars bytes and not empty.
std::vector<std::string> string_or_list(const json& obj, const char* name, int max_count, size_t max_chars);

// A list of token ids, each in [0, n_vocab) when n_vocab > 0.
std::vector<int32_t> token_id_list(const json& value, const char* name, int n_vocab);

// Text that must be valid UTF-8 and not too long (prompts, messages).
void check_text(const std::string& text, const char* name, size_t max_chars);
bool is_valid_utf8(const std::string& s);

// A field we recognise but do not implement: 400 naming it when its value
// asks for the feature (non-null and not equal to `neutral`).
void reject_unsupported(const json& obj, const char* name, const json& neutral = nullptr);

}  // namespace lightllm
