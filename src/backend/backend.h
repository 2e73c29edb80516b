// Backend: the op interface that models are written against, plus the memory
// it runs in. Two implementations, chosen once at start-up:
//   - CpuBackend  (src/backend/cpu_backend.cpp): fp32 math, plain loops, the oracle;
//   - CudaBackend (cuda/cuda_backend.cpp + cuda/*.cu): the product.
// Every op has the same semantics on both; tests/test_cuda_ops.cpp checks the
// CUDA version of each op against the CPU one.
//
// Conventions: tensors are row-major; activations are [n_tokens, width];
// weights are [n_out, n_in] (as in PyTorch's nn.Linear); all tensors passed to
// one call live on this backend's device. Activations and weights have the
// backend's compute dtype (F32 on CPU; F16/BF16 on CUDA); index tensors are I32.
#pragma once
#include "tensor.h"
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace lightllm {

// K and V of one layer in the token-wise pool: one slot per token.
struct KvLayer {
    Tensor k;        // [capacity, n_kv_head, head_dim], kv dtype (I8 in int8 mode)
    Tensor v;        // [capacity, n_kv_head, head_dim]
    Tensor k_scale;  // int8 mode only: [capacity, n_kv_head] F32 (symmetric, per token per head)
    Tensor v_scale;  // int8 mode only: [capacity, n_kv_head] F32
};
// Every layer's K/V, [n_layer] (the engine's TokenKvPool owns the memory).
using KvLayers = std::vector<KvLayer>;

// Shape of the attention heads of one layer.
struct HeadShape {
    int n_head = 0;
    int n_kv_head = 0;
    int head_dim = 0;
    int rope_dim = 0;  // rotated dims per head (neox / rotate_half layout); 0: no RoPE
};

// Cascade (shared-prefix) decode attention, an optional hint to the backend:
// decode requests (indices < n_decode_first) in groups of >= 2 whose table
// rows hold the same KV slots for positions [0, shared_len[g]) (slots are
// owned once, so equal slots are the same K/V). A backend may read a group's
// shared keys once for all its members' queries and merge that partial
// softmax with each member's own keys [shared_len, kv_len); the result is
// plain attention re-associated. Backends ignore it for sliding-window and
// ALiBi attention. Built by the engine (src/engine/cascade_plan.h).
struct CascadeGroups {
    Tensor group_start;  // [n_groups + 1] I32: group g's members are members[group_start[g] .. group_start[g+1])
    Tensor members;      // [n_members] I32: request indices of the batch
    Tensor shared_len;   // [n_groups] I32: keys every member of group g shares
    Tensor req_shared;   // [n_reqs] I32: shared_len of request r's group, 0 when r is in none
    int n_groups = 0;
    int n_members = 0;
    int max_members = 0;     // over groups
    int max_shared_len = 0;  // over groups
};

// Where each request's tokens are, for attention. Device tensors plus host
// scalars that size the launches.
struct AttentionBatch {
    Tensor q_start;  // [n_reqs + 1] I32: request r's new tokens are rows q_start[r]..q_start[r+1]
    Tensor kv_len;   // [n_reqs] I32: tokens of request r in the cache after this step (cached + new)
    Tensor req_rows; // [n_reqs] I32: request r's row in `table`
    Tensor table;    // [max_requests, max_context] I32: ReqToTokenTable, slot of token p of row
    int n_reqs = 0;
    int n_tokens = 0;
    int max_q_len = 0;   // max over r of new tokens
    int max_kv_len = 0;  // max over r of kv_len
    // Requests 0..n_decode_first-1 each feed exactly one new token (the router
    // lists decodes before prefill chunks). Backends may run them through a
    // decode kernel even when later requests prefill; the result is the same.
    int n_decode_first = 0;
    CascadeGroups cascade;  // n_groups == 0: none this step
};

struct AttentionParams {
    float scale = 1.0f;      // usually 1/sqrt(head_dim)
    int sliding_window = 0;  // 0: full causal attention; else keys with pos > q_pos - window
    bool alibi = false;      // add ALiBi bias slope_h * (key_pos - q_pos), slope_h = alibi_slope(h, n_head)
                             // (cpu_backend.h; BLOOM's rule, as in BLOOM/Baichuan-13B)
    // Tensor parallelism: this rank's heads are heads alibi_head_offset.. of a
    // model with alibi_n_head heads (0: heads.n_head), for the ALiBi slopes.
    int alibi_head_offset = 0;
    int alibi_n_head = 0;
};

class DecodeAccelerator;

// The CUDA backend's speed-ups, each switchable for measurements and tests
// (--no-cuda-graphs, --no-gemm-tune, --no-pdl).
struct CudaOptions {
    bool graphs = true;     // decode steps replayed from CUDA graphs
    bool gemm_tune = true;  // time cuBLASLt candidates per shape at start-up
    bool pdl = true;        // programmatic dependent launch (sm_90+)
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual Device device() const = 0;
    virtual std::string name() const = 0;
    // dtype for activations and weights on this backend (F32 on CPU).
    virtual DType compute_dtype() const = 0;

    // ---- memory ----
    virtual Tensor alloc(DType dtype, std::initializer_list<int64_t> shape) = 0;
    virtual void free(Tensor& t) = 0;
    // Host → device, converting from `src_dtype` (F32/F16/BF16/I32/I8) to dst.dtype.
    virtual void upload(Tensor& dst, const void* src, DType src_dtype) = 0;
    // Device → host, no conversion: `dst` holds src.nbytes().
    virtual void download(const Tensor& src, void* dst) = 0;
    // Seeded normal(0, stddev) values, for --load-format dummy (the CPU backend
    // writes stddev * normal01(seed, i) to element i, counter_rng.h).
    virtual void fill_random(Tensor& t, uint64_t seed, float stddev) = 0;
    // Bytes still free on the device (host RAM for the CPU backend).
    virtual size_t free_memory() const = 0;
    virtual void synchronize() = 0;
    // `--profile-ops`: time every op from now on and print the table per op
    // kind to stderr when the backend is destroyed. False when this backend
    // cannot (the CPU backend).
    virtual bool enable_op_profile() { return false; }
    // While on, linear layers of a shape not seen before may time candidate
    // algorithms and keep the fastest (CUDA: a few ms per shape). ModelRunner
    // turns it on for its start-up warm-up only. A no-op on the CPU backend.
    virtual void set_gemm_tuning(bool on) {}
    // Decode-step CUDA graphs and on-device sampling (decode_accelerator.h),
    // for steps of up to max_batch sequences; nullptr where the backend has
    // none (the CPU backend).
    virtual std::unique_ptr<DecodeAccelerator> make_decode_accelerator(int max_batch);

    // ---- ops ----
    // out[i, :] = table[ids[i], :]                        ids [n] I32, table [n_vocab, d]
    virtual void embedding(const Tensor& ids, const Tensor& table, Tensor& out) = 0;
    // out = x / rms(x) * w                                 x, out [n, d], w [d]
    virtual void rms_norm(const Tensor& x, const Tensor& w, Tensor& out, float eps) = 0;
    // residual += delta; out = rms_norm(residual) * w      (fused residual add)
    virtual void add_rms_norm(Tensor& residual, const Tensor& delta, const Tensor& w, Tensor& out, float eps) = 0;
    // out = (x - mean) / std * w + b                       (BLOOM, StarCoder)
    virtual void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& out, float eps) = 0;
    // out = x @ w^T (+ bias)                               x [n, k], w [m, k], bias [m] or empty, out [n, m]
    virtual void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) = 0;
    // Splits qkv [n, (n_head + 2 n_kv_head) * head_dim] into q, k, v; rotates the
    // first rope_dim dims of each q and k head (rotate_half layout, angle
    // positions[i] * inv_freq[j]); writes rotated q to q_out [n, n_head*head_dim]
    // and k, v into the cache at slots[i].            positions, slots [n] I32, inv_freq [rope_dim/2] F32
    // Int8 cache (kv.k.dtype == I8): K and V quantized per token per head
    // (src/backend/kv_quant.h); when head_dim is a power of two, q_out and the stored
    // keys are Hadamard-rotated (H q, H k), which attention does not notice.
    virtual void rope_store_kv(const Tensor& qkv, const Tensor& positions, const Tensor& inv_freq,
                               const HeadShape& heads, const Tensor& slots, KvLayer& kv, Tensor& q_out) = 0;
    // Causal attention of each request's new queries over all its cached tokens
    // (read through the table), GQA/MQA by n_head / n_kv_head. The query at row
    // q_start[r] + j sits at position kv_len[r] - n_new_r + j.
    //                                                      q, out [n_tokens, n_head*head_dim]
    virtual void attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch,
                           const HeadShape& heads, const AttentionParams& params, Tensor& out) = 0;
    // out = silu(gate) * up where gate_up = [gate | up]     gate_up [n, 2f], out [n, f]
    virtual void silu_mul(const Tensor& gate_up, Tensor& out) = 0;
    // out = gelu_tanh(x)                                    (BLOOM, StarCoder)
    virtual void gelu(const Tensor& x, Tensor& out) = 0;
    // out = a + b
    virtual void add(const Tensor& a, const Tensor& b, Tensor& out) = 0;
    // out[i, :] = x[rows[i], :]                            (pick the rows that need logits)
    virtual void gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) = 0;
    // table[token_rows[i], positions[i]] = slots[i]       (record new tokens' slots)
    virtual void set_token_slots(Tensor& table, const Tensor& token_rows, const Tensor& positions,
                                 const Tensor& slots) = 0;
    // out (F32) = x converted to F32                      (logits to the sampler)
    virtual void to_f32(const Tensor& x, Tensor& out) = 0;
};

std::unique_ptr<Backend> make_cpu_backend();
// Returns nullptr when lightllm was built without CUDA. `compute_dtype` (F16
// or BF16) is the dtype of activations and weights on that backend.
std::unique_ptr<Backend> make_cuda_backend(int device_index, DType compute_dtype = DType::BF16,
                                           const CudaOptions& options = {});
// True when built with CUDA and a GPU is present.
bool cuda_device_available();

}  // namespace lightllm
