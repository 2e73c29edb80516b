// Device sampling (DecodeAccelerator::sample, cuda/sample_rows.cu) against the
// host sampler (src/engine/sampler.h), the oracle: on random logits over vocabulary
// sizes, batch sizes and mixed per-row parameters (greedy, temperature,
// top_k, top_p, min_p, penalties with histories, seeds, top logprobs), the
// device must return the host's token for every row. The one allowed
// difference: a sampled row whose draw (or top_p / min_p cut) lies within
// kBoundaryTol of a boundary, in units of the best token's mass, where the
// device's fixed-point sums (error <= n_vocab * 2^-45) and the host's double
// sums may round to different sides; such rows are counted and must stay rare.
// Logprobs within 1e-4; top logprob ids equal barring exact ties of the host's values.
// The timing of sample() against the greedy argmax is in bench/kernels/sample_bench.cpp.
// Skipped, with a message, when no GPU is present.
#include "cuda_test_util.h"
#include "decode_accelerator.h"
#include "counter_rng.h"
#include "sampler.h"
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <unordered_map>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

constexpr double kBoundaryTol = 1e-7;
constexpr double kLogprobTol = 1e-4;

struct RowCase {
    SamplingParams p;
    std::vector<int32_t> prompt, output;
};

// The host's log-softmax at `id` (same arithmetic as sampler.cpp).
float host_logprob(const float* x, int n, int id) {
    const float m = *std::max_element(x, x + n);
    double sum = 0.0;
    for (int i = 0; i < n; ++i) sum += std::exp(double(x[i]) - m);
    return float(double(x[id]) - (double(m) + std::log(sum)));
}

// The penalized logits, as the host sampler computes them.
std::vector<float> penalized(const float* x, int n, const RowCase& r) {
    std::vector<float> l(x, x + n);
    apply_penalties(l, r.p, r.prompt, r.output);
    return l;
}

// How close the host's sampled decision for this row is to flipping: the
// smallest distance, in units of the best token's mass, of the draw's target
// to a CDF boundary and of the top_p / min_p cuts to their thresholds.
double decision_margin(const float* x, int n, const RowCase& r) {
    const std::vector<float> l = penalized(x, n, r);
    const SamplingParams& p = r.p;
    std::vector<int32_t> cand(static_cast<size_t>(n));
    std::iota(cand.begin(), cand.end(), 0);
    std::sort(cand.begin(), cand.end(), [&](int32_t a, int32_t b) {
        return l[size_t(a)] > l[size_t(b)] || (l[size_t(a)] == l[size_t(b)] && a < b);
    });
    if (p.top_k > 0 && p.top_k < n) cand.resize(size_t(p.top_k));
    std::vector<double> prob(cand.size());
    const double top = l[size_t(cand[0])] / p.temperature;
    double sum = 0.0;
    for (size_t i = 0; i < cand.size(); ++i) sum += prob[i] = std::exp(double(l[size_t(cand[i])]) / p.temperature - top);
    for (double& v : prob) v /= sum;
    const double unit = prob[0];  // the best token's mass, normalized
    double margin = INFINITY;
    size_t kept = cand.size();
    if (p.top_p < 1.0f) {
        double before = 0.0;
        size_t i = 0;
        while (i < kept && (i == 0 || before < double(p.top_p))) {
            if (i > 0) margin = std::min(margin, std::fabs(before - double(p.top_p)) / unit);
            before += prob[i++];
        }
        if (i < kept) margin = std::min(margin, std::fabs(before - double(p.top_p)) / unit);
        kept = i;
    }
    if (p.min_p > 0.0f) {
        size_t i = 1;
        while (i < kept && prob[i] >= double(p.min_p) * prob[0]) {
            margin = std::min(margin, std::fabs(prob[i] / prob[0] - double(p.min_p)));
            ++i;
        }
        if (i < kept) margin = std::min(margin, std::fabs(prob[i] / prob[0] - double(p.min_p)));
        kept = i;
    }
    double total = 0.0;
    for (size_t i = 0; i < kept; ++i) total += prob[i];
    const double target = double(uniform01(p.seed, uint64_t(r.output.size()))) * total;
    double cum = 0.0;
    for (size_t i = 0; i < kept; ++i) {
        cum += prob[i];
        margin = std::min(margin, std::fabs(cum - target) / unit);
    }
    return margin;
}

