// Tensor parallelism on quantized GGUF files (CPU backend): each rank reads
// only its slice of a quantized tensor (slice_tensor: whole rows and
// block-aligned columns as stored bytes, other columns dequantized from their
// covering blocks). Checked two ways: a slice equals the same slice of the
// whole dequantized tensor for every block type (the fixture tensors of
// tests/data/gguf/quant_types.gguf, dequantized by us as checked against the
// `gguf` package in test_tensor_to_f32.cpp); and a quantized model sharded
// over 2, 3 or 4 ranks gives the greedy tokens and logits of one rank (the
// Q4_1 demo model at TP=3, the only size its 9 heads allow below 9; a small
// synthetic GGUF with Q8_0/Q4_0/Q5_1/Q4_K/Q6_K tensors whose row-parallel
// input columns fall inside 256-value K-quant blocks at TP=2 and TP=4).
#include "file_dtype.h"
#include "fixture_reference.h"
#include "gguf_builder.h"
#include "gguf_model.h"
#include "gguf_reader.h"
#include "model_files.h"
#include "temp_dir.h"
#include "tp_shard.h"
#include "tensor_slice.h"
#include "tokenizer.h"
#include "tp_test_group.h"
#include <doctest/doctest.h>
#include <filesystem>
#include <random>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

std::vector<float> to_f32(const TensorInfo& t) {
    std::vector<float> v(size_t(t.numel()));
    tensor_to_f32(t, v.data());
    return v;
}

// The slice of a whole [rows, cols] F32 matrix, worked out element by element.
std::vector<float> expected_slice(const std::vector<float>& whole, int64_t cols, const TensorSlice& s) {
    const int64_t n_cols = s.n_cols < 0 ? cols : s.n_cols;
    std::vector<float> out;
    int64_t n_rows = 0;
    for (const auto& [first, count] : s.rows) {
        for (int64_t r = first; r < first + count; ++r)
            for (int64_t j = s.col0; j < s.col0 + n_cols; ++j) out.push_back(whole[size_t(r * cols + j)]);
        n_rows += count;
    }
    out.resize(size_t(std::max(n_rows, s.pad_rows) * n_cols), 0.0f);
    return out;
}

}  // namespace

TEST_CASE("tp gguf: a quantized tensor's row and column slices equal the slices of the whole dequantized tensor") {
    auto src = GgufTensorSource::open(test_data("gguf/quant_types.gguf"));
    int n_checked = 0, n_kept_quantized = 0, n_dequantized = 0;
    for (const std::string& name : src->names()) {
        if (name.find(".expected") != std::string::npos) continue;
        const TensorInfo& stored = *src->find(name);
        const int64_t B = file_dtype_block_elems(stored.dtype);
        // As stored ([3, 64] or [2, 256]) and as one row of every block ([1, 192] or [1, 512]).
        for (const bool flat : {false, true}) {
            TensorInfo t = stored;
            if (flat) t.shape = {1, stored.numel()};
            const int64_t rows = t.shape[0], cols = t.shape[1];
            const std::vector<float> whole = to_f32(t);
            std::vector<TensorSlice> slices;
            slices.push_back({{{rows - 1, 1}}, 0, -1, -1, false});             // one row: a view
            slices.push_back({{{0, 1}, {rows - 1, 1}}, 0, -1, rows + 2, false});  // two blocks of rows, padded
            if (cols >= 2 * B) slices.push_back({{{0, rows}}, B, cols - B, -1, false});  // block-aligned columns
            if (cols > 20) slices.push_back({{{0, rows}}, 3, cols - 17, -1, false});   // columns inside blocks
            if (B / 2 + 8 <= cols) slices.push_back({{{0, rows}}, B / 2 + 1, 7, -1, false});  // within one block
            slices.push_back({{{0, rows}}, B, cols - B, -1, true});                    // zeros
            for (const TensorSlice& s : slices) {
                CAPTURE(name);
                CAPTURE(flat);
                CAPTURE(s.col0);
                CAPTURE(s.n_cols);
                std::vector<uint8_t> owned;
                const TensorInfo got = slice_tensor(t, s, owned);
                const std::vector<float> want = s.zero ? std::vector<float>(size_t(rows * (cols - B)), 0.0f)
                                                       : expected_slice(whole, cols, s);
                REQUIRE(got.numel() == int64_t(want.size()));
                CHECK(to_f32(got) == want);
                const bool aligned = s.col0 % B == 0 && (s.n_cols < 0 || s.n_cols % B == 0);
                CHECK(got.dtype == (aligned ? t.dtype : FileDType::F32));
                if (aligned && !s.zero) {
                    ++n_kept_quantized;
                    CHECK(got.nbytes == file_dtype_nbytes(t.dtype, got.numel()));  // this slice's bytes only
                }
                if (!aligned) ++n_dequantized;
                if (s.rows.size() == 1 && s.n_cols < 0)  // whole rows: read in place from the file
                    CHECK(got.data == t.data + size_t(rows - 1) * file_dtype_nbytes(t.dtype, cols));
                ++n_checked;
            }
        }
    }
    CHECK(n_checked >= 100);
    CHECK(n_kept_quantized >= 40);
    CHECK(n_dequantized >= 30);
}

