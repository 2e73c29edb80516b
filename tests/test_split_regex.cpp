// The split-regex engine (src/tokenizer/split_regex.h) against the Python
// `regex` module (tests/reference/make_split_regex_references.py): every
// match of each llama.cpp / tokenizer.json pattern and of syntax probes over
// ShareGPT snippets, llama.cpp's vocabulary texts and random strings; compile
// errors; and the cost on long runs.
#include "check.h"
#include "split_regex.h"
#include "tokenizer_test_data.h"
#include "unicode.h"
#include <doctest/doctest.h>
#include <chrono>
#include <nlohmann/json.hpp>

using namespace lightllm;

namespace {

std::vector<uint32_t> code_points(const std::string& s) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < s.size();) {
        size_t len;
        out.push_back(utf8_decode(s.data() + i, s.size() - i, &len));
        i += len;
    }
    return out;
}

std::vector<size_t> flat_matches(const SplitRegex& re, const std::vector<uint32_t>& cps) {
    std::vector<size_t> out;
    for (auto [b, e] : re.find_all(cps.data(), cps.size())) {
        out.push_back(b);
        out.push_back(e);
    }
    return out;
}

double seconds_of(const std::function<void()>& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("split_regex: matches of tokenizer patterns equal Python regex's") {
    nlohmann::json ref = nlohmann::json::parse(read_whole_file(test_data("tokenizers/split_regex_cases.json")));
    std::vector<std::vector<uint32_t>> texts;
    for (const auto& t : ref["texts"]) texts.push_back(code_points(t.get<std::string>()));
    REQUIRE(texts.size() > 200);
    REQUIRE(ref["patterns"].size() > 40);
    for (const auto& p : ref["patterns"]) {
        std::string pattern = p["pattern"];
        SplitRegex re(pattern);
        size_t mismatches = 0;
        for (size_t i = 0; i < texts.size(); ++i) {
            std::vector<size_t> want = p["matches"][i].get<std::vector<size_t>>();
            std::vector<size_t> got = flat_matches(re, texts[i]);
            if (got != want && mismatches++ < 3) {
                INFO("pattern: " << pattern);
                INFO("text: [" << ref["texts"][i].get<std::string>() << "]");
                CHECK(got == want);
            }
        }
        INFO("pattern: " << pattern);
        CHECK(mismatches == 0);
    }
}

TEST_CASE("split_regex: compile errors name the pattern and the position") {
    struct Bad {
        const char* pattern;
        const char* what;
    };
    for (Bad b : {Bad{"(ab", "missing ')'"}, Bad{"ab)", "unmatched ')'"}, Bad{"[a-", "unterminated character class"},
                  Bad{"\\p{Klingon}", "unknown property"}, Bad{"(?<=a+)b", "lookbehind of variable width"}, Bad{"(a)\\1", "backreferences"},
                  Bad{"*a", "nothing to repeat"}, Bad{"[z-a]", "out of order"}, Bad{"\\q", "unsupported escape"},
                  Bad{"a{3,1}", "m < n"}, Bad{"\\x{110000}", "U+10FFFF"}}) {
        std::string e = error_of([&] { SplitRegex re(b.pattern); });
        INFO(b.pattern << " -> " << e);
        CHECK(e.find(std::string("'") + b.pattern + "'") != std::string::npos);
        CHECK(e.find(b.what) != std::string::npos);
        CHECK(e.find("at byte") != std::string::npos);
    }
    // A brace that is not a quantifier is a literal, as in Oniguruma and Python.
    SplitRegex lit("a{,}b{x");
    std::vector<uint32_t> t = code_points("a{,}b{x");
    CHECK(flat_matches(lit, t) == std::vector<size_t>{0, 7});
}

TEST_CASE("split_regex: long runs of spaces, letters and digits stay linear") {
    const std::vector<std::string> patterns = {
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
        R"([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
        R"(\s+$)", R"(\p{L}+(?=x)|\p{L})"};
    const size_t n = 100000;
    std::vector<std::vector<uint32_t>> texts = {std::vector<uint32_t>(n, ' '), std::vector<uint32_t>(n, 'a'),
                                                std::vector<uint32_t>(n, 'A'), std::vector<uint32_t>(n, '7')};
    texts.push_back(std::vector<uint32_t>(n, ' '));
    texts.back().push_back('a');  // spaces that do not reach the end
    texts.push_back(std::vector<uint32_t>(n, '\n'));
    for (const std::string& p : patterns) {
        SplitRegex re(p);
        for (const auto& t : texts) {
            size_t covered = 0;
            double s = seconds_of([&] {
                for (auto [b, e] : re.find_all(t.data(), t.size())) covered += e - b;
            });
            INFO(p << " over " << t.size() << " x U+" << std::hex << t[0] << ": " << s << " s");
            CHECK(s < 3.0);
            CHECK(covered <= t.size());
        }
    }
}
