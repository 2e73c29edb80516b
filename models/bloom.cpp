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
#include "gelu_layer.h"
#include "model_common.h"
#include <cmath>
#include <string>
#include <vector>

namespace lightllm {

namespace {

class BloomModel : public ArenaModel {
public:
    BloomModel(const ModelConfig& cfg, Backend& backend);
    ~BloomModel() override { free_gelu_model_buffers(be_, buf_); }

    void load(const TensorSource& src);
    void randomize(uint64_t seed);

    size_t workspace_bytes(int max_tokens, int max_logits) const override;
    void reserve(int max_tokens, int max_logits) override;
    Tensor forward(const Batch& batch, KvLayers& kv) override;

private:
    HeadShape heads_;
    AttentionParams attn_params_;
    BloomWeights w_;
    GeluModelBuffers buf_;
};

int64_t qkv_rows(const ModelConfig& c) { return 3 * int64_t(c.n_head) * c.head_dim; }

BloomModel::BloomModel(const ModelConfig& cfg, Backend& backend) : ArenaModel(cfg, backend) {
    if (cfg.n_kv_head != cfg.n_head)
        fail("{}: BLOOM has one key/value head per query head (got {} and {})", cfg.hf_architecture, cfg.n_kv_head,
             cfg.n_head);
    heads_.n_head = cfg.n_head;
    heads_.n_kv_head = cfg.n_head;
    heads_.head_dim = cfg.head_dim;
    heads_.rope_dim = 0;
    attn_params_.scale = 1.0f / std::sqrt(float(cfg.head_dim));
    attn_params_.alibi = true;

    const int64_t E = cfg.n_embd;
    w_.tok_embd = arena_.alloc({cfg.n_vocab, E});
    w_.tok_norm = arena_.alloc({E});
    w_.tok_norm_b = arena_.alloc({E});
    for (int il = 0; il < cfg.n_layer; ++il) w_.layers.push_back(alloc_gelu_layer(arena_, cfg, qkv_rows(cfg)));
    w_.output_norm = arena_.alloc({E});
    w_.output_norm_b = arena_.alloc({E});
}

void BloomModel::load(const TensorSource& src) {
    const ModelConfig& c = cfg_;
    const int64_t E = c.n_embd, F = c.n_ff, QD = int64_t(c.n_head) * c.head_dim;
    const std::string root =
        !src.find("transformer.word_embeddings.weight") && src.find("word_embeddings.weight") ? "" : "transformer.";
    auto put = [&](Tensor dst, const std::string& name, std::vector<int64_t> shape) {
        arena_.upload(dst, src.require(name, shape));
    };
    put(w_.tok_embd, root + "word_embeddings.weight", {c.n_vocab, E});
    put(w_.tok_norm, root + "word_embeddings_layernorm.weight", {E});
    put(w_.tok_norm_b, root + "word_embeddings_layernorm.bias", {E});
    for (int il = 0; il < c.n_layer; ++il) {
        GeluLayerWeights& l = w_.layers[size_t(il)];
        const std::string p = root + "h." + std::to_string(il) + ".";
        put(l.attn_norm, p + "input_layernorm.weight", {E});
        put(l.attn_norm_b, p + "input_layernorm.bias", {E});
        upload_head_interleaved_qkv(be_, l.wqkv, src.require(p + "self_attention.query_key_value.weight", {3 * QD, E}),
                                    c.n_head, c.head_dim);
        upload_head_interleaved_qkv(be_, l.bqkv, src.require(p + "self_attention.query_key_value.bias", {3 * QD}),
                                    c.n_head, c.head_dim);
        arena_.written(l.wqkv);
        arena_.written(l.bqkv);
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
    w_.lm_head = load_lm_head(arena_, c, src, w_.tok_embd);
}

void BloomModel::randomize(uint64_t seed) {
    const float stddev = 0.02f;
    uint64_t k = 0;
    arena_.fill_random(w_.tok_embd, seed + k++, stddev);
    arena_.fill_constant(w_.tok_norm, 1.0f);
    arena_.fill_constant(w_.tok_norm_b, 0.0f);
    for (GeluLayerWeights& l : w_.layers) randomize_gelu_layer(arena_, l, seed, k);
    arena_.fill_constant(w_.output_norm, 1.0f);
    arena_.fill_constant(w_.output_norm_b, 0.0f);
    w_.lm_head = random_lm_head(arena_, cfg_, w_.tok_embd, seed + k, stddev);
}

size_t BloomModel::workspace_bytes(int max_tokens, int max_logits) const {
    return gelu_model_buffer_bytes(be_, cfg_, qkv_rows(cfg_), max_tokens, max_logits, tp());
}

void BloomModel::reserve(int max_tokens, int max_logits) {
    reserve_gelu_model_buffers(be_, cfg_, qkv_rows(cfg_), max_tokens, max_logits, tp(), buf_);
}

Tensor BloomModel::forward(const Batch& batch, KvLayers& kv) {
    const int n = batch.n_tokens, n_out = batch.n_logits;
    LL_CHECK(n > 0 && n <= buf_.max_tokens && n_out <= buf_.max_logits, "bloom forward: {} tokens / {} logits, reserved {} / {}",
             n, n_out, buf_.max_tokens, buf_.max_logits);
    const float eps = cfg_.norm_eps;
    Tensor x = buf_.layer.x.slice_rows(0, n), h = buf_.layer.h.slice_rows(0, n);

    be_.embedding(batch.ids, w_.tok_embd, h);
    all_reduce(h);  // vocabulary-split embedding: other ranks' tokens are zero rows here
    dump("tok_embd", -1, h);
    be_.layer_norm(h, w_.tok_norm, w_.tok_norm_b, x, eps);
    dump("tok_norm", -1, x);
    const GeluLayerContext ctx{be_, cfg_, heads_, tp_attention(attn_params_), dump_fn(), tp().comm};
    for (int il = 0; il < cfg_.n_layer; ++il)
        gelu_layer_forward(ctx, w_.layers[size_t(il)], batch, kv[size_t(il)], buf_.layer, n, il);
    be_.layer_norm(x, w_.output_norm, w_.output_norm_b, h, eps);
    dump("output_norm", -1, h);

    return output_logits(h, batch, w_.lm_head, buf_.out);  // [n_out, n_vocab] F32
}

}  // namespace

std::unique_ptr<Model> load_bloom(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                  const TpShard& shard, ProgressReporter* progress) {
    return make_loaded<BloomModel>(tensors, shard, progress, cfg, backend);
}

std::unique_ptr<Model> make_dummy_bloom(const ModelConfig& cfg, Backend& backend, uint64_t seed,
                                        const TpShard& shard, ProgressReporter* progress) {
    return make_seeded<BloomModel>(seed, shard, progress, cfg, backend);
}

}  // namespace lightllm
