// Tensor parallelism on the CPU backend: every fixture architecture (LLaMA
// MHA/GQA, Qwen2 with q/k/v biases, Mistral, Baichuan with ALiBi, BLOOM with
// ALiBi, StarCoder MQA and MHA) sharded over 2 and 4 ranks (those whose heads
// and FFN divide) gives transformers' logits and greedy tokens (the golden
// reference.json of each fixture), the same logits as one rank within
// rounding, and with f16 and int8 KV caches the same logits and greedy tokens
// as one rank with the same cache.
#include "fixture_reference.h"
#include "hf_config.h"
#include "model_files.h"
#include "presets.h"
#include "tp_shard.h"
#include "tp_test_group.h"

using namespace lightllm;
using namespace lightllm::testing;

namespace {

const char* const kFixtures[] = {"tiny-llama-gqa",  "tiny-llama-mha-tied", "tiny-llama-rope-dynamic",
                                 "tiny-llama3-rope", "tiny-qwen2",         "tiny-mistral",
                                 "tiny-baichuan",   "tiny-bloom",          "tiny-bloom-6h",
                                 "tiny-starcoder",  "tiny-starcoder-mha"};

EngineOptions options(const std::string& dir, const std::string& kv) {
    EngineOptions o;
    o.model_path = test_data(dir);
    o.device = DeviceChoice::Cpu;
    o.kv_cache_dtype = parse_kv_cache_dtype(kv);
    o.max_total_tokens = 512;
    o.max_running_requests = 4;
    o.max_prefill_tokens = 64;
    return o;
}

bool divides(const ModelConfig& c, int world) {
    try {
        plan_tp_shard(c, 0, world);
        return true;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

TEST_CASE("tp model: TP=2 and TP=4 match transformers and TP=1 for every fixture architecture, f32 and int8 KV") {
    int n_sharded_runs = 0;
    for (const char* dir : kFixtures) {
        const std::vector<Case> cases = load_cases(dir);
        const ModelConfig cfg = open_model_files(test_data(dir)).config;
        for (const std::string kv : {"auto", "f16", "int8"}) {
            CAPTURE(dir);
            CAPTURE(kv);
            std::vector<float> one_logits;
            BatchOut one_greedy;
            std::vector<std::vector<int32_t>> prompts;
            for (const Case& c : cases) prompts.push_back(c.prompt);
            {
                ModelRunner one(options(dir, kv));
                one_logits = prompt_logits(one, cases[0].prompt);
                one_greedy = greedy_batch(one, prompts, int(cases[0].greedy.size()));
            }
            const double scale = max_abs(one_logits);
            // An f32 cache gives one rank's logits to 1e-5. The row-parallel
            // all-reduce sums in another order, so a K/V value that differs
            // in its 7th digit can round to the neighbouring f16 / int8 value
            // (f16: 2^-11 relative): seen as 2.2e-5 of the largest logit in
            // a build without vectorized dot products (make sanitize, -O1).
            const double tolerance = kv == "auto" ? 1e-5 : 1e-4;
            for (int world : {2, 4}) {
                if (!divides(cfg, world)) continue;
                CAPTURE(world);
                TpTestGroup g(options(dir, kv), world);
                ModelRunner& r = g.runner();
                const std::vector<float> got = prompt_logits(r, cases[0].prompt);
                CHECK(max_diff(got, one_logits) <= tolerance * scale);
                const BatchOut greedy = greedy_batch(r, prompts, int(cases[0].greedy.size()));
                CHECK(greedy.ids == one_greedy.ids);
                if (kv == "auto") {
                    CHECK(worst_logit_error(r, cases) < 2e-5);
                    for (size_t i = 0; i < cases.size(); ++i) CHECK(greedy.ids[i] == cases[i].greedy);
                }
                g.stop_and_join();
                for (const std::string& e : g.errors()) CHECK(e == "");
                ++n_sharded_runs;
            }
        }
    }
    CHECK(n_sharded_runs >= 45);  // every fixture at TP=2 at least, most at TP=4
}

TEST_CASE("tp model: heads that do not divide among the ranks are refused naming the config field") {
    const ModelConfig bloom6 = open_model_files(test_data("tiny-bloom-6h")).config;
    CHECK_THROWS_WITH_AS(plan_tp_shard(bloom6, 0, 4), doctest::Contains("num_attention_heads"), Error);
    const ModelConfig gqa = open_model_files(test_data("tiny-llama-gqa")).config;  // 4 heads, 2 KV heads
    const TpShard s = plan_tp_shard(gqa, 3, 4);  // KV heads replicated: ranks 2 and 3 read KV head 1
    CHECK(s.n_head == 1);
    CHECK(s.head_begin == 3);
    CHECK(s.n_kv_head == 1);
    CHECK(s.kv_head_begin == 1);
    CHECK(s.local_id(int32_t(3 * s.vocab_block)) == 0);
    CHECK(s.local_id(0) == s.vocab_block);  // another rank's token: the zero row
}

TEST_CASE("tp model: the large-model presets shard over 2, 4 and 8 ranks with whole heads per rank") {
    struct Want {
        const char* name;
        int n_head, n_kv_head;
    };
    for (const Want& w : {Want{"llama-2-13b", 40, 40}, Want{"yi-34b", 56, 8}, Want{"llama-2-70b", 64, 8},
                          Want{"llama-3-70b", 64, 8}}) {
        CAPTURE(w.name);
        const ModelConfig c = load_preset_config(w.name);
        CHECK(c.n_head == w.n_head);
        CHECK(c.n_kv_head == w.n_kv_head);
        for (int world : {2, 4, 8}) {
            const TpShard s = plan_tp_shard(c, world - 1, world);
            CHECK(s.n_head * world == c.n_head);
            CHECK(s.n_ff * world == c.n_ff);
            CHECK(s.kv_head_begin + s.n_kv_head <= c.n_kv_head);
        }
    }
    const TpShard s16 = plan_tp_shard(load_preset_config("llama-3-70b"), 15, 16);  // 8 KV heads on 16 ranks
    CHECK(s16.n_kv_head == 1);
    CHECK(s16.kv_head_begin == 7);
}

TEST_CASE("tp model: dummy weights (--load-format dummy) run sharded over 2 ranks") {
    EngineOptions o;
    o.model_path = "tiny-llama";
    o.load_dummy = true;
    o.device = DeviceChoice::Cpu;
    o.max_total_tokens = 256;
    o.max_running_requests = 2;
    o.max_prefill_tokens = 32;
    TpTestGroup g(o, 2);
    const BatchOut out = greedy_batch(g.runner(), {{1, 2, 3, 4}, {5, 6}}, 4);
    CHECK(out.ids.size() == 2);
    for (const auto& ids : out.ids)
        for (int32_t id : ids) CHECK((id >= 0 && id < 512));
    g.stop_and_join();
    for (const std::string& e : g.errors()) CHECK(e == "");
}
