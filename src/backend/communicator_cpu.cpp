// The CPU communicator: the CPU backend's tensors are host memory, so every
// collective is the TpGroup's host operation on their bytes (rank 0 sums or
// assembles, in rank order, so every rank sees the same result).
#include "communicator.h"
#include "check.h"
#include "tp_group.h"
#include <algorithm>
#include <cstring>
#include <vector>

namespace lightllm {

namespace {

class CpuCommunicator : public Communicator {
public:
    explicit CpuCommunicator(TpGroup& g) : g_(g) {}
    int rank() const override { return g_.rank(); }
    int world_size() const override { return g_.world_size(); }

    void all_reduce_sum(Tensor& t) override {
        LL_CHECK(t.device == Device::CPU && t.dtype == DType::F32, "cpu all_reduce_sum: F32 host tensors only");
        g_.all_reduce_sum(static_cast<float*>(t.data), size_t(t.numel()));
    }

    void gather_columns(const Tensor& local, Tensor& full, int64_t cols) override {
        LL_CHECK(local.device == Device::CPU && local.dtype == DType::F32, "cpu gather_columns: F32 host tensors only");
        const int64_t n = local.shape[0], stride = local.shape[1];
        LL_CHECK(cols <= stride, "cpu gather_columns: {} columns of {}", cols, stride);
        std::vector<uint8_t> all;
        g_.gather(local.data, size_t(local.nbytes()), all);
        if (g_.rank() != 0) return;
        LL_CHECK(full.shape[0] == n && full.dtype == DType::F32, "cpu gather_columns: full has {} rows, local {}",
                 full.shape[0], n);
        const int64_t total = full.shape[1];
        const float* src = reinterpret_cast<const float*>(all.data());
        float* dst = static_cast<float*>(full.data);
        for (int r = 0; r < g_.world_size(); ++r) {
            const int64_t c0 = int64_t(r) * cols, w = std::max<int64_t>(0, std::min(cols, total - c0));
            for (int64_t i = 0; i < n && w > 0; ++i)
                std::memcpy(dst + i * total + c0, src + (int64_t(r) * n + i) * stride, size_t(w) * sizeof(float));
        }
    }

private:
    TpGroup& g_;
};

}  // namespace

std::unique_ptr<Communicator> make_cpu_communicator(TpGroup& group) {
    return std::make_unique<CpuCommunicator>(group);
}

}  // namespace lightllm
