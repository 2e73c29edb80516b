#include "gguf_model.h"
#include "check.h"
#include "file_dtype.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>

namespace lightllm {

namespace {

struct GgufArch {
    const char* gguf;
    const char* hf;
    const char* model_type;
    Arch arch;
    bool permuted_qk;  // llama.cpp's converter permutes q/k rows for rotary
};

const GgufArch kGgufArchs[] = {
    {"llama", "LlamaForCausalLM", "llama", Arch::Llama, true},
    {"qwen2", "Qwen2ForCausalLM", "qwen2", Arch::Llama, false},
    {"baichuan", "BaichuanForCausalLM", "baichuan", Arch::Llama, true},
    {"bloom", "BloomForCausalLM", "bloom", Arch::Bloom, false},
    {"starcoder", "GPTBigCodeForCausalLM", "gpt_bigcode", Arch::StarCoder, false},
};

const GgufArch* find_arch(const std::string& gguf_name) {
    for (const auto& a : kGgufArchs)
        if (gguf_name == a.gguf) return &a;
    return nullptr;
}

const GgufArch& arch_of(const ModelConfig& cfg) {
    for (const auto& a : kGgufArchs)
        if (cfg.model_type == a.model_type) return a;
    return kGgufArchs[0];
}

// Llama 3.x writes its rope scaling as a rope_freqs tensor of per-frequency
// divisors. Recognize the Llama 3 rule (low_freq_factor 1, high_freq_factor
// 4, original context 8192, the factor is the largest divisor).
void read_rope_freqs(const GgufFile& f, const TensorInfo& t, ModelConfig& c) {
    if (t.dtype != FileDType::F32 || t.shape.size() != 1 || t.shape[0] * 2 != c.rope_dim)
        fail("{}: tensor 'rope_freqs.weight' must be F32 [rope_dim/2]", f.path());
    std::vector<float> v(size_t(t.numel()));
    tensor_to_f32(t, v.data());
    float factor = *std::max_element(v.begin(), v.end());
    if (factor <= 1.0f) return;
    RopeScaling rs;
    rs.type = RopeScalingType::Llama3;
    rs.factor = factor;
    rs.low_freq_factor = 1.0f;
    rs.high_freq_factor = 4.0f;
    rs.original_max_position = 8192;
    const double pi = 3.14159265358979323846;
    const double low_wavelen = rs.original_max_position / rs.low_freq_factor;
    const double high_wavelen = rs.original_max_position / rs.high_freq_factor;
    for (size_t i = 0; i < v.size(); ++i) {
        double freq = 1.0 / std::pow(double(c.rope_theta), double(2 * i) / c.rope_dim);
        double wavelen = 2 * pi / freq;
        double want;
        if (wavelen < high_wavelen) {
            want = 1.0;
        } else if (wavelen > low_wavelen) {
            want = factor;
        } else {
            double smooth = (rs.original_max_position / wavelen - rs.low_freq_factor) /
                            (rs.high_freq_factor - rs.low_freq_factor);
            want = 1.0 / ((1 - smooth) / factor + smooth);
        }
        if (std::fabs(want - v[i]) > 1e-3 * want)
            fail("{}: tensor 'rope_freqs.weight' does not follow the Llama 3 rope scaling rule (element {}: {} vs {})",
                 f.path(), i, v[i], want);
    }
    c.rope_scaling = rs;
}

std::string hf_layer_name(const GgufArch& a, const std::string& il, const std::string& what) {
    const bool llama_like = a.arch == Arch::Llama;
    const std::string L = llama_like ? "model.layers." + il + "." : "transformer.h." + il + ".";
    struct Map { const char* gguf; const char* llama; const char* bloom; const char* starcoder; };
    static const Map kMap[] = {
        {"attn_norm", "input_layernorm", "input_layernorm", "ln_1"},
        {"attn_q", "self_attn.q_proj", nullptr, nullptr},
        {"attn_k", "self_attn.k_proj", nullptr, nullptr},
        {"attn_v", "self_attn.v_proj", nullptr, nullptr},
        {"attn_qkv", nullptr, "self_attention.query_key_value", "attn.c_attn"},
        {"attn_output", "self_attn.o_proj", "self_attention.dense", "attn.c_proj"},
        {"ffn_norm", "post_attention_layernorm", "post_attention_layernorm", "ln_2"},
        {"ffn_gate", "mlp.gate_proj", nullptr, nullptr},
        {"ffn_up", "mlp.up_proj", "mlp.dense_h_to_4h", "mlp.c_fc"},
        {"ffn_down", "mlp.down_proj", "mlp.dense_4h_to_h", "mlp.c_proj"},
    };
    for (const Map& m : kMap) {
        if (what != m.gguf) continue;
        const char* hf = a.arch == Arch::Llama ? m.llama : a.arch == Arch::Bloom ? m.bloom : m.starcoder;
        return hf ? L + hf : std::string();
    }
    return {};
}

// HF name of a GGUF tensor; empty when it has none.
std::string hf_name(const GgufArch& a, const std::string& gguf_name) {
    static const std::regex kLayer(R"(blk\.(\d+)\.(\w+)\.(weight|bias))");
    std::smatch m;
    if (std::regex_match(gguf_name, m, kLayer)) {
        std::string base = hf_layer_name(a, m[1], m[2]);
        return base.empty() ? std::string() : base + "." + std::string(m[3]);
    }
    const bool llama_like = a.arch == Arch::Llama;
    const bool bloom = a.arch == Arch::Bloom;
    auto dot = gguf_name.rfind('.');
    if (dot == std::string::npos) return {};
    const std::string stem = gguf_name.substr(0, dot), suffix = gguf_name.substr(dot);
    if (stem == "token_embd") return (llama_like ? "model.embed_tokens" : bloom ? "transformer.word_embeddings" : "transformer.wte") + suffix;
    if (stem == "output_norm") return (llama_like ? "model.norm" : "transformer.ln_f") + suffix;
    if (stem == "output") return "lm_head" + suffix;
    if (stem == "token_embd_norm" && bloom) return "transformer.word_embeddings_layernorm" + suffix;
    if (stem == "position_embd" && !llama_like && !bloom) return "transformer.wpe" + suffix;
    return {};
}

// Rows of a tensor for row gathering: a 2-D [rows, cols] weight, or a 1-D
// vector of plain elements seen as rows of one element.
struct RowView {
    int64_t rows, cols;
    size_t row_bytes;
};

RowView row_view(const TensorInfo& t) {
    RowView v{};
    if (t.shape.size() == 2) {
        v.rows = t.shape[0];
        v.cols = t.shape[1];
    } else if (t.shape.size() == 1 && file_dtype_block_elems(t.dtype) == 1) {
        v.rows = t.shape[0];
        v.cols = 1;
    } else {
        fail("{}: tensor '{}': cannot reorder the rows of a tensor of this shape and type", t.file, t.name);
    }
    v.row_bytes = file_dtype_nbytes(t.dtype, v.cols);
    if (v.row_bytes == SIZE_MAX || v.row_bytes * size_t(v.rows) > t.nbytes)
        fail("{}: tensor '{}': rows are not whole {} blocks", t.file, t.name, file_dtype_name(t.dtype));
    return v;
}

// llama.cpp's permutation: GGUF row h*hd + 2i + s holds HF row h*hd + s*hd/2 + i.
int64_t unpermuted_source_row(int64_t r, int64_t head_dim) {
    int64_t h = r / head_dim, k = r % head_dim, half = head_dim / 2;
    return h * head_dim + 2 * (k % half) + k / half;
}

}  // namespace


ModelConfig gguf_model_config(const GgufFile& f) {
    const std::string arch_name = f.get_string("general.architecture");
    const GgufArch* a = find_arch(arch_name);
    if (!a) {
        std::string names;
        for (const auto& x : kGgufArchs) names += (names.empty() ? "" : ", ") + std::string(x.gguf);
        fail("{}: unknown general.architecture '{}' (supported: {})", f.path(), arch_name, names);
    }
    const std::string p = arch_name + ".";
    ModelConfig c;
    c.arch = a->arch;
    c.hf_architecture = a->hf;
    c.model_type = a->model_type;
    c.n_embd = int(f.get_u32(p + "embedding_length"));
    c.n_layer = int(f.get_u32(p + "block_count"));
    c.n_head = int(f.get_u32(p + "attention.head_count"));
    c.n_kv_head = int(f.get_u32(p + "attention.head_count_kv", uint32_t(c.n_head)));
    c.n_ff = int(f.get_u32(p + "feed_forward_length"));
    c.max_position = int(f.get_u32(p + "context_length"));
    c.head_dim = int(f.get_u32(p + "attention.key_length", 0));
    c.norm_eps = f.has(p + "attention.layer_norm_rms_epsilon") ? f.get_f32(p + "attention.layer_norm_rms_epsilon")
                                                                : f.get_f32(p + "attention.layer_norm_epsilon", 1e-5f);
    c.alibi = a->arch == Arch::Bloom || (arch_name == "baichuan" && c.n_embd == 5120);
    c.qkv_bias = arch_name == "qwen2";
    c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;

    if (!c.alibi) {
        c.rope_theta = f.get_f32(p + "rope.freq_base", 10000.0f);
        c.rope_dim = int(f.get_u32(p + "rope.dimension_count", 0));
        const std::string type = f.get_string(p + "rope.scaling.type", "none");
        if (type == "linear") {
            c.rope_scaling.type = RopeScalingType::Linear;
        } else if (type == "yarn") {
            c.rope_scaling.type = RopeScalingType::Yarn;
        } else if (type != "none") {
            fail("{}: {}rope.scaling.type '{}' is not supported (none, linear, yarn)", f.path(), p, type);
        }
        if (c.rope_scaling.type != RopeScalingType::None) {
            c.rope_scaling.factor = f.get_f32(p + "rope.scaling.factor");
            c.rope_scaling.original_max_position = int(f.get_u32(p + "rope.scaling.original_context_length", 0));
        } else if (f.has(p + "rope.scale_linear")) {
            c.rope_scaling.type = RopeScalingType::Linear;
            c.rope_scaling.factor = f.get_f32(p + "rope.scale_linear");
        }
    }

    // Vocabulary: the embedding's rows (what the weights need), else the token list.
    if (const GgufTensor* emb = f.find_tensor("token_embd.weight"); emb && emb->ne.size() == 2) {
        c.n_vocab = int(emb->ne[1]);
    } else if (const GgufValue* toks = f.find("tokenizer.ggml.tokens")) {
        c.n_vocab = int(toks->n);
    } else {
        c.n_vocab = int(f.get_u32(p + "vocab_size"));
    }

    c.bos_id = f.has("tokenizer.ggml.bos_token_id") ? int(f.get_u32("tokenizer.ggml.bos_token_id")) : -1;
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
        if (!f.has(key)) continue;
        int id = int(f.get_u32(key));
        if (std::find(c.eos_ids.begin(), c.eos_ids.end(), id) == c.eos_ids.end()) c.eos_ids.push_back(id);
    }
    c.pad_id = f.has("tokenizer.ggml.padding_token_id") ? int(f.get_u32("tokenizer.ggml.padding_token_id")) : -1;
    // Quantized files carry no compute dtype; all-F16 files (file_type 1) keep F16.
    c.dtype = f.get_u32("general.file_type", 0) == 1 ? DType::F16 : DType::BF16;

