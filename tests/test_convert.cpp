// `lightllm convert`: GGUF -> Hugging Face directory, reloaded with our own
// loaders (open_model_files, load_tokenizer) and compared with the GGUF.
// The transformers side of the check (the directory loads there and
// generates the same greedy tokens as the GGUF) is
// tests/python/test_convert_transformers.py.
#include "bpe_tokenizer.h"
#include "check.h"
#include "file_dtype.h"
#include "gguf_builder.h"
#include "gguf_model.h"
#include "hf_config.h"
#include "model_convert.h"
#include "model_files.h"
#include "temp_dir.h"
#include "test_util.h"
#include "tokenizer.h"
#include <doctest/doctest.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace lightllm;
namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<float> to_f32(const TensorInfo& t) {
    std::vector<float> v(size_t(t.numel()));
    tensor_to_f32(t, v.data());
    return v;
}

std::string utf8(uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += char(cp);
    } else if (cp < 0x800) {
        s += char(0xc0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3f));
    } else {
        s += char(0xe0 | (cp >> 12));
        s += char(0x80 | ((cp >> 6) & 0x3f));
        s += char(0x80 | (cp & 0x3f));
    }
    return s;
}

// Deterministic pseudo-random values in [-1, 1).
struct Lcg {
    uint64_t s;
    float next() {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return float((s >> 40) & 0xffffff) / float(1 << 23) - 1.0f;
    }
};

std::vector<uint8_t> f32_bytes(size_t n, Lcg& rng) {
    std::vector<float> v(n);
    for (float& x : v) x = rng.next();
    std::vector<uint8_t> b(n * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

std::vector<uint8_t> f16_bytes(size_t n, Lcg& rng) {
    std::vector<uint8_t> b;
    for (size_t i = 0; i < n; ++i) {
        uint16_t h = f32_to_f16(rng.next());
        b.push_back(uint8_t(h & 0xff));
        b.push_back(uint8_t(h >> 8));
    }
    return b;
}

// Q8_0 blocks with scale 1/64 and random int8 values.
std::vector<uint8_t> q8_0_bytes(size_t n, Lcg& rng) {
    std::vector<uint8_t> b;
    uint16_t d = f32_to_f16(1.0f / 64);
    for (size_t blk = 0; blk < n / 32; ++blk) {
        b.push_back(uint8_t(d & 0xff));
        b.push_back(uint8_t(d >> 8));
        for (int j = 0; j < 32; ++j) b.push_back(uint8_t(int8_t(rng.next() * 127)));
    }
    return b;
}

const char* kTemplate = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}";

// Byte-level vocabulary: the 256 byte tokens, a few merges, two specials.
void add_bpe_vocab(GgufBuilder& b) {
    std::vector<std::string> tokens;
    std::array<uint32_t, 256> b2u = byte_to_unicode();
    for (int i = 0; i < 256; ++i) tokens.push_back(utf8(b2u[size_t(i)]));
    const std::string G = utf8(b2u[' ']);
    std::vector<std::string> merges = {G + " t", "h e", G + "t h", "i n", G + "th e", "e r"};
    for (const auto& m : merges) {
        auto sp = m.find(' ');
        tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
    }
    tokens.push_back("<|im_start|>");
    tokens.push_back("<|im_end|>");
    std::vector<int32_t> types(tokens.size(), 1);
    types[types.size() - 1] = types[types.size() - 2] = 3;
    b.str("tokenizer.ggml.model", "gpt2");
    b.str("tokenizer.ggml.pre", "smollm");
    b.str_array("tokenizer.ggml.tokens", tokens);
    b.i32_array("tokenizer.ggml.token_type", types);
    b.str_array("tokenizer.ggml.merges", merges);
    b.u32("tokenizer.ggml.bos_token_id", uint32_t(tokens.size() - 2));
    b.u32("tokenizer.ggml.eos_token_id", uint32_t(tokens.size() - 1));
    b.boolean("tokenizer.ggml.add_bos_token", false);
    b.str("tokenizer.chat_template", kTemplate);
}

// SentencePiece vocabulary: <unk> <s> </s>, 256 byte pieces, a few words.
void add_spm_vocab(GgufBuilder& b) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};
    std::vector<float> scores = {0, 0, 0};
    for (int i = 0; i < 256; ++i) {
        tokens.push_back(fmt::format("<0x{:02X}>", i));
        types.push_back(6);
        scores.push_back(0);
    }
    const std::string sp = "\xe2\x96\x81";
    for (const std::string& w : {sp, std::string("t"), std::string("h"), std::string("e"), sp + "t", std::string("he"),
                                 sp + "the", std::string("a"), sp + "a"}) {
        tokens.push_back(w);
        types.push_back(1);
        scores.push_back(-float(tokens.size()));
    }
    b.str("tokenizer.ggml.model", "llama");
    b.str_array("tokenizer.ggml.tokens", tokens);
    b.i32_array("tokenizer.ggml.token_type", types);
    b.f32_array("tokenizer.ggml.scores", scores);
    b.u32("tokenizer.ggml.bos_token_id", 1);
    b.u32("tokenizer.ggml.eos_token_id", 2);
    b.u32("tokenizer.ggml.unknown_token_id", 0);
    b.boolean("tokenizer.ggml.add_bos_token", true);
}

