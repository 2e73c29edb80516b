// PinnedHostBuffer: page-locked host memory (cudaHostAlloc) that grows on
// demand. Copies from it are truly asynchronous (a pageable source is first
// staged by the driver on the calling thread) and copies into it need no
// staging. The owner must not grow or rewrite it while a queued copy may
// still read it.
#pragma once
#include "cuda_check.h"
#include <cstddef>
#include <algorithm>

namespace lightllm {

class PinnedHostBuffer {
public:
    PinnedHostBuffer() = default;
    PinnedHostBuffer(const PinnedHostBuffer&) = delete;
    PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;
    ~PinnedHostBuffer() {
        if (data_) cudaFreeHost(data_);
    }

    // At least `bytes` bytes; the old contents are not kept when it grows.
    void* reserve(size_t bytes) {
        if (bytes <= capacity_) return data_;
        if (data_) CUDA_CHECK(cudaFreeHost(data_));
        data_ = nullptr;
        capacity_ = std::max(bytes, 2 * capacity_);
        CUDA_CHECK(cudaHostAlloc(&data_, capacity_, cudaHostAllocDefault));
        return data_;
    }
    template <typename T> T* as() const { return static_cast<T*>(data_); }

private:
    void* data_ = nullptr;
    size_t capacity_ = 0;
};

}  // namespace lightllm
