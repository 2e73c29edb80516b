// GenerationCall: what an HTTP protocol (LightLLM's /generate, OpenAI's
// /v1/*) hands the server for one request: the pipeline inputs, one per
// choice, and how to turn the pipeline's events into response text. The
// protocol files fill it with pure functions (testable without a model or a
// socket); http_server.cpp submits the inputs and drives the callbacks.
#pragma once
#include "pipeline.h"
#include "request_validation.h"
#include <functional>
#include <string>
#include <vector>

namespace lightllm {

// One choice's output so far (complete once `finished`).
struct ChoiceOutput {
    std::vector<TokenEvent> tokens;
    std::string streamed_text;   // concatenated tokens[i].text
    RequestResult result;        // valid once finished
    bool finished = false;

    // Text the final result holds beyond what the token events carried (e.g.
    // a held-back partial stop string released at the end).
    std::string unstreamed_tail() const;
};

struct GenerationCall {
    std::vector<RequestInput> inputs;  // one per choice
    bool stream = false;

    // Streaming: response text for each event, in order.
    std::function<std::string(int choice, const TokenEvent& tok, const ChoiceOutput& so_far)> on_token;
    std::function<std::string(int choice, const ChoiceOutput& out)> on_finish;
    std::function<std::string(const std::vector<ChoiceOutput>& outs)> on_end;
    // Not streaming: the response body once every choice has finished.
    std::function<json(const std::vector<ChoiceOutput>& outs)> on_complete;
    const char* content_type = "application/json";
};

// Where the served model stands, for /health (liveness) and /health/ready
// (readiness): Loading until the weights are in and the first step has run,
// Failed after an engine fault (message says which).
enum class ModelState { Loading, Ready, Failed };
struct ModelStatus {
    ModelState state = ModelState::Ready;
    std::string message;
};

// What the server needs from the model it serves: the Pipeline in
// production, a scripted fake in tests.
struct ServedModel {
    std::string name;                        // the id /v1/models lists
    const class Tokenizer* tokenizer = nullptr;
    std::function<std::shared_ptr<RequestHandle>(RequestInput, RequestSink)> submit;  // may throw Overloaded
    std::function<PipelineStats()> stats;
    std::function<ModelStatus()> status;     // unset: always Ready
};

// JSON text with any invalid UTF-8 (a token's raw bytes) replaced by U+FFFD.
std::string json_text(const json& j);

// Seconds since the epoch, for OpenAI's `created`.
int64_t unix_time_now();

}  // namespace lightllm
