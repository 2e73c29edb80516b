// StepEngine: what the router needs from an engine — one step over packed
// sequences, the KV pool it allocates slots from and the request table whose
// rows it hands out. ModelRunnerEngine adapts the real ModelRunner; router
// tests plug in a deterministic fake with no model.
#pragma once
#include "model_runner.h"
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

class ModelRunnerEngine : public StepEngine {
public:
    explicit ModelRunnerEngine(ModelRunner& runner) : runner_(runner) {}
    TokenKvPool& kv_pool() override { return runner_.kv_pool(); }
    ReqToTokenTable& req_to_token() override { return runner_.req_to_token(); }
    std::vector<SampledToken> step(const std::vector<StepSeq>& seqs) override { return runner_.step(seqs); }
    int max_context() const override { return runner_.req_to_token().max_context(); }
    std::vector<int32_t> eos_ids() const override {
        const auto& ids = runner_.config().eos_ids;
        return std::vector<int32_t>(ids.begin(), ids.end());
    }

private:
    ModelRunner& runner_;
};

}  // namespace lightllm