TEST_CASE("tp gguf: all-zero bytes are zeros in every block type (the padding rows of a vocabulary block)") {
    for (FileDType t : {FileDType::Q8_0, FileDType::Q4_0, FileDType::Q4_1, FileDType::Q5_0, FileDType::Q5_1,
                        FileDType::Q4_K, FileDType::Q6_K}) {
        CAPTURE(file_dtype_name(t));
        std::vector<uint8_t> zeros(file_dtype_block_bytes(t), 0);
        TensorInfo info;
        info.dtype = t;
        info.shape = {file_dtype_block_elems(t)};
        info.data = zeros.data();
        info.nbytes = zeros.size();
        for (float x : to_f32(info)) CHECK(x == 0.0f);
    }
}

TEST_CASE("tp gguf: slices out of range are errors naming the tensor") {
    auto src = GgufTensorSource::open(test_data("gguf/quant_types.gguf"));
    const std::string name = src->names().front();
    const TensorInfo& t = *src->find(name);
    std::vector<uint8_t> owned;
    CHECK_THROWS_WITH_AS(slice_tensor(t, {{{0, t.shape[0] + 1}}, 0, -1, -1, false}, owned),
                         doctest::Contains(name.c_str()), Error);
    CHECK_THROWS_WITH_AS(slice_tensor(t, {{{0, 1}}, 1, t.shape[1], -1, false}, owned), doctest::Contains(name.c_str()), Error);
}

namespace {

// Random blocks of a GGML type with small fixed scales, so every value is a
// plausible weight (|x| below about 0.15).
std::vector<uint8_t> random_blocks(FileDType t, int64_t n, std::mt19937& rng) {
    const size_t bb = file_dtype_block_bytes(t);
    std::vector<uint8_t> b(size_t(n / file_dtype_block_elems(t)) * bb);
    std::uniform_int_distribution<int> byte(0, 255);
    for (uint8_t& x : b) x = uint8_t(byte(rng));
    auto put_f16 = [&](size_t at, float v) {
        const uint16_t h = f32_to_f16(v);
        b[at] = uint8_t(h & 0xff);
        b[at + 1] = uint8_t(h >> 8);
    };
    for (size_t blk = 0; blk < b.size(); blk += bb) {
        switch (t) {
            case FileDType::Q8_0: put_f16(blk, 1.0f / 1024); break;
            case FileDType::Q4_0: put_f16(blk, 1.0f / 64); break;
            case FileDType::Q5_1: put_f16(blk, 1.0f / 256), put_f16(blk + 2, -1.0f / 16); break;
            case FileDType::Q4_K: put_f16(blk, 1.0f / 8192), put_f16(blk + 2, 1.0f / 8192); break;
            case FileDType::Q6_K: put_f16(blk + 208, 1.0f / 16384); break;
            default: FAIL("no random blocks for this type");
        }
    }
    return b;
}

uint32_t ggml_type(FileDType t) {
    switch (t) {
        case FileDType::F32: return 0;
        case FileDType::Q4_0: return 2;
        case FileDType::Q5_1: return 7;
        case FileDType::Q8_0: return 8;
        case FileDType::Q4_K: return 12;
        case FileDType::Q6_K: return 14;
        default: return 99;
    }
}

// A two-layer llama (hidden 256, 4 heads of 64, 2 KV heads, FFN 512, 264
// tokens, untied) stored with a different block type per tensor. The
// row-parallel inputs of o_proj (64 or 128 columns a rank) and down (128 or
// 256) cut 256-value K-quant blocks at TP=4 and TP=2 in layer 0 (Q4_K) and
// layer 1 (Q6_K); Q8_0 attn_output in layer 1 is cut on its 32-value blocks.
std::string write_quantized_llama(const TempDir& dir) {
    GgufBuilder b;
    b.str("general.architecture", "llama");
    b.u32("llama.embedding_length", 256);
    b.u32("llama.block_count", 2);
    b.u32("llama.attention.head_count", 4);
    b.u32("llama.attention.head_count_kv", 2);
    b.u32("llama.feed_forward_length", 512);
    b.u32("llama.context_length", 256);
    b.f32("llama.rope.freq_base", 10000.0f);
    b.f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    std::mt19937 rng(7);
    auto add = [&](const std::string& name, int64_t rows, int64_t cols, FileDType t) {
        b.tensor(name, {uint64_t(cols), uint64_t(rows)}, ggml_type(t), random_blocks(t, rows * cols, rng));
    };
    auto ones = [&](const std::string& name, int64_t n) {
        std::vector<uint8_t> v(size_t(n) * 4);
        std::normal_distribution<float> nd(1.0f, 0.1f);
        for (int64_t i = 0; i < n; ++i) {
            const float x = nd(rng);
            std::memcpy(v.data() + i * 4, &x, 4);
        }
        b.tensor(name, {uint64_t(n)}, 0, v);
    };
    const int64_t V = 264;
    add("token_embd.weight", V, 256, FileDType::Q8_0);
    add("output.weight", V, 256, FileDType::Q4_K);
    ones("output_norm.weight", 256);
    const FileDType kinds[2][7] = {
        {FileDType::Q4_K, FileDType::Q8_0, FileDType::Q6_K, FileDType::Q4_K, FileDType::Q4_0, FileDType::Q5_1,
         FileDType::Q4_K},
        {FileDType::Q8_0, FileDType::Q4_K, FileDType::Q4_0, FileDType::Q8_0, FileDType::Q5_1, FileDType::Q4_K,
         FileDType::Q6_K}};
    for (int il = 0; il < 2; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        const FileDType* k = kinds[il];
        ones(p + "attn_norm.weight", 256);
        ones(p + "ffn_norm.weight", 256);
        add(p + "attn_q.weight", 256, 256, k[0]);
        add(p + "attn_k.weight", 128, 256, k[1]);
        add(p + "attn_v.weight", 128, 256, k[2]);
        add(p + "attn_output.weight", 256, 256, k[3]);
        add(p + "ffn_gate.weight", 512, 256, k[4]);
        add(p + "ffn_up.weight", 512, 256, k[5]);
        add(p + "ffn_down.weight", 256, 512, k[6]);
    }
    return b.write(dir.file("quantized-llama.gguf"));
}

EngineOptions cpu_options(const std::string& path) {
    EngineOptions o;
    o.model_path = path;
    o.device = DeviceChoice::Cpu;
    o.max_total_tokens = 256;
    o.max_running_requests = 3;
    o.max_prefill_tokens = 64;
    return o;
}

// TP=world against TP=1 on `path`: prompt logits within 1e-5 of their scale,
// identical greedy tokens of the prompts decoded together.
void check_sharded_like_one_rank(const std::string& path, const std::vector<std::vector<int32_t>>& prompts,
                                 int n_decode, int world) {
    std::vector<float> one_logits;
    BatchOut one;
    {
        ModelRunner r(cpu_options(path));
        one_logits = prompt_logits(r, prompts[0]);
        one = greedy_batch(r, prompts, n_decode);
    }
    CAPTURE(world);
    TpTestGroup g(cpu_options(path), world);
    const std::vector<float> got = prompt_logits(g.runner(), prompts[0]);
    CHECK(max_diff(got, one_logits) <= 1e-5 * max_abs(one_logits));
    CHECK(greedy_batch(g.runner(), prompts, n_decode).ids == one.ids);
    g.stop_and_join();
    for (const std::string& e : g.errors()) CHECK(e == "");
}

}  // namespace

