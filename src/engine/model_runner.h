// ModelRunner: the engine the router drives. It owns the backend, the model's
// weights, the token-wise KV pool and the ReqToTokenTable, and runs one step:
// a packed (nopad) batch of sequences, each feeding some new tokens (a prompt
// chunk or the last sampled token), then samples the next token of those that
// ask for it. Only the router + engine thread touches it.
#pragma once
#include "backend.h"
#include "model_config.h"
#include "req_to_token_table.h"
#include "engine_options.h"
#include "sampled_token.h"
#include "sampling_params.h"
#include "token_kv_pool.h"
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

namespace lightllm {

// One request's share of an engine step.
struct StepSeq {
    int32_t row = -1;                 // its row in the ReqToTokenTable
    int32_t n_cached = 0;             // its tokens already in the KV cache
    const int32_t* tokens = nullptr;  // new tokens fed now, at positions n_cached..
    int32_t n_new = 0;
    const int32_t* slots = nullptr;   // n_new KV slots for them, allocated by the router
    // The slots of positions 0..n_cached-1, as its table row holds them (for
    // cascade attention's grouping, cascade_plan.h); null: never grouped.
    const int32_t* context_slots = nullptr;
    // Cached tokens whose slots the table row does not hold yet (a prefix-cache
    // hit on admission): positions n_cached - n_table_stale .. n_cached - 1,
    // slots at slots[-n_table_stale .. -1]. The step writes them first.
    int32_t n_table_stale = 0;
    bool sample = false;              // sample a next token after the last new token
    const SamplingParams* params = nullptr;
    const std::vector<int32_t>* prompt = nullptr;  // for repetition penalty
    const std::vector<int32_t>* output = nullptr;  // generated so far: penalties, RNG position
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

    // Steps this rank has run as a decode CUDA graph, captured or replayed
    // (the start-up capture included): for tests and logs.
    int64_t graph_steps() const;
    // Steps this rank has run with cascade attention groups: for tests and logs.
    int64_t cascade_steps() const;

    // Ranks > 0 of a tensor-parallel group: runs the forward of every step
    // plan rank 0 sends, until rank 0 says stop.
    void run_tp_worker_steps();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lightllm