    finalize_model_config(c, f.path());
    if (const GgufTensor* rf = f.find_tensor("rope_freqs.weight"); rf && !c.alibi) {
        TensorInfo t;
        t.name = rf->name;
        t.file = f.path();
        t.dtype = ggml_type_to_file_dtype(rf->type);
        t.shape = rf->shape();
        t.data = rf->data;
        t.nbytes = rf->nbytes;
        read_rope_freqs(f, t, c);
    }
    return c;
}

GgufHfTensorSource::GgufHfTensorSource(std::shared_ptr<const GgufFile> file, const ModelConfig& cfg)
    : file_(std::move(file)), raw_(std::make_unique<GgufTensorSource>(file_)), cfg_(cfg) {
    const GgufArch& a = arch_of(cfg_);
    const bool baichuan = cfg_.model_type == "baichuan";
    for (const std::string& gname : raw_->names()) {
        const TensorInfo* t = raw_->find(gname);
        std::string name = hf_name(a, gname);
        if (name.empty()) name = gname;
        if (entries_.count(name)) fail("{}: two tensors map to '{}'", file_->path(), name);
        Entry e;
        e.parts = {t};
        e.info = *t;
        e.info.name = name;
        const bool is_q = name.find(".q_proj.") != std::string::npos;
        const bool is_k = name.find(".k_proj.") != std::string::npos;
        if (a.permuted_qk && (is_q || is_k)) {
            e.recipe = Recipe::Unpermute;
            e.part_heads = {is_q ? cfg_.n_head : cfg_.n_kv_head};
        } else if (a.arch == Arch::Bloom && name.find(".query_key_value.") != std::string::npos) {
            e.recipe = Recipe::BloomQkv;
        }
        entries_.emplace(name, std::move(e));
    }
    if (baichuan) {
        // W_pack = [q; k; v] rows, q and k un-permuted.
        for (int il = 0; il < cfg_.n_layer; ++il) {
            for (const char* kind : {"weight", "bias"}) {
                const std::string pre = "model.layers." + std::to_string(il) + ".self_attn.";
                auto q = entries_.find(pre + "q_proj." + kind), k = entries_.find(pre + "k_proj." + kind),
                     v = entries_.find(pre + "v_proj." + kind);
                if (q == entries_.end() || k == entries_.end() || v == entries_.end()) continue;
                Entry e;
                e.recipe = Recipe::Concat;
                e.parts = {q->second.parts[0], k->second.parts[0], v->second.parts[0]};
                e.part_heads = {cfg_.n_head, cfg_.n_kv_head, 0};
                e.info = *e.parts[0];
                e.info.name = pre + "W_pack." + kind;
                e.info.shape[0] = 0;
                for (const TensorInfo* p : e.parts) e.info.shape[0] += p->shape[0];
                entries_.erase(q);
                entries_.erase(k);
                entries_.erase(v);
                entries_.emplace(pre + "W_pack." + kind, std::move(e));
            }
        }
    }
    for (auto& [name, e] : entries_) {
        e.built = e.recipe == Recipe::Direct;
        if (!e.built) {
            e.info.data = nullptr;
            e.info.nbytes = 0;
        }
    }
}

