// GELU, tanh approximation (BLOOM, StarCoder):
// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), fp32 math.
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

namespace lightllm::gpu {

template <typename T>
static __global__ void gelu_kernel(const T* x, T* out, int64_t n) {
    pdl_wait();
    pdl_launch_dependents();
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = to_float(x[i]);
    float t = tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v));
    out[i] = from_float<T>(0.5f * v * (1.0f + t));
}

void gelu(const Tensor& x, Tensor& out, Stream s) {
    LL_CHECK(x.numel() == out.numel() && x.dtype == out.dtype, "gelu: x {} out {}", x.shape_str(), out.shape_str());
    int64_t n = x.numel();
    if (n == 0) return;
    int blocks = int((n + 255) / 256);
    LL_DISPATCH_FLOAT(x.dtype, launch_pdl(gelu_kernel<scalar_t>, blocks, 256, 0, s, x.ptr<scalar_t>(), out.ptr<scalar_t>(), n));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
