// Model: one architecture's weights and forward pass, written once against
// the Backend ops. The engine (model_runner.cpp) builds a packed Batch per
// step and asks the model for the logits of the rows that need them.
// A new architecture is a new file in models/ plus one case in load_model.
#pragma once
#include "backend.h"
#include "model_config.h"
#include "progress.h"
#include "tensor_source.h"
#include "tp_shard.h"
#include <cstdint>
#include <functional>
#include <memory>

namespace lightllm {

// Debug hook: sees every named intermediate of a forward pass ("attn_norm",
// "qkv", "attn_out", ..., layer index il, or -1 outside the layers), on the
// device, valid only during the call. For finding a mismatch with a reference
// implementation layer by layer.
using TensorDumpFn = std::function<void(const char* name, int il, const Tensor& t)>;

// One engine step, packed without padding, on the device.
struct Batch {
    Tensor ids;         // [n_tokens] I32 token ids, request after request
    Tensor positions;   // [n_tokens] I32 position of each token in its request
    Tensor slots;       // [n_tokens] I32 KV slot each new token is written to
    Tensor logit_rows;  // [n_logits] I32 rows of the batch whose logits are wanted
    AttentionBatch attn;
    int n_tokens = 0;
    int n_logits = 0;
};

class Model {
public:
    virtual ~Model() = default;
    virtual const ModelConfig& config() const = 0;
    // Bytes of the weights on the device.
    virtual size_t weight_bytes() const = 0;
    // Device bytes of the activation buffers for `max_tokens` tokens per step
    // and `max_logits` logit rows.
    virtual size_t workspace_bytes(int max_tokens, int max_logits) const = 0;
    // Allocates those buffers; forward() accepts batches within them.
    virtual void reserve(int max_tokens, int max_logits) = 0;
    // Writes the new tokens' K/V into `kv` (one KvLayer per layer) and returns logits
    // [n_logits, n_vocab] F32 on the device, valid until the next forward.
    virtual Tensor forward(const Batch& batch, KvLayers& kv) = 0;
    // Calls `dump` on each intermediate of later forwards (empty: none).
    void set_dump(TensorDumpFn dump) { dump_ = std::move(dump); }
    // This rank's tensor-parallel shard (tp_shard.h); set before the weights load.
    void set_tp(const TpShard& shard) { tp_ = shard; }
    const TpShard& tp() const { return tp_; }

protected:
    // Sums a row-parallel layer's partial output over the ranks (no-op at world 1).
    void all_reduce(Tensor& t) const;
    // `p` with the ALiBi slopes of this rank's global head indices.
    AttentionParams tp_attention(AttentionParams p) const {
        p.alibi_head_offset = tp_.head_begin;
        p.alibi_n_head = tp_.n_head_total;
        return p;
    }
    void dump(const char* name, int il, const Tensor& t) const {
        if (dump_) dump_(name, il, t);
    }
    const TensorDumpFn& dump_fn() const { return dump_; }  // for layer helpers shared by architectures

private:
    TensorDumpFn dump_;
    TpShard tp_;
};

// Loads the weights of `cfg.arch` from `tensors` in backend.compute_dtype().
// `max_context` is the engine's context length (for dynamic RoPE scaling).
// Under tensor parallelism (`shard.world` > 1) the model holds this rank's
// shard only (tp_shard.h) and its forward joins the other ranks' through
// shard.comm; `cfg` is always the whole model's. `progress` (may be null)
// sees every weight written.
std::unique_ptr<Model> load_model(const ModelConfig& cfg, const TensorSource& tensors, Backend& backend,
                                  int64_t max_context, const TpShard& shard = {}, ProgressReporter* progress = nullptr);
// The same architecture with seeded random weights (--load-format dummy).
std::unique_ptr<Model> make_dummy_model(const ModelConfig& cfg, Backend& backend, uint64_t seed, int64_t max_context,
                                        const TpShard& shard = {}, ProgressReporter* progress = nullptr);

}  // namespace lightllm

namespace lightllm {

// Helpers for model loaders.
// Copies a file tensor into `dst` (a device tensor or a row slice of one with
// the same element count), converting to dst.dtype; F32/F16/BF16 go straight
// to the backend, quantized types through tensor_to_f32.
void upload_file_tensor(Backend& backend, Tensor& dst, const TensorInfo& info);

}  // namespace lightllm
