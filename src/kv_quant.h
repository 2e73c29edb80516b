// kv_quant: the math of the int8 KV cache, shared by the CPU reference
// (src/cpu_kv_int8.cpp) and the CUDA kernels (cuda/kv_int8.cuh); compiles as
// plain C++ and as CUDA (__host__ __device__ under nvcc).
//
// Layout: K and V are [capacity, n_kv_head, head_dim] I8; one F32 scale per
// token per KV head, [capacity, n_kv_head] (KvLayer::k_scale / v_scale).
// Quantization is symmetric, round to nearest (ties to even), no zero point:
//   scale = max_d |x[d]| / 127
//   q[d]  = clamp(rint(x[d] / scale), -127, 127)      (-128 is never produced)
//   x'[d] = q[d] * scale                              |x[d] - x'[d]| <= scale / 2
// A head of all zeros gets scale 0 and dequantizes to exact zeros.
#pragma once
#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define LL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define LL_HOST_DEVICE inline
#endif

namespace lightllm {

constexpr float kKvInt8Max = 127.0f;

// Scale of a head whose largest magnitude is `absmax` (>= 0).
LL_HOST_DEVICE float kv_int8_scale(float absmax) { return absmax / kKvInt8Max; }

LL_HOST_DEVICE int8_t kv_int8_quantize(float x, float scale) {
    if (!(scale > 0.0f)) return 0;
    float r = rintf(x / scale);
    r = fminf(fmaxf(r, -kKvInt8Max), kKvInt8Max);
    return static_cast<int8_t>(r);
}

LL_HOST_DEVICE float kv_int8_dequantize(int8_t q, float scale) { return float(q) * scale; }

// Quantizes one head x[0..n) into q[0..n); returns its scale.
LL_HOST_DEVICE float kv_int8_quantize_head(const float* x, int n, int8_t* q) {
    float absmax = 0.0f;
    for (int d = 0; d < n; ++d) absmax = fmaxf(absmax, fabsf(x[d]));
    float scale = kv_int8_scale(absmax);
    for (int d = 0; d < n; ++d) q[d] = kv_int8_quantize(x[d], scale);
    return scale;
}

LL_HOST_DEVICE void kv_int8_dequantize_head(const int8_t* q, float scale, int n, float* x) {
    for (int d = 0; d < n; ++d) x[d] = kv_int8_dequantize(q[d], scale);
}

}  // namespace lightllm