struct Tally {
    int sampled = 0;   // rows drawn at random
    int boundary = 0;  // of those, the ones that differ at a boundary
};

// Samples every row on the device and on the host and compares them.
// stride > 1: only every stride-th row is compared (the host's full sorts of
// large vocabularies are slow); the device still samples the whole batch.
void check_rows(Backend& gpu, DType dt, int vocab, const std::vector<float>& logits, const std::vector<RowCase>& rows,
                Tally& tally, int stride = 1) {
    const int n = int(rows.size());
    REQUIRE(logits.size() == size_t(n) * size_t(vocab));
    Tensor t = gpu.alloc(dt, {n, vocab});
    gpu.upload(t, logits.data(), DType::F32);
    std::unique_ptr<DecodeAccelerator> accel = gpu.make_decode_accelerator(n);
    REQUIRE(accel);
    std::vector<DecodeAccelerator::SampleRequest> requests;
    for (const RowCase& r : rows) requests.push_back({&r.p, &r.prompt, &r.output});
    std::vector<SampledToken> got;
    accel->sample(t, requests, got);
    gpu.free(t);
    REQUIRE(got.size() == rows.size());
    for (int i = 0; i < n; i += stride) {
        const RowCase& r = rows[size_t(i)];
        const float* x = logits.data() + size_t(i) * size_t(vocab);
        CAPTURE(vocab);
        CAPTURE(i);
        CAPTURE(r.p.temperature);
        CAPTURE(r.p.top_k);
        CAPTURE(r.p.top_p);
        CAPTURE(r.p.min_p);
        CAPTURE(r.p.repetition_penalty);
        CAPTURE(r.p.presence_penalty);
        CAPTURE(r.p.frequency_penalty);
        CAPTURE(r.p.seed);
        CAPTURE(r.output.size());
        const SampledToken want = sample_token(x, vocab, r.p, r.prompt, r.output);
        const SampledToken& g = got[size_t(i)];
        REQUIRE(g.id >= 0);
        REQUIRE(g.id < vocab);
        if (!r.p.greedy()) ++tally.sampled;
        if (g.id != want.id) {
            REQUIRE(!r.p.greedy());
            const double margin = decision_margin(x, vocab, r);
            CAPTURE(margin);
            CHECK(margin < kBoundaryTol);
            ++tally.boundary;
        }
        CHECK(std::fabs(double(g.logprob) - double(host_logprob(x, vocab, g.id))) <= kLogprobTol);
        REQUIRE(g.top.size() == want.top.size());
        for (size_t j = 0; j < want.top.size(); ++j) {
            CAPTURE(j);
            if (g.top[j].id != want.top[j].id)  // only an exact tie of the host's logprobs may reorder
                CHECK(host_logprob(x, vocab, g.top[j].id) == want.top[j].logprob);
            CHECK(std::fabs(double(g.top[j].logprob) - double(want.top[j].logprob)) <= kLogprobTol);
        }
    }
}

// A random mix of the parameter sets a server sees.
SamplingParams random_params(std::mt19937& rng, int vocab) {
    SamplingParams p;
    p.seed = (uint64_t(rng()) << 32) | rng();
    switch (rng() % 13) {
        case 0: break;  // plain greedy
        case 1: p.repetition_penalty = 1.3f; p.frequency_penalty = 0.5f; break;  // greedy with penalties
        case 2: p.temperature = 1.0f; break;
        case 3: p.temperature = 0.7f; p.top_k = 50; break;
        case 4: p.temperature = 1.2f; p.top_p = 0.9f; break;
        case 5: p.temperature = 0.8f; p.min_p = 0.05f; break;
        case 6:
            p.temperature = 1.0f; p.top_k = 40; p.top_p = 0.95f; p.min_p = 0.02f;
            p.repetition_penalty = 1.2f; p.presence_penalty = 0.4f; p.frequency_penalty = 0.3f;
            break;
        case 7: p.temperature = 1.0f; p.top_k = 1; p.presence_penalty = 1.0f; break;  // greedy by top_k
        case 8: p.temperature = 0.05f; break;
        case 9: p.temperature = 5.0f; p.top_p = 0.5f; p.repetition_penalty = 0.8f; break;
        case 10: p.temperature = 1.0f; p.top_k = vocab + 5; p.top_p = 0.0f; break;
        case 11: p.temperature = 2.0f; p.min_p = 1.0f; break;
        default: p.temperature = 1.5f; p.top_k = 3; p.frequency_penalty = -0.5f; break;
    }
    const int logprobs[] = {-1, -1, 0, 1, 5, 20};
    p.n_logprobs = logprobs[rng() % 6];
    return p;
}

