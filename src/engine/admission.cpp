#include "admission.h"
#include <algorithm>

namespace lightllm {

int64_t peak_kv_need(std::vector<KvDemand> demands) {
    std::sort(demands.begin(), demands.end(), [](const KvDemand& a, const KvDemand& b) { return a.left > b.left; });
    int64_t need = 0, held_sum = 0;
    for (size_t i = 0; i < demands.size(); ++i) {
        held_sum += demands[i].held;
        need = std::max(need, int64_t(i + 1) * demands[i].left + held_sum);
    }
    return need;
}

bool can_admit(const std::vector<KvDemand>& running, const KvDemand& candidate, const AdmissionLimits& limits) {
    if (int(running.size()) + 1 > limits.max_running_requests) return false;
    std::vector<KvDemand> all = running;
    all.push_back(candidate);
    return peak_kv_need(std::move(all)) <= limits.capacity_tokens;
}

int n_admissible(std::vector<KvDemand> running, const std::vector<KvDemand>& waiting, const AdmissionLimits& limits) {
    int n = 0;
    for (const KvDemand& d : waiting) {
        if (!can_admit(running, d, limits)) break;
        running.push_back(d);
        ++n;
    }
    return n;
}

}  // namespace lightllm
