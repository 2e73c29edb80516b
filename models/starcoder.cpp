// StarCoder (GPT-BigCode) forward pass (see starcoder.h) and its loader.
//
// File tensor names (Hugging Face):
//   transformer.wte.weight                        -> tok_embd
//   transformer.wpe.weight                        -> pos_embd
//   transformer.h.N.ln_1.{weight,bias}            -> attn_norm, attn_norm_b
//   transformer.h.N.attn.c_attn.{weight,bias}     -> wqkv, bqkv: with multi_query already
//                                                    [q (n_head hd) | k (hd) | v (hd)]; without,
//                                                    per-head [n_head, 3, hd] rows re-ordered (fused_qkv.h)
//   transformer.h.N.attn.c_proj.{weight,bias}     -> wo, bo
//   transformer.h.N.ln_2.{weight,bias}            -> ffn_norm, ffn_norm_b
//   transformer.h.N.mlp.c_fc.{weight,bias}        -> w_up, b_up
//   transformer.h.N.mlp.c_proj.{weight,bias}      -> w_down, b_down
//   transformer.ln_f.{weight,bias}                -> output_norm, output_norm_b
//   lm_head.weight                                -> lm_head (tok_embd when tied or absent)
// Assumes the configs' defaults scale_attn_weights = true (scores / sqrt(head_dim))
// and a tanh-approximated GELU (gelu_pytorch_tanh, gelu_fast, gelu_new).
#include "starcoder.h"
#include "fused_qkv.h"
#include "gelu_layer.h"
#include "model_common.h"
#include <cmath>
#include <string>
#include <vector>

namespace lightllm {

namespace {

class StarCoderModel : public ArenaModel {
public:
    StarCoderModel(const ModelConfig& cfg, Backend& backend, int64_t max_context);
    ~StarCoderModel() override { free_gelu_model_buffers(be_, buf_); }

    void load(const TensorSource& src);
    void randomize(uint64_t seed);

