// The router with the prefix cache, against the fake engine: cached prompts
// feed only their rest, admission counts shared prefixes once, eviction
// before pauses.
#include "router_harness.h"

using namespace lightllm;
using namespace lightllm::testing::router_harness;
using lightllm::testing::FakeStepEngine;
using lightllm::testing::fake_next_token;

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
