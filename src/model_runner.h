// ModelRunner: the engine the router drives. It owns the backend, the model's
// weights, the token-wise KV pool and the ReqToTokenTable, and runs one step:
// a packed (nopad) batch of sequences, each feeding some new tokens (a prompt
// chunk or the last sampled token), then samples the next token of those that
// ask for it. Only the router + engine thread touches it.
#pragma once
#include "backend.h"
#include "model_config.h"
#include "req_to_token_table.h"
#include "sampling_params.h"
#include "token_kv_pool.h"
#include <memory>
#include <string>
#include <vector>

namespace lightllm {

struct EngineOptions {
    std::string model_path;           // HF directory, .gguf file, or a preset name with load_dummy
    std::string device = "auto";      // cpu | cuda | auto
    bool load_dummy = false;          // --load-format dummy: random weights from a preset
    std::string dtype = "auto";       // auto | f16 | bf16 | f32 (CUDA compute dtype)
    std::string kv_cache_dtype = "auto";  // auto | f16 | bf16 | int8
    int64_t max_total_tokens = 0;     // KV capacity in tokens; 0: from --mem-fraction
    float mem_fraction = 0.9f;        // of free memory after weights and workspace
    int max_running_requests = 1024;  // as LightLLM's running_max_req_size (1000)
    int max_prefill_tokens = 8192;    // packed new tokens per step (chunked prefill size)
    int max_context = 0;              // 0: the model's max_position
    uint64_t dummy_seed = 0;
    bool profile_ops = false;         // time every op on the GPU, table to stderr at exit (no CUDA graphs)
};

// One request's share of an engine step.
struct StepSeq {
    int32_t row = -1;                 // its row in the ReqToTokenTable
    int32_t n_cached = 0;             // its tokens already in the KV cache
    const int32_t* tokens = nullptr;  // new tokens fed now, at positions n_cached..
    int32_t n_new = 0;
    const int32_t* slots = nullptr;   // n_new KV slots for them, allocated by the router
    bool sample = false;              // sample a next token after the last new token
    const SamplingParams* params = nullptr;
    const std::vector<int32_t>* prompt = nullptr;  // for repetition penalty
    const std::vector<int32_t>* output = nullptr;  // generated so far: penalties, RNG position
};

struct TokenLogprob {
    int32_t id = 0;
    float logprob = 0.0f;
};

struct SampledToken {
    int32_t id = 0;
    float logprob = 0.0f;              // log-softmax of the raw logits at id
    std::vector<TokenLogprob> top;     // params->n_logprobs best, when asked
};

class ModelRunner {
public:
    explicit ModelRunner(const EngineOptions& opts);
    ~ModelRunner();

    const ModelConfig& config() const;
    Backend& backend();
    TokenKvPool& kv_pool();
    ReqToTokenTable& req_to_token();

    // Runs one forward over all seqs; returns one SampledToken per seq with
    // sample == true, in order.
    std::vector<SampledToken> step(const std::vector<StepSeq>& seqs);

    // Logits (F32, [n_tokens, n_vocab]) of every new token of one sequence:
    // for tests against reference implementations.
    std::vector<float> forward_all_logits(const StepSeq& seq);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lightllm
