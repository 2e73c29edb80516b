// TokenKvPool: per-layer K/V tensors plus a stack of free slot indices.
// Slots are handed out lowest first from a fresh pool; a bitmap of used slots
// catches double frees and foreign slots (bugs, so LL_CHECK).
#include "token_kv_pool.h"

namespace lightllm {

size_t kv_bytes_per_token(const KvPoolShape& shape, DType kv_dtype) {
    const size_t per_layer_side = size_t(shape.n_kv_head) * shape.head_dim * dtype_size(kv_dtype) +
                                  (kv_dtype == DType::I8 ? size_t(shape.n_kv_head) * sizeof(float) : 0);
    return size_t(shape.n_layer) * 2 * per_layer_side;
}

TokenKvPool::TokenKvPool(int64_t capacity) : capacity_(capacity) {
    LL_CHECK(capacity >= 0 && capacity <= INT32_MAX, "kv pool capacity {}", capacity);
    free_slots_.reserve(size_t(capacity));
    for (int64_t s = capacity - 1; s >= 0; --s) free_slots_.push_back(int32_t(s));
    used_.assign(size_t(capacity), 0);
}

TokenKvPool::TokenKvPool(Backend& backend, const KvPoolShape& shape, DType kv_dtype, int64_t capacity)
    : TokenKvPool(capacity) {
    backend_ = &backend;
    dtype_ = kv_dtype;
    layers_.resize(size_t(shape.n_layer));
    for (KvLayer& l : layers_) {
        l.k = backend.alloc(kv_dtype, {capacity, shape.n_kv_head, shape.head_dim});
        l.v = backend.alloc(kv_dtype, {capacity, shape.n_kv_head, shape.head_dim});
        if (kv_dtype == DType::I8) {
            l.k_scale = backend.alloc(DType::F32, {capacity, shape.n_kv_head});
            l.v_scale = backend.alloc(DType::F32, {capacity, shape.n_kv_head});
        }
    }
}

TokenKvPool::~TokenKvPool() {
    if (!backend_) return;
    for (KvLayer& l : layers_) {
        backend_->free(l.k);
        backend_->free(l.v);
        if (!l.k_scale.empty()) backend_->free(l.k_scale);
        if (!l.v_scale.empty()) backend_->free(l.v_scale);
    }
}

bool TokenKvPool::alloc(int64_t n, std::vector<int32_t>& out) {
    LL_CHECK(n >= 0, "kv pool: alloc of {} slots", n);
    if (n > n_free()) return false;
    for (int64_t i = 0; i < n; ++i) {
        const int32_t s = free_slots_.back();
        free_slots_.pop_back();
        used_[size_t(s)] = 1;
        out.push_back(s);
    }
    return true;
}

void TokenKvPool::free(const int32_t* slots, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        const int32_t s = slots[i];
        LL_CHECK(s >= 0 && s < capacity_ && used_[size_t(s)], "kv pool: freeing slot {} that is not in use", s);
        used_[size_t(s)] = 0;
        free_slots_.push_back(s);
    }
}

}  // namespace lightllm
