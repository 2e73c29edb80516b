#include "hf_config.h"
#include <limits>
#include "check.h"
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lightllm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct ArchName {
    const char* hf;
    Arch arch;
    const char* model_type;
};

const ArchName kArchs[] = {
    {"LlamaForCausalLM", Arch::Llama, "llama"},        {"MistralForCausalLM", Arch::Llama, "mistral"},
    {"Qwen2ForCausalLM", Arch::Llama, "qwen2"},        {"BaichuanForCausalLM", Arch::Llama, "baichuan"},
    {"BaiChuanForCausalLM", Arch::Llama, "baichuan"},  {"BloomForCausalLM", Arch::Bloom, "bloom"},
    {"GPTBigCodeForCausalLM", Arch::StarCoder, "gpt_bigcode"},
};

// Reads fields of one JSON object, naming `source` in every error.
class Fields {
public:
    Fields(const json& j, const std::string& source) : j_(j), source_(source) {}

    const json* get(std::initializer_list<const char*> names) const {
        for (const char* n : names) {
            auto it = j_.find(n);
            if (it != j_.end() && !it->is_null()) return &*it;
        }
        return nullptr;
    }
    bool has(std::initializer_list<const char*> names) const { return get(names) != nullptr; }

    int64_t integer(std::initializer_list<const char*> names) const {
        const json* v = get(names);
        if (!v) fail("{}: missing field '{}'", source_, *names.begin());
        return as_int(*v, found_name(names));
    }
    int64_t integer_or(std::initializer_list<const char*> names, int64_t dflt) const {
        const json* v = get(names);
        return v ? as_int(*v, found_name(names)) : dflt;
    }
    double number_or(std::initializer_list<const char*> names, double dflt) const {
        const json* v = get(names);
        if (!v) return dflt;
        if (!v->is_number()) fail("{}: field '{}' must be a number", source_, *names.begin());
        return v->get<double>();
    }
    bool boolean_or(const char* name, bool dflt) const {
        const json* v = get({name});
        if (!v) return dflt;
        if (!v->is_boolean()) fail("{}: field '{}' must be true or false", source_, name);
        return v->get<bool>();
    }
    std::string string_or(const char* name, const std::string& dflt) const {
        const json* v = get({name});
        if (!v) return dflt;
        if (!v->is_string()) fail("{}: field '{}' must be a string", source_, name);
        return v->get<std::string>();
    }
    // An id or a list of ids (eos_token_id).
    std::vector<int> ids(const char* name) const {
        const json* v = get({name});
        std::vector<int> out;
        if (!v) return out;
        if (v->is_array()) {
            for (const auto& e : *v) out.push_back(int(as_int(e, name)));
        } else {
            out.push_back(int(as_int(*v, name)));
        }
        return out;
    }

private:
    const char* found_name(std::initializer_list<const char*> names) const {
        for (const char* n : names) {
            auto it = j_.find(n);
            if (it != j_.end() && !it->is_null()) return n;
        }
        return *names.begin();
    }
    // An integer that fits an int (every size and id here is narrowed to one);
    // errors show the value as the file wrote it.
    int64_t as_int(const json& v, const char* name) const {
        constexpr int64_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
        bool integral = v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
        if (!integral) fail("{}: field '{}' must be an integer, got {}", source_, name, v.dump());
        if (v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(hi)
            : v.is_number_integer() ? v.get<int64_t>() >= lo && v.get<int64_t>() <= hi
                                    : v.get<double>() >= double(lo) && v.get<double>() <= double(hi))
            return v.is_number_float() ? int64_t(v.get<double>()) : v.get<int64_t>();
        fail("{}: field '{}' = {} is out of range ({} to {})", source_, name, v.dump(), lo, hi);
    }

    const json& j_;
    const std::string& source_;
};

json parse_object(const std::string& text, const std::string& source) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) fail("{}: not valid JSON", source);
    if (!j.is_object()) fail("{}: expected a JSON object", source);
    return j;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open", path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

