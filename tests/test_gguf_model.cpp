// GGUF -> HF view: config from metadata, HF names, q/k un-permuted, BLOOM's
// qkv re-interleaved, Baichuan's W_pack fused. Checked against Hugging Face
// transformers' own GGUF loader on the SmolLM2 demo model
// (tests/reference/make_gguf_model_reference.py; skipped when the model is
// not in the cache: third_party/fetch_demo_model.sh), and on small synthetic
// files whose expected layout is worked out by hand.
#include "check.h"
#include "gguf_builder.h"
#include "gguf_model.h"
#include "model_files.h"
#include "temp_dir.h"
#include "test_util.h"
#include <doctest/doctest.h>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

using namespace lightllm;

namespace {



std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

std::vector<float> to_f32(const TensorInfo& t) {
    std::vector<float> v(size_t(t.numel()));
    tensor_to_f32(t, v.data());
    return v;
}

// A one-layer model of `arch` with hidden 4, `n_head` heads of 4/n_head dims.
GgufBuilder tiny(const std::string& arch, uint32_t n_head) {
    GgufBuilder b;
    b.str("general.architecture", arch);
    b.u32(arch + ".embedding_length", 4);
    b.u32(arch + ".block_count", 1);
    b.u32(arch + ".attention.head_count", n_head);
    b.u32(arch + ".feed_forward_length", 8);
    b.u32(arch + ".context_length", 64);
    b.f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
    b.str_array("tokenizer.ggml.tokens", {"a", "b", "c", "d", "e"});
    b.u32("tokenizer.ggml.bos_token_id", 1);
    b.u32("tokenizer.ggml.eos_token_id", 2);
    return b;
}

// Row r of a [rows, cols] F32 tensor holds (first + r)*10 + column.
std::vector<float> numbered_rows(int rows, int cols = 4, int first = 0) {
    std::vector<float> v;
    for (int r = first; r < first + rows; ++r)
        for (int c = 0; c < cols; ++c) v.push_back(float(r * 10 + c));
    return v;
}

std::vector<float> row_ids(const std::vector<float>& v, int cols = 4) {
    std::vector<float> out;
    for (size_t i = 0; i < v.size(); i += size_t(cols)) out.push_back(v[i] / 10.0f);
    return out;
}

}  // namespace

