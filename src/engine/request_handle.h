// RequestHandle: what submit() gives a caller: the request's id and a cancel
// flag the engine reads at the start of each step.
#pragma once
#include <atomic>
#include <cstdint>

namespace lightllm {

class RequestHandle {
public:
    uint64_t id() const { return id_; }
    void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
    bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
    explicit RequestHandle(uint64_t id) : id_(id) {}

private:
    uint64_t id_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace lightllm