RopeScaling parse_rope_scaling(const json& j, const std::string& source) {
    RopeScaling rs;
    if (j.is_null()) return rs;
    if (!j.is_object()) fail("{}: field 'rope_scaling' must be an object", source);
    Fields f(j, source);
    std::string type = f.string_or("rope_type", f.string_or("type", "default"));
    if (type == "default") return rs;
    if (type == "linear") rs.type = RopeScalingType::Linear;
    else if (type == "dynamic") rs.type = RopeScalingType::Dynamic;
    else if (type == "llama3") rs.type = RopeScalingType::Llama3;
    else if (type == "yarn") rs.type = RopeScalingType::Yarn;
    else fail("{}: rope_scaling type '{}' is not supported (linear, dynamic, llama3, yarn)", source, type);
    if (!f.has({"factor"})) fail("{}: missing field 'rope_scaling.factor'", source);
    rs.factor = float(f.number_or({"factor"}, 1.0));
    if (!(rs.factor > 0)) fail("{}: field 'rope_scaling.factor' must be positive", source);
    rs.low_freq_factor = float(f.number_or({"low_freq_factor"}, rs.low_freq_factor));
    rs.high_freq_factor = float(f.number_or({"high_freq_factor"}, rs.high_freq_factor));
    rs.original_max_position = int(f.integer_or({"original_max_position_embeddings"}, 0));
    if (rs.type == RopeScalingType::Llama3 && rs.original_max_position <= 0)
        fail("{}: missing field 'rope_scaling.original_max_position_embeddings'", source);
    return rs;
}

DType parse_torch_dtype(const std::string& s, const std::string& source) {
    if (s == "bfloat16") return DType::BF16;
    if (s == "float16" || s == "half") return DType::F16;
    if (s == "float32" || s == "float") return DType::F32;
    fail("{}: field 'torch_dtype' has unsupported value '{}' (bfloat16, float16, float32)", source, s);
}

}  // namespace

std::string supported_hf_architectures() {
    std::string s;
    for (const auto& a : kArchs) s += (s.empty() ? "" : ", ") + std::string(a.hf);
    return s;
}

Arch arch_for_hf_architecture(const std::string& name, const std::string& source) {
    for (const auto& a : kArchs)
        if (name == a.hf) return a.arch;
    fail("{}: unknown architecture '{}' (supported: {})", source, name, supported_hf_architectures());
}

