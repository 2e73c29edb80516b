// Skinny linear layers (decode at batch <= 4): out [n, m] = x [n, k] @ w [m, k]^T
// (+ bias) without cuBLAS. Pure weight streaming: one warp per output row,
// each lane reading 16 bytes of the row per step, 8 steps per batch and two
// batches in flight, the n rows of x (tiny, cached) read alongside; fp32 sums
// reduced over the warp. Launched with PDL (launch.cuh): the first weight
// loads start while the previous kernel finishes.
// cuBLAS reached ~2.2 TB/s on these shapes on an H100 (bench/NOTES.md).
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"
#include <algorithm>
#include <cstdlib>
#include <string>

namespace lightllm::gpu {

constexpr int kGemvWarps = 8;
constexpr int kGemvUnroll = 8;
constexpr int kGemvBlocksPerSm = 2;  // balanced variant: 16 warps per SM

__device__ __forceinline__ float dot8(uint4 a, uint4 b, __half) {
    const __half2* ha = reinterpret_cast<const __half2*>(&a);
    const __half2* hb = reinterpret_cast<const __half2*>(&b);
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 fa = __half22float2(ha[i]), fb = __half22float2(hb[i]);
        s = fmaf(fa.x, fb.x, s);
        s = fmaf(fa.y, fb.y, s);
    }
    return s;
}
__device__ __forceinline__ float dot8(uint4 a, uint4 b, __nv_bfloat16) {
    const __nv_bfloat162* ha = reinterpret_cast<const __nv_bfloat162*>(&a);
    const __nv_bfloat162* hb = reinterpret_cast<const __nv_bfloat162*>(&b);
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 fa = __bfloat1622float2(ha[i]), fb = __bfloat1622float2(hb[i]);
        s = fmaf(fa.x, fb.x, s);
        s = fmaf(fa.y, fb.y, s);
    }
    return s;
}

// 16 bytes of a weight row: read once, so kept out of L1 (where x lives).
__device__ __forceinline__ uint4 load_stream(const uint4* p) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}

// Variant A ("rows"): one warp per row, 8 loads of 16 B per lane in flight;
// blocks of 8 rows are scheduled as SMs free up.
template <typename T, int N>
static __global__ __launch_bounds__(kGemvWarps * 32) void gemv_rows_kernel(const T* __restrict__ x,
                                                                           const T* __restrict__ w,
                                                                           const T* __restrict__ bias, T* out,
                                                                           int k, int m) {
    int lane = threadIdx.x & 31;
    int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
    const uint4* wr = reinterpret_cast<const uint4*>(w + int64_t(row < m ? row : 0) * k);
    const uint4* xr = reinterpret_cast<const uint4*>(x);
    const int chunks = k / 8, x_stride = k / 8;
    uint4 wv[kGemvUnroll];
    // Weights depend on nothing earlier in the step: the first loads are
    // issued before waiting for the previous kernel (launch.cuh).
#pragma unroll
    for (int u = 0; u < kGemvUnroll; ++u) {
        int cc = lane + u * 32;
        wv[u] = row < m && cc < chunks ? load_stream(wr + cc) : make_uint4(0, 0, 0, 0);
    }
    pdl_wait();
    pdl_launch_dependents();
    if (row >= m) return;
    float acc[N];
#pragma unroll
    for (int j = 0; j < N; ++j) acc[j] = 0.0f;
    for (int c = lane;;) {
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            int cc = c + u * 32;
            if (cc >= chunks) break;
#pragma unroll
            for (int j = 0; j < N; ++j) acc[j] += dot8(wv[u], __ldg(xr + j * x_stride + cc), T{});
        }
        c += 32 * kGemvUnroll;
        if (c >= chunks) break;
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            int cc = c + u * 32;
            wv[u] = cc < chunks ? load_stream(wr + cc) : make_uint4(0, 0, 0, 0);
        }
    }
#pragma unroll
    for (int j = 0; j < N; ++j) {
        float s = warp_sum(acc[j]);
        if (lane == 0) out[int64_t(j) * m + row] = from_float<T>(s + (bias ? to_float(bias[row]) : 0.0f));
    }
}

