// The GGUF pre-tokenizer names run by the split-regex engine (chameleon,
// superbpe, seed-coder, kimi-k2, bailingmoe, afmoe, and the names that share an
// existing kind: hunyuan, grok-2, trillion, hunyuan-dense, minimax-m2) against
// llama.cpp's regexes applied by the Python `regex` module
// (tests/reference/make_split_regex_references.py), and a GGUF vocabulary
// with each name loading and round-tripping.
#include "bpe_pretokenizer.h"
#include "check.h"
#include "gguf_builder.h"
#include "tokenizer.h"
#include "tokenizer_test_data.h"
#include "tokenizer_vocab.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace lightllm;

namespace {

std::string write_gguf_with_pre(const TokenizerVocab& v, const std::string& pre, const std::string& path) {
    GgufBuilder b;
    b.str("general.architecture", "llama");
    b.str("tokenizer.ggml.model", "gpt2");
    b.str("tokenizer.ggml.pre", pre);
    b.str_array("tokenizer.ggml.tokens", v.tokens);
    std::vector<int32_t> types;
    for (TokenType t : v.types) types.push_back(int32_t(t));
    b.i32_array("tokenizer.ggml.token_type", types);
    std::vector<std::string> merges;
    for (const auto& [l, r] : v.merges) merges.push_back(l + " " + r);
    b.str_array("tokenizer.ggml.merges", merges);
    return b.write(path);
}

}  // namespace

TEST_CASE("gguf pre-tokenizers: the regex-engine names split as llama.cpp's regexes do") {
    nlohmann::json ref = nlohmann::json::parse(read_whole_file(test_data("tokenizers/gguf_pre_splits.json")));
    REQUIRE(ref["kinds"].size() == 11);
    TokenizerVocab base = vocab_from_hf_tokenizer_json(test_data("tokenizers/gpt2/tokenizer.json"));
    for (const auto& [name, cases] : ref["kinds"].items()) {
        BpePreKind kind = bpe_pre_kind_from_name(name, "test");
        REQUIRE(cases.size() > 100);
        for (const auto& c : cases) {
            std::string text = c["text"];
            INFO(name << " text: [" << text << "]");
            std::vector<std::string> got;
            for (std::string_view p : bpe_pre_tokenize(kind, text)) got.emplace_back(p);
            CHECK(got == c["pieces"].get<std::vector<std::string>>());
        }
        std::string path = write_gguf_with_pre(base, name, "/tmp/lightllm_test_" + std::to_string(getpid()) + "_pre.gguf");
        auto tok = load_tokenizer(path);
        for (const auto& c : cases) {
            std::string text = c["text"];
            INFO(name << " text: [" << text << "]");
            CHECK(tok->decode(tok->encode(text, false, false)) == text);
        }
        std::remove(path.c_str());
    }
    CHECK(bpe_pre_kind_is_regex(bpe_pre_kind_from_name("kimi-k2", "t")));
    CHECK(!bpe_pre_kind_is_regex(bpe_pre_kind_from_name("grok-2", "t")));
    CHECK(bpe_pre_kind_from_name("llada-moe", "t") == BpePreKind::Bailingmoe);
}
