#include "model_convert.h"
#include "check.h"
#include "file_dtype.h"
#include "gguf_model.h"
#include "hf_config.h"
#include "model_files.h"
#include "progress.h"
#include "safetensors_reader.h"
#include "safetensors_writer.h"
#include "tokenizer_export.h"
#include "tokenizer_vocab.h"
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

namespace lightllm {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

const char* torch_dtype_name(DType t) {
    switch (t) {
        case DType::F16: return "float16";
        case DType::F32: return "float32";
        default: return "bfloat16";
    }
}

ojson ids_json(const std::vector<int>& ids) {
    if (ids.empty()) return nullptr;
    if (ids.size() == 1) return ids[0];
    return ids;
}

ojson rope_scaling_json(const RopeScaling& rs) {
    switch (rs.type) {
        case RopeScalingType::None: return nullptr;
        case RopeScalingType::Linear: return {{"rope_type", "linear"}, {"factor", rs.factor}};
        case RopeScalingType::Dynamic: return {{"rope_type", "dynamic"}, {"factor", rs.factor}};
        case RopeScalingType::Llama3:
            return {{"rope_type", "llama3"},
                    {"factor", rs.factor},
                    {"low_freq_factor", rs.low_freq_factor},
                    {"high_freq_factor", rs.high_freq_factor},
                    {"original_max_position_embeddings", rs.original_max_position}};
        case RopeScalingType::Yarn: {
            ojson j = {{"rope_type", "yarn"}, {"factor", rs.factor}};
            if (rs.original_max_position > 0) j["original_max_position_embeddings"] = rs.original_max_position;
            return j;
        }
    }
    return nullptr;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    if (!out) fail("{}: cannot create", path.string());
    out << text;
    if (!out) fail("{}: write failed", path.string());
}

bool is_hf_tensor_name(const std::string& n) {
    return n.rfind("model.", 0) == 0 || n.rfind("transformer.", 0) == 0 || n.rfind("lm_head.", 0) == 0;
}

std::string tokenizer_kind_of_dir(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir / "tokenizer.json", ec)) {
        std::ifstream in(dir / "tokenizer.json");
        nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
        if (j.is_discarded() || !j.contains("model") || !j["model"].is_object()) return "tokenizer.json (unreadable)";
        std::string type = j["model"].value("type", "?");
        bool byte_level = j.dump().find("\"ByteLevel\"") != std::string::npos;
        size_t n = j["model"].contains("vocab") ? j["model"]["vocab"].size() : 0;
        return fmt::format("tokenizer.json ({}{}, {} tokens)", byte_level ? "byte-level " : "", type, n);
    }
    if (fs::exists(dir / "tokenizer.model", ec)) return "tokenizer.model (SentencePiece)";
    return "none";
}

}  // namespace

std::string hf_config_json(const ModelConfig& c) {
    ojson j = ojson::object();
    j["architectures"] = {c.hf_architecture};
    j["model_type"] = c.model_type;
    j["vocab_size"] = c.n_vocab;
    switch (c.arch) {
        case Arch::Llama:
            j["hidden_size"] = c.n_embd;
            j["intermediate_size"] = c.n_ff;
            j["num_hidden_layers"] = c.n_layer;
            j["num_attention_heads"] = c.n_head;
            j["num_key_value_heads"] = c.n_kv_head;
            j["head_dim"] = c.head_dim;
            j["hidden_act"] = "silu";
            j["max_position_embeddings"] = c.max_position;
            j["rms_norm_eps"] = c.norm_eps;
            if (!c.alibi) {
                j["rope_theta"] = c.rope_theta;
                j["rope_scaling"] = rope_scaling_json(c.rope_scaling);
                if (c.rope_dim != c.head_dim) j["partial_rotary_factor"] = double(c.rope_dim) / c.head_dim;
            }
            if (c.model_type == "qwen2") {
                j["use_sliding_window"] = c.sliding_window > 0;
                j["sliding_window"] = c.sliding_window > 0 ? ojson(c.sliding_window) : ojson(nullptr);
            } else {
                j["attention_bias"] = c.qkv_bias;
                if (c.sliding_window > 0) j["sliding_window"] = c.sliding_window;
            }
            if (c.model_type == "baichuan") j["model_max_length"] = c.max_position;
            break;
        case Arch::Bloom:
            j["hidden_size"] = c.n_embd;
            j["n_layer"] = c.n_layer;
            j["n_head"] = c.n_head;
            j["layer_norm_epsilon"] = c.norm_eps;
            j["seq_length"] = c.max_position;
            break;
        case Arch::StarCoder:
            j["n_embd"] = c.n_embd;
            j["n_layer"] = c.n_layer;
            j["n_head"] = c.n_head;
            j["n_inner"] = c.n_ff;
            j["n_positions"] = c.max_position;
            j["multi_query"] = c.n_kv_head == 1;
            j["layer_norm_epsilon"] = c.norm_eps;
            j["activation_function"] = "gelu_pytorch_tanh";
            break;
    }
    j["tie_word_embeddings"] = c.tie_word_embeddings;
    j["torch_dtype"] = torch_dtype_name(c.dtype);
    j["bos_token_id"] = c.bos_id >= 0 ? ojson(c.bos_id) : ojson(nullptr);
    j["eos_token_id"] = ids_json(c.eos_ids);
    j["pad_token_id"] = c.pad_id >= 0 ? ojson(c.pad_id) : ojson(nullptr);
    j["use_cache"] = true;
    return j.dump(2);
}

