// CudaGraphCache: capture on first use of a key, replay afterwards.
#include "cuda_graph_cache.h"
#include "cuda_backend.h"
#include "cuda_check.h"

namespace lightllm {

struct CudaGraphCache::Graph {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    ~Graph() {
        if (exec) cudaGraphExecDestroy(exec);
        if (graph) cudaGraphDestroy(graph);
    }
};

CudaGraphCache::CudaGraphCache(CudaBackend& backend) : backend_(backend) {}
CudaGraphCache::~CudaGraphCache() = default;

void CudaGraphCache::run(int64_t key, const std::function<void()>& enqueue) {
    cudaStream_t s = backend_.stream();
    auto it = graphs_.find(key);
    if (it != graphs_.end()) {
        CUDA_CHECK(cudaGraphLaunch(it->second->exec, s));
        return;
    }
    enqueue();  // eager: this step's results, and buffers sized before capture
    auto g = std::make_unique<Graph>();
    CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    enqueue();
    CUDA_CHECK(cudaStreamEndCapture(s, &g->graph));
    CUDA_CHECK(cudaGraphInstantiate(&g->exec, g->graph, 0));
    graphs_.emplace(key, std::move(g));
}

int CudaGraphCache::bucket(int n_reqs, int max_bucket) {
    if (n_reqs <= 0 || n_reqs > max_bucket) return 0;
    int b = n_reqs <= 8 ? 1 : 0;
    if (b) {
        while (b < n_reqs) b *= 2;
    } else if (n_reqs <= 64) {
        b = (n_reqs + 7) / 8 * 8;
    } else {
        b = (n_reqs + 31) / 32 * 32;
    }
    return b > max_bucket ? max_bucket : b;
}

CudaBackend* as_cuda_backend(Backend& backend) { return dynamic_cast<CudaBackend*>(&backend); }

}  // namespace lightllm
