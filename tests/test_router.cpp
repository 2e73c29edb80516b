// The router against a deterministic fake engine (no model): the KV pool is
// never over-committed, every request finishes exactly once with the tokens a
// run on its own gives, FIFO admission, chunked prefill, pause + recompute,
// cancellation, random workloads.
#include "router_harness.h"
#include <random>
#include <set>

using namespace lightllm;
using namespace lightllm::testing::router_harness;
using lightllm::testing::FakeStepEngine;
using lightllm::testing::fake_next_token;

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
