// Drives a Router over a real engine through waves of requests and collects
// each request's tokens: a wave's requests are added together, then the
// router steps until it is idle (the first wave, when first_wave_steps >= 0,
// only that many steps, so the next wave joins it mid-flight). Used by the
// prefix-cache and cascade-attention tests on fixture models.
#pragma once
#include "model_runner.h"
#include "router.h"
#include "step_engine.h"
#include <doctest/doctest.h>
#include <map>
#include <memory>
#include <vector>

namespace lightllm::testing {

struct WaveRequest {
    std::vector<int32_t> prompt;
    SamplingParams params;
};

// Greedy decoding of n tokens, EOS ignored.
inline SamplingParams greedy_tokens(int n) {
    SamplingParams p;
    p.max_new_tokens = n;
    p.ignore_eos = true;
    return p;
}

// Tokens of every request, in the order the waves list them; no request may fail.
inline std::vector<std::vector<int32_t>> run_waves(Router& router, const std::vector<std::vector<WaveRequest>>& waves,
                                                   int first_wave_steps = -1) {
    std::vector<std::vector<int32_t>> outputs;
    std::map<uint64_t, size_t> index;
    std::vector<EngineEvent> events;
    auto step = [&] {
        router.step(events);
        for (const EngineEvent& ev : events) {
            REQUIRE(ev.reason != FinishReason::Error);
            if (ev.kind == EngineEvent::Kind::Token) outputs[index.at(ev.id)].push_back(ev.token);
        }
        events.clear();
    };
    uint64_t id = 1;
    for (size_t w = 0; w < waves.size(); ++w) {
        for (const WaveRequest& q : waves[w]) {
            auto req = std::make_unique<EngineRequest>();
            req->id = id++;
            req->prompt = q.prompt;
            req->params = q.params;
            req->control = std::make_shared<RequestControl>(req->id);
            index[req->id] = outputs.size();
            outputs.emplace_back();
            router.add(std::move(req), events);
        }
        for (int n = 0; !router.idle() && (w != 0 || first_wave_steps < 0 || n < first_wave_steps); ++n) step();
    }
    while (!router.idle()) step();
    return outputs;
}

// A model's greedy tokens for waves of prompts (n_tokens each, EOS ignored)
// through the router with the prefix cache on, and how many of its steps ran
// cascade attention.
struct GreedyWaves {
    std::vector<std::vector<int32_t>> outputs;
    int64_t cascade_steps = 0;
};
inline GreedyWaves run_greedy_waves(const EngineOptions& eo, const std::vector<std::vector<std::vector<int32_t>>>& prompts,
                                    int n_tokens) {
    auto runner = std::make_unique<ModelRunner>(eo);
    ModelRunner* mr = runner.get();
    ModelRunnerEngine engine(std::move(runner));
    RouterOptions ro;
    ro.max_running_requests = eo.max_running_requests;
    ro.max_prefill_tokens = eo.max_prefill_tokens;
    ro.prefix_cache = true;
    Router router(engine, ro);
    std::vector<std::vector<WaveRequest>> waves;
    for (const auto& wave : prompts) {
        waves.emplace_back();
        for (const auto& prompt : wave) waves.back().push_back({prompt, greedy_tokens(n_tokens)});
    }
    GreedyWaves out;
    out.outputs = run_waves(router, waves);
    out.cascade_steps = mr->cascade_steps();
    return out;
}

}  // namespace lightllm::testing
