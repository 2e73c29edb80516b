// tokenizer.json normalizer / pre-tokenizer pipelines (hf_normalizer.h,
// hf_pretokenizer.h) against the ids of the `tokenizers` library
// (tests/reference/make_hf_pipeline_fixtures.py): Split with every behavior and
// invert, Digits, Metaspace, Whitespace(Split), Punctuation,
// CharDelimiterSplit, ByteLevel options; NFKC, Lowercase, Replace, Prepend,
// Strip. Unknown components are errors naming the file and the component.
#include "check.h"
#include "tokenizer.h"
#include "tokenizer_export.h"
#include "tokenizer_test_data.h"
#include "tokenizer_vocab.h"
#include "unicode.h"
#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace lightllm;
using nlohmann::json;

namespace {

std::string write_json(const json& j, const std::string& name) {
    std::string path = "/tmp/lightllm_test_" + std::to_string(getpid()) + "_" + name + ".json";
    std::ofstream(path, std::ios::binary) << j.dump();
    return path;
}

json base_tokenizer() { return json::parse(read_whole_file(test_data("tokenizers/pipelines/tokenizer.json"))); }

}  // namespace

TEST_CASE("tokenizer pipelines: Split behaviors, Metaspace, Digits, normalizers match the tokenizers library") {
    json ref = json::parse(read_whole_file(test_data("tokenizers/pipelines/cases.json")));
    REQUIRE(ref["pipelines"].size() == 20);
    for (const auto& p : ref["pipelines"]) {
        std::string name = p["name"];
        json j = base_tokenizer();
        j["normalizer"] = p["normalizer"];
        j["pre_tokenizer"] = p["pre_tokenizer"];
        std::string path = write_json(j, name);
        auto tok = load_tokenizer(path);
        REQUIRE(p["cases"].size() > 80);
        size_t bad = 0;
        for (const auto& c : p["cases"]) {
            std::string text = c["text"];
            auto ids = tok->encode(text, false, true);
            if (ids != c["ids"].get<std::vector<int32_t>>() && bad++ < 3) {
                INFO(name << " text: [" << text << "]");
                CHECK(ids == c["ids"].get<std::vector<int32_t>>());
            }
        }
        INFO(name);
        CHECK(bad == 0);
        // The pipeline survives an export to tokenizer.json.
        TokenizerVocab v = load_tokenizer_vocab(path);
        json exported = json::parse(bpe_tokenizer_json(v));
        CHECK(exported["pre_tokenizer"] == p["pre_tokenizer"]);
        if (!p["normalizer"].is_null()) CHECK(exported["normalizer"] == p["normalizer"]);
        std::remove(path.c_str());
    }
}

TEST_CASE("tokenizer pipelines: unknown components and bad patterns are clear errors") {
    struct Bad {
        const char* normalizer;
        const char* pre;
        const char* want;
    };
    const char* bl = R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})";
    const std::string seq_split = std::string(R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?<=a+)b"}, "behavior": "Isolated"}, )") + bl + "]}";
    const std::string bl_first = std::string(R"({"type": "Sequence", "pretokenizers": [)") + bl + R"(, {"type": "Digits", "individual_digits": true}]})";
    const std::vector<Bad> bads = {
        {R"({"type": "BertNormalizer"})", bl, "unsupported normalizer 'BertNormalizer'"},
        {"null", R"({"type": "UnicodeScripts"})", "unsupported pre_tokenizer 'UnicodeScripts'"},
        {"null", seq_split.c_str(), "lookbehind of variable width"},
        {"null", R"({"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"})", "unknown Split behavior 'Sideways'"},
        {R"({"type": "Replace", "pattern": {"Regex": "[a-"}, "content": "x"})", bl, "unterminated character class"},
        {"null", bl_first.c_str(), "ByteLevel must come last"},
    };
    for (const Bad& b : bads) {
        json j = base_tokenizer();
        j["normalizer"] = json::parse(b.normalizer);
        j["pre_tokenizer"] = json::parse(b.pre);
        std::string path = write_json(j, "bad");
        std::string e = error_of([&] { load_tokenizer(path); });
        INFO(e);
        CHECK(e.find(path) != std::string::npos);
        CHECK(e.find(b.want) != std::string::npos);
        std::remove(path.c_str());
    }
}

TEST_CASE("unicode: NFKC and lowercase agree with Python on probes") {
    // Expected strings from Python: unicodedata.normalize("NFKC", s) and s.lower().
    CHECK(unicode_nfkc("\uFB01ne \uFF28\uFF45\uFF4C\uFF4C\uFF4F \u337B \u00BD") == "fine Hello \u5E73\u6210 1\u20442");
    CHECK(unicode_nfkc("e\u0301 \u2460 \u1E9B\u0323") == "\u00E9 1 \u1E69");
    CHECK(unicode_nfkc("\uAC00\u11A8 \u1100\u1161") == "\uAC01 \uAC00");
    CHECK(unicode_lowercase("\u0130stanbul \u01C5 ABC \u1E9E") == "i\u0307stanbul \u01C6 abc \u00DF");
}