const TensorInfo* GgufHfTensorSource::find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return nullptr;
    if (!it->second.built) build(it->second);
    return &it->second.info;
}

bool GgufHfTensorSource::built_copy(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    return it != entries_.end() && it->second.recipe != Recipe::Direct;
}

void GgufHfTensorSource::release(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.recipe == Recipe::Direct) return;
    Entry& e = it->second;
    std::vector<uint8_t>().swap(e.owned);
    e.info.data = nullptr;
    e.info.nbytes = 0;
    e.built = false;
}

const TensorInfo* GgufHfTensorSource::peek(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second.info;
}

std::vector<std::string> GgufHfTensorSource::names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
}

void GgufHfTensorSource::build(Entry& e) const {
    // The source row of every output row, as (part, row).
    std::vector<std::pair<size_t, int64_t>> src;
    std::vector<RowView> views;
    for (const TensorInfo* p : e.parts) views.push_back(row_view(*p));
    for (size_t ip = 0; ip < e.parts.size(); ++ip) {
        const RowView& v = views[ip];
        switch (e.recipe) {
            case Recipe::Unpermute:
            case Recipe::Concat: {
                int heads = e.part_heads[ip];
                if (heads > 0 && (v.rows % heads != 0 || (v.rows / heads) % 2 != 0))
                    fail("{}: tensor '{}': {} rows do not split into {} heads of even size", e.parts[ip]->file,
                         e.parts[ip]->name, v.rows, heads);
                for (int64_t r = 0; r < v.rows; ++r)
                    src.emplace_back(ip, heads > 0 ? unpermuted_source_row(r, v.rows / heads) : r);
                break;
            }
            case Recipe::BloomQkv: {
                // HF row (h, j, d) of [n_head, 3, hd] <- GGUF row j*n_embd + h*hd + d.
                const int64_t hd = cfg_.head_dim, n_embd = int64_t(cfg_.n_head) * hd;
                if (v.rows != 3 * n_embd)
                    fail("{}: tensor '{}': expected {} rows for q, k and v", e.parts[ip]->file, e.parts[ip]->name, 3 * n_embd);
                for (int64_t r = 0; r < v.rows; ++r) {
                    int64_t h = r / (3 * hd), j = (r / hd) % 3, d = r % hd;
                    src.emplace_back(ip, j * n_embd + h * hd + d);
                }
                break;
            }
            case Recipe::Direct: break;
        }
    }
    bool same_type = true;
    for (size_t ip = 1; ip < e.parts.size(); ++ip) {
        same_type = same_type && e.parts[ip]->dtype == e.parts[0]->dtype && views[ip].cols == views[0].cols;
    }
    if (!same_type) {
        // Parts of different types (e.g. Q4_K q/k with a Q6_K v): gather in F32.
        for (size_t ip = 1; ip < e.parts.size(); ++ip)
            if (views[ip].cols != views[0].cols)
                fail("{}: tensors '{}' and '{}' have different row lengths", e.parts[0]->file, e.parts[0]->name,
                     e.parts[ip]->name);
        std::vector<std::vector<float>> f32(e.parts.size());
        for (size_t ip = 0; ip < e.parts.size(); ++ip) {
            f32[ip].resize(size_t(e.parts[ip]->numel()));
            tensor_to_f32(*e.parts[ip], f32[ip].data());
        }
        const size_t cols = size_t(views[0].cols);
        e.owned.resize(src.size() * cols * sizeof(float));
        for (size_t r = 0; r < src.size(); ++r)
            std::memcpy(e.owned.data() + r * cols * 4, f32[src[r].first].data() + size_t(src[r].second) * cols, cols * 4);
        e.info.dtype = FileDType::F32;
    } else {
        const size_t rb = views[0].row_bytes;
        e.owned.resize(src.size() * rb);
        for (size_t r = 0; r < src.size(); ++r)
            std::memcpy(e.owned.data() + r * rb, e.parts[src[r].first]->data + size_t(src[r].second) * rb, rb);
        e.info.dtype = e.parts[0]->dtype;
    }
    e.info.data = e.owned.data();
    e.info.nbytes = e.owned.size();
    e.built = true;
}

GgufModel open_gguf_model(const std::string& path) {
    GgufModel m;
    m.file = GgufFile::open(path);
    m.config = gguf_model_config(*m.file);
    m.tensors = std::make_unique<GgufHfTensorSource>(m.file, m.config);
    return m;
}

}  // namespace lightllm
