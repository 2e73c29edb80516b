// The CUDA ops: one public host function (a "launcher") per op, each taking
// the stream it runs on. Semantics are those of the same-named op in
// src/backend/backend.h; shapes and dtypes are checked here, with LL_CHECK, because a
// mismatch is a bug in the caller. Kernels live in cuda/<op>.cu.
#pragma once
#include "backend.h"
#include <cublasLt.h>
#include <cublas_v2.h>
#include <map>
#include <memory>
#include <tuple>
#include <vector>
#include <cuda_runtime.h>

namespace lightllm::gpu {

// The stream a launcher queues on, and whether its kernels may use
// programmatic dependent launch (launch.cuh). CudaBackend passes its stream
// with pdl = CudaOptions::pdl on sm_90+; a plain cudaStream_t converts to
// one without PDL (tests, one-off launches).
struct Stream {
    cudaStream_t stream = nullptr;
    bool pdl = false;
    Stream(cudaStream_t s, bool use_pdl = false) : stream(s), pdl(use_pdl) {}
    operator cudaStream_t() const { return stream; }
};

void embedding(const Tensor& ids, const Tensor& table, Tensor& out, Stream s);
void rms_norm(const Tensor& x, const Tensor& w, Tensor& out, float eps, Stream s);
void add_rms_norm(Tensor& residual, const Tensor& delta, const Tensor& w, Tensor& out, float eps,
                  Stream s);
void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& out, float eps, Stream s);

// out = x @ w^T (+ bias) through cuBLASLt (fp32 accumulation), one tuned plan
// per shape (gemm.cu); owned by the backend, used by its engine thread only.
class LinearPlans {
public:
    // tune: whether set_tuning(true) may time candidates (--no-gemm-tune: never).
    LinearPlans(void* workspace, size_t workspace_bytes, bool tune);
    ~LinearPlans();
    LinearPlans(const LinearPlans&) = delete;
    LinearPlans& operator=(const LinearPlans&) = delete;
    void run(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, Stream s);
    // While on, a shape not seen before times the heuristic's candidate
    // algorithms and keeps the fastest (~10 ms per shape); off, it takes the
    // heuristic's first choice. ModelRunner turns it on for its start-up
    // warm-up only, so serving never stalls on tuning.
    void set_tuning(bool on);

private:
    struct Plan;
    cublasLtHandle_t lt_ = nullptr;
    void* ws_;
    size_t ws_bytes_;
    bool tune_ = true;     // false: tuning off for good (CudaOptions::gemm_tune)
    bool tuning_ = false;  // set_tuning()
    // While tuning: a buffer larger than L2, rewritten before each timed run
    // so candidates read the weights from DRAM as in a model's forward (each
    // weight is used once per step); null if it could not be allocated.
    void* l2_flush_ = nullptr;
    size_t l2_flush_bytes_ = 0;
    std::map<std::tuple<int64_t, int64_t, int64_t, int, bool>, std::unique_ptr<Plan>> plans_;
    std::vector<std::unique_ptr<Plan>> held_;  // made during a graph capture: kept alive, not reused
};

// The same for x of 1..4 rows (decode), streaming w with 16-byte loads; f16/bf16, k % 8 == 0.
bool gemv_applies(const Tensor& x, const Tensor& w);
void gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, Stream s);

void rope_store_kv(const Tensor& qkv, const Tensor& positions, const Tensor& inv_freq, const HeadShape& heads,
                   const Tensor& slots, KvLayer& kv, Tensor& q_out, Stream s);

void silu_mul(const Tensor& gate_up, Tensor& out, Stream s);
void gelu(const Tensor& x, Tensor& out, Stream s);
void add(const Tensor& a, const Tensor& b, Tensor& out, Stream s);
void gather_rows(const Tensor& x, const Tensor& rows, Tensor& out, Stream s);
void set_token_slots(Tensor& table, const Tensor& token_rows, const Tensor& positions, const Tensor& slots,
                     Stream s);
// n elements of src_dtype at src -> dst_dtype at dst (F32/F16/BF16 among
// themselves; I32 and I8 only to themselves).
void convert(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n, Stream s);
// Seeded normal(0, stddev): element i depends only on (seed, i).
void fill_random(Tensor& t, uint64_t seed, float stddev, Stream s);

