// config.json -> ModelConfig for every supported family. The configs under
// tests/data/hf_configs/ are written by transformers' own config classes
// (tests/reference/make_safetensors_fixtures.py); the inline ones are in the
// older layout of configs published on the Hub (rope_theta + rope_scaling).
#include "check.h"
#include "hf_config.h"
#include <nlohmann/json.hpp>
#include "model_files.h"
#include "temp_dir.h"
#include "test_util.h"
#include <doctest/doctest.h>
#include <fstream>
#include <functional>
#include <sstream>

using namespace lightllm;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

ModelConfig fixture(const std::string& name) {
    return parse_hf_config(read_text(test_data("hf_configs/" + name + ".json")), name + ".json");
}


// Llama-3.2-1B-Instruct's config.json as published (trimmed of unused keys).
const char* kLlama32 = R"({
  "architectures": ["LlamaForCausalLM"], "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
  "head_dim": 64, "hidden_size": 2048, "intermediate_size": 8192, "max_position_embeddings": 131072,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
  "original_max_position_embeddings": 8192, "rope_type": "llama3"}, "rope_theta": 500000.0,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256})";

}  // namespace

TEST_CASE("hf_config: llama 2") {
    ModelConfig c = fixture("llama");
    CHECK(c.arch == Arch::Llama);
    CHECK(c.hf_architecture == "LlamaForCausalLM");
    CHECK(c.model_type == "llama");
    CHECK(c.n_vocab == 32000);
    CHECK(c.n_embd == 4096);
    CHECK(c.n_layer == 32);
    CHECK(c.n_head == 32);
    CHECK(c.n_kv_head == 32);
    CHECK(c.head_dim == 128);
    CHECK(c.rope_dim == 128);
    CHECK(c.n_ff == 11008);
    CHECK(c.max_position == 4096);
    CHECK(c.norm_eps == doctest::Approx(1e-5));
    CHECK(c.rope_theta == 10000.0f);
    CHECK(c.rope_scaling.type == RopeScalingType::None);
    CHECK(!c.tie_word_embeddings);
    CHECK(!c.qkv_bias);
    CHECK(!c.alibi);
    CHECK(c.dtype == DType::F16);
    CHECK(c.bos_id == 1);
    CHECK(c.eos_ids == std::vector<int>{2});
}

TEST_CASE("hf_config: llama 3 rope scaling, in both config layouts") {
    for (const ModelConfig& c : {fixture("llama3"), parse_hf_config(kLlama32, "config.json")}) {
        CHECK(c.n_kv_head == 8);
        CHECK(c.head_dim == 64);
        CHECK(c.rope_theta == 500000.0f);
        CHECK(c.rope_scaling.type == RopeScalingType::Llama3);
        CHECK(c.rope_scaling.factor == 32.0f);
        CHECK(c.rope_scaling.low_freq_factor == 1.0f);
        CHECK(c.rope_scaling.high_freq_factor == 4.0f);
        CHECK(c.rope_scaling.original_max_position == 8192);
        CHECK(c.tie_word_embeddings);
        CHECK(c.dtype == DType::BF16);
        CHECK(c.eos_ids == std::vector<int>{128001, 128008, 128009});
    }
}

TEST_CASE("hf_config: mistral, qwen2, bloom, starcoder, baichuan-13b") {
    ModelConfig m = fixture("mistral");
    CHECK(m.hf_architecture == "MistralForCausalLM");
    CHECK(m.arch == Arch::Llama);
    CHECK(m.sliding_window == 4096);
    CHECK(m.n_kv_head == 8);
    CHECK(m.n_ff == 14336);

    ModelConfig q = fixture("qwen2");
    CHECK(q.arch == Arch::Llama);
    CHECK(q.model_type == "qwen2");
    CHECK(q.qkv_bias);
    CHECK(q.sliding_window == 0);  // use_sliding_window: false
    CHECK(q.n_head == 14);
    CHECK(q.n_kv_head == 2);
    CHECK(q.head_dim == 64);
    CHECK(q.rope_theta == 1000000.0f);
    CHECK(q.tie_word_embeddings);
    CHECK(q.eos_ids == std::vector<int>{151645});

    ModelConfig b = fixture("bloom");
    CHECK(b.arch == Arch::Bloom);
    CHECK(b.alibi);
    CHECK(b.rope_dim == 0);
    CHECK(b.n_embd == 1024);
    CHECK(b.n_layer == 24);
    CHECK(b.n_head == 16);
    CHECK(b.n_ff == 4096);
    CHECK(b.norm_eps == doctest::Approx(1e-5));
    CHECK(b.tie_word_embeddings);
    CHECK(b.pad_id == 3);

    ModelConfig s = fixture("starcoder");
    CHECK(s.arch == Arch::StarCoder);
    CHECK(s.n_embd == 6144);
    CHECK(s.n_head == 48);
    CHECK(s.n_kv_head == 1);
    CHECK(s.n_ff == 4 * 6144);
    CHECK(s.max_position == 8192);
    CHECK(s.tie_word_embeddings);

    ModelConfig bc = fixture("baichuan13b");
    CHECK(bc.arch == Arch::Llama);
    CHECK(bc.model_type == "baichuan");
    CHECK(bc.alibi);
    CHECK(bc.max_position == 4096);
    CHECK(bc.n_ff == 13696);
}

