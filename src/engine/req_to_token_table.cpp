// ReqToTokenTable: the device table plus a stack of free rows (lowest first).
#include "req_to_token_table.h"
#include <algorithm>

namespace lightllm {

ReqToTokenTable::ReqToTokenTable(int max_requests) : max_requests_(max_requests) {
    LL_CHECK(max_requests > 0, "req_to_token table with {} rows", max_requests);
    for (int r = max_requests - 1; r >= 0; --r) free_rows_.push_back(r);
}

ReqToTokenTable::ReqToTokenTable(Backend& backend, int max_requests, int max_context)
    : ReqToTokenTable(max_requests) {
    LL_CHECK(max_context > 0, "req_to_token table with {} columns", max_context);
    backend_ = &backend;
    max_context_ = max_context;
    table_ = backend.alloc(DType::I32, {max_requests, max_context});
    std::vector<int32_t> zeros(size_t(max_requests) * size_t(max_context), 0);
    backend.upload(table_, zeros.data(), DType::I32);
}

ReqToTokenTable::~ReqToTokenTable() {
    if (backend_) backend_->free(table_);
}

int ReqToTokenTable::alloc_row() {
    if (free_rows_.empty()) return -1;
    const int r = free_rows_.back();
    free_rows_.pop_back();
    return r;
}

void ReqToTokenTable::free_row(int row) {
    LL_CHECK(row >= 0 && row < max_requests_, "req_to_token: freeing row {} of {}", row, max_requests_);
    LL_CHECK(std::find(free_rows_.begin(), free_rows_.end(), row) == free_rows_.end(),
             "req_to_token: row {} freed twice", row);
    free_rows_.push_back(row);
}

}  // namespace lightllm
