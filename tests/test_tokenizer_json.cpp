// Hugging Face tokenizer.json (byte-level BPE) against the ids produced by the
// `tokenizers` library itself (fixtures: tests/reference/make_tokenizer_fixtures.py),
// for each pre-tokenizer family; the same vocabularies written as GGUF
// metadata must tokenize identically.
#include "bpe_pretokenizer.h"
#include "bpe_tokenizer.h"
#include "check.h"
#include "unicode.h"
#include "bpe_vocab_gguf.h"
#include "tokenizer.h"
#include "tokenizer_test_data.h"
#include "tokenizer_vocab.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace lightllm;
using nlohmann::json;

namespace {

std::string tmp_path(const std::string& name) { return "/tmp/lightllm_test_" + std::to_string(getpid()) + "_" + name; }

// GGUF tokenizer.ggml.pre of each fixture family (the other families use their own name).
std::string gguf_pre_name(const std::string& family) {
    if (family == "gpt2") return "gpt-2";
    if (family == "llama3") return "llama-bpe";
    return family;
}


}  // namespace

TEST_CASE("tokenizer json: every pre-tokenizer family matches the tokenizers library") {
    json ref = json::parse(read_whole_file(test_data("tokenizers/bpe_cases.json")));
    REQUIRE(ref["cases"].size() == 5);
    for (const auto& [family, cases] : ref["cases"].items()) {
        std::string path = test_data("tokenizers/" + family + "/tokenizer.json");
        auto tok = load_tokenizer(path);
        TokenizerVocab v = vocab_from_hf_tokenizer_json(path);
        std::string gguf = write_bpe_vocab_gguf(v, gguf_pre_name(family), tmp_path(family + ".gguf"));
        auto from_gguf = load_tokenizer(gguf);
        REQUIRE(cases.size() > 40);
        for (const auto& c : cases) {
            std::string text = c["text"];
            INFO(family << " text: [" << text << "]");
            auto ids = tok->encode(text, false, true);
            CHECK(ids == c["ids"].get<std::vector<int32_t>>());
            CHECK(tok->encode(text, true, true) == c["ids_add_special"].get<std::vector<int32_t>>());
            CHECK(tok->encode(text, false, false) == c["ids_special_as_text"].get<std::vector<int32_t>>());
            CHECK(tok->decode(c["ids"].get<std::vector<int32_t>>(), false) == c["decoded"].get<std::string>());
            if (text.find("<mask>") == std::string::npos)  // GGUF keeps no lstrip flag
                CHECK(from_gguf->encode(text, false, true) == c["ids"].get<std::vector<int32_t>>());
        }
        std::remove(gguf.c_str());
    }
}

TEST_CASE("tokenizer json: bad files are clear errors") {
    std::string p = tmp_path("tokenizer.json");
    auto write = [&](const std::string& s) {
        FILE* f = std::fopen(p.c_str(), "wb");
        std::fwrite(s.data(), 1, s.size(), f);
        std::fclose(f);
    };
    write("{\"model\": {\"type\": \"BPE\", ");  // truncated
    std::string e = error_of([&] { load_tokenizer(p); });
    CHECK(e.find(p) != std::string::npos);
    CHECK(e.find("JSON") != std::string::npos);

    json j = json::parse(read_whole_file(test_data("tokenizers/gpt2/tokenizer.json")));
    j["pre_tokenizer"] = {{"type", "UnicodeScripts"}};  // not implemented
    write(j.dump());
    e = error_of([&] { load_tokenizer(p); });
    CHECK(e.find(p) != std::string::npos);
    CHECK(e.find("pre_tokenizer") != std::string::npos);

    j["model"]["type"] = "WordPiece";
    write(j.dump());
    e = error_of([&] { load_tokenizer(p); });
    CHECK(e.find("WordPiece") != std::string::npos);
    std::remove(p.c_str());

    e = error_of([&] { load_tokenizer("/nonexistent/dir"); });
    CHECK(e.find("/nonexistent/dir") != std::string::npos);
}

TEST_CASE("tokenizer json: pre-tokenizer splits of random strings match the tokenizers library") {
    json ref = json::parse(read_whole_file(test_data("tokenizers/bpe_cases.json")));
    auto b2u = byte_to_unicode();
    REQUIRE(ref["pre_tokenizer_splits"].size() == 5);
    for (const auto& [family, cases] : ref["pre_tokenizer_splits"].items()) {
        BpePreKind kind = bpe_pre_kind_from_name(gguf_pre_name(family), "test");
        REQUIRE(cases.size() >= 200);
        for (const auto& c : cases) {
            std::string text = c["text"];
            std::vector<std::string> pieces;  // in the byte-level alphabet, as the library reports them
            for (std::string_view p : bpe_pre_tokenize(kind, text)) {
                std::string mapped;
                for (char ch : p) utf8_append(mapped, b2u[static_cast<unsigned char>(ch)]);
                pieces.push_back(mapped);
            }
            INFO(family << " text: [" << text << "]");
            CHECK(pieces == c["pieces"].get<std::vector<std::string>>());
        }
    }
}

TEST_CASE("tokenizer json: the Split regexes of tekken, gpt-4o, deepseek, falcon, bloom and viking are recognised") {
    json base = json::parse(read_whole_file(test_data("tokenizers/gpt2/tokenizer.json")));
    char dir[] = "/tmp/lightllm_pre_XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    std::string path = std::string(dir) + "/tokenizer.json";
    for (const char* name : {"tekken", "gpt-4o", "deepseek-v3", "deepseek-llm", "falcon", "bloom", "viking"}) {
        json steps = json::array();
        for (const std::string& re : bpe_pre_regexes(bpe_pre_kind_from_name(name, "test")))
            steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}});
        steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
        json j = base;
        j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", steps}};
        std::ofstream(path) << j.dump();
        INFO(name);
        CHECK(vocab_from_hf_tokenizer_json(path).pre == std::string(name));
    }
    std::remove(path.c_str());
    rmdir(dir);
}
