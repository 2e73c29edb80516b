// Device helpers shared by the kernels: float conversion for the element types
// (fp32 math on f16/bf16/f32 storage), 16-byte vector access, warp/block
// reductions, and the dtype switch that picks a kernel instantiation.
#pragma once
#include "cuda_check.h"
#include "tensor.h"
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>

namespace lightllm::gpu {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// 16 bytes of T: 8 halves or 4 floats.
template <typename T> struct alignas(16) Vec16 {
    static constexpr int N = 16 / sizeof(T);
    T v[N];
};

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}
__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ __forceinline__ float block_sum(float x) {
    __shared__ float part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    x = warp_sum(x);
    __syncthreads();  // `part` may still be read by a previous call
    if (lane == 0) part[warp] = x;
    __syncthreads();
    x = lane < n_warps ? part[lane] : 0.0f;
    return warp_sum(x);
}

// ALiBi slope of head h (BLOOM / Baichuan / MPT formula, n_head not
// necessarily a power of two).
__device__ __forceinline__ float alibi_slope(int h, int n_head) {
    int n = 1;
    while (n * 2 <= n_head) n *= 2;
    if (h < n) return exp2f(-8.0f * float(h + 1) / float(n));
    return exp2f(-4.0f * float(2 * (h - n) + 1) / float(n));
}

}  // namespace lightllm::gpu

// Runs `body` with `scalar_t` bound to the device type of `dtype` (F32/F16/BF16).
#define LL_DISPATCH_FLOAT(dtype, ...)                                              \
    do {                                                                           \
        switch (dtype) {                                                           \
            case ::lightllm::DType::F32: { using scalar_t = float; __VA_ARGS__; break; } \
            case ::lightllm::DType::F16: { using scalar_t = __half; __VA_ARGS__; break; } \
            case ::lightllm::DType::BF16: { using scalar_t = __nv_bfloat16; __VA_ARGS__; break; } \
            default: LL_CHECK(false, "unsupported dtype {}", ::lightllm::dtype_name(dtype)); \
        }                                                                          \
    } while (0)
