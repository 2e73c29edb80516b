// Embedding lookup: out[i, :] = table[ids[i], :]. One block per token, 16-byte
// copies when the row is a whole number of vectors; ids outside the table
// give a zero row (the model checks ids at the boundary).
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"

namespace lightllm::gpu {

template <typename V>
static __global__ void embedding_kernel(const int* ids, const V* table, V* out, int64_t n_vocab, int row_vecs) {
    pdl_wait();
    pdl_launch_dependents();
    int i = blockIdx.x;
    int id = ids[i];
    V* dst = out + int64_t(i) * row_vecs;
    if (id < 0 || id >= n_vocab) {
        for (int c = threadIdx.x; c < row_vecs; c += blockDim.x) dst[c] = V{};
        return;
    }
    const V* src = table + int64_t(id) * row_vecs;
    for (int c = threadIdx.x; c < row_vecs; c += blockDim.x) dst[c] = src[c];
}

void embedding(const Tensor& ids, const Tensor& table, Tensor& out, Stream s) {
    LL_CHECK(ids.dtype == DType::I32 && table.ndim == 2 && out.dtype == table.dtype, "embedding: bad dtypes");
    int64_t n = ids.numel(), d = table.dim(1);
    LL_CHECK(out.numel() == n * d, "embedding: out {} for {} ids of width {}", out.shape_str(), n, d);
    if (n == 0) return;
    size_t row_bytes = size_t(d) * dtype_size(table.dtype);
    if (row_bytes % 16 == 0) {
        int vecs = int(row_bytes / 16);
        launch_pdl(embedding_kernel<uint4>, int(n), 256, 0, s, ids.ptr<int>(), table.ptr<uint4>(), out.ptr<uint4>(),
                                                     table.dim(0), vecs);
    } else {
        int elems = int(row_bytes / 2);
        LL_CHECK(row_bytes % 2 == 0, "embedding: odd row size");
        launch_pdl(embedding_kernel<uint16_t>, int(n), 256, 0, s, ids.ptr<int>(), table.ptr<uint16_t>(),
                                                          out.ptr<uint16_t>(), table.dim(0), elems);
    }
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