std::string hf_generation_config_json(const ModelConfig& c) {
    ojson j = ojson::object();
    if (c.bos_id >= 0) j["bos_token_id"] = c.bos_id;
    if (!c.eos_ids.empty()) j["eos_token_id"] = ids_json(c.eos_ids);
    if (c.pad_id >= 0) j["pad_token_id"] = c.pad_id;
    if (c.default_temperature >= 0) j["temperature"] = c.default_temperature;
    if (c.default_top_p >= 0) j["top_p"] = c.default_top_p;
    if (c.default_top_k >= 0) j["top_k"] = c.default_top_k;
    if (c.default_repetition_penalty >= 0) j["repetition_penalty"] = c.default_repetition_penalty;
    return j.dump(2);
}

void convert_gguf_to_hf(const std::string& gguf_path, const std::string& out_dir, const ConvertOptions& opt) {
    std::error_code ec;
    if (fs::is_directory(gguf_path, ec))
        fail("{}: convert reads a GGUF file; this is a directory (use --info to inspect it)", gguf_path);
    if (!fs::exists(gguf_path, ec)) fail("{}: no such file", gguf_path);
    if (!is_gguf_file(gguf_path)) fail("{}: not a GGUF file", gguf_path);
    if (fs::exists(out_dir, ec)) {
        if (!fs::is_directory(out_dir, ec)) fail("{}: exists and is not a directory", out_dir);
        if (!fs::is_empty(out_dir, ec) && !opt.force)
            fail("{}: directory exists and is not empty (use --force to overwrite)", out_dir);
    }

    GgufModel g = open_gguf_model(gguf_path);
    TokenizerVocab vocab = vocab_from_gguf(*g.file);
    ModelConfig cfg = g.config;
    FileDType dtype = opt.dtype;
    if (dtype == FileDType::Unknown)
        dtype = cfg.dtype == DType::F16 ? FileDType::F16 : cfg.dtype == DType::F32 ? FileDType::F32 : FileDType::BF16;
    if (dtype != FileDType::F16 && dtype != FileDType::BF16 && dtype != FileDType::F32)
        fail("convert: output dtype must be f16, bf16 or f32");
    cfg.dtype = dtype == FileDType::F16 ? DType::F16 : dtype == FileDType::F32 ? DType::F32 : DType::BF16;

    std::vector<SafetensorsEntry> entries;
    std::vector<const TensorInfo*> sources;
    for (const std::string& name : g.tensors->names()) {
        if (!is_hf_tensor_name(name)) {
            if (opt.progress) std::fprintf(stderr, "convert: skipping '%s' (no Hugging Face counterpart)\n", name.c_str());
            continue;
        }
        const TensorInfo* t = g.tensors->find(name);
        entries.push_back({name, dtype, t->shape});
        sources.push_back(t);
    }

    fs::create_directories(out_dir, ec);
    if (ec) fail("{}: cannot create directory: {}", out_dir, ec.message());
    if (opt.force) {
        for (const auto& e : fs::directory_iterator(out_dir, ec)) {
            const std::string fn = e.path().filename().string();
            if (fn.rfind("model", 0) == 0 && (e.path().extension() == ".safetensors" || fn.find(".safetensors.") != std::string::npos))
                fs::remove(e.path(), ec);
        }
    }
    const fs::path dir(out_dir);
    write_text(dir / "config.json", hf_config_json(cfg));
    write_text(dir / "generation_config.json", hf_generation_config_json(cfg));
    export_tokenizer(vocab, out_dir);

    std::optional<ProgressReporter> bar;  // in place on a terminal, one summary line otherwise
    if (opt.progress) {
        bar.emplace(ProgressLabels{"converting", "converted"}, stderr_progress_sink(), steady_progress_clock());
        for (const SafetensorsEntry& e : entries) bar->expect(e.nbytes());
    }
    std::vector<float> f32;
    write_safetensors(
        (dir / "model.safetensors").string(), entries,
        [&](size_t i, std::vector<uint8_t>& out) {
            const TensorInfo& t = *sources[i];
            f32.resize(size_t(t.numel()));
            tensor_to_f32(t, f32.data());
            f32_to_file_dtype(f32.data(), f32.size(), dtype, out);
        },
        {{"format", "pt"}}, [&](size_t i) {
            if (bar) bar->add(entries[i].nbytes());
        });
    if (bar) bar->finish();
}

