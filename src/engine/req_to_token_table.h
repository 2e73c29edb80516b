// ReqToTokenTable: [max_requests, max_context] I32 on the device; row r, column
// p holds the KV slot of token p of the request that owns row r. Attention
// kernels read K/V through it. Rows are handed out to running requests and
// returned when they finish; the engine writes new entries with
// Backend::set_token_slots as part of each step.
#pragma once
#include "backend.h"
#include <vector>

namespace lightllm {

class ReqToTokenTable {
public:
    ReqToTokenTable(Backend& backend, int max_requests, int max_context);
    explicit ReqToTokenTable(int max_requests);  // row accounting only (router tests)
    ~ReqToTokenTable();
    ReqToTokenTable(const ReqToTokenTable&) = delete;
    ReqToTokenTable& operator=(const ReqToTokenTable&) = delete;

    int max_requests() const { return max_requests_; }
    int max_context() const { return max_context_; }
    int n_free_rows() const { return int(free_rows_.size()); }
    // Returns a free row, or -1 when all are taken.
    int alloc_row();
    void free_row(int row);
    Tensor& table() { return table_; }

private:
    Backend* backend_ = nullptr;
    int max_requests_ = 0;
    int max_context_ = 0;
    std::vector<int> free_rows_;
    Tensor table_;
};

}  // namespace lightllm