TEST_CASE("gguf_model: SmolLM2 Q4_1 matches transformers' GGUF loader") {
    const std::string path = demo_model_path();
    if (!std::filesystem::exists(path)) {
        MESSAGE("skipped: demo model not found at " << path << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    std::ifstream in(test_data("gguf/smollm2_tensors_reference.json"));
    REQUIRE(in);
    nlohmann::json ref = nlohmann::json::parse(in);

    ModelFiles mf = open_model_files(path);
    CHECK(mf.is_gguf);
    const ModelConfig& c = mf.config;
    const auto& rc = ref["config"];
    CHECK(c.arch == Arch::Llama);
    CHECK(c.hf_architecture == "LlamaForCausalLM");
    CHECK(c.n_vocab == rc["vocab_size"].get<int>());
    CHECK(c.n_embd == rc["hidden_size"].get<int>());
    CHECK(c.n_layer == rc["num_hidden_layers"].get<int>());
    CHECK(c.n_head == rc["num_attention_heads"].get<int>());
    CHECK(c.n_kv_head == rc["num_key_value_heads"].get<int>());
    CHECK(c.n_ff == rc["intermediate_size"].get<int>());
    CHECK(c.max_position == rc["max_position_embeddings"].get<int>());
    CHECK(c.norm_eps == doctest::Approx(rc["rms_norm_eps"].get<double>()));
    CHECK(c.rope_theta == doctest::Approx(rc["rope_theta"].get<double>()));
    CHECK(c.bos_id == rc["bos_token_id"].get<int>());
    CHECK(c.eos_ids == std::vector<int>{rc["eos_token_id"].get<int>()});
    CHECK(c.tie_word_embeddings == rc["tie_word_embeddings"].get<bool>());
    CHECK(c.head_dim == 64);
    CHECK(mf.tensors->find("lm_head.weight") == nullptr);
    CHECK(mf.tensors->names().size() == 272);

    for (const auto& [name, r] : ref["tensors"].items()) {
        CAPTURE(name);
        const TensorInfo& t = mf.tensors->require(name, r["shape"].get<std::vector<int64_t>>());
        std::vector<float> v = to_f32(t);
        double sum = 0, abs_sum = 0;
        for (float x : v) sum += x, abs_sum += std::fabs(x);
        CHECK(abs_sum == doctest::Approx(r["abs_sum"].get<double>()).epsilon(1e-6));
        CHECK(std::fabs(sum - r["sum"].get<double>()) <= 1e-6 * r["abs_sum"].get<double>());
        const int64_t cols = t.shape.size() == 2 ? t.shape[1] : t.shape[0];
        for (const auto& [row, vals] : r["rows"].items()) {
            CAPTURE(row);
            int64_t ir = std::stoll(row);
            for (size_t j = 0; j < vals.size(); ++j)
                CHECK(v[size_t(ir * cols) + j] == doctest::Approx(vals[j].get<double>()).epsilon(1e-6));
        }
    }
}

TEST_CASE("gguf_model: llama q/k rows un-permuted per head, v untouched") {
    TempDir dir;
    GgufBuilder b = tiny("llama", 1);
    b.u32("llama.attention.head_count_kv", 1);
    b.tensor("blk.0.attn_q.weight", {4, 4}, 0, f32_bytes(numbered_rows(4)));
    b.tensor("blk.0.attn_k.weight", {4, 4}, 0, f32_bytes(numbered_rows(4)));
    b.tensor("blk.0.attn_v.weight", {4, 4}, 0, f32_bytes(numbered_rows(4)));
    b.tensor("token_embd.weight", {4, 5}, 0, f32_bytes(numbered_rows(5)));
    ModelFiles mf = open_model_files(b.write(dir.file("m.gguf")));
    // head_dim 4: GGUF rows hold HF rows 0, 2, 1, 3 (pairs of the two halves interleaved).
    const std::vector<float> hf_order{0, 2, 1, 3};
    CHECK(row_ids(to_f32(mf.tensors->require("model.layers.0.self_attn.q_proj.weight", {4, 4}))) == hf_order);
    CHECK(row_ids(to_f32(mf.tensors->require("model.layers.0.self_attn.k_proj.weight", {4, 4}))) == hf_order);
    CHECK(row_ids(to_f32(mf.tensors->require("model.layers.0.self_attn.v_proj.weight", {4, 4}))) ==
          std::vector<float>{0, 1, 2, 3});
    CHECK(mf.tensors->find("model.embed_tokens.weight") != nullptr);
    CHECK(mf.config.n_vocab == 5);
    CHECK(mf.config.tie_word_embeddings);
    CHECK(mf.config.eos_ids == std::vector<int>{2});

    // Two heads of 2 dims: pairs swap within each head only.
    GgufBuilder b2 = tiny("llama", 2);
    b2.tensor("blk.0.attn_q.weight", {4, 4}, 0, f32_bytes(numbered_rows(4)));
    ModelFiles mf2 = open_model_files(b2.write(dir.file("m2.gguf")));
    CHECK(row_ids(to_f32(mf2.tensors->require("model.layers.0.self_attn.q_proj.weight", {4, 4}))) ==
          std::vector<float>{0, 1, 2, 3});
}

TEST_CASE("gguf_model: qwen2 keeps q/k as stored and has qkv bias") {
    TempDir dir;
    GgufBuilder b = tiny("qwen2", 1);
    b.tensor("blk.0.attn_q.weight", {4, 4}, 0, f32_bytes(numbered_rows(4)));
    b.tensor("blk.0.attn_q.bias", {4}, 0, f32_bytes({0, 1, 2, 3}));
    ModelFiles mf = open_model_files(b.write(dir.file("q.gguf")));
    CHECK(mf.config.hf_architecture == "Qwen2ForCausalLM");
    CHECK(mf.config.qkv_bias);
    CHECK(row_ids(to_f32(mf.tensors->require("model.layers.0.self_attn.q_proj.weight", {4, 4}))) ==
          std::vector<float>{0, 1, 2, 3});
    CHECK(to_f32(mf.tensors->require("model.layers.0.self_attn.q_proj.bias", {4})) == std::vector<float>{0, 1, 2, 3});
}

TEST_CASE("gguf_model: bloom qkv goes back to per-head [q, k, v]") {
    TempDir dir;
    GgufBuilder b = tiny("bloom", 2);
    b.f32("bloom.attention.layer_norm_epsilon", 1e-5f);
    // GGUF rows: q0 q1 q2 q3 k0 .. v3 (head_dim 2); HF: per head h, [q, k, v] of 2 rows each.
    b.tensor("blk.0.attn_qkv.weight", {4, 12}, 0, f32_bytes(numbered_rows(12)));
    b.tensor("blk.0.attn_qkv.bias", {12}, 0, f32_bytes(row_ids(numbered_rows(12))));
    ModelFiles mf = open_model_files(b.write(dir.file("b.gguf")));
    CHECK(mf.config.arch == Arch::Bloom);
    CHECK(mf.config.alibi);
    const std::vector<float> hf{0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11};
    CHECK(row_ids(to_f32(mf.tensors->require("transformer.h.0.self_attention.query_key_value.weight", {12, 4}))) == hf);
    CHECK(to_f32(mf.tensors->require("transformer.h.0.self_attention.query_key_value.bias", {12})) == hf);
}

TEST_CASE("gguf_model: baichuan q/k/v fused back into W_pack") {
    TempDir dir;
    GgufBuilder b = tiny("baichuan", 1);
    b.tensor("blk.0.attn_q.weight", {4, 4}, 0, f32_bytes(numbered_rows(4)));
    b.tensor("blk.0.attn_k.weight", {4, 4}, 0, f32_bytes(numbered_rows(4, 4, 4)));
    b.tensor("blk.0.attn_v.weight", {4, 4}, 0, f32_bytes(numbered_rows(4, 4, 8)));
    ModelFiles mf = open_model_files(b.write(dir.file("bc.gguf")));
    CHECK(mf.tensors->find("model.layers.0.self_attn.q_proj.weight") == nullptr);
    CHECK(row_ids(to_f32(mf.tensors->require("model.layers.0.self_attn.W_pack.weight", {12, 4}))) ==
          std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7, 8, 9, 10, 11});
}

TEST_CASE("gguf_model: bad files are errors naming the file and the key or tensor") {
    TempDir dir;
    GgufBuilder unknown = tiny("mamba", 1);
    std::string path = unknown.write(dir.file("unknown.gguf"));
    std::string e = error_of([&] { open_model_files(path); });
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("'mamba'") != std::string::npos);

    GgufBuilder missing;
    missing.str("general.architecture", "llama");
    missing.u32("llama.block_count", 1);
    path = missing.write(dir.file("missing.gguf"));
    e = error_of([&] { open_model_files(path); });
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("llama.embedding_length") != std::string::npos);

    GgufBuilder no_arch;
    path = no_arch.write(dir.file("no_arch.gguf"));
    e = error_of([&] { open_model_files(path); });
    CHECK(e.find("general.architecture") != std::string::npos);

    GgufBuilder q2k = tiny("llama", 1);
    q2k.tensor("blk.0.attn_q.weight", {256, 4}, 10, std::vector<uint8_t>(84 * 4));
    path = q2k.write(dir.file("q2k.gguf"));
    e = error_of([&] { open_model_files(path); });
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("blk.0.attn_q.weight") != std::string::npos);
    CHECK(e.find("Q2_K") != std::string::npos);

    GgufBuilder ok = tiny("llama", 1);
    ok.tensor("token_embd.weight", {4, 5}, 0, f32_bytes(numbered_rows(5)));
    std::vector<uint8_t> bytes = ok.bytes();
    bytes.resize(bytes.size() - 10);
    path = GgufBuilder::write_file(dir.file("truncated.gguf"), bytes);
    e = error_of([&] { open_model_files(path); });
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("truncated") != std::string::npos);

    GgufBuilder bad_heads = tiny("llama", 3);
    path = bad_heads.write(dir.file("heads.gguf"));
    e = error_of([&] { open_model_files(path); });
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("num_attention_heads") != std::string::npos);
}