std::string model_info(const std::string& path) {
    ModelFiles mf = open_model_files(path);
    const ModelConfig& c = mf.config;
    std::string s;
    auto line = [&](const std::string& k, const std::string& v) { s += fmt::format("{:<14}{}\n", k + ":", v); };
    line("path", path);
    if (mf.is_gguf) {
        auto* src = dynamic_cast<const GgufHfTensorSource*>(mf.tensors.get());
        line("format", fmt::format("GGUF v{}", src ? src->file().version() : 0));
    } else {
        auto* src = dynamic_cast<const SafetensorsSource*>(mf.tensors.get());
        line("format", fmt::format("Hugging Face directory, {} safetensors file(s)", src ? src->files().size() : 0));
    }
    line("architecture", fmt::format("{} ({})", c.hf_architecture, c.model_type));
    line("layers", std::to_string(c.n_layer));
    line("hidden", std::to_string(c.n_embd));
    line("heads", fmt::format("{} (kv heads {}, head dim {})", c.n_head, c.n_kv_head, c.head_dim));
    line("ff", std::to_string(c.n_ff));
    line("vocab", std::to_string(c.n_vocab));
    line("context", std::to_string(c.max_position));
    if (c.alibi) {
        line("positions", "ALiBi");
    } else {
        static const char* kScaling[] = {"none", "linear", "dynamic", "llama3", "yarn"};
        std::string scaling = kScaling[int(c.rope_scaling.type)];
        if (c.rope_scaling.type != RopeScalingType::None) scaling += fmt::format(" x{}", c.rope_scaling.factor);
        line("rope", fmt::format("theta {}, dim {}, scaling {}", c.rope_theta, c.rope_dim, scaling));
    }
    if (c.sliding_window > 0) line("sliding window", std::to_string(c.sliding_window));
    line("norm eps", fmt::format("{}", c.norm_eps));
    line("tied embed", c.tie_word_embeddings ? "yes" : "no");
    line("dtype", dtype_name(c.dtype));

    std::map<std::string, size_t> hist;
    int64_t n_params = 0;
    std::vector<std::string> names = mf.tensors->names();
    auto* gguf_src = dynamic_cast<const GgufHfTensorSource*>(mf.tensors.get());
    for (const std::string& n : names) {
        const TensorInfo* t = gguf_src ? gguf_src->peek(n) : mf.tensors->find(n);
        hist[file_dtype_name(t->dtype)]++;
        n_params += t->numel();
    }
    std::string h;
    for (const auto& [k, v] : hist) h += fmt::format("{}{}: {}", h.empty() ? "" : ", ", k, v);
    line("tensors", fmt::format("{} ({})", names.size(), h));
    line("parameters", fmt::format("{:.1f}M", double(n_params) / 1e6));
    if (mf.is_gguf) {
        auto* src = dynamic_cast<const GgufHfTensorSource*>(mf.tensors.get());
        std::string model = src->file().get_string("tokenizer.ggml.model", "none");
        std::string pre = src->file().get_string("tokenizer.ggml.pre", "");
        const GgufValue* toks = src->file().find("tokenizer.ggml.tokens");
        std::string kind = model == "gpt2" ? "byte-level BPE" : model == "llama" ? "SentencePiece" : model;
        line("tokenizer", fmt::format("{} ({}{}{}), {} tokens", kind, model, pre.empty() ? "" : ", pre ", pre,
                                      toks ? toks->n : 0));
    } else {
        line("tokenizer", tokenizer_kind_of_dir(path));
    }
    std::string eos;
    for (int e : c.eos_ids) eos += (eos.empty() ? "" : ", ") + std::to_string(e);
    line("bos / eos", fmt::format("{} / {}", c.bos_id, eos.empty() ? "-" : eos));
    return s;
}

}  // namespace lightllm
