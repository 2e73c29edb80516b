// The router and engine loop against a deterministic fake engine (no model):
// the KV pool is never over-committed, every request finishes exactly once
// with the tokens a run on its own gives, FIFO admission, chunked prefill,
// pause + recompute, cancellation.
#include "engine_loop.h"
#include "fake_step_engine.h"
#include "router.h"
#include "temp_dir.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <fstream>
#include <algorithm>
#include <condition_variable>
#include <map>
#include <random>
#include <set>
#include <thread>

using namespace lightllm;
using lightllm::testing::FakeStepEngine;
using lightllm::testing::fake_next_token;

namespace {

constexpr int kVocab = 64;

struct Expected {
    std::vector<int32_t> output;
    FinishReason reason;
};

// What a request produces run on its own: the fake model's tokens until EOS
// (after min_new_tokens), a stop token id, or its length.
Expected run_alone(const std::vector<int32_t>& prompt, const SamplingParams& p, int max_context, int32_t eos) {
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

SamplingParams params(int max_new, bool ignore_eos = true) {
    SamplingParams p;
    p.max_new_tokens = max_new;
    p.ignore_eos = ignore_eos;
    return p;
}

std::vector<int32_t> prompt_of(int n, uint64_t salt) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v[size_t(i)] = int32_t(1 + (salt * 31 + uint64_t(i) * 7) % (kVocab - 1));
    return v;
}

}  // namespace

TEST_CASE("router: one request runs to its length and gives back everything") {
    RouterOptions opts;
    Harness h(1000, 4, 512, opts);
    h.add(1, prompt_of(10, 1), params(20));
    h.run_until_idle();
    const Outcome& o = h.outcomes[1];
    CHECK(o.n_finish == 1);
    CHECK(o.reason == FinishReason::Length);
    CHECK(o.tokens == run_alone(prompt_of(10, 1), params(20), 512, 0).output);
    CHECK(h.n_step == 20);  // one prefill step that samples, then 19 decode steps
    CHECK(h.router.stats().kv_used_tokens == 0);
    CHECK(h.router.stats().prefix_cache_tokens == 10 + 19);  // all but the last token's KV stays cached
    h.router.flush_prefix_cache();
    CHECK(h.engine.kv_pool().n_used() == 0);
    CHECK(h.router.stats().kv_peak_tokens == 10 + 19);
}

TEST_CASE("router: impossible requests finish at once with a clear error") {
    RouterOptions opts;
    Harness h(100, 4, 64, opts);
    h.add(1, prompt_of(64, 1), params(5));
    h.add(2, {}, params(5));
    h.add(3, prompt_of(50, 3), params(60));  // clipped to 14 new tokens by the context: fits
    h.add(4, prompt_of(50, 4), params(5));
    Harness small(40, 4, 64, opts);
    small.add(5, prompt_of(30, 5), params(20));
    CHECK(h.outcomes[1].reason == FinishReason::Error);
    CHECK(h.outcomes[1].error.find("context") != std::string::npos);
    CHECK(h.outcomes[2].reason == FinishReason::Error);
    CHECK(h.outcomes[3].n_finish == 0);
    CHECK(small.outcomes[5].reason == FinishReason::Error);
    CHECK(small.outcomes[5].error.find("KV") != std::string::npos);
    h.run_until_idle();
    CHECK(h.outcomes[3].reason == FinishReason::Length);
    CHECK(h.outcomes[3].tokens.size() == 14);
    CHECK(h.outcomes[4].tokens.size() == 5);
}

TEST_CASE("router: a long prompt is prefilled in chunks while running requests keep decoding") {
    RouterOptions opts;
    opts.max_prefill_tokens = 16;
    opts.max_wait_steps = 0;
    Harness h(10000, 4, 1024, opts);
    h.add(1, prompt_of(4, 1), params(40));
    h.step();
    h.step();
    h.add(2, prompt_of(200, 2), params(5));
    const int64_t arrived = h.n_step;
    while (h.outcomes[2].tokens.empty()) {
        size_t before = h.outcomes[1].tokens.size();
        h.step();
        CHECK(h.outcomes[1].tokens.size() == before + 1);  // the running request never stalls
        CHECK(h.engine.last_step_new_tokens <= 16 + 1);
    }
    CHECK(h.n_step - arrived == (200 + 15) / 16);
    h.run_until_idle();
    CHECK(h.outcomes[2].tokens == run_alone(prompt_of(200, 2), params(5), 1024, 0).output);
    CHECK(h.outcomes[1].tokens == run_alone(prompt_of(4, 1), params(40), 1024, 0).output);
}

