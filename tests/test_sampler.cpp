// Host sampler: greedy, filters and penalties against hand-computed
// expectations; sampling frequencies against the intended distribution
// (20000 draws, 5 sigma bounds); the draw depends only on (seed, k).
#include "sampler.h"
#include <cmath>
#include <doctest/doctest.h>
#include <map>

using namespace lightllm;

namespace {

const std::vector<int32_t> kNone;

std::vector<float> log_probs(const std::vector<double>& p) {
    std::vector<float> l;
    for (double x : p) l.push_back(float(std::log(x)));
    return l;
}

// Draw frequencies over `n` seeds (output length 0).
std::map<int32_t, double> frequencies(const std::vector<float>& logits, SamplingParams p, int n = 20000) {
    std::map<int32_t, double> f;
    for (int s = 0; s < n; ++s) {
        p.seed = uint64_t(s) * 7919u + 1;
        f[sample_token(logits.data(), int(logits.size()), p, kNone, kNone).id] += 1.0 / n;
    }
    return f;
}

void check_freq(std::map<int32_t, double>& f, int32_t id, double want, int n = 20000) {
    CAPTURE(id);
    const double sigma = std::sqrt(want * (1 - want) / n);
    CHECK(std::fabs(f[id] - want) <= 5 * sigma + 1e-12);
}

}  // namespace

TEST_CASE("sampler: greedy picks the argmax, lowest id on ties") {
    const std::vector<float> l = {0.1f, 3.0f, -2.0f, 3.0f};
    SamplingParams p;
    CHECK(sample_token(l.data(), 4, p, kNone, kNone).id == 1);
    p.temperature = 1.0f;
    p.top_k = 1;  // top_k == 1 is greedy too
    CHECK(sample_token(l.data(), 4, p, kNone, kNone).id == 1);
}

TEST_CASE("sampler: temperature 1 follows softmax(logits); temperature 0.5 sharpens it") {
    const std::vector<float> l = log_probs({0.5, 0.3, 0.2});
    SamplingParams p;
    p.temperature = 1.0f;
    auto f = frequencies(l, p);
    check_freq(f, 0, 0.5);
    check_freq(f, 1, 0.3);
    check_freq(f, 2, 0.2);
    p.temperature = 0.5f;  // p^2 normalized
    f = frequencies(l, p);
    check_freq(f, 0, 0.25 / 0.38);
    check_freq(f, 1, 0.09 / 0.38);
    check_freq(f, 2, 0.04 / 0.38);
}

TEST_CASE("sampler: top_k, top_p and min_p keep the right tokens and renormalize") {
    const std::vector<float> l = log_probs({0.2, 0.5, 0.3});
    SamplingParams p;
    p.temperature = 1.0f;
    SUBCASE("top_k 2") {
        p.top_k = 2;
        auto f = frequencies(l, p);
        check_freq(f, 1, 0.5 / 0.8);
        check_freq(f, 2, 0.3 / 0.8);
        CHECK(f[0] == 0.0);
    }
    SUBCASE("top_p 0.6 keeps the two best (0.5 < 0.6)") {
        p.top_p = 0.6f;
        auto f = frequencies(l, p);
        check_freq(f, 1, 0.5 / 0.8);
        CHECK(f[0] == 0.0);
    }
    SUBCASE("top_p 0.45 keeps only the best") {
        p.top_p = 0.45f;
        auto f = frequencies(l, p, 2000);
        CHECK(f[1] == doctest::Approx(1.0));
    }
    SUBCASE("min_p 0.5 drops tokens below 0.25") {
        p.min_p = 0.5f;
        auto f = frequencies(l, p);
        check_freq(f, 1, 0.5 / 0.8);
        check_freq(f, 2, 0.3 / 0.8);
        CHECK(f[0] == 0.0);
    }
}

TEST_CASE("sampler: repetition penalty (HF) over prompt + output, presence/frequency (OpenAI) over output") {
    const std::vector<float> l = {2.0f, 1.9f, -1.0f, -1.2f};
    SamplingParams p;
    p.repetition_penalty = 1.5f;
    CHECK(sample_token(l.data(), 4, p, {0}, kNone).id == 1);  // 2 / 1.5 < 1.9
    CHECK(sample_token(l.data(), 4, p, kNone, {0}).id == 1);  // output counts too
    CHECK(sample_token(l.data(), 4, p, {1}, kNone).id == 0);
    // Negative logits are multiplied: -1 * 1.5 = -1.5 < -1.2.
    const std::vector<float> neg = {-1.0f, -1.2f};
    CHECK(sample_token(neg.data(), 2, p, {0}, kNone).id == 1);

    SamplingParams q;
    q.presence_penalty = 0.15f;
    CHECK(sample_token(l.data(), 4, q, {0, 0, 0}, kNone).id == 0);  // prompt does not count
    CHECK(sample_token(l.data(), 4, q, kNone, {0}).id == 1);        // 2 - 0.15 < 1.9
    q.presence_penalty = 0.0f;
    q.frequency_penalty = 0.04f;
    CHECK(sample_token(l.data(), 4, q, kNone, {0, 0}).id == 0);     // 2 - 0.08 = 1.92 > 1.9
    CHECK(sample_token(l.data(), 4, q, kNone, {0, 0, 0}).id == 1);  // 2 - 0.12 = 1.88 < 1.9
}

TEST_CASE("sampler: logprobs are of the raw distribution, top-n sorted") {
    const std::vector<float> l = {1.0f, 3.0f, 2.0f, 0.0f};
    SamplingParams p;
    p.repetition_penalty = 10.0f;  // changes the choice, not the reported logprobs
    p.n_logprobs = 2;
    const SampledToken t = sample_token(l.data(), 4, p, {1}, kNone);
    double z = 0.0;
    for (float x : l) z += std::exp(double(x));
    CHECK(t.id == 2);
    CHECK(t.logprob == doctest::Approx(2.0 - std::log(z)));
    REQUIRE(t.top.size() == 2);
    CHECK(t.top[0].id == 1);
    CHECK(t.top[0].logprob == doctest::Approx(3.0 - std::log(z)));
    CHECK(t.top[1].id == 2);
    p.n_logprobs = 0;
    CHECK(sample_token(l.data(), 4, p, kNone, kNone).top.empty());
}

TEST_CASE("sampler: the k-th draw depends only on (seed, k)") {
    std::vector<float> l(64);
    for (size_t i = 0; i < l.size(); ++i) l[i] = float(std::sin(double(i)));
    SamplingParams p;
    p.temperature = 1.0f;
    p.seed = 1234;
    // Same seed and output length: same token, whatever the output holds.
    std::vector<int32_t> a = {5, 9}, b = {60, 1};
    CHECK(sample_token(l.data(), 64, p, kNone, a).id == sample_token(l.data(), 64, p, {3, 4}, b).id);
    // A replay (e.g. after a pause and recompute) draws the same sequence.
    std::vector<int32_t> out1, out2;
    for (int k = 0; k < 50; ++k) out1.push_back(sample_token(l.data(), 64, p, kNone, out1).id);
    for (int k = 0; k < 50; ++k) out2.push_back(sample_token(l.data(), 64, p, kNone, out2).id);
    CHECK(out1 == out2);
    // Draws vary along k and across seeds.
    std::map<int32_t, int> distinct;
    for (int32_t t : out1) ++distinct[t];
    CHECK(distinct.size() > 10);
    p.seed = 1235;
    std::vector<int32_t> out3;
    for (int k = 0; k < 50; ++k) out3.push_back(sample_token(l.data(), 64, p, kNone, out3).id);
    CHECK(out3 != out1);
}