// ---- attention ----
// Decode (one new query per request): flash-decoding, each request's keys split
// into n_splits chunks (sized on the device from kv_len, so the launch shape
// depends only on n_reqs and n_splits: CUDA-graph safe), then a reduce kernel.
int decode_attention_splits(int n_reqs, int n_head, int n_kv_head, int n_sm);
// n_parts: n_splits, plus cascade_attention_chunks() when the batch has cascade groups.
size_t decode_attention_workspace_bytes(int n_reqs, int n_head, int head_dim, int n_parts);
// Cascade (shared-prefix) decode attention (cascade_attention.cu): into how
// many key chunks each group's shared prefix is cut (>= 1; 0 when the batch
// has no groups). Depends on the groups, so cascade steps run eagerly.
int cascade_attention_chunks(const CascadeGroups& groups, const HeadShape& heads, int n_sm);
// True when the fast kernels (decode / tensor-core prefill) take this shape.
bool attention_fast_path(DType dtype, int head_dim);
// How one decode-attention launch splits the keys.
struct DecodeSplits {
    void* workspace = nullptr;  // decode_attention_workspace_bytes(), unless n_splits == 1
    int n_splits = 1;           // decode_attention_splits()
    int n_sm = 0;               // the device's multiprocessors (the backend reads it once)
    int n_cascade_chunks = 0;   // cascade_attention_chunks(); 0: ignore batch.cascade
};
void decode_attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                      const AttentionParams& params, Tensor& out, const DecodeSplits& split, Stream s);
// Prefill / chunked prefill: FlashAttention-2 style on tensor cores (mma.sync),
// 64 queries of one (request, head) per block, keys read through the table.
void prefill_attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                       const AttentionParams& params, Tensor& out, Stream s);
// Any dtype / head_dim up to 256: one warp per (query, head), keys one by one.
void reference_attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                         const AttentionParams& params, Tensor& out, Stream s);

// ---- sampling ----
// ids[i] = argmax_j logits[i, j] (lowest index on ties)   logits [n, vocab] F32/F16/BF16, ids [n] I32
// and, when logprobs is given ([n] F32), the log-softmax of the row at that id.
void argmax_rows(const Tensor& logits, Tensor& ids, Tensor* logprobs, Stream s);

// Full sampling with the host sampler's semantics (src/engine/sampler.h), one row of
// logits per request (sample_rows.cu says how). Per-row parameters live on
// the device; a row's penalty entries are pen_ids / pen_counts
// [pen_begin, pen_end): its penalized token ids (ids outside [0, vocab) are ignored) and their
// counts among the output tokens (0 for prompt-only). With a presence or
// frequency penalty the ids are distinct and sorted (counts are looked up);
// otherwise they may repeat and come in any order (counts are not read).
constexpr int kSampleMaxTop = 20;  // most top logprobs per row
struct SampleRowParams {
    float temperature;          // used only when !greedy
    int32_t top_k;              // <= 0: off
    float top_p;                // >= 1: off
    float min_p;                // <= 0: off
    float repetition_penalty;   // applied to every penalty entry when != 1
    float presence_penalty;     // applied to entries with count > 0
    float frequency_penalty;
    int32_t n_top;              // top logprobs wanted, 0..kSampleMaxTop
    uint64_t seed, counter;     // the draw is uniform01(seed, counter)
    int32_t pen_begin, pen_end;
    int32_t greedy;             // 1: argmax of the penalized logits
    int32_t unused = 0;
};
static_assert(sizeof(SampleRowParams) == 64, "SampleRowParams is uploaded as 16 int32 words");
// logits [n_rows, vocab] F32/F16/BF16; params [n_rows] (device); ids [n_rows]
// I32; logprobs [n_rows] F32 (raw log-softmax at the id); top_ids / top_logprobs
// [n_rows, kSampleMaxTop] (device; only the first n_top of a row are written,
// best first). any_penalty: some row has pen_end > pen_begin. workspace:
// device scratch of at least sample_rows_workspace_bytes(n_rows) bytes.
struct SampleRowsArgs {
    const Tensor* logits = nullptr;
    const SampleRowParams* params = nullptr;
    int n_rows = 0;
    const int32_t* pen_ids = nullptr;
    const int32_t* pen_counts = nullptr;
    bool any_penalty = false;
    Tensor* ids = nullptr;
    Tensor* logprobs = nullptr;
    int32_t* top_ids = nullptr;
    float* top_logprobs = nullptr;
    void* workspace = nullptr;
    size_t workspace_bytes = 0;
};
size_t sample_rows_workspace_bytes(int max_rows);
void sample_rows(const SampleRowsArgs& args, Stream s);

}  // namespace lightllm::gpu