// Prompt and output histories with repeats (and a few ids outside the
// vocabulary, which the sampler ignores).
RowCase random_row(std::mt19937& rng, int vocab) {
    RowCase r;
    r.p = random_params(rng, vocab);
    const int n_prompt = int(rng() % 200), n_output = int(rng() % 100);
    const int hot = std::min(vocab, 64);  // outputs repeat a few ids
    for (int i = 0; i < n_prompt; ++i) r.prompt.push_back(int32_t(rng() % uint32_t(vocab)));
    for (int i = 0; i < n_output; ++i)
        r.output.push_back(int32_t(rng() % 4 == 0 ? rng() % uint32_t(vocab) : rng() % uint32_t(hot)));
    if (rng() % 8 == 0) r.prompt.push_back(int32_t(vocab + 3));
    if (rng() % 8 == 0) r.output.push_back(-1);
    return r;
}

std::vector<float> random_logits(std::mt19937& rng, DType dt, int n, int vocab, float scale) {
    std::normal_distribution<float> nd(0.0f, scale);
    std::vector<float> v(size_t(n) * size_t(vocab));
    for (float& x : v) {
        do x = round_to(dt, nd(rng));
        while (x == 0.0f);
    }
    return v;
}

}  // namespace

TEST_CASE("sample: device sampling takes up to 20 top logprobs") {
    SamplingParams p;
    CHECK(DecodeAccelerator::can_sample(nullptr));
    CHECK(DecodeAccelerator::can_sample(&p));
    p.n_logprobs = DecodeAccelerator::kMaxTopLogprobs;
    CHECK(DecodeAccelerator::can_sample(&p));
    p.n_logprobs = DecodeAccelerator::kMaxTopLogprobs + 1;
    CHECK(!DecodeAccelerator::can_sample(&p));
}

TEST_CASE("cuda: sample_rows draws the host sampler's tokens over vocab sizes, batches and parameters") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(2024);
    Tally tally;
    for (int vocab : {1000, 32000, 128256, 256000}) {  // 256000: bitmap + static shared memory > 48 KiB
        for (int n : {1, 7, 64, 300}) {
            if ((vocab == 128256 && n > 64) || (vocab == 256000 && n > 7)) continue;  // the host's full sorts are slow
            std::vector<RowCase> rows;
            for (int i = 0; i < n; ++i) rows.push_back(random_row(rng, vocab));
            check_rows(*gpu, DType::F32, vocab, random_logits(rng, DType::F32, n, vocab, 3.0f), rows, tally);
        }
    }
    MESSAGE("sampled rows: " << tally.sampled << ", differing at a CDF boundary: " << tally.boundary);
    CHECK(tally.sampled > 500);
    CHECK(tally.boundary <= std::max(1, tally.sampled / 100));
}

