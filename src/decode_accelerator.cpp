// DecodeAccelerator on the CUDA backend: a CudaGraphCache plus a device
// buffer for greedy ids. Without CUDA, make() returns nullptr.
#include "decode_accelerator.h"
#include <cstdlib>
#include <map>
#include <string>
#ifdef LIGHTLLM_WITH_CUDA
#include "cuda_backend.h"
#include "cuda_graph_cache.h"
#endif

namespace lightllm {

#ifdef LIGHTLLM_WITH_CUDA
namespace {

class CudaDecodeAccelerator : public DecodeAccelerator {
public:
    CudaDecodeAccelerator(CudaBackend& be, int max_batch, bool graphs)
        : be_(be), graphs_(be), max_batch_(max_batch), use_graphs_(graphs) {
        ids_ = be_.alloc(DType::I32, {max_batch});
        logprobs_ = be_.alloc(DType::F32, {max_batch});
    }
    ~CudaDecodeAccelerator() override {
        be_.free(ids_);
        be_.free(logprobs_);
    }

    int graph_bucket(int n_reqs) const override {
        return use_graphs_ ? CudaGraphCache::bucket(n_reqs, max_batch_) : 0;
    }
    Tensor run_graph(int bucket, const std::function<Tensor()>& forward) override {
        graphs_.run(bucket, [&] { outputs_[bucket] = forward(); });
        return outputs_[bucket];
    }

    void greedy(const Tensor& logits, std::vector<int32_t>& ids, std::vector<float>& logprobs) override {
        int64_t n = logits.rows();
        LL_CHECK(n <= max_batch_, "greedy: {} rows, buffer of {}", n, max_batch_);
        ids.resize(static_cast<size_t>(n));
        logprobs.resize(static_cast<size_t>(n));
        if (n == 0) return;
        Tensor t_ids = ids_.slice_rows(0, n), t_lp = logprobs_.slice_rows(0, n);
        be_.argmax_rows(logits, t_ids, &t_lp);
        be_.download(t_ids, ids.data());
        be_.download(t_lp, logprobs.data());
    }

private:
    CudaBackend& be_;
    CudaGraphCache graphs_;
    int max_batch_;
    bool use_graphs_;
    Tensor ids_;       // [max_batch] I32
    Tensor logprobs_;  // [max_batch] F32
    std::map<int, Tensor> outputs_;  // logits view each bucket's graph writes
};

}  // namespace

std::unique_ptr<DecodeAccelerator> DecodeAccelerator::make(Backend& backend, int max_batch) {
    auto* cuda = dynamic_cast<CudaBackend*>(&backend);
    if (!cuda || max_batch <= 0) return nullptr;
    const char* env = std::getenv("LIGHTLLM_CUDA_GRAPHS");
    bool graphs = !(env && std::string(env) == "0");
    return std::make_unique<CudaDecodeAccelerator>(*cuda, max_batch, graphs);
}
#else
std::unique_ptr<DecodeAccelerator> DecodeAccelerator::make(Backend&, int) { return nullptr; }
#endif

}  // namespace lightllm
