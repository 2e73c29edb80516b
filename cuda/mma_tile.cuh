// Tensor-core building blocks of the attention kernels (prefill_attention.cu,
// cascade_attention.cu): mma.sync m16n8k16 with fp32 accumulate, ldmatrix
// loads from shared memory, and the gather of K/V rows through the table.
// Fragment layouts (PTX ISA, m16n8k16):
//   A: a0 (row g, cols 2t..2t+1), a1 (row g+8), a2 (row g, cols +8), a3 (row g+8, cols +8)
//   B: b0 (k rows 2t..2t+1, col g), b1 (k rows +8);  C: c0,c1 (row g, cols 2t..), c2,c3 (row g+8)
// with g = lane / 4, t = lane % 4.
#pragma once
#include "attention_common.cuh"
#include <type_traits>

namespace lightllm::gpu {

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

__device__ __forceinline__ void ldmatrix_x4(uint32_t* r, const void* p) {
    uint32_t addr = uint32_t(__cvta_generic_to_shared(p));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t* r, const void* p) {
    uint32_t addr = uint32_t(__cvta_generic_to_shared(p));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

// The three steps of a FlashAttention-2 tile, shared by the prefill, cascade
// and GQA decode kernels. A warp holds 16 query rows; lane (g, t) keeps rows
// g and g + 8 (g = lane / 4, t = lane % 4) of the scores sc (n8 tiles of keys)
// and of the accumulators o (n8 tiles of dims).

// S += Q K^T over NP blocks of 16 keys: qf holds Q as A fragments [D / 16][4],
// sk the first key's row in shared memory (pitch LD elements).
template <typename T, int D, int LD, int NP>
__device__ __forceinline__ void mma_scores(float (*sc)[4], const uint32_t (*qf)[4], const T* sk, int lane) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
        for (int np = 0; np < NP; ++np) {
            uint32_t b[4];
            ldmatrix_x4(b, sk + (np * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8);
            mma16816<T>(sc[2 * np], qf[kk], b[0], b[1]);
            mma16816<T>(sc[2 * np + 1], qf[kk], b[2], b[3]);
        }
    }
}

// One online-softmax step over NT n8 tiles of masked scores in base 2 (-inf
// where masked): the row maxima m grow, l and the accumulators o [DT][4] are
// rescaled to them, sc becomes P = 2^(s - m) and l sums it.
template <int NT, int DT>
__device__ __forceinline__ void online_softmax_step(float (*sc)[4], float* m, float* l, float (*o)[4]) {
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) mx[i >> 1] = fmaxf(mx[i >> 1], sc[nt][i]);
    }
    float alpha[2], m_use[2];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
        mx[j] = fmaxf(mx[j], __shfl_xor_sync(0xffffffffu, mx[j], 1));
        mx[j] = fmaxf(mx[j], __shfl_xor_sync(0xffffffffu, mx[j], 2));
        const float m_new = fmaxf(m[j], mx[j]);
        m_use[j] = m_new == -INFINITY ? 0.0f : m_new;
        alpha[j] = exp2f(m[j] - m_use[j]);
        m[j] = m_new;
        l[j] *= alpha[j];
    }
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float p = exp2f(sc[nt][i] - m_use[i >> 1]);
            sc[nt][i] = p;
            l[i >> 1] += p;
        }
    }
#pragma unroll
    for (int dt = 0; dt < DT; ++dt) {
        o[dt][0] *= alpha[0];
        o[dt][1] *= alpha[0];
        o[dt][2] *= alpha[1];
        o[dt][3] *= alpha[1];
    }
}

// O += P V over NP blocks of 16 keys: P from sc (rounded to T), sv the first
// key's V row in shared memory (pitch LD elements).
template <typename T, int D, int LD, int NP>
__device__ __forceinline__ void mma_pv(float (*o)[4], const float (*sc)[4], const T* sv, int lane) {
#pragma unroll
    for (int kk = 0; kk < NP; ++kk) {
        uint32_t pa[4];
        pa[0] = MmaType<T>::pack(sc[2 * kk][0], sc[2 * kk][1]);
        pa[1] = MmaType<T>::pack(sc[2 * kk][2], sc[2 * kk][3]);
        pa[2] = MmaType<T>::pack(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
        pa[3] = MmaType<T>::pack(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
#pragma unroll
        for (int dp = 0; dp < D / 16; ++dp) {
            uint32_t b[4];
            ldmatrix_x4_trans(b, sv + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dp * 16 + (lane >> 4) * 8);
            mma16816<T>(o[2 * dp], pa, b[0], b[1]);
            mma16816<T>(o[2 * dp + 1], pa, b[2], b[3]);
        }
    }
}

// Gathers kRows rows of K or V (keys kb.., slot from the table) into smem
// [kRows][LD] with kThreads threads; keys >= kv_hi become zeros (so masked
// P * V stays finite). Int8 caches are dequantized on the way.
template <typename T, int D, int LD, int kRows, int kThreads>
__device__ __forceinline__ void load_kv_tile(const AttnArgs& a, const void* cache, const float* scale, const int* trow,
                                             int kb, int kv_hi, int g, T* dst) {
    constexpr int kChunks = D / 8;  // 16-byte chunks per row
    for (int c = threadIdx.x; c < kRows * kChunks; c += kThreads) {
        int row = c / kChunks, col = (c % kChunks) * 8;
        int key = kb + row;
        Vec16<T> v;
        if (key < kv_hi) {
            int64_t slot = trow[key];
            int64_t idx = (slot * a.n_kv_head + g) * D + col;
            if (a.kv_int8) {
                uint2 raw = *reinterpret_cast<const uint2*>(static_cast<const int8_t*>(cache) + idx);
                const int8_t* b = reinterpret_cast<const int8_t*>(&raw);
                float sc = scale[slot * a.n_kv_head + g];
#pragma unroll
                for (int i = 0; i < 8; ++i) v.v[i] = from_float<T>(float(b[i]) * sc);
            } else {
                v = *reinterpret_cast<const Vec16<T>*>(static_cast<const T*>(cache) + idx);
            }
        } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) v.v[i] = from_float<T>(0.0f);
        }
        *reinterpret_cast<Vec16<T>*>(dst + row * LD + col) = v;
    }
}

}  // namespace lightllm::gpu
