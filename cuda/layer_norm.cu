// LayerNorm (BLOOM, StarCoder): out = (x - mean) / sqrt(var + eps) * w + b.
// One block per row, two fp32 passes (mean, then centred variance).
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

namespace lightllm::gpu {

template <typename T>
static __global__ void layer_norm_kernel(const T* x, const T* w, const T* b, T* out, int d, float eps) {
    pdl_wait();
    pdl_launch_dependents();
    const T* xr = x + int64_t(blockIdx.x) * d;
    T* yr = out + int64_t(blockIdx.x) * d;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) sum += to_float(xr[i]);
    float mean = block_sum(sum) / float(d);
    float sq = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float c = to_float(xr[i]) - mean;
        sq += c * c;
    }
    float inv = rsqrtf(block_sum(sq) / float(d) + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x)
        yr[i] = from_float<T>((to_float(xr[i]) - mean) * inv * to_float(w[i]) + to_float(b[i]));
}

void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& out, float eps, Stream s) {
    int64_t d = x.dim(-1), n = x.rows();
    LL_CHECK(w.numel() == d && b.numel() == d && out.numel() == x.numel() && w.dtype == x.dtype &&
                 b.dtype == x.dtype && out.dtype == x.dtype,
             "layer_norm: x {} w {} b {} out {}", x.shape_str(), w.shape_str(), b.shape_str(), out.shape_str());
    if (n == 0) return;
    int threads = d >= 4096 ? 1024 : d >= 1024 ? 512 : 256;
    LL_DISPATCH_FLOAT(x.dtype, launch_pdl(layer_norm_kernel<scalar_t>, int(n), threads, 0, s, 
                                   x.ptr<scalar_t>(), w.ptr<scalar_t>(), b.ptr<scalar_t>(), out.ptr<scalar_t>(),
                                   int(d), eps));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