TEST_CASE("router: while requests decode, each waiting request adds prefill_chunk_decoding tokens to a step's budget") {
    RouterOptions opts;
    opts.max_prefill_tokens = 64;
    opts.prefill_chunk_decoding = 8;
    Harness h(10000, 8, 1024, opts);
    h.add(1, prompt_of(100, 1), params(60));
    h.step();  // nothing decodes yet: the whole budget
    CHECK(h.engine.last_step_new_tokens == 64);
    h.step();  // request 1's last 36 prompt tokens: it is the only one prefilling
    CHECK(h.engine.last_step_new_tokens == 36);
    h.step();  // request 1 decodes
    h.add(2, prompt_of(50, 2), params(5));
    h.step();  // one request waits: 8 prompt tokens next to the decode
    CHECK(h.engine.last_step_new_tokens == 1 + 8);
    h.add(3, prompt_of(50, 3), params(5));
    h.add(4, prompt_of(50, 4), params(5));
    h.step();  // 2 partly prefilled + 3 and 4 waiting: 3 x 8 tokens, first to request 2
    CHECK(h.engine.last_step_new_tokens == 1 + 24);
    for (int i = 0; i < 5; ++i) h.add(10 + uint64_t(i), prompt_of(40, 10 + i), params(3));
    h.step();  // a backlog (2 running + 5 waiting; 3 and 4 chunked): the cap reaches max_prefill_tokens
    CHECK(h.engine.last_step_new_tokens == 1 + 64);
    h.run_until_idle();
    for (uint64_t id : {2, 3, 4})
        CHECK(h.outcomes[id].tokens == run_alone(prompt_of(50, int(id)), params(5), 1024, 0).output);
    CHECK(h.outcomes[1].tokens == run_alone(prompt_of(100, 1), params(60), 1024, 0).output);
}

TEST_CASE("router: max_wait_steps decode steps pass before a waiting request is prefilled") {
    for (int wait : {0, 1, 3, 6}) {
        RouterOptions opts;
        opts.max_wait_steps = wait;
        Harness h(10000, 4, 1024, opts);
        h.add(1, prompt_of(8, 1), params(30));
        h.step();  // prefill of 1
        h.add(2, prompt_of(8, 2), params(3));
        int decode_steps_waited = 0;
        while (h.outcomes[2].tokens.empty()) {
            h.step();
            if (h.outcomes[2].tokens.empty()) ++decode_steps_waited;
        }
        CHECK(decode_steps_waited == wait);
    }
}

TEST_CASE("router: a cancelled request frees its slots and row within one step") {
    RouterOptions opts;
    opts.prefix_cache = false;
    Harness h(1000, 4, 512, opts);
    auto c1 = h.add(1, prompt_of(30, 1), params(50));
    h.add(2, prompt_of(20, 2), params(50));
    auto c3 = h.add(3, prompt_of(20, 3), params(50));
    for (int i = 0; i < 5; ++i) h.step();
    const int64_t used_by_2_and_3 = 20 + 4 + 20 + 4;
    CHECK(h.engine.kv_pool().n_used() == 30 + 4 + used_by_2_and_3);
    c1->handle->cancel();
    h.step();
    CHECK(h.outcomes[1].n_finish == 1);
    CHECK(h.outcomes[1].reason == FinishReason::Cancelled);
    CHECK(h.outcomes[1].tokens.size() == 5);
    CHECK(h.engine.kv_pool().n_used() == used_by_2_and_3 + 2);
    CHECK(h.router.running().size() == 2);
    c3->stop_requested = true;  // the detokenizer saw a stop string
    h.step();
    CHECK(h.outcomes[3].reason == FinishReason::Stop);
    CHECK(h.engine.kv_pool().n_used() == 20 + 6);
    h.run_until_idle();
    CHECK(h.outcomes[2].tokens == run_alone(prompt_of(20, 2), params(50), 512, 0).output);
}

TEST_CASE("router: the first request that does not fit blocks the ones behind it") {
    RouterOptions opts;
    Harness h(100, 8, 512, opts);
    h.add(1, prompt_of(40, 1), params(20));  // needs 60
    h.add(2, prompt_of(40, 2), params(20));  // needs 60 more: must wait for 1
    h.add(3, prompt_of(2, 3), params(2));    // would fit now, but is behind 2
    h.step();
    CHECK(h.router.running().size() == 1);
    CHECK(h.outcomes[3].tokens.empty());
    h.run_until_idle();
    CHECK(h.outcomes[2].token_steps.front() <= h.outcomes[3].token_steps.front());
    CHECK(h.router.stats().n_pauses == 0);
}

