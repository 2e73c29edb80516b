// LLaMA-family forward pass (see llama.h) and its loader.
//
// File tensor names (Hugging Face):
//   model.embed_tokens.weight                        -> tok_embd
//   model.layers.N.input_layernorm.weight            -> attn_norm
//   model.layers.N.self_attn.{q,k,v}_proj.{weight,bias} -> wqkv / bqkv rows
//   model.layers.N.self_attn.W_pack.weight           -> wqkv (Baichuan's fused qkv)
//   model.layers.N.self_attn.o_proj.weight           -> wo
//   model.layers.N.post_attention_layernorm.weight   -> ffn_norm
//   model.layers.N.mlp.{gate,up}_proj.weight         -> w_gate_up rows
//   model.layers.N.mlp.down_proj.weight              -> w_down
//   model.norm.weight                                -> output_norm
//   lm_head.weight                                   -> lm_head (tok_embd when tied or absent)
// Baichuan2 (model_type baichuan with its 125696-token vocabulary) has a
// "NormHead": each lm_head row is divided by its L2 norm; done at load.
#include "llama.h"
#include "model_common.h"
#include "rope.h"
#include <cmath>
#include <string>
#include <vector>

namespace lightllm {

namespace {

// Activation buffers for up to max_tokens tokens (views are row slices).
struct LlamaWorkspace {
    Tensor x;           // [T, n_embd] residual stream
    Tensor h;           // [T, n_embd] normed input of the next sub-layer
    Tensor qkv;         // [T, (n_head + 2 n_kv_head) * head_dim]
    Tensor q;           // [T, n_head * head_dim] rotated queries
    Tensor attn;        // [T, n_head * head_dim]
    Tensor proj;        // [T, n_embd] o_proj or down_proj output
    Tensor gate_up;     // [T, 2 n_ff]
    Tensor act;         // [T, n_ff]
    LogitsWorkspace out;  // the logits tail's [L, ..] buffers
};

class LlamaModel : public ArenaModel {
public:
    LlamaModel(const ModelConfig& cfg, Backend& backend, int64_t max_context);
    ~LlamaModel() override { free_workspace(); }

    void load(const TensorSource& src);
    void randomize(uint64_t seed);

    size_t workspace_bytes(int max_tokens, int max_logits) const override;
    void reserve(int max_tokens, int max_logits) override;
    Tensor forward(const Batch& batch, KvLayers& kv) override;

private:
    bool is_baichuan2(const ModelConfig& c) const;
    void upload_row_normalized(Tensor& dst, const TensorInfo& info);
    void free_workspace();

