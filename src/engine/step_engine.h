// StepEngine: what the router needs from an engine — one step over packed
// sequences, the KV pool it allocates slots from and the request table whose
// rows it hands out. ModelRunnerEngine adapts the real ModelRunner; router
// tests plug in a deterministic fake with no model.
#pragma once
#include "model_runner.h"
#include <algorithm>
#include <memory>
#include <vector>

namespace lightllm {

class StepEngine {
public:
    virtual ~StepEngine() = default;
    virtual TokenKvPool& kv_pool() = 0;
    virtual ReqToTokenTable& req_to_token() = 0;
    // One SampledToken per seq with sample == true, in order.
    virtual std::vector<SampledToken> step(const std::vector<StepSeq>& seqs) = 0;
    virtual int max_context() const = 0;       // tokens one request may reach
    virtual std::vector<int32_t> eos_ids() const = 0;
};

// Owns a ModelRunner. EOS ids: the model config's plus any the tokenizer adds.
class ModelRunnerEngine : public StepEngine {
public:
    ModelRunnerEngine(std::unique_ptr<ModelRunner> runner, const std::vector<int32_t>& extra_eos = {})
        : runner_(std::move(runner)) {
        for (int id : runner_->config().eos_ids) eos_.push_back(int32_t(id));
        for (int32_t id : extra_eos)
            if (std::find(eos_.begin(), eos_.end(), id) == eos_.end()) eos_.push_back(id);
    }
    ModelRunner& runner() { return *runner_; }
    TokenKvPool& kv_pool() override { return runner_->kv_pool(); }
    ReqToTokenTable& req_to_token() override { return runner_->req_to_token(); }
    std::vector<SampledToken> step(const std::vector<StepSeq>& seqs) override { return runner_->step(seqs); }
    int max_context() const override { return runner_->req_to_token().max_context(); }
    std::vector<int32_t> eos_ids() const override { return eos_; }

private:
    std::unique_ptr<ModelRunner> runner_;
    std::vector<int32_t> eos_;
};

}  // namespace lightllm
