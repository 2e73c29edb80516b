// SwiGLU activation: out[i, j] = silu(gate_up[i, j]) * gate_up[i, f + j],
// gate_up [n, 2f] holding gate then up. fp32 math, one thread per output.
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

namespace lightllm::gpu {

template <typename T>
static __global__ void silu_mul_kernel(const T* gate_up, T* out, int64_t n, int64_t f) {
    pdl_wait();
    pdl_launch_dependents();
    int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n * f) return;
    int64_t i = idx / f, j = idx - i * f;
    float g = to_float(gate_up[i * 2 * f + j]);
    float u = to_float(gate_up[i * 2 * f + f + j]);
    out[idx] = from_float<T>(g / (1.0f + __expf(-g)) * u);
}

void silu_mul(const Tensor& gate_up, Tensor& out, cudaStream_t s) {
    int64_t f = out.dim(-1), n = out.rows();
    LL_CHECK(gate_up.dim(-1) == 2 * f && gate_up.rows() == n && gate_up.dtype == out.dtype,
             "silu_mul: gate_up {} out {}", gate_up.shape_str(), out.shape_str());
    int64_t total = n * f;
    if (total == 0) return;
    int blocks = int((total + 255) / 256);
    LL_DISPATCH_FLOAT(out.dtype, launch_pdl(silu_mul_kernel<scalar_t>, blocks, 256, 0, s, gate_up.ptr<scalar_t>(),
                                                                                 out.ptr<scalar_t>(), n, f));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