// A one-layer llama (hidden 64, 2 heads of 32, 1 kv head, ff 96) with a
// quantized q_proj, F16 embedding and F32 rest.
std::string write_tiny_llama(const TempDir& dir, const std::string& name, bool spm) {
    GgufBuilder b;
    b.str("general.architecture", "llama");
    b.u32("llama.embedding_length", 64);
    b.u32("llama.block_count", 1);
    b.u32("llama.attention.head_count", 2);
    b.u32("llama.attention.head_count_kv", 1);
    b.u32("llama.feed_forward_length", 96);
    b.u32("llama.context_length", 256);
    b.f32("llama.rope.freq_base", 50000.0f);
    b.f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (spm) add_spm_vocab(b);
    else add_bpe_vocab(b);
    const uint64_t n_vocab = spm ? 268 : 264;
    Lcg rng{42};
    b.tensor("token_embd.weight", {64, n_vocab}, 1, f16_bytes(64 * n_vocab, rng));
    b.tensor("output_norm.weight", {64}, 0, f32_bytes(64, rng));
    b.tensor("output.weight", {64, n_vocab}, 0, f32_bytes(64 * n_vocab, rng));
    b.tensor("blk.0.attn_norm.weight", {64}, 0, f32_bytes(64, rng));
    b.tensor("blk.0.attn_q.weight", {64, 64}, 8, q8_0_bytes(64 * 64, rng));
    b.tensor("blk.0.attn_k.weight", {64, 32}, 0, f32_bytes(64 * 32, rng));
    b.tensor("blk.0.attn_v.weight", {64, 32}, 0, f32_bytes(64 * 32, rng));
    b.tensor("blk.0.attn_output.weight", {64, 64}, 0, f32_bytes(64 * 64, rng));
    b.tensor("blk.0.ffn_norm.weight", {64}, 0, f32_bytes(64, rng));
    b.tensor("blk.0.ffn_gate.weight", {64, 96}, 0, f32_bytes(64 * 96, rng));
    b.tensor("blk.0.ffn_up.weight", {64, 96}, 0, f32_bytes(64 * 96, rng));
    b.tensor("blk.0.ffn_down.weight", {96, 64}, 0, f32_bytes(64 * 96, rng));
    return b.write(dir.file(name));
}

void check_same_config(const ModelConfig& a, const ModelConfig& b) {
    CHECK(a.arch == b.arch);
    CHECK(a.hf_architecture == b.hf_architecture);
    CHECK(a.model_type == b.model_type);
    CHECK(a.n_vocab == b.n_vocab);
    CHECK(a.n_embd == b.n_embd);
    CHECK(a.n_layer == b.n_layer);
    CHECK(a.n_head == b.n_head);
    CHECK(a.n_kv_head == b.n_kv_head);
    CHECK(a.head_dim == b.head_dim);
    CHECK(a.n_ff == b.n_ff);
    CHECK(a.max_position == b.max_position);
    CHECK(a.norm_eps == b.norm_eps);
    CHECK(a.rope_theta == b.rope_theta);
    CHECK(a.rope_dim == b.rope_dim);
    CHECK(a.rope_scaling.type == b.rope_scaling.type);
    CHECK(a.rope_scaling.factor == b.rope_scaling.factor);
    CHECK(a.rope_scaling.low_freq_factor == b.rope_scaling.low_freq_factor);
    CHECK(a.rope_scaling.high_freq_factor == b.rope_scaling.high_freq_factor);
    CHECK(a.rope_scaling.original_max_position == b.rope_scaling.original_max_position);
    CHECK(a.sliding_window == b.sliding_window);
    CHECK(a.alibi == b.alibi);
    CHECK(a.tie_word_embeddings == b.tie_word_embeddings);
    CHECK(a.qkv_bias == b.qkv_bias);
    CHECK(a.bos_id == b.bos_id);
    CHECK(a.eos_ids == b.eos_ids);
    CHECK(a.pad_id == b.pad_id);
}

