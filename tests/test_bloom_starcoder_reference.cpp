// The BLOOM and StarCoder (GPT-BigCode) forwards on the CPU backend vs Hugging
// Face transformers. Fixtures: tests/data/tiny-bloom*/, tests/data/tiny-starcoder*/
// (bf16 weights + reference.json), written by
// tests/reference/make_bloom_starcoder_fixtures.py; transformers ran in fp32 on
// the same bf16 weights, every greedy step a full forward without a cache.
// Covered: BLOOM with 4 heads and with 6 (ALiBi slopes for a head count that is
// not a power of two), StarCoder with multi-query attention and without (per-head
// interleaved c_attn). Checked per fixture:
//   - logits at every prompt position: max |ours - theirs| <= 2e-5 * max |theirs|
//     (the reference keeps 6 significant digits);
//   - the greedy continuation (20 tokens) is identical, decoding the prompts
//     one at a time and all together in one ragged batch;
//   - chunked prefill (3 chunks with n_cached > 0) and token-by-token decode
//     give the full prefill's logits (<= 1e-5 * scale);
//   - tiny-bloom-6h and tiny-starcoder rewritten as GGUF files in llama.cpp's
//     layout (BLOOM's qkv stacked [q; k; v]) give the same logits.
// Measured: ~1.5e-6 of the logit scale everywhere.
#include "cpu_backend.h"
#include "gguf_builder.h"
#include "hf_config.h"
#include "fixture_reference.h"
#include "model_runner.h"
#include "safetensors_reader.h"
#include "safetensors_writer.h"
#include "temp_dir.h"
#include "test_util.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

const char* kFixtures[] = {"tiny-bloom", "tiny-bloom-6h", "tiny-starcoder", "tiny-starcoder-mha"};

EngineOptions options(const std::string& dir) {
    EngineOptions o;
    o.model_path = test_data(dir);
    o.device = DeviceChoice::Cpu;
    o.max_total_tokens = 512;
    o.max_running_requests = 4;
    o.max_prefill_tokens = 64;
    o.max_context = 64;
    return o;
}

// The fixture `dir` rewritten as a GGUF file the way llama.cpp's converter lays
// it out: llama.cpp tensor names, F32, BLOOM's per-head query_key_value rows
// stacked as [q heads; k heads; v heads], StarCoder's c_attn as it is.
std::string write_gguf_copy(const std::string& dir, const TempDir& tmp) {
    const ModelConfig c = load_hf_config(test_data(dir));
    const bool bloom = c.arch == Arch::Bloom;
    const std::string arch = bloom ? "bloom" : "starcoder";
    GgufBuilder b;
    b.str("general.architecture", arch);
    b.u32(arch + ".context_length", uint32_t(c.max_position));
    b.u32(arch + ".embedding_length", uint32_t(c.n_embd));
    b.u32(arch + ".feed_forward_length", uint32_t(c.n_ff));
    b.u32(arch + ".block_count", uint32_t(c.n_layer));
    b.u32(arch + ".attention.head_count", uint32_t(c.n_head));
    b.u32(arch + ".attention.head_count_kv", uint32_t(c.n_kv_head));
    b.f32(arch + ".attention.layer_norm_epsilon", c.norm_eps);
    const std::vector<std::pair<std::string, std::string>> names = {
        {"word_embeddings", "token_embd"}, {"word_embeddings_layernorm", "token_embd_norm"},
        {"wte", "token_embd"}, {"wpe", "position_embd"}, {"ln_f", "output_norm"},
        {"input_layernorm", "attn_norm"}, {"self_attention.query_key_value", "attn_qkv"},
        {"self_attention.dense", "attn_output"}, {"post_attention_layernorm", "ffn_norm"},
        {"mlp.dense_h_to_4h", "ffn_up"}, {"mlp.dense_4h_to_h", "ffn_down"}, {"ln_1", "attn_norm"},
        {"attn.c_attn", "attn_qkv"}, {"attn.c_proj", "attn_output"}, {"ln_2", "ffn_norm"},
        {"mlp.c_fc", "ffn_up"}, {"mlp.c_proj", "ffn_down"}};
    auto st = SafetensorsSource::open(test_data(dir));
    for (const std::string& hf : st->names()) {
        const TensorInfo& t = *st->find(hf);
        std::string rest = hf.substr(std::string("transformer.").size()), prefix;
        if (rest.rfind("h.", 0) == 0) {
            const size_t dot = rest.find('.', 2);
            prefix = "blk." + rest.substr(2, dot - 2) + ".";
            rest = rest.substr(dot + 1);
        }
        const size_t last = rest.rfind('.');
        std::string gguf;
        for (const auto& [from, to] : names)
            if (rest.substr(0, last) == from) gguf = prefix + to + rest.substr(last);
        REQUIRE_MESSAGE(!gguf.empty(), hf);
        std::vector<float> v(size_t(t.numel()));
        tensor_to_f32(t, v.data());
        if (bloom && gguf.find("attn_qkv") != std::string::npos) {  // HF row (h, j, d) -> j*n_embd + h*hd + d
            const int64_t cols = t.numel() / t.shape[0], hd = c.head_dim;
            std::vector<float> stacked(v.size());
            for (int64_t r = 0; r < t.shape[0]; ++r) {
                const int64_t h = r / (3 * hd), j = (r / hd) % 3, d = r % hd;
                std::copy_n(v.begin() + r * cols, cols, stacked.begin() + (j * c.n_embd + h * hd + d) * cols);
            }
            v = stacked;
        }
        std::vector<uint64_t> ne(t.shape.rbegin(), t.shape.rend());
        std::vector<uint8_t> bytes(v.size() * sizeof(float));
        std::memcpy(bytes.data(), v.data(), bytes.size());
        b.tensor(gguf, ne, 0, bytes);
    }
    return b.write(tmp.file(dir + ".gguf"));
}

}  // namespace

