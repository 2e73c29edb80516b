// RMSNorm, plain and fused with the residual add. One block per row; fp32
// sums; the fused form stores residual + delta in the storage dtype first and
// normalizes the stored (rounded) value, as a PyTorch model holding the
// residual stream in f16/bf16 does. 16-bit rows with d % 8 == 0 (d <= 32768)
// take the vector kernels: 16-byte accesses, the row held in registers
// between the sum and the scaling (one read of x instead of two).
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"
#include <algorithm>

namespace lightllm::gpu {

template <typename T>
static __global__ void rms_norm_kernel(const T* x, const T* w, T* out, int d, float eps) {
    pdl_wait();
    pdl_launch_dependents();
    const T* xr = x + int64_t(blockIdx.x) * d;
    T* yr = out + int64_t(blockIdx.x) * d;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float v = to_float(xr[i]);
        ss += v * v;
    }
    float inv = rsqrtf(block_sum(ss) / float(d) + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = from_float<T>(to_float(xr[i]) * inv * to_float(w[i]));
}

template <typename T>
static __global__ void add_rms_norm_kernel(T* residual, const T* delta, const T* w, T* out, int d, float eps) {
    pdl_wait();
    pdl_launch_dependents();
    T* rr = residual + int64_t(blockIdx.x) * d;
    const T* dr = delta + int64_t(blockIdx.x) * d;
    T* yr = out + int64_t(blockIdx.x) * d;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        T r = from_float<T>(to_float(rr[i]) + to_float(dr[i]));
        rr[i] = r;
        float v = to_float(r);
        ss += v * v;
    }
    float inv = rsqrtf(block_sum(ss) / float(d) + eps);
    // Each thread reads back only the elements it wrote itself.
    for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = from_float<T>(to_float(rr[i]) * inv * to_float(w[i]));
}

constexpr int kNormMaxVecs = 4;  // 16-byte vectors per thread in the vector kernels

// Up to kNormMaxVecs vectors of 8 values per thread, vectors c = tid + k * blockDim.
// Add: x + delta is rounded, stored to `sum` (the residual, same as x) and normalized.
template <typename T, bool Add>
static __global__ void rms_norm_vec_kernel(const T* x, const T* delta, T* sum, const T* w, T* out, int d, float eps) {
    const int nv = d / 8;
    const uint4* wr = reinterpret_cast<const uint4*>(w);
    // The weights depend on nothing earlier in the step: loaded before waiting.
    uint4 wv[kNormMaxVecs];
#pragma unroll
    for (int k = 0; k < kNormMaxVecs; ++k) {
        int c = threadIdx.x + k * blockDim.x;
        if (c < nv) wv[k] = wr[c];
    }
    pdl_wait();
    pdl_launch_dependents();
    const uint4* xr = reinterpret_cast<const uint4*>(x + int64_t(blockIdx.x) * d);
    uint4* sr = Add ? reinterpret_cast<uint4*>(sum + int64_t(blockIdx.x) * d) : nullptr;
    const uint4* dr = Add ? reinterpret_cast<const uint4*>(delta + int64_t(blockIdx.x) * d) : nullptr;
    uint4* yr = reinterpret_cast<uint4*>(out + int64_t(blockIdx.x) * d);
    // Every load is issued before the first store (`sum` is `x`, so the
    // compiler could not move loads above the stores itself).
    uint4 a[kNormMaxVecs], b[kNormMaxVecs];
#pragma unroll
    for (int k = 0; k < kNormMaxVecs; ++k) {
        int c = threadIdx.x + k * blockDim.x;
        if (c >= nv) break;
        a[k] = xr[c];
        if (Add) b[k] = dr[c];
    }
    float v[kNormMaxVecs][8];
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < kNormMaxVecs; ++k) {
        int c = threadIdx.x + k * blockDim.x;
        if (c >= nv) break;
        T* av = reinterpret_cast<T*>(&a[k]);
        if (Add) {
            const T* bv = reinterpret_cast<const T*>(&b[k]);
#pragma unroll
            for (int e = 0; e < 8; ++e) av[e] = from_float<T>(to_float(av[e]) + to_float(bv[e]));
            sr[c] = a[k];
        }
#pragma unroll
        for (int e = 0; e < 8; ++e) {
            v[k][e] = to_float(av[e]);
            ss += v[k][e] * v[k][e];
        }
    }
    float inv = rsqrtf(block_sum(ss) / float(d) + eps);