TEST_CASE("router: when an output estimate runs the pool dry, the latest requests pause and recompute") {
    RouterOptions opts;
    opts.expected_output_fraction = 0.1f;
    opts.max_wait_steps = 0;
    Harness h(120, 8, 512, opts);
    std::vector<SamplingParams> ps;
    for (int i = 0; i < 6; ++i) {
        SamplingParams p = params(40, false);
        if (i % 2) {
            p.temperature = 0.8f;
            p.seed = 1000 + uint64_t(i);
        }
        ps.push_back(p);
        h.add(uint64_t(i), prompt_of(10, uint64_t(i)), p);
    }
    h.run_until_idle();
    CHECK(h.router.stats().n_pauses > 0);
    int paused_requests = 0;
    for (int i = 0; i < 6; ++i) {
        Expected e = run_alone(prompt_of(10, uint64_t(i)), ps[size_t(i)], 512, 0);
        CHECK(h.outcomes[uint64_t(i)].tokens == e.output);
        CHECK(h.outcomes[uint64_t(i)].reason == e.reason);
        paused_requests += h.outcomes[uint64_t(i)].n_pauses > 0;
    }
    CHECK(paused_requests > 0);
    h.router.flush_prefix_cache();
    CHECK(h.engine.kv_pool().n_used() == 0);
}