TEST_CASE("bloom/starcoder reference: configs parse to the expected shapes") {
    {
        ModelRunner r(options("tiny-bloom-6h"));
        CHECK(r.config().arch == Arch::Bloom);
        CHECK(r.config().n_head == 6);
        CHECK(r.config().n_kv_head == 6);
        CHECK(r.config().alibi);
    }
    {
        ModelRunner r(options("tiny-starcoder"));
        CHECK(r.config().arch == Arch::StarCoder);
        CHECK(r.config().n_kv_head == 1);
        CHECK(!r.config().alibi);
    }
}

TEST_CASE("bloom/starcoder reference: ALiBi slopes follow BLOOM's build_alibi_tensor") {
    // transformers' _get_alibi_slopes: 2^(-8(h+1)/p) for the first p = 2^floor(log2 n) heads,
    // then 2^(-4(2i+1)/p) for the remaining ones.
    CHECK(alibi_slope(0, 4) == doctest::Approx(0.25));
    CHECK(alibi_slope(3, 4) == doctest::Approx(1.0 / 256));
    const double six[] = {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125};
    for (int h = 0; h < 6; ++h) CHECK(alibi_slope(h, 6) == doctest::Approx(six[h]));
    const double twelve_tail[] = {0.7071067811865476, 0.5 * 0.7071067811865476, 0.25 * 0.7071067811865476,
                                  0.125 * 0.7071067811865476};  // 2^(-1/2), 2^(-3/2), 2^(-5/2), 2^(-7/2)
    for (int i = 0; i < 4; ++i) CHECK(alibi_slope(8 + i, 12) == doctest::Approx(twelve_tail[i]));
}

TEST_CASE("bloom/starcoder reference: logits at every position and greedy continuations (alone and batched) match transformers") {
    check_fixtures_match_transformers(kFixtures, options);
}

TEST_CASE("bloom/starcoder reference: chunked prefill and token-by-token decode give the full prefill's logits") {
    for (const char* name : kFixtures) {
        CAPTURE(std::string(name));
        ModelRunner runner(options(name));
        check_chunked_prefill(runner, load_cases(name).back());
    }
}

