#include "fused_qkv.h"
#include <cstring>
#include <vector>

namespace lightllm {

void upload_head_interleaved_qkv(Backend& backend, Tensor& dst, const TensorInfo& info, int n_head, int head_dim) {
    const int64_t rows = info.shape.at(0), width = int64_t(n_head) * head_dim;
    if (rows != 3 * width)
        fail("{}: tensor '{}' has {} rows, expected 3 x {} heads x {} for q, k and v", info.file, info.name, rows,
             n_head, head_dim);
    LL_CHECK(dst.numel() == info.numel(), "{}: '{}' has {} elements, destination {}", info.file, info.name,
             info.numel(), dst.numel());
    const int64_t cols = info.numel() / rows;
    std::vector<float> src(size_t(info.numel())), out(size_t(info.numel()));
    tensor_to_f32(info, src.data());
    for (int h = 0; h < n_head; ++h)
        for (int j = 0; j < 3; ++j)
            for (int d = 0; d < head_dim; ++d) {
                const int64_t from = (int64_t(h) * 3 + j) * head_dim + d;
                const int64_t to = j * width + int64_t(h) * head_dim + d;
                std::memcpy(out.data() + to * cols, src.data() + from * cols, size_t(cols) * sizeof(float));
            }
    backend.upload(dst, out.data(), DType::F32);
}

}  // namespace lightllm