TEST_CASE("cuda: sample_rows on peaked rows, as a language model's (top_p keeps few tokens)") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(314);
    Tally tally;
    for (int vocab : {32000, 128256}) {
        const int n = 48;
        std::vector<float> logits = random_logits(rng, DType::F32, n, vocab, 2.0f);
        std::vector<RowCase> rows;
        for (int i = 0; i < n; ++i) {
            float* x = logits.data() + size_t(i) * size_t(vocab);
            const int n_high = 1 + int(rng() % 40);
            for (int h = 0; h < n_high; ++h) x[rng() % uint32_t(vocab)] = 10.0f + float(rng() % 1200) * 0.01f;
            RowCase r = random_row(rng, vocab);
            r.p.temperature = 0.6f + 0.1f * float(i % 5);
            r.p.top_k = i % 3 == 0 ? 3000 : 0;  // above the shared-memory list: the cut runs on the row
            r.p.top_p = 0.8f + 0.05f * float(i % 4);
            r.p.min_p = i % 4 == 1 ? 0.01f : 0.0f;
            rows.push_back(r);
        }
        check_rows(*gpu, DType::F32, vocab, logits, rows, tally);
    }
    MESSAGE("sampled rows: " << tally.sampled << ", differing at a CDF boundary: " << tally.boundary);
    CHECK(tally.boundary <= std::max(1, tally.sampled / 100));
}

// Flat rows, as an untrained model's (logits ~ normal(0, 1.28): a dummy-weight
// Llama's): top_p keeps a large part of the vocabulary and the draw falls far
// from the best token, so the cuts lie outside the histogram pass's top bins.
// At small batch the prefetch pass lists those bins (sample_prefetch.cuh);
// with a bin it did not predict, the finish reads the row as before.
TEST_CASE("cuda: sample_rows on flat rows (top_p and the draw far from the best token)") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(1280);
    Tally tally;
    for (int vocab : {32000, 128256}) {
        for (int n : {1, 3, 16}) {
            std::vector<RowCase> rows;
            for (int i = 0; i < n; ++i) {
                RowCase r = random_row(rng, vocab);
                if (i % 2 == 0) {  // the common chat settings on top of the random mix
                    r.p.temperature = 0.6f + 0.2f * float(rng() % 4);
                    r.p.top_p = i % 4 == 0 ? 0.9f : 1.0f;
                    r.p.top_k = i % 8 == 2 ? 20000 : 0;
                }
                rows.push_back(r);
            }
            check_rows(*gpu, DType::F32, vocab, random_logits(rng, DType::F32, n, vocab, 1.28f), rows, tally);
        }
    }
    MESSAGE("sampled rows: " << tally.sampled << ", differing at a CDF boundary: " << tally.boundary);
    CHECK(tally.sampled > 20);
    CHECK(tally.boundary <= std::max(1, tally.sampled / 100));
}

// The extreme values (top_k 1, top_p 1e-6, temperature 1e-3 and 100,
// min_p 1) mixed with ordinary sampled and greedy rows, over the vocabulary
// sizes of real models and batches of 1 (a row spread over many blocks), 64
// and 1024 (a block per row).
SamplingParams extreme_params(std::mt19937& rng, int i) {
    SamplingParams p;
    p.seed = (uint64_t(rng()) << 32) | rng();
    switch (i % 10) {
        case 0: p.temperature = 0.8f; p.top_k = 1; break;
        case 1: p.temperature = 0.8f; p.top_p = 1e-6f; break;
        case 2: p.temperature = 1e-3f; break;
        case 3: p.temperature = 100.0f; break;
        case 4: p.temperature = 100.0f; p.top_p = 0.9f; p.min_p = 0.5f; break;
        case 5: p.temperature = 1.0f; p.min_p = 1.0f; break;
        case 6: p.temperature = 0.8f; p.top_p = 0.9f; break;
        case 7: break;  // greedy in the same batch
        case 8: p.temperature = 1e-3f; p.top_k = 50; p.repetition_penalty = 1.1f; break;
        default: p.temperature = 100.0f; p.top_k = 5000; p.presence_penalty = 0.5f; p.n_logprobs = 5; break;
    }
    return p;
}

TEST_CASE("cuda: sample_rows at extreme parameters over 32000 to 152064 tokens and batches 1 to 1024") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(77);
    Tally tally;
    for (int vocab : {32000, 128256, 152064}) {
        for (int n : {1, 10, 64, 1024}) {
            CAPTURE(n);
            std::vector<RowCase> rows;
            for (int i = 0; i < n; ++i) {
                RowCase r = random_row(rng, vocab);
                r.p = extreme_params(rng, n == 1 ? int(rng() % 10) : i);
                rows.push_back(r);
            }
            const int stride = n == 1024 ? (vocab == 32000 ? 4 : 16) : 1;
            check_rows(*gpu, DType::F32, vocab, random_logits(rng, DType::F32, n, vocab, 3.0f), rows, tally, stride);
        }
    }
    MESSAGE("sampled rows: " << tally.sampled << ", differing at a CDF boundary: " << tally.boundary);
    CHECK(tally.sampled > 200);
    CHECK(tally.boundary <= std::max(1, tally.sampled / 100));
}