// Variant B ("balanced"): a grid of a few blocks per SM, block b owning rows
// [b m / G, (b + 1) m / G), so every SM streams the same number of bytes (to
// one row) and the kernel has no ragged last wave; its warps take the rows
// round-robin. Each warp walks its (row, batch of 8 loads per lane) items
// with the next batch in flight while the current one is multiplied, across
// row boundaries.
template <typename T, int N>
static __global__ __launch_bounds__(kGemvWarps * 32) void gemv_balanced_kernel(const T* __restrict__ x,
                                                                               const T* __restrict__ w,
                                                                               const T* __restrict__ bias, T* out,
                                                                               int k, int m) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int r0 = int(int64_t(blockIdx.x) * m / gridDim.x), r1 = int(int64_t(blockIdx.x + 1) * m / gridDim.x);
    const int chunks = k / 8, x_stride = k / 8;
    const int per_lane = (chunks + 31) / 32;
    const int batches = (per_lane + kGemvUnroll - 1) / kGemvUnroll;  // per row
    const int my_rows = r0 + warp < r1 ? (r1 - r0 - warp + kGemvWarps - 1) / kGemvWarps : 0;
    const int items = my_rows * batches;
    const uint4* wv4 = reinterpret_cast<const uint4*>(w);
    const uint4* xr = reinterpret_cast<const uint4*>(x);
    auto load = [&](int t, uint4 (&buf)[kGemvUnroll]) {
        const int row = r0 + warp + (t / batches) * kGemvWarps;
        const int c0 = (t % batches) * kGemvUnroll * 32 + lane;
        const uint4* wr = wv4 + int64_t(row) * chunks;
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            int cc = c0 + u * 32;
            buf[u] = cc < chunks ? load_stream(wr + cc) : make_uint4(0, 0, 0, 0);
        }
    };
    uint4 cur[kGemvUnroll], nxt[kGemvUnroll];
    if (items > 0) load(0, cur);
    pdl_wait();
    pdl_launch_dependents();
    float acc[N];
#pragma unroll
    for (int j = 0; j < N; ++j) acc[j] = 0.0f;
    for (int t = 0; t < items; ++t) {
        if (t + 1 < items) load(t + 1, nxt);
        const int c0 = (t % batches) * kGemvUnroll * 32 + lane;
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            int cc = c0 + u * 32;
            if (cc >= chunks) break;
#pragma unroll
            for (int j = 0; j < N; ++j) acc[j] += dot8(cur[u], __ldg(xr + j * x_stride + cc), T{});
        }
        if (t % batches == batches - 1) {
            const int row = r0 + warp + (t / batches) * kGemvWarps;
#pragma unroll
            for (int j = 0; j < N; ++j) {
                float s = warp_sum(acc[j]);
                if (lane == 0) out[int64_t(j) * m + row] = from_float<T>(s + (bias ? to_float(bias[row]) : 0.0f));
                acc[j] = 0.0f;
            }
        }
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) cur[u] = nxt[u];
    }
}

bool gemv_applies(const Tensor& x, const Tensor& w) {
    return (x.dtype == DType::F16 || x.dtype == DType::BF16) && x.rows() >= 1 && x.rows() <= 4 &&
           x.dim(-1) % 8 == 0;
}

// LIGHTLLM_GEMV=rows picks variant A (for measuring one against the other).
static bool gemv_balanced() {
    static const bool balanced = [] {
        const char* env = std::getenv("LIGHTLLM_GEMV");
        return !(env && std::string(env) == "rows");
    }();
    return balanced;
}

template <typename T, int N>
static void launch_gemv_n(const T* x, const T* w, const T* b, T* out, int k, int m, cudaStream_t s) {
    if (gemv_balanced()) {
        int blocks = std::min(m, kGemvBlocksPerSm * device_sm_count());
        launch_pdl(gemv_balanced_kernel<T, N>, dim3(blocks), kGemvWarps * 32, 0, s, x, w, b, out, k, m);
    } else {
        launch_pdl(gemv_rows_kernel<T, N>, dim3((m + kGemvWarps - 1) / kGemvWarps), kGemvWarps * 32, 0, s, x, w, b,
                   out, k, m);
    }
}

template <typename T>
static void launch_gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, cudaStream_t s) {
    int n = int(x.rows()), k = int(x.dim(-1)), m = int(w.dim(0));
    const T* b = bias.empty() ? nullptr : bias.ptr<T>();
    switch (n) {
        case 1: launch_gemv_n<T, 1>(x.ptr<T>(), w.ptr<T>(), b, out.ptr<T>(), k, m, s); break;
        case 2: launch_gemv_n<T, 2>(x.ptr<T>(), w.ptr<T>(), b, out.ptr<T>(), k, m, s); break;
        case 3: launch_gemv_n<T, 3>(x.ptr<T>(), w.ptr<T>(), b, out.ptr<T>(), k, m, s); break;
        default: launch_gemv_n<T, 4>(x.ptr<T>(), w.ptr<T>(), b, out.ptr<T>(), k, m, s); break;
    }
    CUDA_CHECK_LAUNCH();
}

void gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, cudaStream_t s) {
    LL_CHECK(gemv_applies(x, w) && w.dim(1) == x.dim(-1) && out.rows() == x.rows() && out.dim(-1) == w.dim(0),
             "gemv: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    if (x.dtype == DType::F16) launch_gemv<__half>(x, w, bias, out, s);
    else launch_gemv<__nv_bfloat16>(x, w, bias, out, s);
}

}  // namespace lightllm::gpu
