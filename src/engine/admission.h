// Admission: LightLLM's rule for letting a request into the running batch
// without ever over-committing the token-wise KV pool.
//
// Each request i holds `held_i` tokens (prompt + output so far) and may still
// produce `left_i` tokens. Sort by left descending; the i-th (1-based) is alive
// until step left_i, by which time the i requests with the most left have each
// grown by left_i, so the pool's peak need is
//     need = max over i of ( i * left_i + sum_{j <= i} held_j ).
// A candidate is admitted when need (with it) <= capacity and the running
// count stays within max_running_requests.
#pragma once
#include <cstdint>
#include <vector>

namespace lightllm {

struct KvDemand {
    int64_t held = 0;  // tokens in (or about to be in) the pool
    int64_t left = 0;  // tokens it may still add
};

// Peak tokens the set will ever hold at once (the formula above).
int64_t peak_kv_need(std::vector<KvDemand> demands);

struct AdmissionLimits {
    int64_t capacity_tokens = 0;
    int max_running_requests = 0;
};

// Whether `candidate` may join `running`.
bool can_admit(const std::vector<KvDemand>& running, const KvDemand& candidate, const AdmissionLimits& limits);

// FIFO admission: how many of `waiting` (front first) may join `running`; the
// first one that does not fit blocks everything behind it.
int n_admissible(std::vector<KvDemand> running, const std::vector<KvDemand>& waiting, const AdmissionLimits& limits);

}  // namespace lightllm
