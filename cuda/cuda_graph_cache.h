// CudaGraphCache: CUDA graphs of decode steps, one per batch-size bucket.
//
// A decode step launches ~10 kernels per layer; at batch 1 the launches, not
// the GPU, set the pace. Capturing the step once per bucket and replaying it
// removes that cost. This works because the step's work is a pure function of
// device buffers whose addresses never change (the model's workspace, the
// runner's index buffers, the KV pool) and of host scalars that are fixed per
// bucket (n_reqs, n_tokens; the decode attention grid depends on nothing
// else). A batch smaller than its bucket is padded with requests that do
// nothing: kv_len 0, KV slot -1 (rope_store_kv and set_token_slots skip
// negative slots; attention of an empty request writes zeros).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace lightllm {

class Backend;
class CudaBackend;

class CudaGraphCache {
public:
    // Graphs of work queued on `backend`'s stream.
    explicit CudaGraphCache(CudaBackend& backend);
    ~CudaGraphCache();
    CudaGraphCache(const CudaGraphCache&) = delete;
    CudaGraphCache& operator=(const CudaGraphCache&) = delete;

    // Runs `enqueue` as graph `key`. The first call for a key runs it eagerly
    // (its results are those of this call; lazily sized buffers get their
    // size) and then captures it; later calls replay the capture. `enqueue`
    // may only queue device work on the stream: no synchronization, no
    // host<->device copies, no allocation.
    void run(int64_t key, const std::function<void()>& enqueue);

    // The bucket a decode batch of n requests runs in (1, 2, 4, 8, then
    // multiples of 8 up to 64, then of 32); 0 if n > max_bucket.
    static int bucket(int n_reqs, int max_bucket);

private:
    struct Graph;
    CudaBackend& backend_;
    std::map<int64_t, std::unique_ptr<Graph>> graphs_;
};

// The CUDA backend behind `backend`, or nullptr (CPU backend, or built without CUDA).
CudaBackend* as_cuda_backend(Backend& backend);

}  // namespace lightllm
