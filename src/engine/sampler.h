// Host-side sampling of one next token from F32 logits [n_vocab].
//
// Order of operations (as in Hugging Face's logits processors):
//   1. logprobs: log_softmax of the raw logits (what `logprob` / `top` report);
//   2. repetition_penalty r over the distinct tokens of prompt + output
//      (logit > 0: logit / r, else logit * r);
//   3. presence / frequency penalties over output tokens (OpenAI):
//      logit -= presence * [count > 0] + frequency * count;
//   4. greedy (temperature <= 0 or top_k == 1): argmax, lowest id on ties;
//   5. otherwise logits / temperature, keep the top_k best (ties: lower id
//      first), softmax, keep the smallest prefix whose probability reaches
//      top_p, drop tokens below min_p * max probability, renormalize, and
//      invert the CDF at u = uniform01(seed, n_output) (counter_rng.h).
// The draw for a request's k-th output token depends only on (seed, k), so a
// request that is paused and recomputed samples the same tokens.
#pragma once
#include "model_runner.h"
#include "sampling_params.h"
#include <cstdint>
#include <vector>

namespace lightllm {

// Steps 2 and 3 above, in place on logits [n_vocab].
void apply_penalties(std::vector<float>& logits, const SamplingParams& params, const std::vector<int32_t>& prompt,
                     const std::vector<int32_t>& output);

SampledToken sample_token(const float* logits, int n_vocab, const SamplingParams& params,
                          const std::vector<int32_t>& prompt, const std::vector<int32_t>& output);

}  // namespace lightllm