ModelConfig parse_hf_config(const std::string& config_json, const std::string& source,
                            const std::string& generation_json, const std::string& generation_source) {
    const json j = parse_object(config_json, source);
    Fields f(j, source);
    ModelConfig c;

    const json* archs = f.get({"architectures"});
    if (archs && archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
        c.hf_architecture = (*archs)[0].get<std::string>();
    } else if (archs && archs->is_string()) {
        c.hf_architecture = archs->get<std::string>();
    } else {
        fail("{}: missing field 'architectures'", source);
    }
    c.arch = arch_for_hf_architecture(c.hf_architecture, source);
    for (const auto& a : kArchs)
        if (c.hf_architecture == a.hf) c.model_type = a.model_type;
    c.model_type = f.string_or("model_type", c.model_type);
    const bool baichuan = c.model_type == "baichuan";
    const bool qwen2 = c.model_type == "qwen2";

    c.n_vocab = int(f.integer({"vocab_size"}));
    c.n_embd = int(f.integer({"hidden_size", "n_embd", "n_embed"}));
    c.n_layer = int(f.integer({"num_hidden_layers", "n_layer"}));
    c.n_head = int(f.integer({"num_attention_heads", "n_head"}));
    c.head_dim = int(f.integer_or({"head_dim"}, 0));

    switch (c.arch) {
        case Arch::Llama:
            c.n_kv_head = int(f.integer_or({"num_key_value_heads"}, c.n_head));
            c.n_ff = int(f.integer({"intermediate_size"}));
            c.norm_eps = float(f.number_or({"rms_norm_eps"}, 1e-6));
            c.tie_word_embeddings = f.boolean_or("tie_word_embeddings", false);
            break;
        case Arch::Bloom:
            c.n_kv_head = c.n_head;
            c.n_ff = 4 * c.n_embd;
            c.norm_eps = float(f.number_or({"layer_norm_epsilon"}, 1e-5));
            c.tie_word_embeddings = f.boolean_or("tie_word_embeddings", true);
            c.alibi = true;
            break;
        case Arch::StarCoder:
            c.n_kv_head = f.boolean_or("multi_query", true) ? 1 : c.n_head;
            c.n_ff = int(f.integer_or({"n_inner", "intermediate_size"}, 4 * int64_t(c.n_embd)));
            c.norm_eps = float(f.number_or({"layer_norm_epsilon"}, 1e-5));
            c.tie_word_embeddings = f.boolean_or("tie_word_embeddings", true);
            break;
    }

    // Context length: BLOOM (ALiBi) has none in its config; 2048 is what it was trained with.
    c.max_position = int(f.integer_or({"max_position_embeddings", "n_positions", "model_max_length", "seq_length"},
                                      c.arch == Arch::Bloom ? 2048 : 0));
    if (c.max_position <= 0) fail("{}: missing field 'max_position_embeddings'", source);

    // Baichuan-13B and Baichuan2-13B (hidden 5120) use ALiBi; the 7B models use RoPE.
    if (baichuan && c.n_embd == 5120) c.alibi = true;
    c.qkv_bias = qwen2 || f.boolean_or("attention_bias", false);

    // Rotary settings: "rope_theta" + "rope_scaling" (configs on the Hub), or
    // one "rope_parameters" object holding both (transformers >= 5).
    c.rope_theta = float(f.number_or({"rope_theta"}, 10000.0));
    if (const json* rp = f.get({"rope_parameters"}); rp && rp->is_object()) {
        c.rope_theta = float(Fields(*rp, source).number_or({"rope_theta"}, c.rope_theta));
        c.rope_scaling = parse_rope_scaling(*rp, source);
    } else if (const json* rs = f.get({"rope_scaling"})) {
        c.rope_scaling = parse_rope_scaling(*rs, source);
    }
    if (f.has({"partial_rotary_factor"})) {
        int hd = c.head_dim ? c.head_dim : (c.n_head ? c.n_embd / c.n_head : 0);
        c.rope_dim = int(std::lround(f.number_or({"partial_rotary_factor"}, 1.0) * hd));
    }

    // Qwen2 configs carry a sliding_window that applies only with use_sliding_window.
    if (f.boolean_or("use_sliding_window", !qwen2)) c.sliding_window = int(f.integer_or({"sliding_window"}, 0));

    if (const json* d = f.get({"torch_dtype", "dtype"})) {
        if (!d->is_string()) fail("{}: field 'torch_dtype' must be a string", source);
        c.dtype = parse_torch_dtype(d->get<std::string>(), source);
    }

    c.bos_id = int(f.integer_or({"bos_token_id"}, -1));
    c.eos_ids = f.ids("eos_token_id");
    c.pad_id = int(f.integer_or({"pad_token_id"}, -1));

    if (!generation_json.empty()) {
        const std::string& gsrc = generation_source.empty() ? std::string("generation_config.json") : generation_source;
        const json g = parse_object(generation_json, gsrc);
        Fields gf(g, gsrc);
        if (gf.has({"eos_token_id"})) c.eos_ids = gf.ids("eos_token_id");
        c.bos_id = int(gf.integer_or({"bos_token_id"}, c.bos_id));
        c.pad_id = int(gf.integer_or({"pad_token_id"}, c.pad_id));
        c.default_temperature = float(gf.number_or({"temperature"}, c.default_temperature));
        c.default_top_p = float(gf.number_or({"top_p"}, c.default_top_p));
        c.default_top_k = int(gf.integer_or({"top_k"}, c.default_top_k));
        c.default_repetition_penalty = float(gf.number_or({"repetition_penalty"}, c.default_repetition_penalty));
    }

    finalize_model_config(c, source);
    return c;
}

ModelConfig load_hf_config(const std::string& dir) {
    fs::path d(dir);
    fs::path cfg = d / "config.json";
    std::error_code ec;
    if (!fs::exists(cfg, ec)) fail("{}: no config.json in the model directory", dir);
    fs::path gen = d / "generation_config.json";
    std::string gen_text = fs::exists(gen, ec) ? read_text(gen.string()) : std::string();
    return parse_hf_config(read_text(cfg.string()), cfg.string(), gen_text, gen.string());
}

}  // namespace lightllm
