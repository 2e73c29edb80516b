// Workloads for `lightllm bench`: which prompts, how many tokens each may
// generate, and when each is sent.
//   random     prompt ids drawn uniformly from the vocabulary; input/output
//              lengths uniform in [len*(1-r), len*(1+r)] (r: --range-ratio)
//   synthetic  lengths log-normal around --input-len / --output-len (sigma
//              0.6, a long tail like chat traffic), random prompt ids
//   sharegpt   a ShareGPT JSON (or JSON Lines) file sampled exactly as vLLM's
//              benchmark_serving does (sharegpt_dataset.h): first turn the
//              prompt, the second turn's token count the output length,
//              Python's shuffle with the seed, vLLM's length filters
//   jsonl      one object per line: "prompt" (text) and/or "prompt_len", and
//              "output_len" (or "max_tokens"); bench/data/sharegpt_sample.jsonl
//              is one, made by bench/make_sharegpt_sample.py
//   shared-prefix, multi-turn  prefix-cache workloads (workload_prefix.h)
// Arrivals: all at once (request_rate = inf) or a Poisson process of
// request_rate per second; all draws come from the seed. A later turn of a
// conversation (follows >= 0) has no arrival time: it is sent when the turn it
// follows finishes.
#pragma once
#include <cstdint>
#include <random>
#include <limits>
#include <string>
#include <vector>

namespace lightllm {

class Tokenizer;

struct WorkloadItem {
    std::string prompt;               // text, tokenized by the pipeline; or
    std::vector<int32_t> prompt_ids;  // ids
    int n_prompt = 0;                 // prompt tokens (with BOS where the tokenizer adds one)
    int max_new_tokens = 0;
    double arrival_s = 0.0;           // when to send it, from the start
    // Index of the previous turn of this conversation, or -1. When >= 0 the
    // prompt sent is that turn's prompt ++ its output ++ prompt_ids.
    int follows = -1;
};

struct WorkloadSpec {
    std::string dataset_name = "random";  // random | synthetic | sharegpt | jsonl
    std::string dataset_path;
    int num_prompts = 100;
    int input_len = 128;
    int output_len = 128;
    bool output_len_given = false;        // sharegpt/jsonl: use output_len instead of the data's
    double range_ratio = 0.0;
    double request_rate = std::numeric_limits<double>::infinity();
    uint64_t seed = 0;
    // shared-prefix and multi-turn (workload_prefix.h)
    int prefix_len = 2048;
    int groups = 64;
    int prompts_per_group = 16;
    int question_len = 128;
    int turns = 4;
    int max_conversation_len = 4096;
};

// `tok` may be null (dummy weights): then text prompts are replaced by random
// ids of their recorded length where the data has one. Throws Error naming
// the file or flag.
std::vector<WorkloadItem> make_workload(const WorkloadSpec& spec, const Tokenizer* tok, int n_vocab);

// A short description for reports, e.g. "random in=128 out=128 rate=inf".
std::string describe_workload(const WorkloadSpec& spec);

// n token ids drawn uniformly from [0, n_vocab) (random prompts).
std::vector<int32_t> random_ids(std::mt19937_64& rng, int n, int n_vocab);

}  // namespace lightllm
