// Greedy sampling on the device: ids[i] = argmax_j logits[i, j], the lowest
// index winning ties (as a host loop keeping the first maximum does), and
// optionally its log-softmax logprobs[i] = max - logsumexp(row). One block per
// row; NaN never wins.
#include "common.cuh"
#include "kernels.h"

namespace lightllm::gpu {

__device__ __forceinline__ void better(float& v, int& i, float v2, int i2) {
    if (v2 > v || (v2 == v && i2 < i)) {
        v = v2;
        i = i2;
    }
}

template <typename T>
static __global__ void argmax_kernel(const T* logits, int* ids, float* logprobs, int vocab) {
    const T* row = logits + int64_t(blockIdx.x) * vocab;
    float best = -INFINITY;
    int idx = vocab;  // stays out of range only if every value is NaN or -inf
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) better(best, idx, to_float(row[j]), j);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float v2 = __shfl_xor_sync(0xffffffffu, best, o);
        int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
        better(best, idx, v2, i2);
    }
    __shared__ float sv[32];
    __shared__ int si[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sv[warp] = best;
        si[warp] = idx;
    }
    __syncthreads();
    int n_warps = blockDim.x >> 5;
    best = lane < n_warps ? sv[lane] : -INFINITY;
    idx = lane < n_warps ? si[lane] : vocab;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float v2 = __shfl_xor_sync(0xffffffffu, best, o);
        int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
        better(best, idx, v2, i2);
    }
    if (threadIdx.x == 0) ids[blockIdx.x] = idx < vocab ? idx : 0;
    if (logprobs == nullptr) return;
    float sum = 0.0f;  // every thread holds the row maximum `best` now
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) sum += __expf(to_float(row[j]) - best);
    sum = block_sum(sum);
    if (threadIdx.x == 0) logprobs[blockIdx.x] = -logf(sum);
}

void argmax_rows(const Tensor& logits, Tensor& ids, Tensor* logprobs, cudaStream_t s) {
    int64_t n = logits.rows(), vocab = logits.dim(-1);
    LL_CHECK(ids.dtype == DType::I32 && ids.numel() == n, "argmax_rows: logits {} ids {}", logits.shape_str(),
             ids.shape_str());
    LL_CHECK(!logprobs || (logprobs->dtype == DType::F32 && logprobs->numel() == n), "argmax_rows: logprobs");
    if (n == 0) return;
    float* lp = logprobs ? logprobs->ptr<float>() : nullptr;
    LL_DISPATCH_FLOAT(logits.dtype, argmax_kernel<scalar_t><<<int(n), 1024, 0, s>>>(logits.ptr<scalar_t>(),
                                                                                  ids.ptr<int>(), lp, int(vocab)));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
