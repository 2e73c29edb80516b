// bench's roofline: the model's cost from its shape and the limit of a run.
#include "cuda_test_util.h"
#include "presets.h"
#include "roofline.h"
#include <doctest/doctest.h>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

RequestRecord record(int n_prompt, int n_output, bool ok = true) {
    RequestRecord r;
    r.ok = ok;
    r.n_prompt = n_prompt;
    r.n_output = n_output;
    return r;
}

}  // namespace

TEST_CASE("roofline: Llama-3-8B's matrix weights add up to its published parameter count") {
    const ModelConfig cfg = load_preset_config("llama-3-8b");
    const ModelCost c = model_cost(cfg, DType::BF16);
    // Meta-Llama-3-8B: 8,030,261,248 parameters = the matrices counted here
    // + the embedding table (128256 x 4096) + 65 RMSNorm weight vectors.
    const double embedding = 128256.0 * 4096.0, norms = (2.0 * 32 + 1) * 4096.0;
    CHECK(c.layer_params + c.head_params + embedding + norms == 8030261248.0);
    CHECK(c.head_params == embedding);
    CHECK(c.bytes_per_param == 2.0);
    CHECK(model_cost(cfg, DType::F32).bytes_per_param == 4.0);
}

TEST_CASE("roofline: BLOOM-style MLPs have two matrices, SwiGLU three") {
    ModelConfig cfg;
    cfg.n_layer = 2;
    cfg.n_embd = 8;
    cfg.n_head = 2;
    cfg.n_kv_head = 1;
    cfg.head_dim = 4;
    cfg.n_ff = 32;
    cfg.n_vocab = 100;
    // per layer: q 8x8, k and v 8x4 each, o 8x8, MLP 8x32 per matrix
    CHECK(model_cost(cfg, DType::F16).layer_params == 2 * (64 + 64 + 64 + 3 * 256));
    cfg.arch = Arch::Bloom;
    CHECK(model_cost(cfg, DType::F16).layer_params == 2 * (64 + 64 + 64 + 2 * 256));
    CHECK(model_cost(cfg, DType::F16).head_params == 800);
}

TEST_CASE("roofline: compute- and bandwidth-bound times, the larger one is the limit") {
    ModelCost c;
    c.layer_params = 1e9;
    c.head_params = 1e8;
    c.n_layer = 2;
    c.n_head = 4;
    c.head_dim = 8;
    c.bytes_per_param = 2.0;
    // 100 + 50 tokens: 149 fed (the last output is never fed), 50 sampled.
    // 10 + 200 tokens: 209 fed, 200 sampled. A failed request counts nothing.
    const std::vector<RequestRecord> recs = {record(100, 50), record(10, 200), record(5000, 5000, false)};
    const double attn = 4.0 * 2 * 4 * 8;
    const double flops = 2e9 * 149 + 2e8 * 50 + attn * 149 * 150 / 2 + 2e9 * 209 + 2e8 * 200 + attn * 209 * 210 / 2;
    DevicePeaks peaks{100.0, 1000.0, "flags"};  // TFLOP/s, GB/s
    Roofline r = compute_roofline(c, recs, 0.1, peaks);
    REQUIRE(r.valid);
    CHECK(r.model_tflop == doctest::Approx(flops * 1e-12));
    CHECK(r.compute_s == doctest::Approx(flops / 100e12));
    CHECK(r.longest_output == 200);
    CHECK(r.weight_gb == doctest::Approx(2.2));
    CHECK(r.bandwidth_s == doctest::Approx(199 * 2.2 / 1000.0));  // 0.4378 s
    CHECK(r.bound == "bandwidth");
    CHECK(r.limit_s == r.bandwidth_s);
    CHECK(r.achieved_fraction == doctest::Approx(r.bandwidth_s / 0.1));
    CHECK(r.limit_output_throughput == doctest::Approx(250 / r.bandwidth_s));

    peaks.bandwidth_gbs = 1e6;  // now compute decides
    r = compute_roofline(c, recs, 0.1, peaks);
    CHECK(r.bound == "compute");
    CHECK(r.limit_s == doctest::Approx(flops / 100e12));

    const nlohmann::json j = roofline_json(r);
    CHECK(j["bound"] == "compute");
    CHECK(j["limit_s"].get<double>() == doctest::Approx(r.limit_s));
    CHECK(j["peaks"]["matmul_tflops"].get<double>() == 100.0);
    CHECK(format_roofline(r).find("Achieved fraction (compute-bound):") != std::string::npos);

    r = compute_roofline(c, recs, 0.1, DevicePeaks{});  // unknown rates: FLOPs only
    CHECK_FALSE(r.valid);
    CHECK(r.model_tflop == doctest::Approx(flops * 1e-12));
    CHECK(roofline_json(r)["peaks"].is_null());
    CHECK(format_roofline(r).find("unknown") != std::string::npos);
}

TEST_CASE("roofline: peak rates from flags win over measured ones, each on its own") {
    const DevicePeaks measured{790.0, 4000.0, "measured"};
    CHECK(merge_peaks(DevicePeaks{}, measured).source == "measured");
    DevicePeaks m = merge_peaks(DevicePeaks{900.0, 0.0, ""}, measured);
    CHECK(m.matmul_tflops == 900.0);
    CHECK(m.bandwidth_gbs == 4000.0);
    CHECK(m.source == "flags+measured");
    m = merge_peaks(DevicePeaks{900.0, 4500.0, ""}, DevicePeaks{});
    CHECK(m.matmul_tflops == 900.0);
    CHECK(m.bandwidth_gbs == 4500.0);
    CHECK(m.source == "flags");
}

TEST_CASE("device peaks: the CPU backend measures nothing") {
    auto cpu = make_cpu_backend();
    const DevicePeaks p = measure_device_peaks(*cpu);
    CHECK(p.matmul_tflops == 0.0);
    CHECK(p.bandwidth_gbs == 0.0);
    CHECK(p.source.empty());
}

#ifdef LIGHTLLM_WITH_CUDA
TEST_CASE("cuda: device peaks are measured once, in a plausible range") {
    LL_REQUIRE_GPU();
    auto be = make_cuda_backend(0, DType::BF16);
    const DevicePeaks p = measure_device_peaks(*be);
    MESSAGE(fmt::format("peak matrix rate {:.0f} TFLOP/s, copy bandwidth {:.0f} GB/s", p.matmul_tflops, p.bandwidth_gbs));
    CHECK(p.source == "measured");
    CHECK(p.matmul_tflops > 10.0);     // any tensor-core GPU of this decade
    CHECK(p.matmul_tflops < 5000.0);   // above every dense bf16 rate sold today
    CHECK(p.bandwidth_gbs > 100.0);
    CHECK(p.bandwidth_gbs < 20000.0);
}
#endif
