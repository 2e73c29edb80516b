// Linear layers through cuBLAS: out [n, m] = x [n, k] @ w [m, k]^T (+ bias [m]).
// Row-major out^T is column-major out, so this is one column-major GEMM
// out(m x n) = w^T(m x k) * x(k x n) with w read transposed; f16/bf16 in,
// fp32 accumulation (plain fp32 for F32 tensors, no TF32). The bias is a
// separate broadcast add (only a few architectures have biases). Batches of
// at most 4 rows go to the weight-streaming kernel of gemv.cu instead.
#include "common.cuh"
#include "kernels.h"

namespace lightllm::gpu {

template <typename T>
static __global__ void add_bias_kernel(T* out, const T* bias, int64_t n, int m) {
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n * m) out[i] = from_float<T>(to_float(out[i]) + to_float(bias[i % m]));
}

static cudaDataType_t cuda_type(DType t) {
    switch (t) {
        case DType::F16: return CUDA_R_16F;
        case DType::BF16: return CUDA_R_16BF;
        case DType::F32: return CUDA_R_32F;
        default: LL_CHECK(false, "linear: unsupported dtype {}", dtype_name(t));
    }
    return CUDA_R_32F;
}

void linear(cublasHandle_t handle, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out,
            cudaStream_t s) {
    int64_t k = x.dim(-1), n = x.rows(), m = w.dim(0);
    LL_CHECK(w.ndim == 2 && w.dim(1) == k && out.rows() == n && out.dim(-1) == m && x.dtype == w.dtype &&
                 out.dtype == x.dtype,
             "linear: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    if (n == 0) return;
    if (gemv_applies(x, w)) {
        gemv(x, w, bias, out, s);
        return;
    }
    float alpha = 1.0f, beta = 0.0f;
    cudaDataType_t t = cuda_type(x.dtype);
    CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(m), int(n), int(k), &alpha, w.data, t, int(k),
                              x.data, t, int(k), &beta, out.data, t, int(m),
                              x.dtype == DType::F32 ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F,
                              CUBLAS_GEMM_DEFAULT));
    if (!bias.empty()) {
        LL_CHECK(bias.numel() == m && bias.dtype == out.dtype, "linear: bias {} for {} outputs", bias.shape_str(), m);
        int64_t total = n * m;
        LL_DISPATCH_FLOAT(out.dtype, add_bias_kernel<scalar_t><<<int((total + 255) / 256), 256, 0, s>>>(
                                         out.ptr<scalar_t>(), bias.ptr<scalar_t>(), n, int(m)));
        CUDA_CHECK_LAUNCH();
    }
}

}  // namespace lightllm::gpu
