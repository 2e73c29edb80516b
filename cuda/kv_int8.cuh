// Device helpers for the int8 KV cache: the math of src/backend/kv_quant.h (one F32
// scale per token per KV head, symmetric, round half to even, codes in
// [-127, 127]) in the shapes the kernels use.
//
// Cache layout: data [capacity, n_kv_head, head_dim] int8, scale
// [capacity, n_kv_head] F32; the head (slot, h) starts at
// data + (slot * n_kv_head + h) * head_dim and its scale is
// scale[slot * n_kv_head + h].
//
// Writing: a warp holds one head's values with lane e owning dims
// e, e + 32, ... (N per lane); kv_int8_warp_store reduces max|x| over the
// warp and writes the codes and the scale. Reading: kv_int8_load<N> loads N
// consecutive codes (N = 4, 8 or 16: one 4-, 8- or 16-byte load) and returns
// them dequantized.
#pragma once
#include "common.cuh"
#include "kv_quant.h"

namespace lightllm::gpu {

// Where one layer's int8 K or V lives.
struct KvInt8Ptr {
    int8_t* data;   // [capacity, n_kv_head, head_dim]
    float* scale;   // [capacity, n_kv_head]
};

// Quantizes one head held by a warp (x[i] is dim lane + 32 i; dims >=
// head_dim are ignored) into slot `slot`, KV head `h`. All 32 lanes must call.
template <int N>
__device__ __forceinline__ void kv_int8_warp_store(const float (&x)[N], int lane, int head_dim, KvInt8Ptr dst,
                                                   int64_t slot, int h, int n_kv_head) {
    float amax = 0.0f;
#pragma unroll
    for (int i = 0; i < N; ++i)
        if (lane + 32 * i < head_dim) amax = fmaxf(amax, fabsf(x[i]));
    amax = warp_max(amax);
    const float scale = kv_int8_scale(amax);
    const int64_t head = slot * n_kv_head + h;
    int8_t* q = dst.data + head * head_dim;
#pragma unroll
    for (int i = 0; i < N; ++i)
        if (lane + 32 * i < head_dim) q[lane + 32 * i] = kv_int8_quantize(x[i], scale);
    if (lane == 0) dst.scale[head] = scale;
}

template <int N> struct KvInt8Vec;
template <> struct KvInt8Vec<4> { using type = int; };
template <> struct KvInt8Vec<8> { using type = int2; };
template <> struct KvInt8Vec<16> { using type = int4; };

// out[j] = q[j] * scale for the N codes at p (p aligned to N bytes).
template <int N>
__device__ __forceinline__ void kv_int8_load(const int8_t* p, float scale, float (&out)[N]) {
    union {
        typename KvInt8Vec<N>::type v;
        int8_t q[N];
    } u;
    u.v = *reinterpret_cast<const typename KvInt8Vec<N>::type*>(p);
#pragma unroll
    for (int j = 0; j < N; ++j) out[j] = kv_int8_dequantize(u.q[j], scale);
}

// y <- H y for one head held by a warp (y[i] is dim lane + 32 i, head_dim a
// power of two): kv_hadamard of src/backend/kv_quant.h, the same butterflies in the
// same order, so CPU and GPU agree bit for bit. All 32 lanes must call.
template <int N>
__device__ __forceinline__ void kv_hadamard_warp(float (&y)[N], int lane, int head_dim) {
    for (int h = 1; h < head_dim && h < 32; h *= 2) {
#pragma unroll
        for (int i = 0; i < N; ++i) {
            const float other = __shfl_xor_sync(0xffffffffu, y[i], h);
            y[i] = (lane & h) ? other - y[i] : y[i] + other;
        }
    }
    for (int h = 32; h < head_dim; h *= 2) {
        const int hr = h / 32;  // partner register
#pragma unroll
        for (int i = 0; i < N; ++i) {
            if ((i & hr) == 0 && i + hr < N) {
                const float a = y[i], b = y[i + hr];
                y[i] = a + b;
                y[i + hr] = a - b;
            }
        }
    }
    const float s = kv_hadamard_norm(head_dim);
#pragma unroll
    for (int i = 0; i < N; ++i) y[i] *= s;
}


}  // namespace lightllm::gpu