    HeadShape heads_;
    AttentionParams attn_params_;
    bool tied_ = false;
    LlamaWeights w_;
    LlamaWorkspace ws_;
    int max_tokens_ = 0;
    int max_logits_ = 0;
};

int64_t qkv_rows(const ModelConfig& c) { return int64_t(c.n_head + 2 * c.n_kv_head) * c.head_dim; }

LlamaModel::LlamaModel(const ModelConfig& cfg, Backend& backend, int64_t max_context)
    : ArenaModel(cfg, backend) {
    heads_.n_head = cfg.n_head;
    heads_.n_kv_head = cfg.n_kv_head;
    heads_.head_dim = cfg.head_dim;
    heads_.rope_dim = cfg.alibi ? 0 : cfg.rope_dim;
    attn_params_.scale = 1.0f / std::sqrt(float(cfg.head_dim));
    attn_params_.sliding_window = cfg.sliding_window;
    attn_params_.alibi = cfg.alibi;

    const int64_t E = cfg.n_embd, F = cfg.n_ff, QD = int64_t(cfg.n_head) * cfg.head_dim;
    w_.tok_embd = arena_.alloc({cfg.n_vocab, E});
    w_.layers.resize(size_t(cfg.n_layer));
    for (LlamaLayerWeights& l : w_.layers) {
        l.attn_norm = arena_.alloc({E});
        l.wqkv = arena_.alloc({qkv_rows(cfg), E});
        if (cfg.qkv_bias) l.bqkv = arena_.alloc({qkv_rows(cfg)});
        l.wo = arena_.alloc({E, QD});
        l.ffn_norm = arena_.alloc({E});
        l.w_gate_up = arena_.alloc({2 * F, E});
        l.w_down = arena_.alloc({E, F});
    }
    w_.output_norm = arena_.alloc({E});
    if (heads_.rope_dim > 0) {
        const std::vector<float> inv_freq = rope_inv_freq(cfg, max_context);
        w_.inv_freq = arena_.alloc_table(DType::F32, {int64_t(inv_freq.size())});
        be_.upload(w_.inv_freq, inv_freq.data(), DType::F32);
    }
}

void LlamaModel::load(const TensorSource& src) {
    const ModelConfig& c = cfg_;
    const int64_t E = c.n_embd, F = c.n_ff, HD = c.head_dim;
    const int64_t QD = int64_t(c.n_head) * HD, KD = int64_t(c.n_kv_head) * HD;
    auto put = [&](Tensor dst, const std::string& name, std::vector<int64_t> shape) {
        arena_.upload(dst, src.require(name, shape));
    };
    put(w_.tok_embd, "model.embed_tokens.weight", {c.n_vocab, E});
    for (int il = 0; il < c.n_layer; ++il) {
        LlamaLayerWeights& l = w_.layers[size_t(il)];
        const std::string p = "model.layers." + std::to_string(il) + ".";
        put(l.attn_norm, p + "input_layernorm.weight", {E});
        if (src.find(p + "self_attn.W_pack.weight")) {
            put(l.wqkv, p + "self_attn.W_pack.weight", {qkv_rows(c), E});
        } else {
            put(l.wqkv.slice_rows(0, QD), p + "self_attn.q_proj.weight", {QD, E});
            put(l.wqkv.slice_rows(QD, KD), p + "self_attn.k_proj.weight", {KD, E});
            put(l.wqkv.slice_rows(QD + KD, KD), p + "self_attn.v_proj.weight", {KD, E});
        }
        if (c.qkv_bias) {
            put(l.bqkv.slice_rows(0, QD), p + "self_attn.q_proj.bias", {QD});
            put(l.bqkv.slice_rows(QD, KD), p + "self_attn.k_proj.bias", {KD});
            put(l.bqkv.slice_rows(QD + KD, KD), p + "self_attn.v_proj.bias", {KD});
        }
        put(l.wo, p + "self_attn.o_proj.weight", {E, QD});
        put(l.ffn_norm, p + "post_attention_layernorm.weight", {E});
        put(l.w_gate_up.slice_rows(0, F), p + "mlp.gate_proj.weight", {F, E});
        put(l.w_gate_up.slice_rows(F, F), p + "mlp.up_proj.weight", {F, E});
        put(l.w_down, p + "mlp.down_proj.weight", {E, F});
    }
    put(w_.output_norm, "model.norm.weight", {E});
    tied_ = lm_head_tied(c, src);
    if (tied_) {
        w_.lm_head = w_.tok_embd;
    } else {
        w_.lm_head = arena_.alloc({c.n_vocab, E});
        if (is_baichuan2(c)) {
            upload_row_normalized(w_.lm_head, src.require("lm_head.weight", {c.n_vocab, E}));
        } else {
            put(w_.lm_head, "lm_head.weight", {c.n_vocab, E});
        }
    }
}

bool LlamaModel::is_baichuan2(const ModelConfig& c) const {
    return c.model_type == "baichuan" && (tp().active() ? tp().n_vocab_total : c.n_vocab) == 125696;
}

void LlamaModel::upload_row_normalized(Tensor& dst, const TensorInfo& info) {
    const int64_t rows = info.shape[0], cols = info.shape[1];
    std::vector<float> w(size_t(info.numel()));
    tensor_to_f32(info, w.data());
    for (int64_t r = 0; r < rows; ++r) {
        float* row = w.data() + r * cols;
        double ss = 0.0;
        for (int64_t j = 0; j < cols; ++j) ss += double(row[j]) * row[j];
        const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);  // torch.nn.functional.normalize
        for (int64_t j = 0; j < cols; ++j) row[j] = float(row[j] * inv);
    }
    arena_.upload(dst, w.data());
}

void LlamaModel::randomize(uint64_t seed) {
    const float stddev = 0.02f;
    uint64_t k = 0;
    arena_.fill_random(w_.tok_embd, seed + k++, stddev);
    for (LlamaLayerWeights& l : w_.layers) {
        arena_.fill_constant(l.attn_norm, 1.0f);
        arena_.fill_random(l.wqkv, seed + k++, stddev);
        if (!l.bqkv.empty()) arena_.fill_random(l.bqkv, seed + k++, stddev);
        arena_.fill_random(l.wo, seed + k++, stddev);
        arena_.fill_constant(l.ffn_norm, 1.0f);
        arena_.fill_random(l.w_gate_up, seed + k++, stddev);
        arena_.fill_random(l.w_down, seed + k++, stddev);
    }
    arena_.fill_constant(w_.output_norm, 1.0f);
    tied_ = cfg_.tie_word_embeddings;
    w_.lm_head = random_lm_head(arena_, cfg_, w_.tok_embd, seed + k, stddev);
}

size_t LlamaModel::workspace_bytes(int max_tokens, int max_logits) const {
    const ModelConfig& c = cfg_;
    const size_t T = size_t(max_tokens), QD = size_t(c.n_head) * c.head_dim;
    const size_t per_token = 3 * size_t(c.n_embd) + size_t(qkv_rows(c)) + 2 * QD + 3 * size_t(c.n_ff);
    return T * per_token * dtype_size(be_.compute_dtype()) + logits_workspace_bytes(be_, c, max_logits, tp());
}

void LlamaModel::free_workspace() {
    for (Tensor* t : {&ws_.x, &ws_.h, &ws_.qkv, &ws_.q, &ws_.attn, &ws_.proj, &ws_.gate_up, &ws_.act})
        if (!t->empty()) be_.free(*t);
    free_logits_workspace(be_, ws_.out);
}

void LlamaModel::reserve(int max_tokens, int max_logits) {
    free_workspace();
    const ModelConfig& c = cfg_;
    const DType dt = be_.compute_dtype();
    const int64_t T = max_tokens, QD = int64_t(c.n_head) * c.head_dim;
    ws_.x = be_.alloc(dt, {T, c.n_embd});
    ws_.h = be_.alloc(dt, {T, c.n_embd});
    ws_.qkv = be_.alloc(dt, {T, qkv_rows(c)});
    ws_.q = be_.alloc(dt, {T, QD});
    ws_.attn = be_.alloc(dt, {T, QD});
    ws_.proj = be_.alloc(dt, {T, c.n_embd});
    ws_.gate_up = be_.alloc(dt, {T, 2 * int64_t(c.n_ff)});
    ws_.act = be_.alloc(dt, {T, c.n_ff});
    ws_.out = alloc_logits_workspace(be_, c, max_logits, tp());
    max_tokens_ = max_tokens;
    max_logits_ = max_logits;
}

Tensor LlamaModel::forward(const Batch& batch, KvLayers& kv) {
    const int n = batch.n_tokens, n_out = batch.n_logits;
    LL_CHECK(n > 0 && n <= max_tokens_ && n_out <= max_logits_, "llama forward: {} tokens / {} logits, reserved {} / {}",
             n, n_out, max_tokens_, max_logits_);
    const float eps = cfg_.norm_eps;
    Tensor x = ws_.x.slice_rows(0, n), h = ws_.h.slice_rows(0, n), qkv = ws_.qkv.slice_rows(0, n);
    Tensor q = ws_.q.slice_rows(0, n), attn = ws_.attn.slice_rows(0, n), proj = ws_.proj.slice_rows(0, n);
    Tensor gate_up = ws_.gate_up.slice_rows(0, n), act = ws_.act.slice_rows(0, n);
    const Tensor none;

    be_.embedding(batch.ids, w_.tok_embd, x);
    all_reduce(x);  // vocabulary-split embedding: other ranks' tokens are zero rows here
    dump("tok_embd", -1, x);
    for (int il = 0; il < cfg_.n_layer; ++il) {
        const LlamaLayerWeights& l = w_.layers[size_t(il)];
        KvLayer& kvl = kv[size_t(il)];
        if (il == 0) {
            be_.rms_norm(x, l.attn_norm, h, eps);
        } else {
            be_.add_rms_norm(x, proj, l.attn_norm, h, eps);  // x += previous layer's mlp output
            dump("layer_in", il, x);
        }
        dump("attn_norm", il, h);
        be_.linear(h, l.wqkv, l.bqkv, qkv);
        dump("qkv", il, qkv);
        be_.rope_store_kv(qkv, batch.positions, w_.inv_freq, heads_, batch.slots, kvl, q);
        dump("q_rope", il, q);
        be_.attention(q, kvl, batch.attn, heads_, tp_attention(attn_params_), attn);
        dump("attn", il, attn);
        be_.linear(attn, l.wo, none, proj);
        all_reduce(proj);  // o_proj is row-parallel: each rank holds a partial sum
        dump("attn_out", il, proj);
        be_.add_rms_norm(x, proj, l.ffn_norm, h, eps);  // x += attention output
        dump("ffn_norm", il, h);
        be_.linear(h, l.w_gate_up, none, gate_up);
        be_.silu_mul(gate_up, act);
        dump("ffn_act", il, act);
        be_.linear(act, l.w_down, none, proj);
        all_reduce(proj);  // down_proj is row-parallel
        dump("ffn_out", il, proj);
    }
    be_.add_rms_norm(x, proj, w_.output_norm, h, eps);  // x += last mlp output
    dump("output_norm", -1, h);

    return output_logits(h, batch, w_.lm_head, ws_.out);  // [n_out, n_vocab] F32
}

}  // namespace

std::unique_ptr<Model> load_llama(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                  int64_t max_context, const TpShard& shard, ProgressReporter* progress) {
    return make_loaded<LlamaModel>(tensors, shard, progress, cfg, backend, max_context);
}

std::unique_ptr<Model> make_dummy_llama(const ModelConfig& cfg, Backend& backend, uint64_t seed, int64_t max_context,
                                        const TpShard& shard, ProgressReporter* progress) {
    return make_seeded<LlamaModel>(seed, shard, progress, cfg, backend, max_context);
}

}  // namespace lightllm
