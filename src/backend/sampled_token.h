// What sampling one row of logits gives: the chosen id, its logprob and, when
// asked, the best alternatives. Shared by the host sampler, the device sampler
// and every layer that reports tokens (engine, server, bench).
#pragma once
#include <cstdint>
#include <vector>

namespace lightllm {

struct TokenLogprob {
    int32_t id = 0;
    float logprob = 0.0f;
};

struct SampledToken {
    int32_t id = 0;
    float logprob = 0.0f;              // log-softmax of the raw logits at id
    std::vector<TokenLogprob> top;     // params->n_logprobs best, when asked
};

}  // namespace lightllm
