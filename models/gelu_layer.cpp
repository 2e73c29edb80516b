// The pre-LN GELU decoder layer of BLOOM and StarCoder (see gelu_layer.h).
#include "gelu_layer.h"
#include "communicator.h"

namespace lightllm {

GeluLayerWeights alloc_gelu_layer(WeightArena& arena, const ModelConfig& c, int64_t qkv_rows) {
    const int64_t E = c.n_embd, F = c.n_ff, QD = int64_t(c.n_head) * c.head_dim;
    GeluLayerWeights l;
    l.attn_norm = arena.alloc({E});
    l.attn_norm_b = arena.alloc({E});
    l.wqkv = arena.alloc({qkv_rows, E});
    l.bqkv = arena.alloc({qkv_rows});
    l.wo = arena.alloc({E, QD});
    l.bo = arena.alloc({E});
    l.ffn_norm = arena.alloc({E});
    l.ffn_norm_b = arena.alloc({E});
    l.w_up = arena.alloc({F, E});
    l.b_up = arena.alloc({F});
    l.w_down = arena.alloc({E, F});
    l.b_down = arena.alloc({E});
    return l;
}

void randomize_gelu_layer(WeightArena& arena, GeluLayerWeights& l, uint64_t seed, uint64_t& k) {
    const float stddev = 0.02f;
    for (Tensor* w : {&l.attn_norm, &l.ffn_norm}) arena.fill_constant(*w, 1.0f);
    for (Tensor* b : {&l.attn_norm_b, &l.ffn_norm_b, &l.bqkv, &l.bo, &l.b_up, &l.b_down}) arena.fill_constant(*b, 0.0f);
    for (Tensor* w : {&l.wqkv, &l.wo, &l.w_up, &l.w_down}) arena.fill_random(*w, seed + k++, stddev);
}

GeluLayerWorkspace alloc_gelu_workspace(Backend& be, const ModelConfig& c, int64_t qkv_rows, int64_t max_tokens) {
    const DType dt = be.compute_dtype();
    const int64_t T = max_tokens, QD = int64_t(c.n_head) * c.head_dim;
    GeluLayerWorkspace ws;
    ws.x = be.alloc(dt, {T, c.n_embd});
    ws.h = be.alloc(dt, {T, c.n_embd});
    ws.qkv = be.alloc(dt, {T, qkv_rows});
    ws.q = be.alloc(dt, {T, QD});
    ws.attn = be.alloc(dt, {T, QD});
    ws.proj = be.alloc(dt, {T, c.n_embd});
    ws.up = be.alloc(dt, {T, c.n_ff});
    ws.act = be.alloc(dt, {T, c.n_ff});
    return ws;
}

void free_gelu_workspace(Backend& be, GeluLayerWorkspace& ws) {
    for (Tensor* t : {&ws.x, &ws.h, &ws.qkv, &ws.q, &ws.attn, &ws.proj, &ws.up, &ws.act})
        if (!t->empty()) be.free(*t);
}

size_t gelu_workspace_elems_per_token(const ModelConfig& c, int64_t qkv_rows) {
    const size_t E = size_t(c.n_embd), QD = size_t(c.n_head) * c.head_dim;
    return 3 * E + size_t(qkv_rows) + 2 * QD + 2 * size_t(c.n_ff);
}

void gelu_layer_forward(const GeluLayerContext& ctx, const GeluLayerWeights& l, const Batch& batch, KvLayer& kv,
                        GeluLayerWorkspace& ws, int n, int il) {
    Backend& be = ctx.be;
    const ModelConfig& c = ctx.c;
    const HeadShape& heads = ctx.heads;
    const AttentionParams& attn_params = ctx.attn;
    const TensorDumpFn& dump = ctx.dump;
    Communicator* comm = ctx.comm;
    auto show = [&](const char* name, const Tensor& t) {
        if (dump) dump(name, il, t);
    };
    Tensor x = ws.x.slice_rows(0, n), h = ws.h.slice_rows(0, n), qkv = ws.qkv.slice_rows(0, n);
    Tensor q = ws.q.slice_rows(0, n), attn = ws.attn.slice_rows(0, n), proj = ws.proj.slice_rows(0, n);
    Tensor up = ws.up.slice_rows(0, n), act = ws.act.slice_rows(0, n);
    const Tensor no_rope;
    const float eps = c.norm_eps;
    be.layer_norm(x, l.attn_norm, l.attn_norm_b, h, eps);
    show("attn_norm", h);
    be.linear(h, l.wqkv, l.bqkv, qkv);
    show("qkv", qkv);
    be.rope_store_kv(qkv, batch.positions, no_rope, heads, batch.slots, kv, q);  // rope_dim 0: split + store
    be.attention(q, kv, batch.attn, heads, attn_params, attn);
    show("attn", attn);
    be.linear(attn, l.wo, l.bo, proj);
    if (comm) comm->all_reduce_sum(proj);  // row-parallel (the bias is on rank 0 only)
    show("attn_out", proj);
    be.add(x, proj, x);
    be.layer_norm(x, l.ffn_norm, l.ffn_norm_b, h, eps);
    show("ffn_norm", h);
    be.linear(h, l.w_up, l.b_up, up);
    be.gelu(up, act);
    show("ffn_act", act);
    be.linear(act, l.w_down, l.b_down, proj);
    if (comm) comm->all_reduce_sum(proj);
    show("ffn_out", proj);
    be.add(x, proj, x);
    show("layer_out", x);
}

size_t gelu_model_buffer_bytes(const Backend& be, const ModelConfig& c, int64_t qkv_rows, int max_tokens,
                               int max_logits, const TpShard& tp) {
    return size_t(max_tokens) * gelu_workspace_elems_per_token(c, qkv_rows) * dtype_size(be.compute_dtype()) +
           logits_workspace_bytes(be, c, max_logits, tp);
}

void reserve_gelu_model_buffers(Backend& be, const ModelConfig& c, int64_t qkv_rows, int max_tokens, int max_logits,
                                const TpShard& tp, GeluModelBuffers& buf) {
    free_gelu_model_buffers(be, buf);
    buf.layer = alloc_gelu_workspace(be, c, qkv_rows, max_tokens);
    buf.out = alloc_logits_workspace(be, c, max_logits, tp);
    buf.max_tokens = max_tokens;
    buf.max_logits = max_logits;
}

void free_gelu_model_buffers(Backend& be, GeluModelBuffers& buf) {
    free_gelu_workspace(be, buf.layer);
    free_logits_workspace(be, buf.out);
}

}  // namespace lightllm
