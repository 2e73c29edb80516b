// BLOOM forward pass (see bloom.h) and its loader.
//
// File tensor names (Hugging Face; checkpoints saved from BloomModel lack the
// "transformer." prefix, both are accepted):
//   transformer.word_embeddings.weight                      -> tok_embd
//   transformer.word_embeddings_layernorm.{weight,bias}     -> tok_norm, tok_norm_b
//   transformer.h.N.input_layernorm.{weight,bias}           -> attn_norm, attn_norm_b
//   transformer.h.N.self_attention.query_key_value.{weight,bias} -> wqkv, bqkv (rows re-ordered, fused_qkv.h)
//   transformer.h.N.self_attention.dense.{weight,bias}      -> wo, bo
//   transformer.h.N.post_attention_layernorm.{weight,bias}  -> ffn_norm, ffn_norm_b
//   transformer.h.N.mlp.dense_h_to_4h.{weight,bias}         -> w_up, b_up
//   transformer.h.N.mlp.dense_4h_to_h.{weight,bias}         -> w_down, b_down
//   transformer.ln_f.{weight,bias}                          -> output_norm, output_norm_b
//   lm_head.weight                                          -> lm_head (tok_embd when tied or absent)
// ALiBi: the attention op adds slope_h * (key_pos - query_pos) to each score,
// which equals BLOOM's slope_h * key_pos up to a per-row constant that softmax
// ignores; the slopes follow build_alibi_tensor for any head count.
#include "bloom.h"
#include "fused_qkv.h"
#include "model_common.h"
#include <cmath>
#include <string>
#include <vector>

namespace lightllm {

namespace {

// Activation buffers for up to max_tokens tokens (views are row slices).
struct BloomWorkspace {
    Tensor x;           // [T, n_embd] residual stream
    Tensor h;           // [T, n_embd] normed input of the next sub-layer (and the raw embeddings)
    Tensor qkv;         // [T, 3 n_embd]
    Tensor q;           // [T, n_embd]
    Tensor attn;        // [T, n_embd]
    Tensor proj;        // [T, n_embd] dense or dense_4h_to_h output
    Tensor up;          // [T, n_ff]
    Tensor act;         // [T, n_ff]
    LogitsWorkspace out;  // the logits tail's [L, ..] buffers
};

class BloomModel : public Model {
public:
    BloomModel(const ModelConfig& cfg, Backend& backend);
    ~BloomModel() override;

    void load(const TensorSource& src);
    void randomize(uint64_t seed);

    const ModelConfig& config() const override { return cfg_; }
    size_t weight_bytes() const override { return weight_bytes_; }
    size_t workspace_bytes(int max_tokens, int max_logits) const override;
    void reserve(int max_tokens, int max_logits) override;
    Tensor forward(const Batch& batch, TokenKvPool& kv) override;

private:
    Tensor alloc_weight(std::initializer_list<int64_t> shape);
    void free_workspace();

