// The NCCL communicator on one GPU: a group of world size 1 runs every
// collective of the forward through NCCL (all-reduce after the embedding,
// o_proj and down) and must give the same logits, bit for bit, and the same
// greedy tokens as the path without a communicator, with decode steps
// replayed from CUDA graphs (the collectives captured in them) and without.
// Skips without a GPU (and needs libnccl.so.2 at run time).
#include "cuda_test_util.h"
#include "fixture_reference.h"
#include "tp_group.h"
#include <algorithm>
#include <cstring>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

EngineOptions fixture_options(const char* dir) {
    EngineOptions o;
    o.model_path = test_data(dir);
    o.device = DeviceChoice::Cuda;
    o.dtype = DTypeChoice::BF16;
    o.max_total_tokens = 512;
    o.max_running_requests = 4;
    o.max_prefill_tokens = 64;
    return o;
}

// The logits of n greedy decode steps of one request after `prompt`, each step
// fed alone (one sequence, one token: CUDA-graph bucket 1 when graphs are on).
std::vector<float> decode_logits(ModelRunner& r, const std::vector<int32_t>& prompt, int n) {
    Seq s(r);
    std::vector<float> last = r.forward_all_logits(s.feed(prompt, false));
    const size_t vocab = size_t(r.config().n_vocab);
    std::vector<float> all;
    for (int k = 0; k < n; ++k) {
        const auto row = last.end() - long(vocab);
        const int32_t next = int32_t(std::max_element(row, last.end()) - row);
        last = r.forward_all_logits(s.feed({next}, false));
        REQUIRE(last.size() == vocab);
        all.insert(all.end(), last.begin(), last.end());
    }
    return all;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("cuda nccl: TP=1 through NCCL equals the path without a communicator, bit for bit") {
    LL_REQUIRE_GPU();
    for (const char* dir : {"tiny-llama-gqa", "tiny-bloom", "tiny-starcoder"}) {
        CAPTURE(dir);
        EngineOptions o = fixture_options(dir);
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

TEST_CASE("cuda nccl: decode CUDA graphs capture the NCCL collectives and replay them bit for bit") {
    LL_REQUIRE_GPU();
    for (const char* dir : {"tiny-llama-gqa", "tiny-bloom", "tiny-starcoder"}) {
        CAPTURE(dir);
        const std::vector<Case> cases = load_cases(dir);
        std::vector<std::vector<int32_t>> prompts;
        for (const Case& c : cases) prompts.push_back(c.prompt);
        const int n = int(cases[0].greedy.size());
        struct Run {
            std::vector<float> decode;  // bucket-1 decode logits
            BatchOut batch;             // all prompts decoded together (their batch size's bucket)
            int64_t graph_steps;        // steps run as a CUDA graph after start-up
        };
        auto run = [&](bool nccl, bool graphs) {
            EngineOptions o = fixture_options(dir);
            o.cuda.graphs = graphs;
            o.cuda.gemm_tune = false;  // the heuristic's GEMMs: the same in every runner
            if (nccl) o.tp = TpGroup::form(TpPlace{}, "solo");
            ModelRunner r(o);
            const int64_t captured = r.graph_steps();
            CHECK((captured > 0) == graphs);
            Run out{decode_logits(r, cases[0].prompt, n), greedy_batch(r, prompts, n), 0};
            out.graph_steps = r.graph_steps() - captured;
            // Every decode step of both (n + n - 1, plus any one-token last
            // chunk of a prompt) ran as a graph, or none did.
            if (graphs) CHECK(out.graph_steps >= 2 * n - 1);
            else CHECK(out.graph_steps == 0);
            return out;
        };
        const Run plain_eager = run(false, false), plain_graphs = run(false, true);
        const Run nccl_eager = run(true, false), nccl_graphs = run(true, true);
        CHECK(nccl_graphs.graph_steps == plain_graphs.graph_steps);  // the same steps replayed through NCCL
        // A replayed graph runs the eager step's kernels on the same buffers.
        CHECK(same_bits(plain_graphs.decode, plain_eager.decode));
        CHECK(same_bits(nccl_eager.decode, plain_eager.decode));
        CHECK(same_bits(nccl_graphs.decode, plain_eager.decode));
        // Batches run padded to their bucket with graphs: the same tokens, and
        // the same logprobs bit for bit wherever the bucket is the same.
        CHECK(nccl_graphs.batch.ids == plain_graphs.batch.ids);
        CHECK(nccl_graphs.batch.logprobs == plain_graphs.batch.logprobs);
        CHECK(nccl_eager.batch.ids == plain_eager.batch.ids);
        CHECK(nccl_eager.batch.logprobs == plain_eager.batch.logprobs);
        CHECK(nccl_graphs.batch.ids == nccl_eager.batch.ids);
    }
}
