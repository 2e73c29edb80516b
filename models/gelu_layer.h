// The decoder layer BLOOM and StarCoder share: pre-LayerNorm with biases,
// fused qkv with bias, attention without RoPE (the model's AttentionParams
// carry ALiBi or not), output projection, then LayerNorm and a GELU (tanh) MLP,
// each sub-layer added to the residual stream:
//   h = LN(x);  x += wo attn(split(wqkv h + bqkv)) + bo
//   h = LN(x);  x += w_down gelu(w_up h + b_up) + b_down
// What differs between the two (embeddings, tensor names, KV heads, ALiBi)
// stays in their own files.
#pragma once
#include "model.h"
#include "model_common.h"

namespace lightllm {

class Communicator;

struct GeluLayerWeights {
    Tensor attn_norm, attn_norm_b;  // [n_embd] first LayerNorm weight, bias
    Tensor wqkv;                    // [qkv_rows, n_embd]: q rows, then k, then v
    Tensor bqkv;                    // [qkv_rows]
    Tensor wo, bo;                  // [n_embd, n_head * head_dim], [n_embd]
    Tensor ffn_norm, ffn_norm_b;    // [n_embd] second LayerNorm
    Tensor w_up, b_up;              // [n_ff, n_embd], [n_ff]
    Tensor w_down, b_down;          // [n_embd, n_ff], [n_embd]
};

// Activation buffers for up to T tokens (views are row slices).
struct GeluLayerWorkspace {
    Tensor x;     // [T, n_embd] residual stream
    Tensor h;     // [T, n_embd] normed input of the next sub-layer (also free before the first layer)
    Tensor qkv;   // [T, qkv_rows]
    Tensor q;     // [T, n_head * head_dim]
    Tensor attn;  // [T, n_head * head_dim]
    Tensor proj;  // [T, n_embd] attention or MLP output
    Tensor up;    // [T, n_ff]
    Tensor act;   // [T, n_ff]
};

GeluLayerWeights alloc_gelu_layer(WeightArena& arena, const ModelConfig& c, int64_t qkv_rows);
// Seeded random matrices (stddev 0.02, seeds seed + k++), LayerNorms 1 / 0, biases 0.
void randomize_gelu_layer(WeightArena& arena, GeluLayerWeights& l, uint64_t seed, uint64_t& k);

GeluLayerWorkspace alloc_gelu_workspace(Backend& be, const ModelConfig& c, int64_t qkv_rows, int64_t max_tokens);
void free_gelu_workspace(Backend& be, GeluLayerWorkspace& ws);
// Elements (in the compute dtype) of one token's rows of the workspace.
size_t gelu_workspace_elems_per_token(const ModelConfig& c, int64_t qkv_rows);

// A GELU model's buffers: the layers' activations and the logits tail, for up
// to max_tokens tokens and max_logits logit rows per forward.
struct GeluModelBuffers {
    GeluLayerWorkspace layer;
    LogitsWorkspace out;
    int max_tokens = 0;
    int max_logits = 0;
};
size_t gelu_model_buffer_bytes(const Backend& be, const ModelConfig& c, int64_t qkv_rows, int max_tokens,
                               int max_logits, const TpShard& tp);
// Frees what `buf` holds, then allocates for the new sizes.
void reserve_gelu_model_buffers(Backend& be, const ModelConfig& c, int64_t qkv_rows, int max_tokens, int max_logits,
                                const TpShard& tp, GeluModelBuffers& buf);
void free_gelu_model_buffers(Backend& be, GeluModelBuffers& buf);

// What every layer of one GELU model's forward shares.
struct GeluLayerContext {
    Backend& be;
    const ModelConfig& c;
    HeadShape heads;               // this rank's heads
    AttentionParams attn;          // this rank's (Model::tp_attention)
    const TensorDumpFn& dump;      // sees every intermediate (may be empty)
    Communicator* comm = nullptr;  // all-reduce after the row-parallel projections (TP)
};

// One layer over the first n rows of ws.x (in place).
void gelu_layer_forward(const GeluLayerContext& ctx, const GeluLayerWeights& l, const Batch& batch, KvLayer& kv,
                        GeluLayerWorkspace& ws, int n, int il);

}  // namespace lightllm
