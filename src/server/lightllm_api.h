// LightLLM's own HTTP API, as its users call it:
//   POST /generate         {"inputs": "...", "parameters": {...}}
//     -> {"generated_text": ["..."], "count_output_tokens": n, "finish_reason": "stop"|"length",
//         "prompt_tokens": p, "tokens": [{"id", "text", "logprob", "special"}, ...] (return_details)}
//     count_output_tokens / finish_reason / tokens are lists when n > 1.
//   POST /generate_stream  same body; one `data:{...}\n\n` line per token:
//     {"token": {"id", "text", "logprob", "special", "count_output_tokens", "prompt_tokens"},
//      "generated_text": null (the whole text on the last line), "finished": bool,
//      "finish_reason": null | "stop" | "length", "details": null}
//     The last token's line is the one with finished = true, so each token is
//     sent when the next one (or the finish) arrives.
// Parameters: do_sample (false: greedy, whatever the temperature), temperature,
// top_p, top_k (-1 or 0: off), repetition_penalty, presence_penalty,
// frequency_penalty, max_new_tokens (16), min_new_tokens (1), stop_sequences,
// ignore_eos, best_of / n (equal), skip_special_tokens, return_details, seed.
#pragma once
#include "generation_call.h"
#include "tokenizer.h"

namespace lightllm {

struct LightllmRequest {
    RequestInput input;
    int n = 1;
    bool return_details = false;
};

LightllmRequest parse_lightllm_request(const json& body, const RequestLimits& limits, uint64_t default_seed, bool stream);

json lightllm_response(const std::vector<ChoiceOutput>& outs, bool details, const Tokenizer& tok);

// Error body: {"error": message, "message": message}.
json lightllm_error(const std::string& message);

// Builds the call for /generate (stream false) or /generate_stream.
GenerationCall lightllm_call(const json& body, const RequestLimits& limits, uint64_t default_seed, bool stream,
                             const Tokenizer& tok);

}  // namespace lightllm