#pragma unroll
    for (int k = 0; k < kNormMaxVecs; ++k) {
        int c = threadIdx.x + k * blockDim.x;
        if (c >= nv) break;
        uint4 o;
        const T* wt = reinterpret_cast<const T*>(&wv[k]);
        T* ot = reinterpret_cast<T*>(&o);
#pragma unroll
        for (int e = 0; e < 8; ++e) ot[e] = from_float<T>(v[k][e] * inv * to_float(wt[e]));
        yr[c] = o;
    }
}

// Threads for the vector kernels: enough for kNormMaxVecs vectors each, a
// multiple of 32, at most 1024; 0 when the row does not qualify.
static int norm_vec_threads(DType dt, int64_t d) {
    if (dt == DType::F32 || d % 8 != 0 || d / 8 > 1024 * kNormMaxVecs) return 0;
    int64_t nv = d / 8, t = (nv + kNormMaxVecs - 1) / kNormMaxVecs;
    t = std::max<int64_t>(32, std::min<int64_t>(1024, (t + 31) / 32 * 32));
    return int(t);
}

// x [n, d]; with Add, delta [n, d] and the sum written back into x.
template <bool Add, typename T>
static void launch_norm_vec(const Tensor& x, const Tensor* delta, const Tensor& w, Tensor& out, float eps,
                            int threads, Stream s) {
    int n = int(x.rows()), d = int(x.dim(-1));
    T* sum = Add ? static_cast<T*>(x.data) : nullptr;
    launch_pdl(rms_norm_vec_kernel<T, Add>, n, threads, 0, s, x.ptr<T>(), delta ? delta->ptr<T>() : nullptr, sum,
               w.ptr<T>(), out.ptr<T>(), d, eps);
    CUDA_CHECK_LAUNCH();
}

template <bool Add>
static void launch_norm_vec(const Tensor& x, const Tensor* delta, const Tensor& w, Tensor& out, float eps,
                            int threads, Stream s) {
    if (x.dtype == DType::F16) launch_norm_vec<Add, __half>(x, delta, w, out, eps, threads, s);
    else launch_norm_vec<Add, __nv_bfloat16>(x, delta, w, out, eps, threads, s);
}

static int norm_threads(int64_t d) { return d >= 4096 ? 1024 : d >= 1024 ? 512 : 256; }

void rms_norm(const Tensor& x, const Tensor& w, Tensor& out, float eps, Stream s) {
    int64_t d = x.dim(-1), n = x.rows();
    LL_CHECK(w.numel() == d && out.numel() == x.numel() && x.dtype == w.dtype && out.dtype == x.dtype,
             "rms_norm: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    if (n == 0) return;
    if (int threads = norm_vec_threads(x.dtype, d)) {
        launch_norm_vec<false>(x, nullptr, w, out, eps, threads, s);
        return;
    }
    LL_DISPATCH_FLOAT(x.dtype, launch_pdl(rms_norm_kernel<scalar_t>, int(n), norm_threads(d), 0, s, 
                                   x.ptr<scalar_t>(), w.ptr<scalar_t>(), out.ptr<scalar_t>(), int(d), eps));
    CUDA_CHECK_LAUNCH();
}

void add_rms_norm(Tensor& residual, const Tensor& delta, const Tensor& w, Tensor& out, float eps, Stream s) {
    int64_t d = residual.dim(-1), n = residual.rows();
    LL_CHECK(delta.numel() == residual.numel() && w.numel() == d && out.numel() == residual.numel() &&
                 delta.dtype == residual.dtype && w.dtype == residual.dtype && out.dtype == residual.dtype,
             "add_rms_norm: residual {} delta {} w {} out {}", residual.shape_str(), delta.shape_str(),
             w.shape_str(), out.shape_str());
    if (n == 0) return;
    if (int threads = norm_vec_threads(residual.dtype, d)) {
        launch_norm_vec<true>(residual, &delta, w, out, eps, threads, s);
        return;
    }
    LL_DISPATCH_FLOAT(residual.dtype,
                      launch_pdl(add_rms_norm_kernel<scalar_t>, int(n), norm_threads(d), 0, s, 
                          residual.ptr<scalar_t>(), delta.ptr<scalar_t>(), w.ptr<scalar_t>(), out.ptr<scalar_t>(),
                          int(d), eps));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
