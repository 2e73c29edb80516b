// RMSNorm, plain and fused with the residual add. One block per row; fp32
// sums; the fused form stores residual + delta in the storage dtype first and
// normalizes the stored (rounded) value, as a PyTorch model holding the
// residual stream in f16/bf16 does.
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

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

static int norm_threads(int64_t d) { return d >= 4096 ? 1024 : d >= 1024 ? 512 : 256; }

void rms_norm(const Tensor& x, const Tensor& w, Tensor& out, float eps, cudaStream_t s) {
    int64_t d = x.dim(-1), n = x.rows();
    LL_CHECK(w.numel() == d && out.numel() == x.numel() && x.dtype == w.dtype && out.dtype == x.dtype,
             "rms_norm: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    if (n == 0) return;
    LL_DISPATCH_FLOAT(x.dtype, launch_pdl(rms_norm_kernel<scalar_t>, int(n), norm_threads(d), 0, s, 
                                   x.ptr<scalar_t>(), w.ptr<scalar_t>(), out.ptr<scalar_t>(), int(d), eps));
    CUDA_CHECK_LAUNCH();
}

void add_rms_norm(Tensor& residual, const Tensor& delta, const Tensor& w, Tensor& out, float eps, cudaStream_t s) {
    int64_t d = residual.dim(-1), n = residual.rows();
    LL_CHECK(delta.numel() == residual.numel() && w.numel() == d && out.numel() == residual.numel() &&
                 delta.dtype == residual.dtype && w.dtype == residual.dtype && out.dtype == residual.dtype,
             "add_rms_norm: residual {} delta {} w {} out {}", residual.shape_str(), delta.shape_str(),
             w.shape_str(), out.shape_str());
    if (n == 0) return;
    LL_DISPATCH_FLOAT(residual.dtype,
                      launch_pdl(add_rms_norm_kernel<scalar_t>, int(n), norm_threads(d), 0, s, 
                          residual.ptr<scalar_t>(), delta.ptr<scalar_t>(), w.ptr<scalar_t>(), out.ptr<scalar_t>(),
                          int(d), eps));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