void check_same_tokenizer(const std::string& a_path, const std::string& b_path, const std::vector<std::string>& texts) {
    auto a = load_tokenizer(a_path);
    auto b = load_tokenizer(b_path);
    CHECK(a->n_vocab() == b->n_vocab());
    CHECK(a->bos_id() == b->bos_id());
    CHECK(a->eos_ids() == b->eos_ids());
    CHECK(a->add_bos() == b->add_bos());
    CHECK(a->chat_template() == b->chat_template());
    for (const std::string& t : texts) {
        CAPTURE(t);
        CHECK(a->encode(t, true) == b->encode(t, true));
        CHECK(a->decode(a->encode(t, false)) == b->decode(b->encode(t, false)));
    }
}


}  // namespace

TEST_CASE("convert: config.json written for each family reads back the same") {
    for (const char* name : {"llama", "llama3", "mistral", "qwen2", "bloom", "starcoder", "baichuan13b"}) {
        CAPTURE(name);
        ModelConfig c = parse_hf_config(read_text(test_data(std::string("hf_configs/") + name + ".json")), name);
        ModelConfig back = parse_hf_config(hf_config_json(c), "written", hf_generation_config_json(c), "written gen");
        check_same_config(c, back);
        CHECK(back.dtype == c.dtype);
    }
}

TEST_CASE("convert: tiny llama GGUF (byte-level BPE) -> HF directory, reloaded") {
    TempDir dir;
    const std::string gguf = write_tiny_llama(dir, "tiny.gguf", false);
    const std::string out = dir.file("hf");
    CommandResult r = run_lightllm("convert " + gguf + " -o " + out + " --dtype f32");
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("lightllm: converted 12 tensors, 0.2 MiB in ") != std::string::npos);  // progress summary
    for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                          "tokenizer_config.json", "special_tokens_map.json"})
        CHECK(fs::exists(out + "/" + f));

    ModelFiles src = open_model_files(gguf);
    ModelFiles dst = open_model_files(out);
    check_same_config(src.config, dst.config);
    CHECK(dst.config.dtype == DType::F32);
    CHECK(dst.tensors->names() == src.tensors->names());
    for (const std::string& name : src.tensors->names()) {
        CAPTURE(name);
        const TensorInfo* a = src.tensors->find(name);
        const TensorInfo& b = dst.tensors->require(name, a->shape);
        CHECK(b.dtype == FileDType::F32);
        CHECK(to_f32(*a) == to_f32(b));
    }
    auto cfg = nlohmann::json::parse(read_text(out + "/tokenizer_config.json"));
    CHECK(cfg["chat_template"] == kTemplate);
    CHECK(cfg["bos_token"] == "<|im_start|>");
    CHECK(cfg["eos_token"] == "<|im_end|>");
    CHECK(cfg["add_bos_token"] == false);
    check_same_tokenizer(gguf, out, {"the theater", " in there", "<|im_start|>user\nthe end<|im_end|>", "12 ab\ttab"});

    // bf16: every value is the fp32 value rounded to bf16.
    const std::string out16 = dir.file("hf16");
    r = run_lightllm("convert " + gguf + " -o " + out16 + " --dtype bf16 -q");
    REQUIRE(r.exit_code == 0);
    ModelFiles d16 = open_model_files(out16);
    CHECK(d16.config.dtype == DType::BF16);
    const TensorInfo& q = d16.tensors->require("model.layers.0.self_attn.q_proj.weight", {64, 64});
    CHECK(q.dtype == FileDType::BF16);
    std::vector<float> want = to_f32(*src.tensors->find("model.layers.0.self_attn.q_proj.weight"));
    std::vector<float> got = to_f32(q);
    for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == bf16_to_f32(f32_to_bf16(want[i])));
}

