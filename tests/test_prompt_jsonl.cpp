// generate --jsonl numbers: an integer field takes only integers that fit,
// and an error shows the field and the value as the line wrote it.
#include "prompt_jsonl.h"
#include <doctest/doctest.h>

using namespace lightllm;

namespace {

std::string error_of(const std::string& line) {
    try {
        parse_prompt_jsonl_line(line, 7, SamplingParams{});
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("prompt jsonl: integers in range are taken as written") {
    RequestInput in = parse_prompt_jsonl_line(R"({"prompt": "hi", "max_tokens": 2147483647, "seed": 18446744073709551615, "top_k": -1})", 1, SamplingParams{});
    CHECK(in.params.max_new_tokens == 2147483647);
    CHECK(in.params.seed == 18446744073709551615ull);
    CHECK(in.params.top_k == -1);
}

TEST_CASE("prompt jsonl: non-integers and out-of-range integers are errors naming the field and the value") {
    std::string e = error_of(R"({"prompt": "hi", "max_tokens": 4294967297})");
    CHECK(e.find("line 7") != std::string::npos);
    CHECK(e.find("'max_tokens'") != std::string::npos);
    CHECK(e.find("4294967297") != std::string::npos);
    e = error_of(R"({"prompt": "hi", "max_tokens": 1000000000000})");
    CHECK(e.find("1000000000000") != std::string::npos);
    CHECK(e.find("-727379968") == std::string::npos);
    e = error_of(R"({"prompt": "hi", "max_tokens": 2.9})");
    CHECK(e.find("'max_tokens' must be an integer, got 2.9") != std::string::npos);
    e = error_of(R"({"prompt": "hi", "min_tokens": "3"})");
    CHECK(e.find("'min_tokens' must be an integer") != std::string::npos);
    e = error_of(R"({"prompt": "hi", "seed": -1})");
    CHECK(e.find("'seed'") != std::string::npos);
    e = error_of(R"({"prompt": "hi", "temperature": 1e300})");
    CHECK(e.find("'temperature'") != std::string::npos);
    CHECK(e.find("1e+300") != std::string::npos);
}
