// EngineRequest: a request as the router + engine thread sees it, and the
// events that thread sends on to the detokenizer.
//
// Tokens: the sequence is prompt ++ output. `slots[p]` is the KV slot of token
// p, so slots.size() is the number of tokens already in the KV cache; the
// tokens from slots.size() on are pending (the rest of a prompt being
// prefilled in chunks, a whole prompt + output being recomputed after a pause,
// or the last sampled token waiting for its decode step).
// With the prefix cache, slots[0..n_shared) belong to the cache (the request
// holds a lock on `cache_node`, the deepest of them) and the rest are its own.
#pragma once
#include "request.h"
#include "request_handle.h"
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lightllm {

// Flags other threads raise; the engine reads them at the start of each step.
struct RequestControl {
    explicit RequestControl(uint64_t id) : handle(std::make_shared<RequestHandle>(id)) {}
    std::shared_ptr<RequestHandle> handle;   // the caller's cancel
    std::atomic<bool> stop_requested{false}; // the detokenizer saw a stop string
};

struct RadixNode;

enum class RequestPhase : uint8_t { Waiting, Running, Done };

struct EngineRequest {
    uint64_t id = 0;
    std::vector<int32_t> prompt;
    std::vector<int32_t> output;
    SamplingParams params;              // max_new_tokens already clipped to the context
    std::shared_ptr<RequestControl> control;

    RequestPhase phase = RequestPhase::Waiting;
    int row = -1;                       // ReqToTokenTable row while running
    std::vector<int32_t> slots;         // KV slot of each cached token
    uint64_t admit_order = 0;           // larger: admitted more recently
    uint64_t arrival_window = 0;        // router step count when queued (admission_order.h)
    int n_pauses = 0;
    bool started = false;               // admitted at least once
    RadixNode* cache_node = nullptr;    // prefix-cache node locked while running
    int n_shared = 0;                   // leading slots owned by the prefix cache
    int n_cached_prompt = 0;            // prompt tokens the prefix cache gave at the first admission

    int n_tokens() const { return int(prompt.size() + output.size()); }
    int n_cached() const { return int(slots.size()); }
    int n_pending() const { return n_tokens() - n_cached(); }
    int32_t token_at(int p) const {
        return p < int(prompt.size()) ? prompt[size_t(p)] : output[size_t(p) - prompt.size()];
    }
    bool stop_asked() const {
        return control && (control->handle->cancelled() || control->stop_requested.load(std::memory_order_relaxed));
    }
};

// What the engine tells the detokenizer: a new token (possibly the last one),
// or the end of a request that produced no further token (cancel, stop string
// seen by the detokenizer, an error).
struct EngineEvent {
    enum class Kind : uint8_t { Token, Finish } kind = Kind::Token;
    uint64_t id = 0;
    int32_t token = 0;
    float logprob = 0.0f;
    std::vector<TokenLogprob> top;
    Clock::time_point time;
    bool finished = false;              // Token: this was the request's last token
    FinishReason reason = FinishReason::Stop;
    int n_pauses = 0;
    int n_cached_prompt = 0;            // the request's prompt tokens that came from the prefix cache
    std::string error;
};

}  // namespace lightllm
