// TokenKvPool: LightLLM's token-wise KV cache. For every layer, K and V arrays
// of `capacity` token slots; a slot holds one token's K and V for all KV heads.
// A free list hands out any n slots (not necessarily contiguous), so a request
// holds exactly as many slots as it has tokens: no block-size waste.
// Invariant: n_free() + n_used() == capacity().
#pragma once
#include "backend.h"
#include <cstdint>
#include <vector>

namespace lightllm {


struct KvPoolShape {
    int n_layer = 0;
    int n_kv_head = 0;
    int head_dim = 0;
};

// Bytes one token slot costs across all layers (K and V, scales included).
size_t kv_bytes_per_token(const KvPoolShape& shape, DType kv_dtype);

class TokenKvPool {
public:
    // Allocates K/V of `capacity` slots per layer on `backend`.
    TokenKvPool(Backend& backend, const KvPoolShape& shape, DType kv_dtype, int64_t capacity);
    // Slot accounting only, no tensors (router tests).
    explicit TokenKvPool(int64_t capacity);
    ~TokenKvPool();
    TokenKvPool(const TokenKvPool&) = delete;
    TokenKvPool& operator=(const TokenKvPool&) = delete;

    int64_t capacity() const { return capacity_; }
    int64_t n_free() const { return int64_t(free_slots_.size()); }
    int64_t n_used() const { return capacity_ - n_free(); }
    DType dtype() const { return dtype_; }
    bool is_used(int32_t slot) const { return slot >= 0 && slot < capacity_ && used_[size_t(slot)]; }

    // Appends n slots to `out`; returns false (and takes nothing) if fewer are free.
    bool alloc(int64_t n, std::vector<int32_t>& out);
    void free(const int32_t* slots, size_t n);
    void free(const std::vector<int32_t>& slots) { free(slots.data(), slots.size()); }

    KvLayer& layer(int il) { return layers_[size_t(il)]; }
    const KvLayer& layer(int il) const { return layers_[size_t(il)]; }
    KvLayers& layers() { return layers_; }

private:
    Backend* backend_ = nullptr;
    DType dtype_ = DType::F32;
    int64_t capacity_ = 0;
    std::vector<int32_t> free_slots_;  // stack of free slot indices
    std::vector<uint8_t> used_;        // [capacity] 1 while a slot is handed out
    KvLayers layers_;
};

}  // namespace lightllm