TEST_CASE("convert: SentencePiece vocabulary -> tokenizer.model") {
    TempDir dir;
    const std::string gguf = write_tiny_llama(dir, "spm.gguf", true);
    const std::string out = dir.file("hf");
    CommandResult r = run_lightllm("convert " + gguf + " -o " + out + " -q");
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    CHECK(fs::exists(out + "/tokenizer.model"));
    CHECK(!fs::exists(out + "/tokenizer.json"));
    auto cfg = nlohmann::json::parse(read_text(out + "/tokenizer_config.json"));
    CHECK(cfg["add_bos_token"] == true);
    CHECK(cfg["bos_token"] == "<s>");
    check_same_tokenizer(gguf, out, {"the a", "a the the", "tea \xe2\x82\xac!"});
}

TEST_CASE("convert: --info on a GGUF file and on a directory") {
    TempDir dir;
    const std::string gguf = write_tiny_llama(dir, "tiny.gguf", false);
    CommandResult r = run_lightllm("convert --info " + gguf);
    INFO(r.out);
    CHECK(r.exit_code == 0);
    for (const char* want : {"LlamaForCausalLM", "layers:       1", "hidden:       64", "2 (kv heads 1, head dim 32)",
                             "ff:           96", "vocab:        264", "context:      256", "12 (F16: 1, F32: 10, Q8_0: 1)",
                             "byte-level BPE"})
        CHECK(r.out.find(want) != std::string::npos);
    REQUIRE(run_lightllm("convert " + gguf + " -o " + dir.file("hf") + " -q").exit_code == 0);
    r = run_lightllm("convert --info " + dir.file("hf"));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Hugging Face directory") != std::string::npos);
    CHECK(r.out.find("12 (BF16: 12)") != std::string::npos);
    CHECK(r.out.find("tokenizer.json") != std::string::npos);
}

TEST_CASE("convert: refuses bad input and existing output") {
    TempDir dir;
    const std::string gguf = write_tiny_llama(dir, "tiny.gguf", false);
    fs::create_directories(dir.file("busy"));
    dir.write("busy/keep.txt", "x");
    CommandResult r = run_lightllm("convert " + gguf + " -o " + dir.file("busy") + " -q");
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(dir.file("busy")) != std::string::npos);
    CHECK(r.out.find("--force") != std::string::npos);
    r = run_lightllm("convert " + gguf + " -o " + dir.file("busy") + " -q --force");
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(dir.file("busy/model.safetensors")));

    r = run_lightllm("convert " + dir.file("missing.gguf") + " -o " + dir.file("x"));
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(dir.file("missing.gguf")) != std::string::npos);
    r = run_lightllm("convert " + dir.write("notgguf.bin", "hello world") + " -o " + dir.file("x"));
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("not a GGUF file") != std::string::npos);
    r = run_lightllm("convert " + dir.file("busy") + " -o " + dir.file("x"));
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("directory") != std::string::npos);
    r = run_lightllm("convert " + gguf);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("-o") != std::string::npos);
    r = run_lightllm("convert --info " + dir.file("nothing"));
    CHECK(r.exit_code == 1);
    CHECK(r.out.find(dir.file("nothing")) != std::string::npos);
    CHECK(!fs::exists(dir.file("x")));
}

TEST_CASE("convert: SmolLM2 demo model round trip") {
    const std::string gguf = demo_model_path();
    if (!fs::exists(gguf)) {
        MESSAGE("skipped: demo model not found at " << gguf << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    TempDir dir;
    const std::string out = dir.file("smollm2");
    CommandResult r = run_lightllm("convert " + gguf + " -o " + out + " --dtype bf16 -q");
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    ModelFiles src = open_model_files(gguf);
    ModelFiles dst = open_model_files(out);
    check_same_config(src.config, dst.config);
    CHECK(dst.tensors->names() == src.tensors->names());
    for (const char* name : {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                             "model.layers.0.self_attn.k_proj.weight", "model.layers.29.mlp.down_proj.weight",
                             "model.norm.weight"}) {
        CAPTURE(name);
        const TensorInfo* a = src.tensors->find(name);
        std::vector<float> want = to_f32(*a), got = to_f32(dst.tensors->require(name, a->shape));
        size_t bad = 0;
        for (size_t i = 0; i < want.size(); ++i) bad += got[i] != bf16_to_f32(f32_to_bf16(want[i]));
        CHECK(bad == 0);
    }
    check_same_tokenizer(gguf, out, {"The capital of France is", "def fibonacci(n):\n    return 12345",
                                     "<|im_start|>user\nHello!<|im_end|>\n"});
}