// Thousands of random workloads: arrivals over time, chunking, cancellation,
// stop requests, tight pools. Exact admission never pauses or stalls; with an
// output estimate it may pause, but every output still matches a run alone.
// With the prefix cache, prompts share stems, repeat, and continue earlier
// conversations (prompt ++ output ++ more), so they hit the cache, evict from
// it and pause with cached prefixes; the invariants are checked every step
// and the pool is empty once the cache is flushed.
static void random_workloads(bool with_estimate, bool prefix_cache, int n_trials, uint32_t seed) {
    std::mt19937 rng(seed);
    auto uni = [&](int lo, int hi) { return lo + int(rng() % uint32_t(hi - lo + 1)); };
    int64_t total_pauses = 0, total_hits = 0, total_evicted = 0;
    for (int trial = 0; trial < n_trials; ++trial) {
        RouterOptions opts;
        opts.prefix_cache = prefix_cache;
        opts.max_running_requests = uni(1, 12);
        opts.max_prefill_tokens = uni(1, 96);
        opts.max_wait_steps = uni(0, 4);
        if (with_estimate) opts.expected_output_fraction = float(uni(5, 90)) / 100.0f;
        const int64_t capacity = uni(24, 600);
        const int max_context = uni(16, 160);
        Harness h(capacity, uni(1, 12), max_context, opts);

        struct Plan {
            int arrive, cancel_at, stop_at;
            std::vector<int32_t> prompt;
            SamplingParams p;
        };
        std::vector<Plan> plans(size_t(uni(1, 24)));
        for (size_t i = 0; i < plans.size(); ++i) {
            Plan& pl = plans[i];
            pl.arrive = uni(0, 40);
            pl.cancel_at = uni(0, 9) == 0 ? uni(0, 80) : -1;
            pl.stop_at = uni(0, 19) == 0 ? uni(0, 80) : -1;
            pl.prompt = prompt_of(uni(1, 80), rng());
            if (prefix_cache && uni(0, 2) > 0) {
                if (i > 0 && uni(0, 2) == 0) {  // a later turn of an earlier request's conversation
                    const Plan& prev = plans[size_t(uni(0, int(i) - 1))];
                    pl.prompt = prev.prompt;
                    const Expected e = run_alone(prev.prompt, prev.p, 100000, 0);
                    pl.prompt.insert(pl.prompt.end(), e.output.begin(), e.output.begin() + uni(0, int(e.output.size())));
                } else {
                    pl.prompt = prompt_of(uni(1, 60), uint64_t(uni(0, 3)));  // one of four system prompts
                }
                const std::vector<int32_t> more = prompt_of(uni(0, 20), rng());
                pl.prompt.insert(pl.prompt.end(), more.begin(), more.end());
                pl.prompt.resize(std::min<size_t>(pl.prompt.size(), 100));
            }
            pl.p = params(uni(1, 50), uni(0, 1) == 1);
            pl.p.min_new_tokens = uni(0, 2) == 0 ? uni(0, 10) : 0;
            if (uni(0, 3) == 0) {
                pl.p.temperature = 0.7f;
                pl.p.seed = rng();
            }
            if (uni(0, 5) == 0) pl.p.stop_token_ids = {int32_t(uni(1, kVocab - 1))};
        }
        std::sort(plans.begin(), plans.end(), [](const Plan& a, const Plan& b) { return a.arrive < b.arrive; });
        size_t next = 0;
        std::map<uint64_t, std::shared_ptr<RequestControl>> ctl;
        for (int64_t t = 0; next < plans.size() || !h.router.idle(); ++t) {
            REQUIRE(t < 20000);
            while (next < plans.size() && plans[next].arrive <= t) {
                ctl[next] = h.add(next, plans[next].prompt, plans[next].p);
                ++next;
            }
            for (const auto& [id, c] : ctl) {
                if (plans[id].cancel_at == t) c->handle->cancel();
                if (plans[id].stop_at == t) c->stop_requested = true;
            }
            if (!h.router.idle()) h.step();
        }
        for (size_t i = 0; i < plans.size(); ++i) {
            const Plan& pl = plans[i];
            const Outcome& o = h.outcomes[i];
            REQUIRE(o.n_finish == 1);
            REQUIRE(o.n_after_finish == 0);
            const int n_prompt = int(pl.prompt.size());
            const bool too_long = n_prompt >= max_context;
            const int max_new = std::min(pl.p.max_new_tokens, max_context - n_prompt);
            if (too_long || n_prompt + max_new > capacity) {
                REQUIRE(o.reason == FinishReason::Error);
                continue;
            }
            Expected e = run_alone(pl.prompt, pl.p, max_context, 0);
            if (o.reason == FinishReason::Cancelled || (pl.stop_at >= 0 && o.reason == FinishReason::Stop &&
                                                        o.tokens.size() < e.output.size())) {
                REQUIRE(o.tokens.size() <= e.output.size());
                REQUIRE(std::equal(o.tokens.begin(), o.tokens.end(), e.output.begin()));
            } else {
                REQUIRE(o.tokens == e.output);
                REQUIRE(o.reason == e.reason);
            }
        }
        REQUIRE(h.router.stats().kv_used_tokens == 0);
        total_hits += h.router.stats().prefix_cache_hit_tokens;
        total_evicted += h.router.stats().prefix_cache_evicted_tokens;
        h.router.flush_prefix_cache();
        REQUIRE(h.engine.kv_pool().n_used() == 0);
        REQUIRE(h.engine.req_to_token().n_free_rows() == h.engine.req_to_token().max_requests());
        if (!with_estimate) {
            REQUIRE(h.router.stats().n_pauses == 0);
            REQUIRE(h.router.stats().n_kv_stalls == 0);
        }
        total_pauses += h.router.stats().n_pauses;
    }
    if (with_estimate) CHECK(total_pauses > 0);
    if (prefix_cache) {
        CHECK(total_hits > 0);
        CHECK(total_evicted > 0);
    }
}

TEST_CASE("router: random workloads with exact admission never over-commit") {
    random_workloads(false, false, 1500, 11);
}

TEST_CASE("router: random workloads with an output estimate pause and still match") {
    random_workloads(true, false, 1500, 12);
}

TEST_CASE("router: random workloads with the prefix cache never over-commit and give the same tokens") {
    random_workloads(false, true, 1500, 13);
}

TEST_CASE("router: random workloads with the prefix cache and an output estimate pause and still match") {
    random_workloads(true, true, 1500, 14);
}

