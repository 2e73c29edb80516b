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
#include "model_runner.h"
#include "test_util.h"
#include <fstream>
#include <nlohmann/json.hpp>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

const char* kFixtures[] = {"tiny-bloom", "tiny-bloom-6h", "tiny-starcoder", "tiny-starcoder-mha"};

EngineOptions options(const std::string& name, const std::string& device, const std::string& dtype) {
    EngineOptions o;
    o.model_path = test_data(name);
    o.device = device;
    o.dtype = dtype;
    o.max_total_tokens = 1024;
    o.max_running_requests = 8;
    o.max_prefill_tokens = 64;
    o.max_context = 64;
    return o;
}

struct Ref {
    std::vector<std::vector<int32_t>> prompts, greedy;
};

Ref load_ref(const std::string& name) {
    std::ifstream in(test_data(name + "/reference.json"));
    REQUIRE(in);
    const nlohmann::json j = nlohmann::json::parse(in);
    Ref r;
    for (const auto& c : j["cases"]) {
        r.prompts.push_back(c["prompt"].get<std::vector<int32_t>>());
        r.greedy.push_back(c["greedy"].get<std::vector<int32_t>>());
    }
    return r;
}

// Greedy continuations of `prompts`, all in the same steps: one ragged
// prefill, then decode steps of all of them.
std::vector<std::vector<int32_t>> greedy_together(ModelRunner& r, const std::vector<std::vector<int32_t>>& prompts,
                                                  int n) {
    const size_t k = prompts.size();
    std::vector<int> rows(k);
    std::vector<std::vector<int32_t>> slots(k), all = prompts, out(k);
    for (size_t i = 0; i < k; ++i) {
        rows[i] = r.req_to_token().alloc_row();
        REQUIRE(rows[i] >= 0);
        REQUIRE(r.kv_pool().alloc(int64_t(prompts[i].size()) + n, slots[i]));
    }
    SamplingParams params;
    std::vector<int> cached(k, 0);
    for (int step = 0; step < n; ++step) {
        std::vector<StepSeq> seqs(k);
        for (size_t i = 0; i < k; ++i) {
            StepSeq& s = seqs[i];
            s.row = rows[i];
            s.n_cached = cached[i];
            s.tokens = all[i].data() + cached[i];
            s.n_new = int(all[i].size()) - cached[i];
            s.slots = slots[i].data() + cached[i];
            s.sample = true;
            s.params = &params;
            s.prompt = &prompts[i];
            s.output = &out[i];
        }
        const std::vector<SampledToken> t = r.step(seqs);
        REQUIRE(t.size() == k);
        for (size_t i = 0; i < k; ++i) {
            cached[i] = int(all[i].size());
            out[i].push_back(t[i].id);
            all[i].push_back(t[i].id);
        }
    }
    for (size_t i = 0; i < k; ++i) {
        r.kv_pool().free(slots[i]);
        r.req_to_token().free_row(rows[i]);
    }
    return out;
}

std::vector<float> prompt_logits(ModelRunner& r, const std::vector<int32_t>& prompt) {
    const int row = r.req_to_token().alloc_row();
    REQUIRE(row >= 0);
    std::vector<int32_t> slots;
    REQUIRE(r.kv_pool().alloc(int64_t(prompt.size()), slots));
    StepSeq s;
    s.row = row;
    s.tokens = prompt.data();
    s.n_new = int(prompt.size());
    s.slots = slots.data();
    std::vector<float> out = r.forward_all_logits(s);
    r.kv_pool().free(slots);
    r.req_to_token().free_row(row);
    return out;
}

}  // namespace

TEST_CASE("cuda bloom/starcoder: CUDA vs CPU logits, greedy tokens equal transformers'") {
    LL_REQUIRE_GPU();
    for (const char* name : kFixtures) {
        CAPTURE(std::string(name));
        const Ref ref = load_ref(name);
        ModelRunner cpu(options(name, "cpu", "auto"));
        ModelRunner f32(options(name, "cuda", "f32"));
        ModelRunner bf16(options(name, "cuda", "bf16"));
        for (size_t i = 0; i < ref.prompts.size(); ++i) {
            CAPTURE(i);
            const std::vector<float> want = prompt_logits(cpu, ref.prompts[i]);
            LL_CHECK_CLOSE(prompt_logits(f32, ref.prompts[i]), want, 1e-4);
            LL_CHECK_CLOSE(prompt_logits(bf16, ref.prompts[i]), want, 3e-2);
            CHECK(greedy_together(f32, {ref.prompts[i]}, int(ref.greedy[i].size()))[0] == ref.greedy[i]);
        }
        CHECK(greedy_together(f32, ref.prompts, int(ref.greedy[0].size())) == ref.greedy);
    }
}
