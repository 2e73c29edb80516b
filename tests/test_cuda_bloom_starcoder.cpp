// BLOOM and StarCoder end to end on the GPU: the transformers-made fixtures
// (tests/data/tiny-bloom*, tiny-starcoder*, see
// tests/reference/make_bloom_starcoder_fixtures.py) through ModelRunner on the
// CUDA backend. Checked per fixture: full-prompt logits of CUDA f32 and bf16
// compute against the CPU backend (relative L2: f32 1e-4, bf16 3e-2, as for
// the LLaMA fixtures in test_cuda_model.cpp), and CUDA f32 greedy tokens equal
// to transformers', one request at a time and the prompts decoded together.
// Covers the GPU's ALiBi (4 and 6 heads), MQA with one K/V head, LayerNorm,
// GELU and add. Skipped, with a message, when no GPU is present.
#include "cuda_test_util.h"
#include "fixture_reference.h"
#include "model_runner.h"
#include "test_util.h"
#include <fstream>
#include <nlohmann/json.hpp>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

struct Ref {
    std::vector<std::vector<int32_t>> prompts, greedy;
};

const char* kFixtures[] = {"tiny-bloom", "tiny-bloom-6h", "tiny-starcoder", "tiny-starcoder-mha"};

EngineOptions options(const std::string& name, const std::string& device, const std::string& dtype) {
    EngineOptions o;
    o.model_path = test_data(name);
    o.device = parse_device(device);
    o.dtype = parse_compute_dtype(dtype);
    o.max_total_tokens = 1024;
    o.max_running_requests = 8;
    o.max_prefill_tokens = 64;
    o.max_context = 64;
    return o;
}

}  // namespace

TEST_CASE("cuda bloom/starcoder: CUDA vs CPU logits, greedy tokens equal transformers'") {
    LL_REQUIRE_GPU();
    for (const char* name : kFixtures) {
        CAPTURE(std::string(name));
        Ref ref;
        for (const Case& c : load_cases(name)) {
            ref.prompts.push_back(c.prompt);
            ref.greedy.push_back(c.greedy);
        }
        ModelRunner cpu(options(name, "cpu", "auto"));
        ModelRunner f32(options(name, "cuda", "f32"));
        ModelRunner bf16(options(name, "cuda", "bf16"));
        for (size_t i = 0; i < ref.prompts.size(); ++i) {
            CAPTURE(i);
            const std::vector<float> want = prompt_logits(cpu, ref.prompts[i]);
            LL_CHECK_CLOSE(prompt_logits(f32, ref.prompts[i]), want, 1e-4);
            LL_CHECK_CLOSE(prompt_logits(bf16, ref.prompts[i]), want, 3e-2);
            CHECK(greedy_batch(f32, {ref.prompts[i]}, int(ref.greedy[i].size())).ids[0] == ref.greedy[i]);
        }
        CHECK(greedy_batch(f32, ref.prompts, int(ref.greedy[0].size())).ids == ref.greedy);
    }
}