    size_t workspace_bytes(int max_tokens, int max_logits) const override;
    void reserve(int max_tokens, int max_logits) override;
    Tensor forward(const Batch& batch, KvLayers& kv) override;

private:
    HeadShape heads_;
    AttentionParams attn_params_;
    StarCoderWeights w_;
    GeluModelBuffers buf_;  // layer.h holds the position embeddings before the first layer (StarCoder)
};

int64_t qkv_rows(const ModelConfig& c) { return int64_t(c.n_head + 2 * c.n_kv_head) * c.head_dim; }

StarCoderModel::StarCoderModel(const ModelConfig& cfg, Backend& backend, int64_t max_context)
    : ArenaModel(cfg, backend) {
    if (max_context > cfg.max_position)
        fail("{}: context length {} exceeds the model's {} learned positions (n_positions)", cfg.hf_architecture,
             max_context, cfg.max_position);
    if (cfg.n_kv_head != 1 && cfg.n_kv_head != cfg.n_head)
        fail("{}: {} key/value heads for {} heads: GPT-BigCode has 1 (multi_query) or one per head",
             cfg.hf_architecture, cfg.n_kv_head, cfg.n_head);
    heads_.n_head = cfg.n_head;
    heads_.n_kv_head = cfg.n_kv_head;
    heads_.head_dim = cfg.head_dim;
    heads_.rope_dim = 0;
    attn_params_.scale = 1.0f / std::sqrt(float(cfg.head_dim));

    const int64_t E = cfg.n_embd;
    w_.tok_embd = arena_.alloc({cfg.n_vocab, E});
    w_.pos_embd = arena_.alloc({cfg.max_position, E});
    for (int il = 0; il < cfg.n_layer; ++il) w_.layers.push_back(alloc_gelu_layer(arena_, cfg, qkv_rows(cfg)));
    w_.output_norm = arena_.alloc({E});
    w_.output_norm_b = arena_.alloc({E});
}

void StarCoderModel::load(const TensorSource& src) {
    const ModelConfig& c = cfg_;
    const int64_t E = c.n_embd, F = c.n_ff, QD = int64_t(c.n_head) * c.head_dim;
    const bool interleaved = c.n_kv_head == c.n_head && c.n_head > 1;  // multi_query = false
    auto put = [&](Tensor dst, const std::string& name, std::vector<int64_t> shape) {
        arena_.upload(dst, src.require(name, shape));
    };
    auto put_qkv = [&](Tensor dst, const std::string& name, std::vector<int64_t> shape) {
        if (interleaved) {
            upload_head_interleaved_qkv(be_, dst, src.require(name, shape), c.n_head, c.head_dim);
            arena_.written(dst);
        } else {
            put(dst, name, shape);
        }
    };
    put(w_.tok_embd, "transformer.wte.weight", {c.n_vocab, E});
    put(w_.pos_embd, "transformer.wpe.weight", {c.max_position, E});
    for (int il = 0; il < c.n_layer; ++il) {
        GeluLayerWeights& l = w_.layers[size_t(il)];
        const std::string p = "transformer.h." + std::to_string(il) + ".";
        put(l.attn_norm, p + "ln_1.weight", {E});
        put(l.attn_norm_b, p + "ln_1.bias", {E});
        put_qkv(l.wqkv, p + "attn.c_attn.weight", {qkv_rows(c), E});
        put_qkv(l.bqkv, p + "attn.c_attn.bias", {qkv_rows(c)});
        put(l.wo, p + "attn.c_proj.weight", {E, QD});
        put(l.bo, p + "attn.c_proj.bias", {E});
        put(l.ffn_norm, p + "ln_2.weight", {E});
        put(l.ffn_norm_b, p + "ln_2.bias", {E});
        put(l.w_up, p + "mlp.c_fc.weight", {F, E});
        put(l.b_up, p + "mlp.c_fc.bias", {F});
        put(l.w_down, p + "mlp.c_proj.weight", {E, F});
        put(l.b_down, p + "mlp.c_proj.bias", {E});
    }
    put(w_.output_norm, "transformer.ln_f.weight", {E});
    put(w_.output_norm_b, "transformer.ln_f.bias", {E});
    w_.lm_head = load_lm_head(arena_, c, src, w_.tok_embd);
}

void StarCoderModel::randomize(uint64_t seed) {
    const float stddev = 0.02f;
    uint64_t k = 0;
    arena_.fill_random(w_.tok_embd, seed + k++, stddev);
    arena_.fill_random(w_.pos_embd, seed + k++, stddev);
    for (GeluLayerWeights& l : w_.layers) randomize_gelu_layer(arena_, l, seed, k);
    arena_.fill_constant(w_.output_norm, 1.0f);
    arena_.fill_constant(w_.output_norm_b, 0.0f);
    w_.lm_head = random_lm_head(arena_, cfg_, w_.tok_embd, seed + k, stddev);
}

size_t StarCoderModel::workspace_bytes(int max_tokens, int max_logits) const {
    return gelu_model_buffer_bytes(be_, cfg_, qkv_rows(cfg_), max_tokens, max_logits, tp());
}

void StarCoderModel::reserve(int max_tokens, int max_logits) {
    reserve_gelu_model_buffers(be_, cfg_, qkv_rows(cfg_), max_tokens, max_logits, tp(), buf_);
}

Tensor StarCoderModel::forward(const Batch& batch, KvLayers& kv) {
    const int n = batch.n_tokens, n_out = batch.n_logits;
    LL_CHECK(n > 0 && n <= buf_.max_tokens && n_out <= buf_.max_logits,
             "starcoder forward: {} tokens / {} logits, reserved {} / {}", n, n_out, buf_.max_tokens, buf_.max_logits);
    Tensor x = buf_.layer.x.slice_rows(0, n), h = buf_.layer.h.slice_rows(0, n);

    be_.embedding(batch.ids, w_.tok_embd, x);
    all_reduce(x);  // vocabulary-split embedding: other ranks' tokens are zero rows here
    be_.embedding(batch.positions, w_.pos_embd, h);
    be_.add(x, h, x);
    dump("tok_pos_embd", -1, x);
    const GeluLayerContext ctx{be_, cfg_, heads_, tp_attention(attn_params_), dump_fn(), tp().comm};
    for (int il = 0; il < cfg_.n_layer; ++il)
        gelu_layer_forward(ctx, w_.layers[size_t(il)], batch, kv[size_t(il)], buf_.layer, n, il);
    be_.layer_norm(x, w_.output_norm, w_.output_norm_b, h, cfg_.norm_eps);
    dump("output_norm", -1, h);

    return output_logits(h, batch, w_.lm_head, buf_.out);  // [n_out, n_vocab] F32
}

}  // namespace

std::unique_ptr<Model> load_starcoder(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                      int64_t max_context, const TpShard& shard, ProgressReporter* progress) {
    return make_loaded<StarCoderModel>(tensors, shard, progress, cfg, backend, max_context);
}

std::unique_ptr<Model> make_dummy_starcoder(const ModelConfig& cfg, Backend& backend, uint64_t seed,
                                            int64_t max_context, const TpShard& shard, ProgressReporter* progress) {
    return make_seeded<StarCoderModel>(seed, shard, progress, cfg, backend, max_context);
}

}  // namespace lightllm