    ModelConfig cfg_;
    Backend& be_;
    HeadShape heads_;
    AttentionParams attn_params_;
    BloomWeights w_;
    std::vector<Tensor> owned_;  // every weight allocation, freed at destruction
    size_t weight_bytes_ = 0;
    BloomWorkspace ws_;
    int max_tokens_ = 0;
    int max_logits_ = 0;
};

BloomModel::BloomModel(const ModelConfig& cfg, Backend& backend) : cfg_(cfg), be_(backend) {
    if (cfg.n_kv_head != cfg.n_head)
        fail("{}: BLOOM has one key/value head per query head (got {} and {})", cfg.hf_architecture, cfg.n_kv_head,
             cfg.n_head);
    heads_.n_head = cfg.n_head;
    heads_.n_kv_head = cfg.n_head;
    heads_.head_dim = cfg.head_dim;
    heads_.rope_dim = 0;
    attn_params_.scale = 1.0f / std::sqrt(float(cfg.head_dim));
    attn_params_.alibi = true;

    const int64_t E = cfg.n_embd, F = cfg.n_ff, QD = int64_t(cfg.n_head) * cfg.head_dim;
    w_.tok_embd = alloc_weight({cfg.n_vocab, E});
    w_.tok_norm = alloc_weight({E});
    w_.tok_norm_b = alloc_weight({E});
    w_.layers.resize(size_t(cfg.n_layer));
    for (BloomLayerWeights& l : w_.layers) {
        l.attn_norm = alloc_weight({E});
        l.attn_norm_b = alloc_weight({E});
        l.wqkv = alloc_weight({3 * QD, E});
        l.bqkv = alloc_weight({3 * QD});
        l.wo = alloc_weight({E, QD});
        l.bo = alloc_weight({E});
        l.ffn_norm = alloc_weight({E});
        l.ffn_norm_b = alloc_weight({E});
        l.w_up = alloc_weight({F, E});
        l.b_up = alloc_weight({F});
        l.w_down = alloc_weight({E, F});
        l.b_down = alloc_weight({E});
    }
    w_.output_norm = alloc_weight({E});
    w_.output_norm_b = alloc_weight({E});
}

BloomModel::~BloomModel() {
    free_workspace();
    for (Tensor& t : owned_) be_.free(t);
}

Tensor BloomModel::alloc_weight(std::initializer_list<int64_t> shape) {
    Tensor t = be_.alloc(be_.compute_dtype(), shape);
    owned_.push_back(t);
    weight_bytes_ += t.nbytes();
    return t;
}

void BloomModel::load(const TensorSource& src) {
    const ModelConfig& c = cfg_;
    const int64_t E = c.n_embd, F = c.n_ff, QD = int64_t(c.n_head) * c.head_dim;
    const std::string root =
        !src.find("transformer.word_embeddings.weight") && src.find("word_embeddings.weight") ? "" : "transformer.";
    auto put = [&](Tensor dst, const std::string& name, std::vector<int64_t> shape) {
        upload_file_tensor(be_, dst, src.require(name, shape));
    };
    put(w_.tok_embd, root + "word_embeddings.weight", {c.n_vocab, E});
    put(w_.tok_norm, root + "word_embeddings_layernorm.weight", {E});
    put(w_.tok_norm_b, root + "word_embeddings_layernorm.bias", {E});
    for (int il = 0; il < c.n_layer; ++il) {
        BloomLayerWeights& l = w_.layers[size_t(il)];
        const std::string p = root + "h." + std::to_string(il) + ".";
        put(l.attn_norm, p + "input_layernorm.weight", {E});
        put(l.attn_norm_b, p + "input_layernorm.bias", {E});
        upload_head_interleaved_qkv(be_, l.wqkv, src.require(p + "self_attention.query_key_value.weight", {3 * QD, E}),
                                    c.n_head, c.head_dim);
        upload_head_interleaved_qkv(be_, l.bqkv, src.require(p + "self_attention.query_key_value.bias", {3 * QD}),
                                    c.n_head, c.head_dim);
        put(l.wo, p + "self_attention.dense.weight", {E, QD});
        put(l.bo, p + "self_attention.dense.bias", {E});
        put(l.ffn_norm, p + "post_attention_layernorm.weight", {E});
        put(l.ffn_norm_b, p + "post_attention_layernorm.bias", {E});
        put(l.w_up, p + "mlp.dense_h_to_4h.weight", {F, E});
        put(l.b_up, p + "mlp.dense_h_to_4h.bias", {F});
        put(l.w_down, p + "mlp.dense_4h_to_h.weight", {E, F});
        put(l.b_down, p + "mlp.dense_4h_to_h.bias", {E});
    }
    put(w_.output_norm, root + "ln_f.weight", {E});
    put(w_.output_norm_b, root + "ln_f.bias", {E});
    if (c.tie_word_embeddings || src.find("lm_head.weight") == nullptr) {
        w_.lm_head = w_.tok_embd;
    } else {
        w_.lm_head = alloc_weight({c.n_vocab, E});
        put(w_.lm_head, "lm_head.weight", {c.n_vocab, E});
    }
}

void BloomModel::randomize(uint64_t seed) {
    const float stddev = 0.02f;
    uint64_t k = 0;
    auto fill = [&](Tensor& t, float value) {
        std::vector<float> v(size_t(t.numel()), value);
        be_.upload(t, v.data(), DType::F32);
    };
    auto norm = [&](Tensor& w, Tensor& b) {
        fill(w, 1.0f);
        fill(b, 0.0f);
    };
    be_.fill_random(w_.tok_embd, seed + k++, stddev);
    norm(w_.tok_norm, w_.tok_norm_b);
    for (BloomLayerWeights& l : w_.layers) {
        norm(l.attn_norm, l.attn_norm_b);
        be_.fill_random(l.wqkv, seed + k++, stddev);
        fill(l.bqkv, 0.0f);
        be_.fill_random(l.wo, seed + k++, stddev);
        fill(l.bo, 0.0f);
        norm(l.ffn_norm, l.ffn_norm_b);
        be_.fill_random(l.w_up, seed + k++, stddev);
        fill(l.b_up, 0.0f);
        be_.fill_random(l.w_down, seed + k++, stddev);
        fill(l.b_down, 0.0f);
    }
    norm(w_.output_norm, w_.output_norm_b);
    if (cfg_.tie_word_embeddings) {
        w_.lm_head = w_.tok_embd;
    } else {
        w_.lm_head = alloc_weight({cfg_.n_vocab, cfg_.n_embd});
        be_.fill_random(w_.lm_head, seed + k++, stddev);
    }
}

size_t BloomModel::workspace_bytes(int max_tokens, int max_logits) const {
    const ModelConfig& c = cfg_;
    const size_t T = size_t(max_tokens), L = size_t(max_logits), E = size_t(c.n_embd);
    const size_t QD = size_t(c.n_head) * c.head_dim;
    const size_t elems = T * (3 * E + 5 * QD + 2 * size_t(c.n_ff)) + L * (E + size_t(c.n_vocab));
    return elems * dtype_size(be_.compute_dtype()) + L * size_t(c.n_vocab) * sizeof(float);
}

void BloomModel::free_workspace() {
    for (Tensor* t : {&ws_.x, &ws_.h, &ws_.qkv, &ws_.q, &ws_.attn, &ws_.proj, &ws_.up, &ws_.act})
        if (!t->empty()) be_.free(*t);
    free_logits_workspace(be_, ws_.out);
}

void BloomModel::reserve(int max_tokens, int max_logits) {
    free_workspace();
    const ModelConfig& c = cfg_;
    const DType dt = be_.compute_dtype();
    const int64_t T = max_tokens, QD = int64_t(c.n_head) * c.head_dim;
    ws_.x = be_.alloc(dt, {T, c.n_embd});
    ws_.h = be_.alloc(dt, {T, c.n_embd});
    ws_.qkv = be_.alloc(dt, {T, 3 * QD});
    ws_.q = be_.alloc(dt, {T, QD});
    ws_.attn = be_.alloc(dt, {T, QD});
    ws_.proj = be_.alloc(dt, {T, c.n_embd});
    ws_.up = be_.alloc(dt, {T, c.n_ff});
    ws_.act = be_.alloc(dt, {T, c.n_ff});
    ws_.out = alloc_logits_workspace(be_, c, max_logits);
    max_tokens_ = max_tokens;
    max_logits_ = max_logits;
}

Tensor BloomModel::forward(const Batch& batch, TokenKvPool& kv) {
    const int n = batch.n_tokens, n_out = batch.n_logits;
    LL_CHECK(n > 0 && n <= max_tokens_ && n_out <= max_logits_, "bloom forward: {} tokens / {} logits, reserved {} / {}",
             n, n_out, max_tokens_, max_logits_);
    const float eps = cfg_.norm_eps;
    Tensor x = ws_.x.slice_rows(0, n), h = ws_.h.slice_rows(0, n), qkv = ws_.qkv.slice_rows(0, n);
    Tensor q = ws_.q.slice_rows(0, n), attn = ws_.attn.slice_rows(0, n), proj = ws_.proj.slice_rows(0, n);
    Tensor up = ws_.up.slice_rows(0, n), act = ws_.act.slice_rows(0, n);
    const Tensor no_rope;

    be_.embedding(batch.ids, w_.tok_embd, h);
    dump("tok_embd", -1, h);
    be_.layer_norm(h, w_.tok_norm, w_.tok_norm_b, x, eps);
    dump("tok_norm", -1, x);
    for (int il = 0; il < cfg_.n_layer; ++il) {
        const BloomLayerWeights& l = w_.layers[size_t(il)];
        KvLayer& kvl = kv.layer(il);
        be_.layer_norm(x, l.attn_norm, l.attn_norm_b, h, eps);
        dump("attn_norm", il, h);
        be_.linear(h, l.wqkv, l.bqkv, qkv);
        dump("qkv", il, qkv);
        be_.rope_store_kv(qkv, batch.positions, no_rope, heads_, batch.slots, kvl, q);  // rope_dim 0: split + store
        be_.attention(q, kvl, batch.attn, heads_, attn_params_, attn);
        dump("attn", il, attn);
        be_.linear(attn, l.wo, l.bo, proj);
        dump("attn_out", il, proj);
        be_.add(x, proj, x);
        be_.layer_norm(x, l.ffn_norm, l.ffn_norm_b, h, eps);
        dump("ffn_norm", il, h);
        be_.linear(h, l.w_up, l.b_up, up);
        be_.gelu(up, act);
        dump("ffn_act", il, act);
        be_.linear(act, l.w_down, l.b_down, proj);
        dump("ffn_out", il, proj);
        be_.add(x, proj, x);
        dump("layer_out", il, x);
    }
    be_.layer_norm(x, w_.output_norm, w_.output_norm_b, h, eps);
    dump("output_norm", -1, h);

    const Tensor logits = compute_logits(be_, h, batch, w_.lm_head, ws_.out);  // [n_out, n_vocab] F32
    if (n_out > 0) dump("logits", -1, logits);
    return logits;
}

}  // namespace

std::unique_ptr<Model> load_bloom(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend) {
    auto m = std::make_unique<BloomModel>(cfg, backend);
    m->load(tensors);
    return m;
}

std::unique_ptr<Model> make_dummy_bloom(const ModelConfig& cfg, Backend& backend, uint64_t seed) {
    auto m = std::make_unique<BloomModel>(cfg, backend);
    m->randomize(seed);
    return m;
}

}  // namespace lightllm
