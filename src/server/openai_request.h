// OpenAiRequest: an OpenAI /v1/completions or /v1/chat/completions body,
// checked field by field (request_validation.h) and turned into pipeline
// inputs. Choice i belongs to prompt i / n.
#pragma once
#include "openai_api.h"

namespace lightllm {

struct OpenAiRequest {
    std::string model;
    std::vector<RequestInput> prompts;  // sampling params not filled in; see inputs()
    SamplingParams params;
    int n = 1;
    bool stream = false;
    bool include_usage = false;

    // One input per choice: every prompt n times, seeds seed, seed+1, ...
    std::vector<RequestInput> inputs() const;
};

OpenAiRequest parse_completion_request(const json& body, const RequestLimits& limits, const OpenAiContext& ctx);
OpenAiRequest parse_chat_request(const json& body, const RequestLimits& limits, const OpenAiContext& ctx);

}  // namespace lightllm
