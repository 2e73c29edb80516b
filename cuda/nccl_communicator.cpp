// The NCCL communicator (CUDA builds only). libnccl.so.2 is opened at run
// time, so the binary starts on machines without NCCL and TP=1 never needs it.
// Rank 0 makes the unique id and sends it over the TpGroup's TCP connections;
// every rank then joins one NCCL communicator on its backend's device and
// queues the collectives on the backend's stream.
//
// CUDA graphs (decode steps under TP, ModelRunner): the communicator is made
// (ncclCommInitRank) before any capture; a collective only queues work on the
// stream, and the logits gather goes through a device buffer sized up front
// (reserve_gather), so a captured step neither synchronises nor allocates.
// NCCL requires that every rank captures the same collectives and replays the
// graph made from them together; ModelRunner sees to that (every rank runs
// the same step plans, bucket included, in the same order).
#include "check.h"
#include "communicator.h"
#include "cuda_backend.h"
#include "tp_group.h"
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>
#include <algorithm>
#include <vector>

namespace lightllm {

namespace {

struct NcclApi {
    void* lib = nullptr;
    decltype(&ncclGetUniqueId) get_unique_id = nullptr;
    decltype(&ncclCommInitRank) comm_init_rank = nullptr;
    decltype(&ncclCommDestroy) comm_destroy = nullptr;
    decltype(&ncclAllReduce) all_reduce = nullptr;
    decltype(&ncclAllGather) all_gather = nullptr;
    decltype(&ncclGetErrorString) error_string = nullptr;

    void load() {
        for (const char* name : {"libnccl.so.2", "libnccl.so"}) {
            lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
            if (lib) break;
        }
        if (!lib) fail("tensor parallel on CUDA needs NCCL: cannot load libnccl.so.2 ({})", dlerror());
        auto sym = [&](const char* s) {
            void* p = dlsym(lib, s);
            if (!p) fail("libnccl.so.2 has no symbol {}", s);
            return p;
        };
        get_unique_id = reinterpret_cast<decltype(get_unique_id)>(sym("ncclGetUniqueId"));
        comm_init_rank = reinterpret_cast<decltype(comm_init_rank)>(sym("ncclCommInitRank"));
        comm_destroy = reinterpret_cast<decltype(comm_destroy)>(sym("ncclCommDestroy"));
        all_reduce = reinterpret_cast<decltype(all_reduce)>(sym("ncclAllReduce"));
        all_gather = reinterpret_cast<decltype(all_gather)>(sym("ncclAllGather"));
        error_string = reinterpret_cast<decltype(error_string)>(sym("ncclGetErrorString"));
    }
};

ncclDataType_t nccl_dtype(DType t) {
    switch (t) {
        case DType::F32: return ncclFloat32;
        case DType::F16: return ncclFloat16;
        case DType::BF16: return ncclBfloat16;
        default: fail("NCCL communicator: dtype {} is not reduced", dtype_name(t));
    }
}

class NcclCommunicator : public Communicator {
public:
    NcclCommunicator(TpGroup& group, CudaBackend& be) : group_(group), be_(be) {
        api_.load();
        ncclUniqueId id{};
        if (group.rank() == 0) check(api_.get_unique_id(&id), "ncclGetUniqueId");
        group.broadcast(&id, sizeof id);
        check(api_.comm_init_rank(&comm_, group.world_size(), id, group.rank()), "ncclCommInitRank");
    }
    ~NcclCommunicator() override {
        if (!scratch_.empty()) be_.free(scratch_);
        for (Tensor& t : retired_) be_.free(t);
        if (comm_) api_.comm_destroy(comm_);
    }
    int rank() const override { return group_.rank(); }
    int world_size() const override { return group_.world_size(); }

    void all_reduce_sum(Tensor& t) override {
        check(api_.all_reduce(t.data, t.data, size_t(t.numel()), nccl_dtype(t.dtype), ncclSum, comm_, be_.stream()),
              "ncclAllReduce");
    }

    void gather_columns(const Tensor& local, Tensor& full, int64_t cols) override {
        LL_CHECK(local.dtype == DType::F32, "nccl gather_columns: F32 only");
        const int64_t n = local.shape[0], stride = local.shape[1];
        reserve_gather(n, stride);
        check(api_.all_gather(local.data, scratch_.data, size_t(n * stride), ncclFloat32, comm_, be_.stream()),
              "ncclAllGather");
        if (rank() != 0) return;
        const int64_t total = full.shape[1];
        for (int r = 0; r < world_size(); ++r) {
            const int64_t c0 = int64_t(r) * cols, w = std::max<int64_t>(0, std::min(cols, total - c0));
            if (w == 0 || n == 0) continue;
            const float* src = scratch_.ptr<float>() + int64_t(r) * n * stride;
            const cudaError_t e = cudaMemcpy2DAsync(full.ptr<float>() + c0, size_t(total) * 4, src, size_t(stride) * 4,
                                                    size_t(w) * 4, size_t(n), cudaMemcpyDeviceToDevice, be_.stream());
            if (e != cudaSuccess) fail("NCCL gather_columns: {}", cudaGetErrorString(e));
        }
    }

    void reserve_gather(int64_t rows, int64_t stride) override {
        const int64_t need = rows * stride * world_size();
        if (!scratch_.empty() && scratch_.numel() >= need) return;
        // A captured graph may still write the old buffer: keep it until the end.
        if (!scratch_.empty()) retired_.push_back(scratch_);
        scratch_ = be_.alloc(DType::F32, {std::max<int64_t>(need, 1)});
    }

private:
    void check(ncclResult_t r, const char* what) {
        if (r != ncclSuccess && r != ncclInProgress)
            group_.failed(fmt::format("tensor parallel: rank {}: {} failed: {}", group_.rank(), what,
                                      api_.error_string(r)));
    }

    TpGroup& group_;
    CudaBackend& be_;
    NcclApi api_;
    ncclComm_t comm_ = nullptr;
    Tensor scratch_;  // [world, n, cols] F32 for gather_columns
    std::vector<Tensor> retired_;  // smaller scratch buffers captured graphs may use
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(TpGroup& group, Backend& backend) {
    auto* cuda = dynamic_cast<CudaBackend*>(&backend);
    if (!cuda) fail("the NCCL communicator needs the CUDA backend (got {})", backend.name());
    return std::make_unique<NcclCommunicator>(group, *cuda);
}

}  // namespace lightllm