TEST_CASE("engine loop: requests from several threads, cancels from another, all finish") {
    std::mutex m;
    std::condition_variable cv;
    std::map<uint64_t, Outcome> outcomes;
    int n_done = 0;
    RouterOptions opts;
    opts.max_running_requests = 8;
    opts.max_prefill_tokens = 64;
    EngineLoop loop([] { return std::make_unique<FakeStepEngine>(2000, 8, 256, kVocab); }, opts,
                    [&](std::vector<EngineEvent>& evs) {
                        std::lock_guard<std::mutex> lock(m);
                        for (auto& ev : evs) {
                            Outcome& o = outcomes[ev.id];
                            if (ev.kind == EngineEvent::Kind::Token) o.tokens.push_back(ev.token);
                            if (ev.kind == EngineEvent::Kind::Finish || ev.finished) {
                                ++o.n_finish;
                                o.reason = ev.reason;
                                ++n_done;
                            }
                        }
                        cv.notify_all();
                    },
                    16);
    const int n_threads = 4, per_thread = 25;
    std::vector<std::shared_ptr<RequestControl>> controls(n_threads * per_thread);
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                uint64_t id = uint64_t(t * per_thread + i);
                auto req = std::make_unique<EngineRequest>();
                req->id = id;
                req->prompt = prompt_of(5 + int(id % 30), id);
                req->params = params(10 + int(id % 20));
                req->control = std::make_shared<RequestControl>(id);
                controls[id] = req->control;
                REQUIRE(loop.submit(std::move(req)));
            }
        });
    for (auto& th : threads) th.join();
    for (size_t id = 0; id < controls.size(); id += 7) controls[id]->handle->cancel();
    {
        std::unique_lock<std::mutex> lock(m);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return n_done == int(controls.size()); }));
    }
    for (uint64_t id = 0; id < controls.size(); ++id) {
        const Outcome& o = outcomes[id];
        CHECK(o.n_finish == 1);
        Expected e = run_alone(prompt_of(5 + int(id % 30), id), params(10 + int(id % 20)), 256, 0);
        if (o.reason == FinishReason::Cancelled) {
            CHECK(id % 7 == 0);
            CHECK(std::equal(o.tokens.begin(), o.tokens.end(), e.output.begin()));
        } else {
            CHECK(o.tokens == e.output);
        }
    }
    RouterStats s = loop.stats();
    CHECK(s.kv_used_tokens == 0);
    CHECK(s.n_finished == int64_t(controls.size()));
}

TEST_CASE("engine loop: stopping cancels what is left; a failing factory throws in the constructor") {
    std::atomic<int> n_cancelled{0};
    {
        EngineLoop loop([] { return std::make_unique<FakeStepEngine>(100000, 8, 100000, kVocab); }, RouterOptions{},
                        [&](std::vector<EngineEvent>& evs) {
                            for (auto& ev : evs)
                                if (ev.kind == EngineEvent::Kind::Finish && ev.reason == FinishReason::Cancelled)
                                    ++n_cancelled;
                        });
        for (uint64_t id = 0; id < 3; ++id) {
            auto req = std::make_unique<EngineRequest>();
            req->id = id;
            req->prompt = prompt_of(5, id);
            req->params = params(90000);
            req->control = std::make_shared<RequestControl>(id);
            loop.submit(std::move(req));
        }
    }
    CHECK(n_cancelled == 3);
    CHECK_THROWS_AS(EngineLoop([]() -> std::unique_ptr<StepEngine> { throw Error("no such model"); }, RouterOptions{},
                               [](std::vector<EngineEvent>&) {}),
                    Error);
}

TEST_CASE("router: --step-log writes one JSON line per engine step with its batch") {
    TempDir dir;
    RouterOptions opts;
    opts.max_prefill_tokens = 16;
    opts.max_wait_steps = 0;
    opts.step_log = dir.file("steps.jsonl");
    {
        Harness h(10000, 4, 1024, opts);
        h.add(1, prompt_of(4, 1), params(6));
        h.step();
        h.add(2, prompt_of(40, 2), params(3));
        h.run_until_idle();
        CHECK(h.router.stats().n_steps == h.n_step);
    }
    std::ifstream in(opts.step_log);
    std::string line;
    std::vector<nlohmann::json> steps;
    while (std::getline(in, line)) steps.push_back(nlohmann::json::parse(line));
    // Request 1: prefill (samples), then 5 decodes; request 2's 40 tokens go in 3 chunks
    // (16, 16, 8) alongside request 1's decodes, then its 2 decodes alongside request 1's last two.
    REQUIRE(steps.size() == 6);
    int64_t prefill_tokens = 0, decodes = 0;
    double t_prev = -1.0;
    for (size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        CHECK(s["step"].get<int64_t>() == int64_t(i) + 1);
        CHECK(s["engine_ms"].get<double>() >= 0.0);
        CHECK(s["host_ms"].get<double>() >= 0.0);
        CHECK(s["t_ms"].get<double>() >= t_prev);
        t_prev = s["t_ms"].get<double>();
        CHECK(s["prefill_tokens"].get<int64_t>() <= 16);
        prefill_tokens += s["prefill_tokens"].get<int64_t>();
        decodes += s["decode"].get<int64_t>();
    }
    CHECK(prefill_tokens == 4 + 40);
    CHECK(decodes == 5 + 2);
    CHECK(steps[0]["prefill_seqs"] == 1);
    CHECK(steps[1]["decode"] == 1);
    CHECK(steps[1]["prefill_tokens"] == 16);
    CHECK(steps[1]["running"] == 2);
}