TEST_CASE("hf_config: baichuan-7b uses rope; Yi is a llama") {
    ModelConfig c = parse_hf_config(R"({"architectures":["BaiChuanForCausalLM"],"model_type":"baichuan",
        "vocab_size":64000,"hidden_size":4096,"intermediate_size":11008,"num_hidden_layers":32,
        "num_attention_heads":32,"max_position_embeddings":4096,"rms_norm_eps":1e-6})", "config.json");
    CHECK(!c.alibi);
    CHECK(c.rope_dim == 128);
    ModelConfig yi = parse_hf_config(R"({"architectures":["LlamaForCausalLM"],"model_type":"llama",
        "vocab_size":64000,"hidden_size":4096,"intermediate_size":11008,"num_hidden_layers":32,
        "num_attention_heads":32,"num_key_value_heads":4,"max_position_embeddings":4096,"rope_theta":5000000.0})",
                                     "config.json");
    CHECK(yi.n_kv_head == 4);
    CHECK(yi.rope_theta == 5000000.0f);
}

TEST_CASE("hf_config: generation_config.json overrides ids and gives sampling defaults") {
    const char* gen = R"({"bos_token_id": 1, "eos_token_id": [2, 7], "pad_token_id": 0, "do_sample": true,
                          "temperature": 0.6, "top_p": 0.9, "top_k": 20, "repetition_penalty": 1.05})";
    ModelConfig c = parse_hf_config(read_text(test_data("hf_configs/llama.json")), "config.json", gen, "generation_config.json");
    CHECK(c.eos_ids == std::vector<int>{2, 7});
    CHECK(c.pad_id == 0);
    CHECK(c.default_temperature == doctest::Approx(0.6));
    CHECK(c.default_top_p == doctest::Approx(0.9));
    CHECK(c.default_top_k == 20);
    CHECK(c.default_repetition_penalty == doctest::Approx(1.05));
    ModelConfig plain = fixture("llama");
    CHECK(plain.default_temperature < 0);
    CHECK(plain.default_top_k < 0);
}

TEST_CASE("hf_config: load_hf_config reads both files from a directory") {
    TempDir dir;
    dir.write("config.json", read_text(test_data("hf_configs/qwen2.json")));
    dir.write("generation_config.json", R"({"eos_token_id": [151645, 151643], "temperature": 0.7})");
    ModelConfig c = load_hf_config(dir.path);
    CHECK(c.eos_ids == std::vector<int>{151645, 151643});
    CHECK(c.default_temperature == doctest::Approx(0.7));
}

TEST_CASE("hf_config: errors name the file and the field") {
    std::string base = read_text(test_data("hf_configs/llama.json"));
    auto without = [&](const std::string& key) {
        auto j = nlohmann::json::parse(base);
        j.erase(key);
        return j.dump();
    };
    std::string e = error_of([&] { parse_hf_config(without("hidden_size"), "/m/config.json"); });
    CHECK(e == "/m/config.json: missing field 'hidden_size'");
    e = error_of([&] { parse_hf_config(without("intermediate_size"), "/m/config.json"); });
    CHECK(e == "/m/config.json: missing field 'intermediate_size'");
    e = error_of([&] { parse_hf_config(without("architectures"), "/m/config.json"); });
    CHECK(e == "/m/config.json: missing field 'architectures'");

    auto j = nlohmann::json::parse(base);
    j["architectures"] = {"FalconForCausalLM"};
    e = error_of([&] { parse_hf_config(j.dump(), "/m/config.json"); });
    CHECK(e.find("/m/config.json") == 0);
    CHECK(e.find("unknown architecture 'FalconForCausalLM'") != std::string::npos);
    CHECK(e.find("LlamaForCausalLM") != std::string::npos);

    j = nlohmann::json::parse(base);
    j["hidden_size"] = "big";
    e = error_of([&] { parse_hf_config(j.dump(), "/m/config.json"); });
    CHECK(e == "/m/config.json: field 'hidden_size' must be an integer, got \"big\"");

    j = nlohmann::json::parse(base);
    j["num_key_value_heads"] = 5;
    e = error_of([&] { parse_hf_config(j.dump(), "/m/config.json"); });
    CHECK(e.find("num_key_value_heads") != std::string::npos);

    j = nlohmann::json::parse(base);
    j.erase("rope_parameters");
    j["rope_scaling"] = {{"type", "su"}, {"factor", 2.0}};
    e = error_of([&] { parse_hf_config(j.dump(), "/m/config.json"); });
    CHECK(e.find("rope_scaling type 'su'") != std::string::npos);

    e = error_of([&] { parse_hf_config("{\"vocab_size\": ", "/m/config.json"); });
    CHECK(e == "/m/config.json: not valid JSON");

    e = error_of([&] { parse_hf_config(base, "c.json", "[1]", "/m/generation_config.json"); });
    CHECK(e.find("/m/generation_config.json") == 0);

    TempDir dir;
    e = error_of([&] { load_hf_config(dir.path); });
    CHECK(e.find("no config.json") != std::string::npos);
}

