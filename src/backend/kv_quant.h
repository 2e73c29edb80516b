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
//
// Rotation: keys of real models have a few outlier channels that set the
// scale of their head and leave the other channels few levels. When head_dim
// is a power of two (kv_int8_rotates), rope_store_kv therefore stores
// H k instead of k, with H the orthonormal Walsh-Hadamard matrix, which
// spreads the outliers over all channels, and writes H q as the query: the
// attention scores (H q).(H k) = q.k are unchanged, so the attention ops need
// no change. Values are not rotated (their error matters less, and undoing it
// would need a rotation of the attention output). On SmolLM2-135M this takes
// the top-1 agreement with the f16 cache from 98.4% to above 99%
// (bench/RESULTS.md, "int8 KV quality").
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

// Whether the int8 cache stores keys (and rope_store_kv writes queries)
// Hadamard-rotated: head_dim a power of two, at most 256.
LL_HOST_DEVICE bool kv_int8_rotates(int head_dim) {
    return head_dim >= 2 && head_dim <= 256 && (head_dim & (head_dim - 1)) == 0;
}

// 1/sqrt(n): the normalization of the n-point Hadamard transform.
LL_HOST_DEVICE float kv_hadamard_norm(int n) { return 1.0f / sqrtf(float(n)); }

// x <- H x in place (orthonormal Walsh-Hadamard, n a power of two), as the
// butterflies of stride 1, 2, 4, ...: the CUDA warp version in
// cuda/kv_int8.cuh does the same operations in the same order.
LL_HOST_DEVICE void kv_hadamard(float* x, int n) {
    for (int h = 1; h < n; h *= 2) {
        for (int i = 0; i < n; i += 2 * h) {
            for (int j = i; j < i + h; ++j) {
                const float a = x[j], b = x[j + h];
                x[j] = a + b;
                x[j + h] = a - b;
            }
        }
    }
    const float s = kv_hadamard_norm(n);
    for (int d = 0; d < n; ++d) x[d] *= s;
}

}  // namespace lightllm
