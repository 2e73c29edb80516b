// Byte-level BPE against the llama.cpp vocabulary test cases (ids made by the
// Hugging Face tokenizers), vocabularies loaded straight from their GGUF.
#include "bpe_pretokenizer.h"
#include "check.h"
#include "bpe_tokenizer.h"
#include "gguf_reader.h"
#include "tokenizer.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>
#include <chrono>
#include <nlohmann/json.hpp>

using namespace lightllm;

namespace {

std::unique_ptr<BpeTokenizer> load_bpe(const std::string& name) {
    std::string path = vocab_file("ggml-vocab-" + name + ".gguf");
    return std::make_unique<BpeTokenizer>(vocab_from_gguf(*GgufFile::open(path)));
}

std::string ids_str(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += " " + std::to_string(id);
    return s;
}

void check_cases(const std::string& name) {
    auto tok = load_bpe(name);
    std::string base = shared_data("tokenizers/ggml-vocab-" + name + ".gguf");
    auto cases = load_vocab_cases(base + ".inp", base + ".out");
    REQUIRE(cases.size() > 30);
    for (const auto& c : cases) {
        INFO(name << " text: [" << c.text << "]");
        auto ids = tok->encode(c.text, false, false);
        CHECK(ids_str(ids) == ids_str(c.ids));
        CHECK(tok->decode(ids) == c.text);
    }
}

}  // namespace

TEST_CASE("tokenizer bpe: gpt-2 vocabulary cases") { check_cases("gpt-2"); }
TEST_CASE("tokenizer bpe: starcoder vocabulary cases") { check_cases("starcoder"); }
TEST_CASE("tokenizer bpe: deepseek-coder vocabulary cases") { check_cases("deepseek-coder"); }

TEST_CASE("tokenizer bpe: pre-tokenizer splits") {
    auto join = [](const std::vector<std::string_view>& v) {
        std::string s;
        for (auto p : v) s += "[" + std::string(p) + "]";
        return s;
    };
    CHECK(join(bpe_pre_tokenize(BpePreKind::Gpt2, "Hello world's  end\n\n x")) == "[Hello][ world]['s][ ][ end][\n\n][ x]");
    CHECK(join(bpe_pre_tokenize(BpePreKind::Gpt2, "a   ")) == "[a][   ]");
    CHECK(join(bpe_pre_tokenize(BpePreKind::Llama3, "I'M 12345 ok!!\n\n  x")) == "[I]['M][ ][123][45][ ok][!!\n\n][ ][ x]");
    CHECK(join(bpe_pre_tokenize(BpePreKind::Qwen2, "ab12")) == "[ab][1][2]");
    CHECK(join(bpe_pre_tokenize(BpePreKind::Starcoder, "x 2024")) == "[x][ ][2][0][2][4]");
    CHECK(join(bpe_pre_tokenize(BpePreKind::DeepseekCoder, "a, b\n1")) == "[a][,][ b][\n][1]");
    CHECK(bpe_pre_tokenize(BpePreKind::Gpt2, "").empty());
    CHECK_THROWS_AS(bpe_pre_kind_from_name("no-such-pre", "file.gguf"), Error);
}

TEST_CASE("tokenizer bpe: 4k-token prompt encodes in milliseconds") {
    std::unique_ptr<Tokenizer> tok;
    if (file_exists(demo_gguf_path())) tok = load_tokenizer(demo_gguf_path());
    else tok = load_bpe("gpt-2");
    if (!tok) return;
    std::string text;
    for (int i = 0; text.size() < 16000; ++i) text += "The quick brown fox " + std::to_string(i) + " jumps over the lazy dog. ";
    auto t0 = std::chrono::steady_clock::now();
    auto ids = tok->encode(text, false);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(ids.size() << " tokens in " << ms << " ms");
    CHECK(ids.size() > 3000);
    CHECK(ms < 200);
    CHECK(tok->decode(ids) == text);
}

TEST_CASE("tokenizer bpe: SmolLM2 GGUF vocabulary matches transformers (tests/data/smollm2_reference.json)") {
    std::string demo = demo_gguf_path();
    if (!file_exists(demo)) {
        MESSAGE("skipped: demo model not found at " << demo << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    auto tok = load_tokenizer(demo);
    CHECK_FALSE(tok->add_bos());
    CHECK(tok->eos_ids() == std::vector<int32_t>{2});
    CHECK(tok->token_id("<|im_start|>") == 1);
    CHECK(tok->is_special(1));
    auto ref = nlohmann::json::parse(read_whole_file(test_data("smollm2_reference.json")));
    int n_raw = 0;
    for (const auto& c : ref["cases"]) {
        std::string prompt = c["prompt"];
        INFO(prompt);
        if (c["kind"] == "raw") {
            ++n_raw;
            CHECK(tok->encode(prompt, tok->add_bos()) == c["prompt_ids"].get<std::vector<int32_t>>());
        }
        // greedy_text was decoded by transformers with special tokens kept.
        CHECK(tok->decode(c["greedy_ids"].get<std::vector<int32_t>>(), false) == c["greedy_text"].get<std::string>());
    }
    CHECK(n_raw >= 4);
}

TEST_CASE("tokenizer bpe: the other llama.cpp pre-tokenizers split as their regexes do (deepseek-llm, deepseek-v3, falcon, bloom, viking, tekken, gpt-4o)") {
    // References: tests/reference/make_pretokenizer_references.py (Python's regex module).
    nlohmann::json ref = nlohmann::json::parse(read_whole_file(test_data("tokenizers/pretokenizer_splits.json")));
    REQUIRE(ref["kinds"].size() == 7);
    for (const auto& [name, cases] : ref["kinds"].items()) {
        BpePreKind kind = bpe_pre_kind_from_name(name, "test");
        CHECK(bpe_pre_regexes(kind).size() >= 1);
        for (const auto& c : cases) {
            std::string text = c["text"];
            INFO(name << " text: [" << text << "]");
            std::vector<std::string> got;
            for (std::string_view p : bpe_pre_tokenize(kind, text)) got.emplace_back(p);
            CHECK(got == c["pieces"].get<std::vector<std::string>>());
        }
    }
    for (const char* alias : {"poro-chat", "gpt3-finnish"}) CHECK(bpe_pre_kind_from_name(alias, "t") == BpePreKind::Bloom);
    std::string e = error_of([] { bpe_pre_kind_from_name("no-such-pre", "model.gguf"); });
    CHECK(e.find("model.gguf") != std::string::npos);
    CHECK(e.find("'no-such-pre'") != std::string::npos);
}
