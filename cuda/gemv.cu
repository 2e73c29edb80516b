// Skinny linear layers (decode at batch <= 2): out [n, m] = x [n, k] @ w [m, k]^T
// (+ bias) without cuBLAS. Pure weight streaming: one warp per output row,
// each lane reading 16 bytes of the row per step, 8 steps in flight, the n
// rows of x (tiny, cached) read alongside; fp32 sums reduced over the warp.
// Launched with PDL (launch.cuh): the first weight loads are issued while the
// previous kernel finishes. (Tried and measured slower on the H100: two
// batches in flight per lane, and a balanced grid of 2 blocks per SM each
// owning m / 264 rows; bench/NOTES.md run 5.)
// cuBLAS reached ~2.2 TB/s on these shapes on an H100 (bench/NOTES.md).
// Batches of 3 and 4 go to cuBLAS: each 16 bytes of weights costs n x loads
// and 8n conversions + FMAs here, and on the H200 a Llama-3-8B decode step
// took 7.5 ms at batch 3-4 this way against 5.7 ms at batch 5 through cuBLAS
// (step log of the ShareGPT run, issue 14); batch 1 and 2 stay (4.9, 5.4 ms).
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

namespace lightllm::gpu {

constexpr int kGemvWarps = 8;
constexpr int kGemvUnroll = 8;

// Paired 16-bit values and their conversion to two floats.
template <typename T> struct Pair2;
template <> struct Pair2<__half> {
    using type = __half2;
    static __device__ __forceinline__ float2 to_float2(type v) { return __half22float2(v); }
};
template <> struct Pair2<__nv_bfloat16> {
    using type = __nv_bfloat162;
    static __device__ __forceinline__ float2 to_float2(type v) { return __bfloat1622float2(v); }
};

// Dot product of 8 values of T held in 16 bytes each, fp32 sums.
template <typename T>
__device__ __forceinline__ float dot8(uint4 a, uint4 b) {
    using P = Pair2<T>;
    const typename P::type* pa = reinterpret_cast<const typename P::type*>(&a);
    const typename P::type* pb = reinterpret_cast<const typename P::type*>(&b);
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 fa = P::to_float2(pa[i]), fb = P::to_float2(pb[i]);
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

template <typename T, int N>
static __global__ __launch_bounds__(kGemvWarps * 32) void gemv_kernel(const T* __restrict__ x,
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
            for (int j = 0; j < N; ++j) acc[j] += dot8<T>(wv[u], __ldg(xr + j * x_stride + cc));
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

bool gemv_applies(const Tensor& x, const Tensor& w) {
    return (x.dtype == DType::F16 || x.dtype == DType::BF16) && x.rows() >= 1 && x.rows() <= 2 &&
           x.dim(-1) % 8 == 0;
}

template <typename T>
static void launch_gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, Stream s) {
    int n = int(x.rows()), k = int(x.dim(-1)), m = int(w.dim(0));
    const T* b = bias.empty() ? nullptr : bias.ptr<T>();
    const dim3 grid((m + kGemvWarps - 1) / kGemvWarps);
    switch (n) {
        case 1: launch_pdl(gemv_kernel<T, 1>, grid, kGemvWarps * 32, 0, s, x.ptr<T>(), w.ptr<T>(), b, out.ptr<T>(), k, m); break;
        default: launch_pdl(gemv_kernel<T, 2>, grid, kGemvWarps * 32, 0, s, x.ptr<T>(), w.ptr<T>(), b, out.ptr<T>(), k, m); break;
    }
    CUDA_CHECK_LAUNCH();
}

void gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, Stream s) {
    LL_CHECK(gemv_applies(x, w) && w.dim(1) == x.dim(-1) && out.rows() == x.rows() && out.dim(-1) == w.dim(0),
             "gemv: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    if (x.dtype == DType::F16) launch_gemv<__half>(x, w, bias, out, s);
    else launch_gemv<__nv_bfloat16>(x, w, bias, out, s);
}

}  // namespace lightllm::gpu
