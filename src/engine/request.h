// Request: what a caller (generate, bench, an HTTP handler) submits to the
// pipeline, and what it hears back. The caller's RequestSink is called from
// the detokenizer thread: on_token for each new token (with its new, complete
// UTF-8 text, possibly empty), then on_finish exactly once.
#pragma once
#include "chat_message.h"
#include "sampled_token.h"
#include "sampling_params.h"
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace lightllm {

struct RequestInput {
    // Exactly one of these three is the prompt.
    std::string prompt;                  // raw text
    std::vector<ChatMessage> messages;   // chat: the model's chat template is applied
    ChatTemplateArgs chat_args;          // chat: tools, documents, chat_template_kwargs
    std::vector<int32_t> prompt_ids;     // already tokenized
    bool add_special_tokens = true;      // BOS as the model wants (raw text only)
    SamplingParams params;
};

enum class FinishReason : uint8_t { Stop, Length, Cancelled, Error };

inline const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::Stop: return "stop";
        case FinishReason::Length: return "length";
        case FinishReason::Cancelled: return "cancelled";
        case FinishReason::Error: return "error";
    }
    return "?";
}

using Clock = std::chrono::steady_clock;

struct TokenEvent {
    int32_t id = 0;
    float logprob = 0.0f;
    std::vector<TokenLogprob> top;
    std::string text;           // new complete UTF-8 text this token adds (stop strings held back)
    Clock::time_point time;     // when the engine produced it
};

struct RequestResult {
    FinishReason finish_reason = FinishReason::Stop;
    std::string error;                  // when finish_reason == Error: what was wrong
    std::string text;                   // all generated text (stop string excluded)
    std::vector<int32_t> output_ids;
    int n_prompt_tokens = 0;
    int n_pauses = 0;                   // times the router paused and recomputed it
    int n_cached_tokens = 0;            // prompt tokens whose KV came from the prefix cache
    Clock::time_point t_submit, t_first_token, t_finish;
};

struct RequestSink {
    std::function<void(const TokenEvent&)> on_token;       // may be empty
    std::function<void(const RequestResult&)> on_finish;   // called exactly once
};

}  // namespace lightllm