TEST_CASE("cuda: sample_rows on f16 and bf16 logits") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(99);
    Tally tally;
    for (DType dt : {DType::F16, DType::BF16}) {
        CAPTURE(dt);
        for (int vocab : {1000, 32000}) {
            std::vector<RowCase> rows;
            for (int i = 0; i < 100; ++i) rows.push_back(random_row(rng, vocab));
            check_rows(*gpu, dt, vocab, random_logits(rng, dt, 100, vocab, 2.0f), rows, tally);
        }
    }
    MESSAGE("sampled rows: " << tally.sampled << ", differing at a CDF boundary: " << tally.boundary);
    CHECK(tally.boundary <= std::max(1, tally.sampled / 100));
}

TEST_CASE("cuda: sample_rows breaks ties by the lower id (greedy, top_k, draws, top logprobs)") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(7);
    const int vocab = 5000, n = 96;
    std::vector<float> logits(size_t(n) * vocab);
    for (float& x : logits) x = float(int(rng() % 9) - 4) * 0.5f + 0.25f;  // 9 values, never 0: many ties
    std::vector<RowCase> rows;
    for (int i = 0; i < n; ++i) {
        RowCase r;
        r.p.seed = rng();
        r.p.n_logprobs = 20;
        switch (i % 4) {
            case 0: break;
            case 1: r.p.temperature = 1.0f; r.p.top_k = 1 + int(rng() % 700); break;
            case 2: r.p.temperature = 0.5f; r.p.top_p = 0.3f; break;
            default: r.p.temperature = 1.0f; r.p.top_k = 100; r.p.repetition_penalty = 2.0f; break;
        }
        for (int j = 0; j < i; ++j) r.output.push_back(int32_t(rng() % vocab));
        rows.push_back(r);
    }
    Tally tally;
    check_rows(*gpu, DType::F32, vocab, logits, rows, tally);
    CHECK(tally.boundary <= 1);
}

TEST_CASE("cuda: sample_rows repeats a draw for the same (seed, output length) and varies it otherwise") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(11);
    const int vocab = 1000, n = 256;
    const std::vector<float> one = random_logits(rng, DType::F32, 1, vocab, 0.5f);  // a flat distribution
    std::vector<float> logits;
    std::vector<RowCase> rows;
    for (int i = 0; i < n; ++i) {
        logits.insert(logits.end(), one.begin(), one.end());
        RowCase r;
        r.p.temperature = 1.0f;
        r.p.seed = uint64_t(i / 2);          // rows 2k and 2k+1: the same seed and history
        r.output.assign(size_t(i % 64 / 2), 5);
        rows.push_back(r);
    }
    Tally tally;
    check_rows(*gpu, DType::F32, vocab, logits, rows, tally);
    Tensor t = gpu->alloc(DType::F32, {n, vocab});
    gpu->upload(t, logits.data(), DType::F32);
    std::unique_ptr<DecodeAccelerator> accel = gpu->make_decode_accelerator(n);
    std::vector<DecodeAccelerator::SampleRequest> requests;
    for (const RowCase& r : rows) requests.push_back({&r.p, &r.prompt, &r.output});
    std::vector<SampledToken> got;
    accel->sample(t, requests, got);
    gpu->free(t);
    std::vector<int32_t> distinct;
    for (int i = 0; i < n; i += 2) {
        CHECK(got[size_t(i)].id == got[size_t(i) + 1].id);
        distinct.push_back(got[size_t(i)].id);
    }
    std::sort(distinct.begin(), distinct.end());
    CHECK(std::unique(distinct.begin(), distinct.end()) - distinct.begin() > 50);
}