TEST_CASE("hf_config: integers are range-checked before narrowing, absurd sizes refused, values shown as written") {
    std::string base = read_text(test_data("hf_configs/llama.json"));
    auto with = [&](const std::string& key, const std::string& value_text) {
        auto j = nlohmann::json::parse(base);
        std::string text = j.dump();
        j[key] = 0;
        text = j.dump();
        std::string needle = "\"" + key + "\":0";
        REQUIRE(text.find(needle) != std::string::npos);
        return error_of([&] { parse_hf_config(text.replace(text.find(needle), needle.size(), "\"" + key + "\":" + value_text), "/m/config.json"); });
    };
    // 2^32 + 256 once ran as a vocabulary of 256.
    CHECK(with("vocab_size", "4294967552") == "/m/config.json: field 'vocab_size' = 4294967552 is out of range (-2147483648 to 2147483647)");
    CHECK(with("vocab_size", "18446744073709551615").find("= 18446744073709551615 is out of range") != std::string::npos);
    CHECK(with("hidden_size", "1e300").find("field 'hidden_size' = 1e+300 is out of range") != std::string::npos);
    CHECK(with("hidden_size", "2.5") == "/m/config.json: field 'hidden_size' must be an integer, got 2.5");
    CHECK(with("max_position_embeddings", "2147483647") ==
          "/m/config.json: field 'max_position_embeddings' = 2147483647 is larger than lightllm supports (16777216)");
    CHECK(with("head_dim", "1000000000").find("field 'head_dim' = 1000000000 is larger than lightllm supports") != std::string::npos);
    CHECK(with("intermediate_size", "2147483647").find("field 'intermediate_size' = 2147483647 is larger") != std::string::npos);
    auto j = nlohmann::json::parse(base);
    j.erase("max_position_embeddings");
    j["n_positions"] = 4294967296.0;
    std::string e = error_of([&] { parse_hf_config(j.dump(), "/m/config.json"); });
    CHECK(e.find("field 'n_positions'") != std::string::npos);  // the name the file used
}

TEST_CASE("model_files: HF directory with config and safetensors") {
    TempDir dir;
    dir.write("config.json", R"({"architectures":["LlamaForCausalLM"],"vocab_size":4,"hidden_size":2,
        "intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1,"max_position_embeddings":16})");
    std::filesystem::copy_file(test_data("safetensors/single.safetensors"), dir.file("model.safetensors"));
    ModelFiles mf = open_model_files(dir.path);
    CHECK(!mf.is_gguf);
    CHECK(mf.config.n_embd == 2);
    REQUIRE(mf.tensors);
    CHECK(mf.tensors->find("a.weight") != nullptr);

    TempDir unknown;
    unknown.write("config.json", R"({"architectures":["MambaForCausalLM"],"vocab_size":4})");
    std::string e = error_of([&] { open_model_files(unknown.path); });
    CHECK(e.find(unknown.file("config.json")) != std::string::npos);
    CHECK(e.find("'MambaForCausalLM'") != std::string::npos);

    TempDir no_weights;
    no_weights.write("config.json", read_text(test_data("hf_configs/llama.json")));
    e = error_of([&] { open_model_files(no_weights.path); });
    CHECK(e.find("safetensors") != std::string::npos);

    e = error_of([&] { open_model_files("/nonexistent/model"); });
    CHECK(e.find("/nonexistent/model") != std::string::npos);
}
