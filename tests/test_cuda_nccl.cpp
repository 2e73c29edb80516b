// The NCCL communicator on one GPU: a group of world size 1 runs every
// collective of the forward through NCCL (all-reduce after the embedding,
// o_proj and down) and must give the same logits, bit for bit, and the same
// greedy tokens as the path without a communicator. Skips without a GPU (and
// needs libnccl.so.2 at run time).
#include "cuda_test_util.h"
#include "fixture_reference.h"
#include "tp_group.h"

using namespace lightllm;
using namespace lightllm::testing;

TEST_CASE("cuda nccl: TP=1 through NCCL equals the path without a communicator, bit for bit") {
    LL_REQUIRE_GPU();
    for (const char* dir : {"tiny-llama-gqa", "tiny-bloom", "tiny-starcoder"}) {
        CAPTURE(dir);
        EngineOptions o;
        o.model_path = test_data(dir);
        o.device = DeviceChoice::Cuda;
        o.dtype = DTypeChoice::BF16;
        o.max_total_tokens = 512;
        o.max_running_requests = 4;
        o.max_prefill_tokens = 64;
        const std::vector<Case> cases = load_cases(dir);
        std::vector<std::vector<int32_t>> prompts;
        for (const Case& c : cases) prompts.push_back(c.prompt);
        std::vector<float> plain_logits;
        BatchOut plain;
        {
            ModelRunner r(o);
            plain_logits = prompt_logits(r, cases[0].prompt);
            plain = greedy_batch(r, prompts, int(cases[0].greedy.size()));
        }
        TpPlace solo;  // rank 0 of 1
        o.tp = TpGroup::form(solo, "solo");
        ModelRunner r(o);
        const std::vector<float> nccl_logits = prompt_logits(r, cases[0].prompt);
        REQUIRE(nccl_logits.size() == plain_logits.size());
        CHECK(std::memcmp(nccl_logits.data(), plain_logits.data(), nccl_logits.size() * sizeof(float)) == 0);
        CHECK(greedy_batch(r, prompts, int(cases[0].greedy.size())).ids == plain.ids);
    }
}
