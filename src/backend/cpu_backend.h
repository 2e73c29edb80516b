// CpuBackend: the reference implementation of the op interface (backend.h).
// fp32 math in plain loops (OpenMP over the outer loops), written to be
// obviously right rather than fast: it is the oracle the CUDA kernels are
// tested against and the engine CI runs on.
//
// Activations and weights are F32. The KV cache may be F32, F16, BF16 or I8;
// I8 uses the symmetric per-token, per-head format of kv_quant.h.
#pragma once
#include "backend.h"

namespace lightllm {

class CpuBackend : public Backend {
public:
    Device device() const override { return Device::CPU; }
    std::string name() const override { return "cpu"; }
    DType compute_dtype() const override { return DType::F32; }

    Tensor alloc(DType dtype, std::initializer_list<int64_t> shape) override;
    void free(Tensor& t) override;
    void upload(Tensor& dst, const void* src, DType src_dtype) override;
    void download(const Tensor& src, void* dst) override;
    void fill_random(Tensor& t, uint64_t seed, float stddev) override;
    size_t free_memory() const override;
    void synchronize() override {}

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
};

// ALiBi slope of head h of n_head (BLOOM's rule: powers of 2^(-8/n) for the
// largest power of two n <= n_head, then the odd powers of 2^(-4/n) for the
// rest). Shared by the CPU and CUDA backends.
float alibi_slope(int h, int n_head);

// K or V of one KV head of token `slot` as F32 (dequantized from an I8 cache
// with its scale): out [head_dim].
void load_kv_head(const Tensor& cache, const Tensor& scale, int64_t slot, int kv_head, int n_kv_head, int head_dim,
                  float* out);

}  // namespace lightllm