TEST_CASE("bloom/starcoder reference: the same weights from a GGUF file give transformers' logits") {
    for (const char* name : {"tiny-bloom-6h", "tiny-starcoder"}) {
        CAPTURE(std::string(name));
        TempDir tmp;
        EngineOptions o = options(name);
        o.model_path = write_gguf_copy(name, tmp);
        ModelRunner runner(o);
        CHECK(runner.config().arch == (std::string(name) == "tiny-bloom-6h" ? Arch::Bloom : Arch::StarCoder));
        const double worst = worst_logit_error(runner, load_cases(name));
        MESSAGE(std::string(name) << " from GGUF: max |diff| / max |logit| = " << worst);
        CHECK(worst < 2e-5);
    }
}

TEST_CASE("bloom: a checkpoint saved from BloomModel (names without 'transformer.') loads the same") {
    // bigscience/bloom-560m and others name their tensors "h.0....", "word_embeddings.weight".
    TempDir tmp;
    std::filesystem::copy_file(test_data("tiny-bloom/config.json"), tmp.file("config.json"));
    auto st = SafetensorsSource::open(test_data("tiny-bloom"));
    std::vector<SafetensorsEntry> entries;
    std::vector<const TensorInfo*> infos;
    for (const std::string& name : st->names()) {
        const TensorInfo* t = st->find(name);
        REQUIRE(name.rfind("transformer.", 0) == 0);
        entries.push_back({name.substr(std::string("transformer.").size()), t->dtype, t->shape});
        infos.push_back(t);
    }
    write_safetensors(tmp.file("model.safetensors"), entries, [&](size_t i, std::vector<uint8_t>& out) {
        out.assign(infos[i]->data, infos[i]->data + infos[i]->nbytes);
    });
    EngineOptions o = options("tiny-bloom");
    o.model_path = tmp.path;
    ModelRunner runner(o);
    const Case c = load_cases("tiny-bloom")[1];
    Seq s(runner);
    const std::vector<float> want = flatten(c.logits);
    CHECK(max_diff(runner.forward_all_logits(s.feed(c.prompt, false)), want) <= 2e-5 * max_abs(want));
}

TEST_CASE("starcoder: a context longer than the learned positions is a clear error") {
    EngineOptions o = options("tiny-starcoder");
    o.max_context = 65;  // n_positions is 64
    CHECK_THROWS_WITH_AS(ModelRunner{o}, doctest::Contains("learned positions"), Error);
}

TEST_CASE("bloom/starcoder: weights of the wrong architecture name the missing tensor") {
    // BLOOM's config over StarCoder's weights, and the other way round.
    const std::pair<const char*, const char*> mixes[] = {{"tiny-bloom", "tiny-starcoder"},
                                                         {"tiny-starcoder", "tiny-bloom"}};
    for (const auto& [config_from, weights_from] : mixes) {
        CAPTURE(std::string(config_from));
        TempDir d;
        std::filesystem::copy_file(test_data(std::string(config_from) + "/config.json"), d.file("config.json"));
        std::filesystem::copy_file(test_data(std::string(weights_from) + "/model.safetensors"),
                                   d.file("model.safetensors"));
        EngineOptions o = options(config_from);
        o.model_path = d.path;
        const char* first = std::string(config_from) == "tiny-bloom" ? "word_embeddings" : "transformer.wte";
        CHECK_THROWS_WITH_AS(ModelRunner{o}, doctest::Contains(first), Error);
    }
}

TEST_CASE("bloom/starcoder: dummy weights (--load-format dummy) run and are reproducible") {
    for (const char* name : {"tiny-bloom", "tiny-starcoder"}) {
        CAPTURE(std::string(name));
        EngineOptions o = options(name);
        o.load_dummy = true;  // the fixture's config.json, seeded random weights
        o.dummy_seed = 11;
        std::vector<float> first;
        for (int run = 0; run < 2; ++run) {
            ModelRunner runner(o);
            Seq s(runner);
            const std::vector<float> l = runner.forward_all_logits(s.feed({1, 5, 9, 200}, false));
            REQUIRE(l.size() == 4 * size_t(runner.config().n_vocab));
            CHECK(std::all_of(l.begin(), l.end(), [](float x) { return std::isfinite(x); }));
            CHECK(max_abs(l) > 0.0);
            if (run == 0) first = l;
            else CHECK(l == first);
        }
    }
}
