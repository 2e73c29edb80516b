// Small data-movement ops: add, gather_rows, set_token_slots, dtype
// conversion and the seeded random fill used by --load-format dummy.
// set_token_slots skips negative slots: the padding requests of a CUDA-graph
// decode bucket (cuda/cuda_graph_cache.h) write nothing.
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

namespace lightllm::gpu {

template <typename T>
static __global__ void add_kernel(const T* a, const T* b, T* out, int64_t n) {
    pdl_wait();
    pdl_launch_dependents();
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = from_float<T>(to_float(a[i]) + to_float(b[i]));
}

void add(const Tensor& a, const Tensor& b, Tensor& out, Stream s) {
    LL_CHECK(a.numel() == b.numel() && a.numel() == out.numel() && a.dtype == b.dtype && a.dtype == out.dtype,
             "add: a {} b {} out {}", a.shape_str(), b.shape_str(), out.shape_str());
    int64_t n = a.numel();
    if (n == 0) return;
    LL_DISPATCH_FLOAT(a.dtype, launch_pdl(add_kernel<scalar_t>, int((n + 255) / 256), 256, 0, s, 
                                   a.ptr<scalar_t>(), b.ptr<scalar_t>(), out.ptr<scalar_t>(), n));
    CUDA_CHECK_LAUNCH();
}

// One block per output row, copying 2-byte words (all row sizes here are even).
static __global__ void gather_rows_kernel(const uint16_t* x, const int* rows, uint16_t* out, int row_words) {
    pdl_wait();
    pdl_launch_dependents();
    const uint16_t* src = x + int64_t(rows[blockIdx.x]) * row_words;
    uint16_t* dst = out + int64_t(blockIdx.x) * row_words;
    for (int c = threadIdx.x; c < row_words; c += blockDim.x) dst[c] = src[c];
}

void gather_rows(const Tensor& x, const Tensor& rows, Tensor& out, Stream s) {
    int64_t n = rows.numel(), width = x.dim(-1);
    LL_CHECK(rows.dtype == DType::I32 && out.dtype == x.dtype && out.numel() == n * width,
             "gather_rows: x {} rows {} out {}", x.shape_str(), rows.shape_str(), out.shape_str());
    size_t row_bytes = size_t(width) * dtype_size(x.dtype);
    LL_CHECK(row_bytes % 2 == 0, "gather_rows: odd row size");
    if (n == 0) return;
    launch_pdl(gather_rows_kernel, int(n), 256, 0, s, x.ptr<uint16_t>(), rows.ptr<int>(), out.ptr<uint16_t>(),
                                              int(row_bytes / 2));
    CUDA_CHECK_LAUNCH();
}

static __global__ void set_token_slots_kernel(int* table, int64_t stride, const int* token_rows, const int* positions,
                                              const int* slots, int n) {
    pdl_wait();
    pdl_launch_dependents();
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n && slots[i] >= 0) table[int64_t(token_rows[i]) * stride + positions[i]] = slots[i];
}

void set_token_slots(Tensor& table, const Tensor& token_rows, const Tensor& positions, const Tensor& slots,
                     Stream s) {
    int64_t n = slots.numel();
    LL_CHECK(table.dtype == DType::I32 && table.ndim == 2 && token_rows.numel() == n && positions.numel() == n,
             "set_token_slots: table {} rows {} positions {} slots {}", table.shape_str(), token_rows.shape_str(),
             positions.shape_str(), slots.shape_str());
    if (n == 0) return;
    launch_pdl(set_token_slots_kernel, int((n + 255) / 256), 256, 0, s, table.ptr<int>(), table.dim(1), token_rows.ptr<int>(),
                                                              positions.ptr<int>(), slots.ptr<int>(), int(n));
    CUDA_CHECK_LAUNCH();
}

template <typename S, typename D>
static __global__ void convert_kernel(const S* src, D* dst, int64_t n) {
    pdl_wait();
    pdl_launch_dependents();
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = from_float<D>(to_float(src[i]));
}

void convert(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n, Stream s) {
    if (n == 0) return;
    if (src_dtype == dst_dtype) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(n) * dtype_size(src_dtype), cudaMemcpyDeviceToDevice, s));
        return;
    }
    int blocks = int((n + 255) / 256);
    LL_DISPATCH_FLOAT(src_dtype, {
        using src_t = scalar_t;
        LL_DISPATCH_FLOAT(dst_dtype, launch_pdl(convert_kernel<src_t, scalar_t>, blocks, 256, 0, s, 
                                         static_cast<const src_t*>(src), static_cast<scalar_t*>(dst), n));
    });
    CUDA_CHECK_LAUNCH();
}

// The same counter-based normal as the CPU backend (src/core/counter_rng.h), so a
// dummy model has the same weights on both backends.
__device__ __forceinline__ uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

template <typename T>
static __global__ void fill_random_kernel(T* out, int64_t n, uint64_t seed, float stddev) {
    int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    uint64_t s = mix64(seed), c = 2 * uint64_t(i);
    double u1 = (double(mix64(s + c) >> 11) + 1.0) * (1.0 / 9007199254740992.0);  // (0, 1]
    double u2 = double(mix64(s + c + 1) >> 11) * (1.0 / 9007199254740992.0);
    float z = float(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));  // Box-Muller
    out[i] = from_float<T>(stddev * z);
}

void fill_random(Tensor& t, uint64_t seed, float stddev, Stream s) {
    int64_t n = t.numel();
    if (n == 0) return;
    int blocks = int((n + 255) / 256);
    LL_DISPATCH_FLOAT(t.dtype, fill_random_kernel<scalar_t><<<blocks, 256, 0, s>>>(t.ptr<scalar_t>(), n, seed, stddev));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
