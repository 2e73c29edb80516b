// The BLOOM and StarCoder (GPT-BigCode) forwards on the CPU backend vs Hugging
// Face transformers. Fixtures: tests/data/tiny-bloom*/, tests/data/tiny-starcoder*/
// (bf16 weights + reference.json), written by
// tests/reference/make_bloom_starcoder_fixtures.py; transformers ran in fp32 on
// the same bf16 weights, every greedy step a full forward without a cache.
// Covered: BLOOM with 4 heads and with 6 (ALiBi slopes for a head count that is
// not a power of two), StarCoder with multi-query attention and without (per-head
// interleaved c_attn). Checked per fixture:
//   - logits at every prompt position: max |ours - theirs| <= 2e-5 * max |theirs|
//     (the reference keeps 6 significant digits);
//   - the greedy continuation (20 tokens) is identical, decoding the prompts
//     one at a time and all together in one ragged batch;
//   - chunked prefill (3 chunks with n_cached > 0) and token-by-token decode
//     give the full prefill's logits (<= 1e-5 * scale).
#include "cpu_backend.h"
#include "model_runner.h"
#include "temp_dir.h"
#include "test_util.h"
#include <cmath>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace lightllm;

namespace {

const char* kFixtures[] = {"tiny-bloom", "tiny-bloom-6h", "tiny-starcoder", "tiny-starcoder-mha"};

struct Case {
    std::vector<int32_t> prompt;
    std::vector<std::vector<float>> logits;  // [len][n_vocab]
    std::vector<int32_t> greedy;
};

std::vector<Case> load_cases(const std::string& dir) {
    std::ifstream in(test_data(dir + "/reference.json"));
    REQUIRE(in);
    const nlohmann::json j = nlohmann::json::parse(in);
    std::vector<Case> cases;
    for (const auto& c : j["cases"])
        cases.push_back({c["prompt"].get<std::vector<int32_t>>(), c["logits"].get<std::vector<std::vector<float>>>(),
                         c["greedy"].get<std::vector<int32_t>>()});
    return cases;
}

EngineOptions options(const std::string& dir) {
    EngineOptions o;
    o.model_path = test_data(dir);
    o.device = "cpu";
    o.max_total_tokens = 512;
    o.max_running_requests = 4;
    o.max_prefill_tokens = 64;
    o.max_context = 64;
    return o;
}

// A request's state against the runner: its table row and KV slots.
struct Seq {
    ModelRunner& runner;
    int row;
    std::vector<int32_t> tokens, slots;
    explicit Seq(ModelRunner& r) : runner(r), row(r.req_to_token().alloc_row()) { REQUIRE(row >= 0); }
    ~Seq() {
        runner.kv_pool().free(slots);
        runner.req_to_token().free_row(row);
    }
    // A StepSeq feeding `new_tokens` after what is cached.
    StepSeq feed(const std::vector<int32_t>& new_tokens, bool sample) {
        const size_t before = tokens.size();
        tokens.insert(tokens.end(), new_tokens.begin(), new_tokens.end());
        REQUIRE(runner.kv_pool().alloc(int64_t(new_tokens.size()), slots));
        StepSeq s;
        s.row = row;
        s.n_cached = int32_t(before);
        s.tokens = tokens.data() + before;
        s.n_new = int32_t(new_tokens.size());
        s.slots = slots.data() + before;
        s.sample = sample;
        return s;
    }
};

double max_abs(const std::vector<float>& v) {
    double m = 0.0;
    for (float x : v) m = std::max(m, double(std::fabs(x)));
    return m;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

std::vector<float> flatten(const std::vector<std::vector<float>>& rows) {
    std::vector<float> v;
    for (const auto& r : rows) v.insert(v.end(), r.begin(), r.end());
    return v;
}

}  // namespace

TEST_CASE("bloom/starcoder reference: configs parse to the expected shapes") {
    {
        ModelRunner r(options("tiny-bloom-6h"));
        CHECK(r.config().arch == Arch::Bloom);
        CHECK(r.config().n_head == 6);
        CHECK(r.config().n_kv_head == 6);
        CHECK(r.config().alibi);
    }
    {
        ModelRunner r(options("tiny-starcoder"));
        CHECK(r.config().arch == Arch::StarCoder);
        CHECK(r.config().n_kv_head == 1);
        CHECK(!r.config().alibi);
    }
}

TEST_CASE("bloom/starcoder reference: ALiBi slopes follow BLOOM's build_alibi_tensor") {
    // transformers' _get_alibi_slopes: 2^(-8(h+1)/p) for the first p = 2^floor(log2 n) heads,
    // then 2^(-4(2i+1)/p) for the remaining ones.
    CHECK(alibi_slope(0, 4) == doctest::Approx(0.25));
    CHECK(alibi_slope(3, 4) == doctest::Approx(1.0 / 256));
    const double six[] = {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125};
    for (int h = 0; h < 6; ++h) CHECK(alibi_slope(h, 6) == doctest::Approx(six[h]));
    const double twelve_tail[] = {0.7071067811865476, 0.5 * 0.7071067811865476, 0.25 * 0.7071067811865476,
                                  0.125 * 0.7071067811865476};  // 2^(-1/2), 2^(-3/2), 2^(-5/2), 2^(-7/2)
    for (int i = 0; i < 4; ++i) CHECK(alibi_slope(8 + i, 12) == doctest::Approx(twelve_tail[i]));
}

TEST_CASE("bloom/starcoder reference: logits at every position match transformers") {
    for (const char* name : kFixtures) {
        CAPTURE(std::string(name));
        ModelRunner runner(options(name));
        double worst = 0.0;
        for (const Case& c : load_cases(name)) {
            Seq s(runner);
            const std::vector<float> got = runner.forward_all_logits(s.feed(c.prompt, false));
            const std::vector<float> want = flatten(c.logits);
            worst = std::max(worst, max_diff(got, want) / max_abs(want));
        }
        MESSAGE(std::string(name) << ": max |diff| / max |logit| = " << worst);
        CHECK(worst < 2e-5);
    }
}

TEST_CASE("bloom/starcoder reference: greedy continuation matches transformers, alone and batched") {
    for (const char* name : kFixtures) {
        CAPTURE(std::string(name));
        ModelRunner runner(options(name));
        const std::vector<Case> cases = load_cases(name);
        for (const Case& c : cases) {
            Seq s(runner);
            std::vector<int32_t> out;
            std::vector<int32_t> next = c.prompt;
            while (out.size() < c.greedy.size()) {
                const std::vector<SampledToken> t = runner.step({s.feed(next, true)});
                REQUIRE(t.size() == 1);
                out.push_back(t[0].id);
                next = {t[0].id};
            }
            CHECK(out == c.greedy);
        }
        std::vector<std::unique_ptr<Seq>> seqs;
        std::vector<std::vector<int32_t>> outs(cases.size()), next(cases.size());
        for (size_t i = 0; i < cases.size(); ++i) {
            seqs.push_back(std::make_unique<Seq>(runner));
            next[i] = cases[i].prompt;
        }
        for (size_t k = 0; k < cases[0].greedy.size(); ++k) {
            std::vector<StepSeq> step;
            for (size_t i = 0; i < cases.size(); ++i) step.push_back(seqs[i]->feed(next[i], true));
            const std::vector<SampledToken> t = runner.step(step);
            REQUIRE(t.size() == cases.size());
            for (size_t i = 0; i < cases.size(); ++i) {
                outs[i].push_back(t[i].id);
                next[i] = {t[i].id};
            }
        }
        for (size_t i = 0; i < cases.size(); ++i) CHECK(outs[i] == cases[i].greedy);
    }
}

TEST_CASE("bloom/starcoder reference: chunked prefill and token-by-token decode give the full prefill's logits") {
    for (const char* name : kFixtures) {
        CAPTURE(std::string(name));
        ModelRunner runner(options(name));
        const Case c = load_cases(name).back();
        const size_t n = c.prompt.size();
        std::vector<float> full;
        {
            Seq s(runner);
            full = runner.forward_all_logits(s.feed(c.prompt, false));
        }
        const double scale = max_abs(full);
        std::vector<float> chunked, one_by_one;
        {
            Seq s(runner);
            const size_t cuts[] = {0, n / 3, n / 2 + 1, n};
            for (int k = 0; k < 3; ++k) {
                const std::vector<int32_t> part(c.prompt.begin() + long(cuts[k]), c.prompt.begin() + long(cuts[k + 1]));
                const std::vector<float> l = runner.forward_all_logits(s.feed(part, false));
                chunked.insert(chunked.end(), l.begin(), l.end());
            }
        }
        {
            Seq s(runner);
            for (size_t p = 0; p < n; ++p) {
                const std::vector<float> l = runner.forward_all_logits(s.feed({c.prompt[p]}, false));
                one_by_one.insert(one_by_one.end(), l.begin(), l.end());
            }
        }
        CHECK(max_diff(chunked, full) <= 1e-5 * scale);
        CHECK(max_diff(one_by_one, full) <= 1e-5 * scale);
    }
}

TEST_CASE("starcoder: a context longer than the learned positions is a clear error") {
    EngineOptions o = options("tiny-starcoder");
    o.max_context = 65;  // n_positions is 64
    CHECK_THROWS_WITH_AS(ModelRunner{o}, doctest::Contains("learned positions"), Error);
}

TEST_CASE("bloom/starcoder: weights of the wrong architecture name the missing tensor") {
    // BLOOM's config over StarCoder's weights, and the other way round.
    const std::pair<const char*, const char*> mixes[] = {{"tiny-bloom", "tiny-starcoder"},
                                                         {"tiny-starcoder", "tiny-bloom"}};
    for (const auto& [config_from, weights_from] : mixes) {
        CAPTURE(std::string(config_from));
        TempDir d;
        std::filesystem::copy_file(test_data(std::string(config_from) + "/config.json"), d.file("config.json"));
        std::filesystem::copy_file(test_data(std::string(weights_from) + "/model.safetensors"),
                                   d.file("model.safetensors"));
        EngineOptions o = options(config_from);
        o.model_path = d.path;
        const char* first = std::string(config_from) == "tiny-bloom" ? "word_embeddings" : "transformer.wte";
        CHECK_THROWS_WITH_AS(ModelRunner{o}, doctest::Contains(first), Error);
    }
}
