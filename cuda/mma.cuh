// Warp-level tensor-core MMA shared by the kernels that use mma.sync:
// m16n8k16, f16 or bf16 inputs, fp32 accumulators (sm_80+). Fragment layouts
// (PTX ISA, with g = lane / 4, t = lane % 4; each register holds two 16-bit
// values, the lower column / k in the low half):
//   A (16 x 16, row): a0 (row g, k 2t..2t+1), a1 (row g+8, k 2t..2t+1),
//                     a2 (row g, k 2t+8..2t+9), a3 (row g+8, k 2t+8..2t+9)
//   B (16 x 8, col):  b0 (k 2t..2t+1, col g), b1 (k 2t+8..2t+9, col g)
//   C (16 x 8, f32):  c0, c1 (row g, cols 2t, 2t+1), c2, c3 (row g+8, cols 2t, 2t+1)
#pragma once
#include "common.cuh"
#include <type_traits>

namespace lightllm::gpu {

// Two floats rounded to T and packed into one register (low half first).
template <typename T> struct MmaType;
template <> struct MmaType<__half> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __half2 v = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&v);
    }
};
template <> struct MmaType<__nv_bfloat16> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&v);
    }
};

// c (4 floats) += A (a[0..3]) * B (b0, b1), T = __half or __nv_bfloat16.
template <typename T>
__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    if constexpr (std::is_same_v<T, __half>) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

}  // namespace lightllm::gpu
