// Micro-benchmark of on-device sampling (lightllm_kernel_bench).
#include "cuda_test_util.h"
#include "decode_accelerator.h"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

// n x vocab normal(0, scale) logits, as the sampling tests draw them.
std::vector<float> random_logits(std::mt19937& rng, int n, int vocab, float scale) {
    std::normal_distribution<float> nd(0.0f, scale);
    std::vector<float> v(size_t(n) * size_t(vocab));
    for (float& x : v) x = nd(rng);
    return v;
}

}  // namespace

// Time of one DecodeAccelerator::sample call (parameter upload, kernels,
// download of the results: what a decode step pays for its tokens), median of
// 15, for the greedy argmax and for sampled parameter sets, over the
// vocabulary sizes of real models and batches of 1, 64 and 1024; printed as
// the other micro-benchmarks' JSON lines (and appended to
// $LIGHTLLM_BENCH_OUT).
TEST_CASE("cuda bench: sample_rows vs the greedy argmax over 32000 to 152064 tokens") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> gpu = make_cuda_backend(0, DType::BF16);
    std::mt19937 rng(5);
    const int max_n = 1024;
    struct Config {
        const char* name;
        SamplingParams p;
    };
    std::vector<Config> configs(7);
    configs[0].name = "greedy";
    configs[1].name = "temperature_0.8";
    configs[1].p.temperature = 0.8f;
    configs[2].name = "temperature_top_p_0.9";
    configs[2].p.temperature = 0.8f;
    configs[2].p.top_p = 0.9f;
    configs[3].name = "top_k_50";
    configs[3].p.temperature = 0.8f;
    configs[3].p.top_k = 50;
    configs[4].name = "repetition_1.1_top_p";
    configs[4].p.temperature = 0.8f;
    configs[4].p.top_p = 0.9f;
    configs[4].p.repetition_penalty = 1.1f;
    configs[5].name = "all_cuts_penalties";
    configs[5].p.temperature = 0.8f;
    configs[5].p.top_k = 100;
    configs[5].p.top_p = 0.95f;
    configs[5].p.min_p = 0.02f;
    configs[5].p.presence_penalty = 0.3f;
    configs[5].p.frequency_penalty = 0.2f;
    configs[6].name = "top_p_logprobs_20";
    configs[6].p.temperature = 1.0f;
    configs[6].p.top_p = 0.9f;
    configs[6].p.n_logprobs = 20;
    // Rows of scale 3 keep the cuts among the largest logits, as a trained
    // model's mostly do; "flat" rows (scale 1.28, a dummy-weight Llama's)
    // put top_p's cut and the draw deep in the vocabulary.
    struct Rows {
        int vocab;
        float scale;
        const char* suffix;
    };
    for (const Rows& shape : {Rows{32000, 3.0f, ""}, Rows{128256, 3.0f, ""}, Rows{152064, 3.0f, ""},
                              Rows{128256, 1.28f, "_flat"}}) {
        const int vocab = shape.vocab;
        Tensor t = gpu->alloc(DType::F32, {max_n, vocab});
        {
            const std::vector<float> logits = random_logits(rng, max_n, vocab, shape.scale);
            gpu->upload(t, logits.data(), DType::F32);
        }
        std::unique_ptr<DecodeAccelerator> accel = gpu->make_decode_accelerator(max_n);
        std::vector<int32_t> prompt(128), output(256);
        for (int32_t& x : prompt) x = int32_t(rng() % uint32_t(vocab));
        for (int32_t& x : output) x = int32_t(rng() % uint32_t(vocab));
        for (const Config& c : configs) {
            for (int n : {1, 64, 1024}) {
                std::vector<DecodeAccelerator::SampleRequest> requests(size_t(n), {&c.p, &prompt, &output});
                std::vector<SampledToken> out;
                const Tensor rows = t.slice_rows(0, n);
                for (int i = 0; i < 3; ++i) accel->sample(rows, requests, out);  // warm-up
                std::vector<double> ms;
                for (int i = 0; i < 15; ++i) {
                    const auto t0 = std::chrono::steady_clock::now();
                    accel->sample(rows, requests, out);
                    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
                }
                std::sort(ms.begin(), ms.end());
                const std::string line = "{\"name\": \"sample_" + std::string(c.name) + shape.suffix + "\", \"ms\": " +
                                         std::to_string(ms[ms.size() / 2]) + ", \"rows\": " + std::to_string(n) +
                                         ", \"vocab\": " + std::to_string(vocab) + "}";
                std::printf("bench %s\n", line.c_str());
                if (const char* path = std::getenv("LIGHTLLM_BENCH_OUT"))
                    if (FILE* f = std::fopen(path, "a")) {
                        std::fprintf(f, "%s\n", line.c_str());
                        std::fclose(f);
                    }
                CHECK(out.size() == size_t(n));
            }
        }
        std::fflush(stdout);
        gpu->free(t);
    }
}
