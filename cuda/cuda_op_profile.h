// CudaOpProfile: GPU time per op kind (`--profile-ops`). Every op the CUDA
// backend queues is bracketed by two events; at each synchronization point
// the finished pairs are read back and summed per kind ("linear n=5-64",
// "attention decode", ...). The events serialize nothing, but each costs a
// little host time, and decode steps run eagerly (no CUDA graphs) while it is
// on. report() gives a table, longest total first.
#pragma once
#include <cuda_runtime.h>
#include <map>
#include <string>
#include <vector>

namespace lightllm {

class CudaOpProfile {
public:
    explicit CudaOpProfile(cudaStream_t stream) : stream_(stream) {}
    ~CudaOpProfile();
    CudaOpProfile(const CudaOpProfile&) = delete;
    CudaOpProfile& operator=(const CudaOpProfile&) = delete;

    // Brackets one op queued on the stream between begin() and end().
    void begin(const std::string& kind);
    void end();
    // Reads back every bracket queued so far (the stream must be idle or the
    // caller accepts waiting for it).
    void collect();
    std::string report();

private:
    struct Pending {
        std::string kind;
        cudaEvent_t start, stop;
    };
    struct Total {
        int64_t calls = 0;
        double ms = 0.0;
    };
    cudaEvent_t take_event();

    cudaStream_t stream_;
    std::vector<cudaEvent_t> free_events_;
    std::vector<Pending> pending_;
    std::map<std::string, Total> totals_;
};

// Kind of a linear layer by its number of rows (the batch's tokens).
const char* linear_kind(int64_t rows);

}  // namespace lightllm