TEST_CASE("router: an unwritable --step-log is a clear error") {
    RouterOptions opts;
    opts.step_log = "/nonexistent-dir/steps.jsonl";
    FakeStepEngine engine(100, 4, 64, kVocab);
    try {
        Router r(engine, opts);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("--step-log /nonexistent-dir/steps.jsonl") != std::string::npos);
    }
}

TEST_CASE("router: prefix cache: a repeated prompt feeds only its last token, a longer one only the rest") {
    RouterOptions opts;
    Harness h(1000, 4, 512, opts);
    const std::vector<int32_t> p = prompt_of(40, 1);
    h.add(1, p, params(5));
    h.run_until_idle();
    h.add(2, p, params(5));
    h.step();
    CHECK(h.engine.last_step_new_tokens == 1);  // 39 cached tokens, the 40th fed for its logits
    h.run_until_idle();
    CHECK(h.outcomes[2].tokens == h.outcomes[1].tokens);
    std::vector<int32_t> longer = p;
    longer.insert(longer.end(), h.outcomes[1].tokens.begin(), h.outcomes[1].tokens.end());
    longer.push_back(7);
    h.add(3, longer, params(3));
    h.step();
    CHECK(h.engine.last_step_new_tokens == 2);  // prompt + 4 of the 5 outputs cached (the last one never was fed)
    h.run_until_idle();
    CHECK(h.outcomes[3].tokens == run_alone(longer, params(3), 512, 0).output);
    const RouterStats& s = h.router.stats();
    CHECK(s.prefix_cache_query_tokens == 40 + 40 + int64_t(longer.size()));
    CHECK(s.prefix_cache_hit_tokens == 39 + 44);
}

TEST_CASE("router: prefix cache: admission counts a shared prefix once, so more requests run together") {
    // Four requests with one 60-token system prompt + 4 tokens each, 10 new
    // tokens (74 alone). Without sharing the second one must wait for the
    // first (2 * 74 - 1 > 140); with it, the 60 shared tokens count once and
    // all four fit.
    for (bool cache : {false, true}) {
        CAPTURE(cache);
        RouterOptions opts;
        opts.prefix_cache = cache;
        Harness h(140, 8, 512, opts);
        const std::vector<int32_t> system = prompt_of(60, 9);
        h.add(1, [&] { auto v = system; v.insert(v.end(), {1, 2, 3, 4}); return v; }(), params(10));
        h.step();
        for (uint64_t id = 2; id <= 4; ++id) {
            std::vector<int32_t> q = system;
            q.insert(q.end(), {int32_t(id), 5, 6, 7});
            h.add(id, q, params(10));
        }
        h.step();
        CHECK(h.router.running().size() == (cache ? 4u : 1u));
        h.run_until_idle();
        CHECK(h.router.stats().n_pauses == 0);
        CHECK(h.router.stats().kv_peak_tokens <= 140);
    }
}

TEST_CASE("router: prefix cache: cached tokens are evicted, least recently used first, before anyone pauses") {
    RouterOptions opts;
    opts.expected_output_fraction = 0.5f;
    Harness h(130, 8, 512, opts);
    h.add(1, prompt_of(30, 1), params(10));
    h.run_until_idle();
    h.add(2, prompt_of(30, 2), params(10));
    h.run_until_idle();
    CHECK(h.router.stats().prefix_cache_tokens == 2 * 39);
    // Needs up to 30 + 50 = 80 slots, 52 are free: request 1's tokens (used longest ago) go.
    h.add(3, prompt_of(30, 3), params(50, false));
    h.run_until_idle();
    CHECK(h.router.stats().n_pauses == 0);
    CHECK(h.router.stats().prefix_cache_evicted_tokens > 0);
    h.add(4, prompt_of(30, 2), params(1));
    h.add(5, prompt_of(30, 1), params(1));
    h.run_until_idle();
    CHECK(h.router.stats().prefix_cache_hit_tokens == 29 + 0);  // 2's prompt survived, 1's did not
    h.router.flush_prefix_cache();
    CHECK(h.engine.kv_pool().n_used() == 0);
}
