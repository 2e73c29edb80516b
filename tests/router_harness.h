// The router tests' harness: a Router over a deterministic fake engine (no
// model), what a request produces run on its own, and small helpers.
#pragma once
#include "engine_loop.h"
#include "fake_step_engine.h"
#include "router.h"
#include <doctest/doctest.h>
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lightllm::testing::router_harness {

constexpr int kVocab = 64;

struct Expected {
    std::vector<int32_t> output;
    FinishReason reason;
};

// What a request produces run on its own: the fake model's tokens until EOS
// (after min_new_tokens), a stop token id, or its length.
inline Expected run_alone(const std::vector<int32_t>& prompt, const SamplingParams& p, int max_context, int32_t eos) {
    std::vector<int32_t> seq = prompt, out;
    const int max_new = std::min(p.max_new_tokens, max_context - int(prompt.size()));
    for (;;) {
        int32_t t = fake_next_token(seq, p, out.size(), kVocab);
        out.push_back(t);
        seq.push_back(t);
        bool stop_tok = (!p.ignore_eos && t == eos) ||
                        std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), t) != p.stop_token_ids.end();
        if (stop_tok && int(out.size()) >= p.min_new_tokens) return {out, FinishReason::Stop};
        if (int(out.size()) >= max_new) return {out, FinishReason::Length};
    }
}

struct Outcome {
    std::vector<int32_t> tokens;
    int n_finish = 0;
    int n_after_finish = 0;
    FinishReason reason = FinishReason::Stop;
    std::string error;
    int n_pauses = 0;
    std::vector<int64_t> token_steps;  // step index of each token
};

struct Harness {
    FakeStepEngine engine;
    Router router;
    std::vector<EngineEvent> events;
    std::map<uint64_t, Outcome> outcomes;
    std::map<uint64_t, std::shared_ptr<RequestControl>> controls;
    int64_t n_step = 0;

    Harness(int64_t capacity, int max_requests, int max_context, const RouterOptions& opts)
        : engine(capacity, max_requests, max_context, kVocab), router(engine, opts) {}

    std::shared_ptr<RequestControl> add(uint64_t id, std::vector<int32_t> prompt, const SamplingParams& p) {
        auto req = std::make_unique<EngineRequest>();
        req->id = id;
        req->prompt = std::move(prompt);
        req->params = p;
        req->control = std::make_shared<RequestControl>(id);
        controls[id] = req->control;
        outcomes[id];
        router.add(std::move(req), events);
        collect();
        return controls[id];
    }

    void step() {
        router.step(events);
        ++n_step;
        collect();
        check_invariants();
    }

    void collect() {
        for (EngineEvent& ev : events) {
            Outcome& o = outcomes[ev.id];
            if (o.n_finish) ++o.n_after_finish;
            if (ev.kind == EngineEvent::Kind::Token) {
                o.tokens.push_back(ev.token);
                o.token_steps.push_back(n_step);
            }
            if (ev.kind == EngineEvent::Kind::Finish || ev.finished) {
                ++o.n_finish;
                o.reason = ev.reason;
                o.error = ev.error;
                o.n_pauses = ev.n_pauses;
            }
        }
        events.clear();
    }

    // Every used slot is owned once: by the prefix cache or by one running
    // request (its slots past n_shared); a request's first n_shared slots are
    // those of the cache's path down to the node it locks.
    void check_invariants() {
        TokenKvPool& pool = engine.kv_pool();
        REQUIRE(pool.n_free() + pool.n_used() == pool.capacity());
        const RequestPrefixCache* cache = router.prefix_cache();
        std::set<int32_t> owned;
        std::vector<const RadixNode*> holders;
        if (cache) {
            std::vector<const RadixNode*> stack{&cache->tree().root()};
            while (!stack.empty()) {
                const RadixNode* n = stack.back();
                stack.pop_back();
                for (int32_t slot : n->slots) REQUIRE(owned.insert(slot).second);
                for (const auto& kv : n->children) stack.push_back(kv.second.get());
            }
            REQUIRE(int64_t(owned.size()) == cache->tree().n_tokens());
        }
        for (const auto& r : router.running()) {
            REQUIRE(r->row >= 0);
            REQUIRE(r->n_cached() <= r->n_tokens());
            REQUIRE(r->n_shared <= r->n_cached());
            for (int p = r->n_shared; p < r->n_cached(); ++p) REQUIRE(owned.insert(r->slots[size_t(p)]).second);
            if (!cache) continue;
            REQUIRE(r->cache_node != nullptr);
            holders.push_back(r->cache_node);
            std::vector<int32_t> path;
            for (const RadixNode* n = r->cache_node; n; n = n->parent) path.insert(path.begin(), n->slots.begin(), n->slots.end());
            REQUIRE(path == std::vector<int32_t>(r->slots.begin(), r->slots.begin() + r->n_shared));
        }
        for (const auto& r : router.waiting()) {
            REQUIRE(r->slots.empty());
            REQUIRE(r->row == -1);
            REQUIRE(r->cache_node == nullptr);
        }
        REQUIRE(int64_t(owned.size()) == pool.n_used());
        if (cache) REQUIRE(cache->tree().check(holders) == "");
        REQUIRE(engine.req_to_token().n_free_rows() ==
                engine.req_to_token().max_requests() - int(router.running().size()));
        REQUIRE(engine.n_errors == 0);
        // FIFO: nothing admitted for the first time ahead of an older request still waiting.
        uint64_t oldest_unstarted = UINT64_MAX;
        for (const auto& r : router.waiting())
            if (!r->started) oldest_unstarted = std::min(oldest_unstarted, r->id);
        for (const auto& [id, o] : outcomes)
            if (!o.tokens.empty()) REQUIRE(id < oldest_unstarted);
    }

    void run_until_idle(int64_t max_steps = 100000) {
        while (!router.idle()) {
            REQUIRE(n_step < max_steps);
            step();
        }
    }
};

inline SamplingParams params(int max_new, bool ignore_eos = true) {
    SamplingParams p;
    p.max_new_tokens = max_new;
    p.ignore_eos = ignore_eos;
    return p;
}

inline std::vector<int32_t> prompt_of(int n, uint64_t salt) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v[size_t(i)] = int32_t(1 + (salt * 31 + uint64_t(i) * 7) % (kVocab - 1));
    return v;
}

}  // namespace lightllm::testing::router_harness
