// BlockingQueue: a bounded multi-producer, multi-consumer FIFO joining the
// pipeline's threads. Producers either wait for room (push) or are told the
// queue is full (try_push); the engine thread drains without waiting
// (pop_all) and sleeps only when it has nothing to do (pop / wait_pop_all).
// close() wakes everyone; after it, pushes fail and pops drain what is left.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace lightllm {

template <typename T>
class BlockingQueue {
public:
    // capacity 0: unbounded.
    explicit BlockingQueue(size_t capacity = 0) : capacity_(capacity) {}

    // Waits while full; false when the queue is closed.
    bool push(T item) {
        std::unique_lock<std::mutex> lock(mutex_);
        not_full_.wait(lock, [&] { return closed_ || !full(); });
        if (closed_) return false;
        items_.push_back(std::move(item));
        not_empty_.notify_one();
        return true;
    }

    // Never waits; false when full or closed (the item is left untouched).
    bool try_push(T& item) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_ || full()) return false;
        items_.push_back(std::move(item));
        not_empty_.notify_one();
        return true;
    }

    // Waits for an item; nullopt once the queue is closed and empty.
    std::optional<T> pop() {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
        if (items_.empty()) return std::nullopt;
        T item = std::move(items_.front());
        items_.pop_front();
        not_full_.notify_one();
        return item;
    }

    // Moves everything queued into `out` without waiting; returns how many.
    size_t pop_all(std::vector<T>& out) {
        std::lock_guard<std::mutex> lock(mutex_);
        return drain(out);
    }

    // Like pop_all, but first waits up to `timeout` for something to arrive.
    size_t wait_pop_all(std::vector<T>& out, std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); });
        return drain(out);
    }

    void close() {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
        not_empty_.notify_all();
        not_full_.notify_all();
    }

    bool closed() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return closed_;
    }

    size_t size() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return items_.size();
    }

private:
    bool full() const { return capacity_ != 0 && items_.size() >= capacity_; }

    size_t drain(std::vector<T>& out) {
        size_t n = items_.size();
        for (auto& item : items_) out.push_back(std::move(item));
        items_.clear();
        if (n) not_full_.notify_all();
        return n;
    }

    size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable not_empty_, not_full_;
    std::deque<T> items_;
    bool closed_ = false;
};

}  // namespace lightllm
