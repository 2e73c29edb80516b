// StepPlan: one engine step as every rank runs it (model_runner.cpp): the
// counts that size the launches, then the index arrays in the order the
// runner uploads them. Rank 0 builds it from the StepSeqs and, under tensor
// parallelism, sends it (encode) to the other ranks, which decode it.
//
// arrays: ids, positions, slots, token_rows [n], logit_rows [n_out],
// q_start [n_reqs + 1], kv_len, req_rows [n_reqs]; then, when the step has
// cascade groups (cascade_plan.h), group_start [casc_groups + 1], members
// [casc_members], shared_len [casc_groups], req_shared [n_reqs]; then n_stale
// ints of prefix-cache table entries ([row, first position, count, slots...]).
#pragma once
#include "cascade_plan.h"
#include <cstdint>
#include <vector>

namespace lightllm {

struct StepPlan {
    int32_t n = 0, n_reqs = 0, n_out = 0, n_wanted = 0, max_q = 0, max_kv = 0, n_decode_first = 0, bucket = 0;
    int32_t n_stale = 0;  // ints of prefix-cache table entries after the arrays
    int32_t tune = 0;     // 1: GEMM tuning on for this step (the start-up capture)
    int32_t casc_groups = 0, casc_members = 0, casc_max_members = 0, casc_max_len = 0;
    std::vector<int32_t> arrays;

    // Ints of the cascade arrays (0 without groups).
    int64_t cascade_ints() const { return casc_groups > 0 ? 2 * int64_t(casc_groups) + 1 + casc_members + n_reqs : 0; }
    // Appends the groups' arrays (after req_rows, before the table entries)
    // and sets the counts; nothing when `casc` has no group. n_reqs must be set.
    void append_cascade(const CascadePlan& casc);
    void encode(std::vector<uint8_t>& out) const;
    // Checks that the array length matches the counts.
    void decode(const std::vector<uint8_t>& in);
};

}  // namespace lightllm
