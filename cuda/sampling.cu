// Greedy sampling on the device: ids[i] = argmax_j logits[i, j], the lowest
// index winning ties (as a host loop keeping the first maximum does), and
// optionally its log-softmax logprobs[i] = max - logsumexp(row). One block per
// row, one pass: each thread keeps its maximum, the maximum's index and the
// sum of exp(x - maximum) over its elements (rescaled when the maximum
// grows), and the block merges those triples. Rows whose length is a
// multiple of 16 bytes are read with 16-byte loads. NaN never wins.
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

namespace lightllm::gpu {

__device__ __forceinline__ void better(float& v, int& i, float v2, int i2) {
    if (v2 > v || (v2 == v && i2 < i)) {
        v = v2;
        i = i2;
    }
}

// Running (maximum, its index, sum of exp(x - maximum)) of a set of values.
struct MaxSum {
    float best = -INFINITY;
    int idx;
    float sum = 0.0f;
    __device__ explicit MaxSum(int none) : idx(none) {}
    __device__ void add(float v, int j) {
        if (v > best) {
            sum = sum * __expf(best - v) + 1.0f;
            best = v;
            idx = j;
        } else {
            if (v == best && j < idx) idx = j;
            if (v > -INFINITY) sum += __expf(v - best);
        }
    }
    __device__ void merge(float b2, int i2, float s2) {
        float m = fmaxf(best, b2);
        sum = m == -INFINITY ? 0.0f : sum * __expf(best - m) + s2 * __expf(b2 - m);
        better(best, idx, b2, i2);
    }
    __device__ void warp_merge() {
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            float b2 = __shfl_xor_sync(0xffffffffu, best, o), s2 = __shfl_xor_sync(0xffffffffu, sum, o);
            int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
            merge(b2, i2, s2);
        }
    }
};

template <typename T, bool Vec>
static __global__ void argmax_kernel(const T* logits, int* ids, float* logprobs, int vocab) {
    pdl_wait();
    pdl_launch_dependents();
    const T* row = logits + int64_t(blockIdx.x) * vocab;
    MaxSum acc(vocab);  // the index stays out of range only if every value is NaN or -inf
    if constexpr (Vec) {
        constexpr int kLoads = 4;                  // 16-byte loads in flight per thread
        constexpr int kPer = 16 / int(sizeof(T));  // values per load
        const uint4* rv = reinterpret_cast<const uint4*>(row);
        const int nv = vocab / kPer;
        for (int c0 = threadIdx.x; c0 < nv; c0 += kLoads * blockDim.x) {
            uint4 raw[kLoads];
#pragma unroll
            for (int u = 0; u < kLoads; ++u) {
                int c = c0 + u * blockDim.x;
                if (c < nv) raw[u] = rv[c];
            }
#pragma unroll
            for (int u = 0; u < kLoads; ++u) {
                int c = c0 + u * blockDim.x;
                if (c >= nv) break;
                const T* v = reinterpret_cast<const T*>(&raw[u]);
#pragma unroll
                for (int e = 0; e < kPer; ++e) acc.add(to_float(v[e]), c * kPer + e);
            }
        }
    } else {
        for (int j = threadIdx.x; j < vocab; j += blockDim.x) acc.add(to_float(row[j]), j);
    }
    acc.warp_merge();
    __shared__ float sb[32], ss[32];
    __shared__ int si[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sb[warp] = acc.best;
        si[warp] = acc.idx;
        ss[warp] = acc.sum;
    }
    __syncthreads();
    if (warp != 0) return;
    int n_warps = blockDim.x >> 5;
    MaxSum total(vocab);
    if (lane < n_warps) {
        total.best = sb[lane];
        total.idx = si[lane];
        total.sum = ss[lane];
    }
    total.warp_merge();
    if (lane != 0) return;
    ids[blockIdx.x] = total.idx < vocab ? total.idx : 0;
    if (logprobs) logprobs[blockIdx.x] = -logf(total.sum);
}

void argmax_rows(const Tensor& logits, Tensor& ids, Tensor* logprobs, Stream s) {
    int64_t n = logits.rows(), vocab = logits.dim(-1);
    LL_CHECK(ids.dtype == DType::I32 && ids.numel() == n, "argmax_rows: logits {} ids {}", logits.shape_str(),
             ids.shape_str());
    LL_CHECK(!logprobs || (logprobs->dtype == DType::F32 && logprobs->numel() == n), "argmax_rows: logprobs");
    if (n == 0) return;
    float* lp = logprobs ? logprobs->ptr<float>() : nullptr;
    const bool vec = (vocab * int64_t(dtype_size(logits.dtype))) % 16 == 0;
    LL_DISPATCH_FLOAT(logits.dtype, {
        if (vec) launch_pdl(argmax_kernel<scalar_t, true>, int(n), 1024, 0, s, logits.ptr<scalar_t>(), ids.ptr<int>(), lp, int(vocab));
        else launch_pdl(argmax_kernel<scalar_t, false>, int(n), 1024, 0, s, logits.ptr<scalar_t>(), ids.ptr<int>(), lp, int(vocab));
    });
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