TEST_CASE("tp gguf: a quantized GGUF sharded over 2 and 4 ranks gives one rank's logits and greedy tokens") {
    TempDir dir;
    const std::string path = write_quantized_llama(dir);
    const std::vector<std::vector<int32_t>> prompts = {{1, 17, 200, 45, 99, 3, 250}, {5, 6, 7}, {260, 12, 131, 132}};
    for (int world : {2, 4}) check_sharded_like_one_rank(path, prompts, 6, world);
}

TEST_CASE("tp gguf: the Q4_1 demo model sharded over 3 ranks gives one rank's logits and greedy tokens") {
    const std::string path = demo_model_path();
    if (!std::filesystem::exists(path)) {
        MESSAGE("skipped: demo model not found at " << path << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    const auto tok = load_tokenizer(path);
    const std::vector<std::vector<int32_t>> prompts = {tok->encode("The capital of France is", false),
                                                       tok->encode("Tensor parallelism splits a model", false)};
    check_sharded_like_one_rank(path, prompts, 8, 3);
}

TEST_CASE("tp gguf: a rank keeps its rows of a reordered GGUF tensor (llama q/k) and the whole copy is released") {
    TempDir dir;
    const GgufModel m = open_gguf_model(write_quantized_llama(dir));
    const std::string q = "model.layers.0.self_attn.q_proj.weight", k = "model.layers.1.self_attn.k_proj.weight";
    CHECK(m.tensors->built_copy(q));
    CHECK_FALSE(m.tensors->built_copy("model.layers.0.self_attn.v_proj.weight"));  // stored as is
    const TpShard shard = plan_tp_shard(m.config, 1, 2);
    auto sliced = shard_tensor_source(*m.tensors, m.config, shard);
    for (const std::string& name : {q, k}) {
        CAPTURE(name);
        const TensorInfo& part = *sliced->find(name);
        CHECK(m.tensors->peek(name)->data == nullptr);  // the whole reordered copy is gone
        const std::vector<float> got = to_f32(part);
        const TensorInfo& whole = *m.tensors->find(name);  // built again
        const int64_t first = name == q ? int64_t(shard.head_begin) * m.config.head_dim
                                        : int64_t(shard.kv_head_begin) * m.config.head_dim;
        const TensorSlice rows{{{first, part.shape[0]}}, 0, -1, -1, false};
        CHECK(got == expected_slice(to_f32(whole), whole.shape[1], rows));
        m.tensors->release(name);
    }
}
