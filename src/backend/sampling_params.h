// SamplingParams: how one request picks its next tokens and when it stops.
// Defaults are a plain greedy run; every front end (generate flags, JSONL
// fields, /generate parameters, OpenAI fields) fills this one struct.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lightllm {

struct SamplingParams {
    float temperature = 0.0f;        // 0: greedy
    int top_k = 0;                   // 0: off
    float top_p = 1.0f;              // 1: off
    float min_p = 0.0f;              // 0: off
    float repetition_penalty = 1.0f; // 1: off (HF/CTRL style, over prompt + output)
    float presence_penalty = 0.0f;   // OpenAI style, over output tokens
    float frequency_penalty = 0.0f;  // OpenAI style, over output tokens
    uint64_t seed = 0;               // random stream of the request (see sampler.h)
    int max_new_tokens = 256;
    int min_new_tokens = 0;          // EOS and stop strings are ignored before this many
    bool ignore_eos = false;
    std::vector<std::string> stop;   // stop strings (not included in the text)
    std::vector<int32_t> stop_token_ids;
    int n_logprobs = -1;             // -1: none; 0: chosen token's logprob; k: also the top k
    bool skip_special_tokens = true;

    bool greedy() const { return temperature <= 0.0f || top_k == 1; }
};

}  // namespace lightllm
