// SmolLM2-135M-Instruct (the demo GGUF, Q4_1) against Hugging Face
// transformers loading the same file: prompt token ids from our tokenizer and
// chat template, and the first 32 greedy token ids from the CPU engine, must
// equal transformers' (tests/data/smollm2_reference.json, made by
// tests/reference/make_smollm2_reference.py). Skipped when the model is not in
// the cache (make test fetches it).
#include "chat_template.h"
#include "model_runner.h"
#include "test_util.h"
#include "tokenizer.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sys/stat.h>

using namespace lightllm;


static bool file_exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

static nlohmann::json load_reference() {
    std::ifstream f(test_data("smollm2_reference.json"));
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
}

TEST_CASE("smollm2: tokenizer and chat template give transformers' prompt ids") {
    std::string model = demo_model_path();
    if (!file_exists(model)) {
        MESSAGE("skipped: demo model not found at " << model << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    auto ref = load_reference();
    auto tok = load_tokenizer(model);
    for (const auto& c : ref["cases"]) {
        std::vector<int32_t> want = c["prompt_ids"].get<std::vector<int32_t>>();
        std::vector<int32_t> got;
        if (c["kind"] == "raw") {
            got = tok->encode(c["prompt"].get<std::string>(), tok->add_bos());
        } else {
            std::vector<ChatMessage> msgs = {{"user", c["prompt"].get<std::string>()}};
            got = tok->encode(apply_chat_template(*tok, msgs, true), false);
        }
        CHECK_MESSAGE(got == want, "prompt: " << c["prompt"].get<std::string>());
    }
}

TEST_CASE("smollm2: CPU greedy tokens equal transformers' for every reference prompt") {
    std::string model = demo_model_path();
    if (!file_exists(model)) {
        MESSAGE("skipped: demo model not found at " << model);
        return;
    }
    auto ref = load_reference();
    EngineOptions opts;
    opts.model_path = model;
    opts.device = DeviceChoice::Cpu;
    opts.max_total_tokens = 512;
    opts.max_running_requests = 4;
    opts.max_context = 512;
    ModelRunner runner(opts);
    SamplingParams greedy;
    greedy.temperature = 0.0f;
    for (const auto& c : ref["cases"]) {
        std::vector<int32_t> prompt = c["prompt_ids"].get<std::vector<int32_t>>();
        std::vector<int32_t> want = c["greedy_ids"].get<std::vector<int32_t>>();
        std::vector<int32_t> output;
        int row = runner.req_to_token().alloc_row();
        REQUIRE(row >= 0);
        std::vector<int32_t> slots;
        int32_t n_cached = 0;
        std::vector<int32_t> feed = prompt;
        while (output.size() < want.size()) {
            size_t first_new = slots.size();
            REQUIRE(runner.kv_pool().alloc(int64_t(feed.size()), slots));
            StepSeq seq;
            seq.row = row;
            seq.n_cached = n_cached;
            seq.tokens = feed.data();
            seq.n_new = int32_t(feed.size());
            seq.slots = slots.data() + first_new;
            seq.sample = true;
            seq.params = &greedy;
            seq.prompt = &prompt;
            seq.output = &output;
            auto sampled = runner.step({seq});
            REQUIRE(sampled.size() == 1);
            n_cached += seq.n_new;
            output.push_back(sampled[0].id);
            feed = {sampled[0].id};
        }
        runner.kv_pool().free(slots);
        runner.req_to_token().free_row(row);
        size_t first_diff = 0;
        while (first_diff < want.size() && output[first_diff] == want[first_diff]) ++first_diff;
        CHECK_MESSAGE(output == want, "prompt: " << c["prompt"].get<std::string>() << ": first difference at token "
                                                  << first_diff << " (got " << output[first_diff] << ", want " << want[first_diff] << ")");
        if (c["prompt"] == "What is the capital of France?") {
            std::string text = load_tokenizer(model)->decode(output);
            CHECK_MESSAGE(text.find("Paris") != std::string::npos, text);
        }
    }
}
