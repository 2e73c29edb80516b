// CudaBackend: the op interface (backend.h) on one NVIDIA GPU. Ops are the
// launchers of cuda/kernels.h, all queued on the backend's one stream; linear
// layers go through cuBLASLt plans with a fixed workspace (so a decode step
// can be captured into a CUDA graph). Memory is plain cudaMalloc.
// Only the engine thread uses it.
#pragma once
#include "backend.h"
#include "kernels.h"
#include <cuda_runtime.h>
#include <memory>
#include <vector>

namespace lightllm {

class CudaBackend;
class DecodeAccelerator;
// Defined in cuda/decode_accelerator.cpp.
std::unique_ptr<DecodeAccelerator> make_cuda_decode_accelerator(CudaBackend& backend, int max_batch, bool graphs);
class CudaOpProfile;

class CudaBackend : public Backend {
public:
    CudaBackend(int device_index, DType compute_dtype, const CudaOptions& options = {});
    ~CudaBackend() override;
    CudaBackend(const CudaBackend&) = delete;
    CudaBackend& operator=(const CudaBackend&) = delete;

    Device device() const override { return Device::CUDA; }
    std::string name() const override;
    DType compute_dtype() const override { return compute_dtype_; }

    Tensor alloc(DType dtype, std::initializer_list<int64_t> shape) override;
    void free(Tensor& t) override;
    void upload(Tensor& dst, const void* src, DType src_dtype) override;
    void download(const Tensor& src, void* dst) override;
    void fill_random(Tensor& t, uint64_t seed, float stddev) override;
    size_t free_memory() const override;
    void synchronize() override;
    bool enable_op_profile() override;
    void set_gemm_tuning(bool on) override;
    std::unique_ptr<DecodeAccelerator> make_decode_accelerator(int max_batch) override;

    void embedding(const Tensor& ids, const Tensor& table, Tensor& out) override;
    void rms_norm(const Tensor& x, const Tensor& w, Tensor& out, float eps) override;
    void add_rms_norm(Tensor& residual, const Tensor& delta, const Tensor& w, Tensor& out, float eps) override;
    void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& out, float eps) override;
    void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) override;
    void rope_store_kv(const Tensor& qkv, const Tensor& positions, const Tensor& inv_freq, const HeadShape& heads,
                       const Tensor& slots, KvLayer& kv, Tensor& q_out) override;
    void attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                   const AttentionParams& params, Tensor& out) override;
    void silu_mul(const Tensor& gate_up, Tensor& out) override;
    void gelu(const Tensor& x, Tensor& out) override;
    void add(const Tensor& a, const Tensor& b, Tensor& out) override;
    void gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) override;
    void set_token_slots(Tensor& table, const Tensor& token_rows, const Tensor& positions,
                         const Tensor& slots) override;
    void to_f32(const Tensor& x, Tensor& out) override;

    // ---- CUDA-only ----
    // ids[i] = argmax of logits row i (F32/F16/BF16 [n, vocab] -> I32 [n]);
    // with logprobs ([n] F32), also the log-softmax at that id.
    void argmax_rows(const Tensor& logits, Tensor& ids, Tensor* logprobs = nullptr);
    // Host -> device copy queued on the stream without waiting (src must stay
    // valid until the next synchronize); no dtype conversion.
    void upload_async(Tensor& dst, const void* src);
    cudaStream_t stream() const { return stream_; }
    // The stream as the launchers take it: PDL on when CudaOptions::pdl and sm_90+.
    gpu::Stream launch_stream() const { return {stream_, pdl_}; }
    // The --profile-ops table so far (empty when profiling is off).
    std::string op_profile_report();
    const CudaOptions& options() const { return options_; }

private:
    void* decode_workspace(size_t bytes);
    // Runs `queue_op` (which queues one op on the stream), bracketed by the
    // op profile's events when profiling.
    template <typename F>
    void timed(const char* kind, F&& queue_op);

    int device_ = 0;
    DType compute_dtype_;
    CudaOptions options_;
    bool pdl_ = false;
    cudaStream_t stream_ = nullptr;
    void* cublas_workspace_ = nullptr;
    std::unique_ptr<gpu::LinearPlans> linear_;
    int sm_count_ = 0;
    std::string device_name_;
    void* staging_ = nullptr;  // upload conversion buffer
    size_t staging_bytes_ = 0;
    void* decode_ws_ = nullptr;
    size_t decode_ws_bytes_ = 0;
    // Outgrown workspaces stay allocated until the backend dies: a captured
    // CUDA graph may still point at them.
    std::vector<void*> retired_;
    std::unique_ptr<CudaOpProfile> profile_;  // null unless enable_op_profile()
};

}  // namespace lightllm
