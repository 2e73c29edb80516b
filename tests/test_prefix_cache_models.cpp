// The prefix cache with real models: on every transformers-made fixture
// (tests/data/tiny-*), a workload with shared prefixes (repeated prompts,
// prompts that differ only in their last token, later turns that resend a
// finished request's prompt and output) gives exactly the tokens it gives
// without the cache, greedy and seeded, and the plain greedy requests give
// transformers' continuation. Run under four engine setups: roomy, chunked
// prefill (5 tokens per step), a tiny pool with an output estimate (cached
// tokens evicted, requests paused and recomputed), and an int8 KV cache.
#include "fixture_reference.h"
#include "router.h"
#include "router_waves.h"
#include <doctest/doctest.h>
#include <map>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

const char* kFixtures[] = {"tiny-llama-gqa",   "tiny-llama-mha-tied", "tiny-llama-rope-linear", "tiny-llama-rope-dynamic",
                           "tiny-llama3-rope", "tiny-qwen2",          "tiny-mistral",           "tiny-baichuan",
                           "tiny-bloom",       "tiny-bloom-6h",       "tiny-starcoder",         "tiny-starcoder-mha"};

struct Setup {
    const char* name;
    int max_prefill;
    int64_t capacity;
    float fraction;
    const char* kv_dtype;
};

const Setup kSetups[] = {{"roomy", 64, 2048, 1.0f, "auto"},
                         {"chunked", 5, 2048, 1.0f, "auto"},
                         {"tiny pool", 8, 64, 0.3f, "auto"},
                         {"int8 kv", 16, 2048, 1.0f, "int8"}};

struct Req {
    std::vector<int32_t> prompt;
    SamplingParams params;
    std::vector<int32_t> want;  // transformers' greedy continuation, when known
};

SamplingParams greedy(int n) {
    SamplingParams p;
    p.max_new_tokens = n;
    p.ignore_eos = true;
    return p;
}

// Three waves: the fixture's prompts (greedy) alone first; then seeded
// samples of the same prompts and prompts that change only the last token,
// while the first wave runs; then, once those finished, later turns (prompt
// + 8 generated tokens + 3 new ones) and the first prompts again.
std::vector<std::vector<Req>> workload(const std::vector<Case>& cases) {
    std::vector<std::vector<Req>> waves(3);
    for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        waves[0].push_back({c.prompt, greedy(int(c.greedy.size())), c.greedy});
        SamplingParams sampled = greedy(12);
        sampled.ignore_eos = false;  // the output estimate (tiny pool) applies to these
        sampled.temperature = 0.8f;
        sampled.top_p = 0.95f;
        sampled.seed = 7 + i;
        waves[1].push_back({c.prompt, sampled, {}});
        std::vector<int32_t> other = c.prompt;
        other.back() = (other.back() + 1) % 256;
        SamplingParams short_greedy = greedy(6);
        short_greedy.ignore_eos = false;
        waves[1].push_back({other, short_greedy, {}});
        std::vector<int32_t> turn = c.prompt;
        turn.insert(turn.end(), c.greedy.begin(), c.greedy.begin() + 8);
        turn.insert(turn.end(), {3, 4, 5});
        waves[2].push_back({turn, greedy(10), {}});
        sampled.seed = 70 + i;
        waves[2].push_back({turn, sampled, {}});
        waves[2].push_back({c.prompt, greedy(int(c.greedy.size())), c.greedy});
    }
    return waves;
}

struct RunResult {
    std::vector<std::vector<int32_t>> outputs;  // by request, waves in order
    RouterStats stats;
    int64_t pool_used_after_flush = -1;
};

RunResult run(const std::string& fixture, const Setup& s, bool prefix_cache, const std::vector<std::vector<Req>>& waves) {
    EngineOptions eo;
    eo.model_path = test_data(fixture);
    eo.device = DeviceChoice::Cpu;
    eo.max_total_tokens = s.capacity;
    eo.max_running_requests = 8;
    eo.max_prefill_tokens = s.max_prefill;
    eo.max_context = 64;
    eo.kv_cache_dtype = parse_kv_cache_dtype(s.kv_dtype);
    ModelRunnerEngine engine(std::make_unique<ModelRunner>(eo));
    RouterOptions ro;
    ro.max_running_requests = eo.max_running_requests;
    ro.max_prefill_tokens = eo.max_prefill_tokens;
    ro.expected_output_fraction = s.fraction;
    ro.prefix_cache = prefix_cache;
    Router router(engine, ro);

    std::vector<std::vector<WaveRequest>> requests;
    for (const auto& wave : waves) {
        requests.emplace_back();
        for (const Req& q : wave) requests.back().push_back({q.prompt, q.params});
    }
    RunResult r;
    r.outputs = run_waves(router, requests, 2);  // the first wave gets two steps on its own
    r.stats = router.stats();
    router.flush_prefix_cache();
    r.pool_used_after_flush = engine.kv_pool().n_used();
    return r;
}

}  // namespace

TEST_CASE("prefix cache: every fixture gives the same tokens with and without it, chunked, paused, int8") {
    for (const char* fixture : kFixtures) {
        const std::vector<Case> cases = load_cases(fixture);
        const std::vector<std::vector<Req>> waves = workload(cases);
        for (const Setup& s : kSetups) {
            CAPTURE(std::string(fixture));
            CAPTURE(std::string(s.name));
            const RunResult off = run(fixture, s, false, waves);
            const RunResult on = run(fixture, s, true, waves);
            CHECK(on.outputs == off.outputs);
            CHECK(off.stats.prefix_cache_query_tokens == 0);
            CHECK(on.stats.prefix_cache_hit_tokens > 0);
            CHECK(on.stats.prefix_cache_hit_tokens <= on.stats.prefix_cache_query_tokens);
            CHECK(on.stats.kv_used_tokens == 0);
            CHECK(on.pool_used_after_flush == 0);
            CHECK(off.pool_used_after_flush == 0);
            if (s.fraction < 1.0f) {
                CHECK(off.stats.n_pauses > 0);
                CHECK(on.stats.prefix_cache_evicted_tokens > 0);
            } else {
                CHECK(on.stats.n_pauses == 0);
            }
            if (std::string(s.kv_dtype) == "int8") continue;  // quantized K/V may change transformers' tokens
            size_t k = 0;
            for (const auto& wave : waves)
                for (const Req& q : wave) {
                    CAPTURE(k);
                    if (!q.want.empty()) CHECK(on.outputs[k] == q.want);
                    ++k;
                }
        }
    }
}