TEST_CASE("gguf_model: Llama 3 rope scaling recovered from rope_freqs.weight") {
    // Divisors computed by transformers' llama3 rope init
    // (tests/reference/make_gguf_llama3_rope_fixture.py).
    for (int factor : {8, 32}) {
        CAPTURE(factor);
        ModelFiles mf = open_model_files(test_data("gguf/llama3_rope_factor" + std::to_string(factor) + ".gguf"));
        const RopeScaling& rs = mf.config.rope_scaling;
        CHECK(rs.type == RopeScalingType::Llama3);
        CHECK(rs.factor == doctest::Approx(factor));
        CHECK(rs.low_freq_factor == 1.0f);
        CHECK(rs.high_freq_factor == 4.0f);
        CHECK(rs.original_max_position == 8192);
        CHECK(mf.config.head_dim == 128);
        CHECK(mf.config.rope_theta == 500000.0f);
    }
    // Divisors that follow no known rule are an error, not a silent guess.
    TempDir dir;
    GgufBuilder b = tiny("llama", 1);
    std::vector<float> odd(2, 1.0f);
    odd[1] = 3.0f;
    b.tensor("rope_freqs.weight", {2}, 0, f32_bytes(odd));
    std::string path = b.write(dir.file("odd.gguf"));
    std::string e = error_of([&] { open_model_files(path); });
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("rope_freqs.weight") != std::string::npos);
}

TEST_CASE("gguf_model: truncations and random byte damage are Errors or valid files, never a crash") {
    std::ifstream in(test_data("gguf/llama3_rope_factor8.gguf"), std::ios::binary);
    std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(good.size() > 100);
    TempDir dir;
    auto exercise = [&](const std::string& bytes) {
        std::string path = dir.file("x.gguf");
        std::ofstream(path, std::ios::binary) << bytes;
        try {
            ModelFiles mf = open_model_files(path);
            for (const std::string& n : mf.tensors->names()) to_f32(*mf.tensors->find(n));
            return true;
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find(path) != std::string::npos);
            return false;
        }
    };
    CHECK(exercise(good));
    for (size_t len = 4; len < good.size(); ++len) CHECK(!exercise(good.substr(0, len)));
    exercise_corrupted_copies(good, 11, exercise);
}
