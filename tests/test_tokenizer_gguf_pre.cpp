// The GGUF pre-tokenizer names run by the split-regex engine (chameleon,
// superbpe, seed-coder, kimi-k2, bailingmoe, afmoe, default, qwen35, jais-2,
// spark2_5, youtu, granite-embed-multi-97m, tiny_aya, ufakzeka, laguna,
// exaone-moe, minicpm5, and names that share an existing kind: hunyuan, grok-2,
// trillion, hunyuan-dense, minimax-m2, solar-open, kanana2, joyai-llm, mellum2) against
// llama.cpp's regexes applied by the Python `regex` module
// (tests/reference/make_split_regex_references.py), and a GGUF vocabulary
// with each name loading and round-tripping; llama.cpp's SentencePiece-style
// BPE (gemma4, sarvam-moe, granite-embed-multi-311m) against the tokenizers
// library (tests/reference/make_spm_style_bpe_fixture.py).
#include "bpe_pretokenizer.h"
#include "check.h"
#include "bpe_vocab_gguf.h"
#include "tokenizer.h"
#include "tokenizer_test_data.h"
#include "tokenizer_vocab.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace lightllm;

TEST_CASE("gguf pre-tokenizers: the regex-engine names split as llama.cpp's regexes do") {
    nlohmann::json ref = nlohmann::json::parse(read_whole_file(test_data("tokenizers/gguf_pre_splits.json")));
    REQUIRE(ref["kinds"].size() == 26);
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
        std::string path = write_bpe_vocab_gguf(base, name, "/tmp/lightllm_test_" + std::to_string(getpid()) + "_pre.gguf");
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

TEST_CASE("gguf pre-tokenizers: llama.cpp's aliases load as their kind, with its ignore_merges; whitespace and unknown names are refused") {
    TokenizerVocab base = vocab_from_hf_tokenizer_json(test_data("tokenizers/gpt2/tokenizer.json"));
    const std::pair<const char*, const char*> aliases[] = {
        {"talkie", "gpt-4o"},     {"hy_v4", "deepseek-v3"}, {"cohere2moe", "tiny_aya"}, {"jina-v5-nano", "llama-bpe"},
        {"modern-bert", "gpt-2"}, {"f2llmv2", "qwen2"},     {"solar-open", "qwen2"},    {"mellum2", "starcoder"},
        {"kanana2", "gpt-4o"},    {"joyai-llm", "deepseek-v3"}};
    for (const auto& [alias, name] : aliases) {
        INFO(alias);
        CHECK(bpe_pre_kind_from_name(alias, "t") == bpe_pre_kind_from_name(name, "t"));
    }
    const std::string path = "/tmp/lightllm_test_" + std::to_string(getpid()) + "_alias.gguf";
    for (const char* name : {"talkie", "hy_v4", "cohere2moe", "jina-v5-nano", "modern-bert", "f2llmv2", "minicpm5", "youtu",
                             "granite-embed-multi-97m", "tekken", "qwen35", "jais-2"}) {
        INFO(name);
        write_bpe_vocab_gguf(base, name, path);
        TokenizerVocab v = load_tokenizer_vocab(path);
        const std::string n = name;
        const bool ignore = n == "jina-v5-nano" || n == "minicpm5" || n == "youtu" || n == "granite-embed-multi-97m" || n == "tekken";
        CHECK(v.ignore_merges == ignore);
        auto tok = load_tokenizer(path);
        CHECK(tok->decode(tok->encode("Hello world, 12345 ÉCOLE's", false, false)) == "Hello world, 12345 ÉCOLE's");
    }
    for (const char* name : {"whitespace", "no-such-pre"}) {
        INFO(name);
        write_bpe_vocab_gguf(base, name, path);
        try {
            load_tokenizer(path);
            FAIL("loaded a GGUF with tokenizer.ggml.pre " << name);
        } catch (const Error& e) {
            const std::string msg = e.what();
            CHECK(msg.find(path) != std::string::npos);
            CHECK(msg.find(std::string("'") + name + "'") != std::string::npos);
        }
    }
    std::remove(path.c_str());
}

TEST_CASE("gguf pre-tokenizers: SentencePiece-style BPE (gemma4, sarvam-moe) encodes as the tokenizers library with byte_fallback") {
    // tests/reference/make_spm_style_bpe_fixture.py: a BPE with byte_fallback, a Replace(" ", "▁") normalizer and an
    // isolated [^\n]+|[\n]+ Split, run by the tokenizers library
    nlohmann::json ref = nlohmann::json::parse(read_whole_file(test_data("tokenizers/spm_style_bpe.json")));
    const auto tokens = ref["tokens"].get<std::vector<std::string>>();
    std::vector<int32_t> types(tokens.size(), int32_t(TokenType::Normal));
    for (int32_t id : ref["byte_ids"].get<std::vector<int32_t>>()) types[id] = int32_t(TokenType::Byte);
    REQUIRE(ref["cases"].size() > 100);
    const std::string path = "/tmp/lightllm_test_" + std::to_string(getpid()) + "_spm_style.gguf";
    for (const auto& [model, pre] : {std::pair<std::string, std::string>{"gemma4", ""}, {"gpt2", "sarvam-moe"},
                                     {"gpt2", "granite-embed-multi-311m"}}) {
        INFO(model << " " << pre);
        GgufBuilder b;
        b.str("general.architecture", "llama");
        b.str("tokenizer.ggml.model", model);
        if (!pre.empty()) b.str("tokenizer.ggml.pre", pre);
        b.str_array("tokenizer.ggml.tokens", tokens);
        b.i32_array("tokenizer.ggml.token_type", types);
        b.str_array("tokenizer.ggml.merges", ref["merges"].get<std::vector<std::string>>());
        b.write(path);
        CHECK(!load_tokenizer_vocab(path).byte_level);
        auto tok = load_tokenizer(path);
        for (const auto& c : ref["cases"]) {
            const std::string text = c["text"];
            INFO("text: [" << text << "]");
            const std::vector<int32_t> ids = tok->encode(text, false, false);
            CHECK(ids == c["ids"].get<std::vector<int32_t>>());
            if (text.find("\u2581") == std::string::npos) CHECK(tok->decode(ids) == text);  // a "▁" decodes as a space
        }
    }
    std::remove(path.c_str());
}
