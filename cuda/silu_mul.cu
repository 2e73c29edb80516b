// SwiGLU activation: out[i, j] = silu(gate_up[i, j]) * gate_up[i, f + j],
// gate_up [n, 2f] holding gate then up. fp32 math; 16-bit rows with f % 8 == 0
// take 8 outputs per thread with 16-byte loads and stores, others one.
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

template <typename T>
static __global__ void silu_mul_vec_kernel(const T* gate_up, T* out, int64_t n, int64_t f8) {
    pdl_wait();
    pdl_launch_dependents();
    int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n * f8) return;
    int64_t i = idx / f8, j = idx - i * f8;
    const uint4* row = reinterpret_cast<const uint4*>(gate_up) + i * 2 * f8;
    uint4 gv = row[j], uv = row[f8 + j], ov;
    const T* g = reinterpret_cast<const T*>(&gv);
    const T* u = reinterpret_cast<const T*>(&uv);
    T* o = reinterpret_cast<T*>(&ov);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
        float gf = to_float(g[e]);
        o[e] = from_float<T>(gf / (1.0f + __expf(-gf)) * to_float(u[e]));
    }
    reinterpret_cast<uint4*>(out)[idx] = ov;
}

void silu_mul(const Tensor& gate_up, Tensor& out, Stream s) {
    int64_t f = out.dim(-1), n = out.rows();
    LL_CHECK(gate_up.dim(-1) == 2 * f && gate_up.rows() == n && gate_up.dtype == out.dtype,
             "silu_mul: gate_up {} out {}", gate_up.shape_str(), out.shape_str());
    int64_t total = n * f;
    if (total == 0) return;
    if (out.dtype != DType::F32 && f % 8 == 0) {
        int64_t vecs = total / 8;
        int blocks = int((vecs + 255) / 256);
        if (out.dtype == DType::F16)
            launch_pdl(silu_mul_vec_kernel<__half>, blocks, 256, 0, s, gate_up.ptr<__half>(), out.ptr<__half>(), n, f / 8);
        else
            launch_pdl(silu_mul_vec_kernel<__nv_bfloat16>, blocks, 256, 0, s, gate_up.ptr<__nv_bfloat16>(),
                       out.ptr<__nv_bfloat16>(), n, f / 8);
        CUDA_CHECK_LAUNCH();
        return;
    }
    int blocks = int((total + 255) / 256);
    LL_DISPATCH_FLOAT(out.dtype, launch_pdl(silu_mul_kernel<scalar_t>, blocks, 256, 0, s, gate_up.ptr<scalar_t>(),
                                                                                 out.ptr<scalar_t>(), n, f));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
