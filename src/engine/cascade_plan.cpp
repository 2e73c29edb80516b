#include "cascade_plan.h"
#include <algorithm>
#include <unordered_map>

namespace lightllm {

int CascadePlan::max_members() const {
    int m = 0;
    for (int g = 0; g < n_groups(); ++g) m = std::max(m, group_start[size_t(g) + 1] - group_start[size_t(g)]);
    return m;
}

int CascadePlan::max_shared_len() const {
    int m = 0;
    for (int32_t l : shared_len) m = std::max(m, int(l));
    return m;
}

int64_t CascadePlan::saved_tokens() const {
    int64_t s = 0;
    for (int g = 0; g < n_groups(); ++g)
        s += int64_t(group_start[size_t(g) + 1] - group_start[size_t(g)] - 1) * shared_len[size_t(g)];
    return s;
}

int32_t common_slot_prefix(const CascadeSeq& a, const CascadeSeq& b, int32_t known) {
    int32_t lo = known, hi = std::min(a.n_cached, b.n_cached);  // slots agree at [0, lo); the LCP is <= hi
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo + 1) / 2;
        if (a.slots[mid - 1] == b.slots[mid - 1]) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

namespace {

struct RunSplitter {
    const std::vector<int32_t>& order;  // the bucket, sorted
    const std::vector<int32_t>& lcp;    // lcp[i]: LCP of order[i] and order[i + 1]
    int min_len;
    std::vector<std::pair<int, int>> runs;  // chosen groups [lo, hi] of `order`, with their LCPs
    std::vector<int32_t> run_len;
    // The runs visited are the nodes of the LCP array's Cartesian tree (at
    // most one per element), so their values are kept: emitting after a
    // split asks for them again.
    std::unordered_map<int64_t, int64_t> memo;

    // Best saving over order[lo..hi]; appends its groups to runs when `emit`.
    int64_t best(int lo, int hi, bool emit) {
        if (hi <= lo) return 0;
        int k = lo;
        for (int i = lo; i < hi; ++i)
            if (lcp[size_t(i)] < lcp[size_t(k)]) k = i;
        const int64_t whole = lcp[size_t(k)] >= min_len ? int64_t(hi - lo) * lcp[size_t(k)] : 0;
        const int64_t key = int64_t(lo) << 32 | uint32_t(hi);
        auto it = memo.find(key);
        const int64_t split =
            it != memo.end() ? it->second : (memo[key] = best(lo, k, false) + best(k + 1, hi, false));
        if (!emit) return std::max(whole, split);
        if (whole >= split && whole > 0) {
            runs.emplace_back(lo, hi);
            run_len.push_back(lcp[size_t(k)]);
            return whole;
        }
        return best(lo, k, true) + best(k + 1, hi, true);
    }
};

}  // namespace

CascadePlan plan_cascade(const std::vector<CascadeSeq>& seqs, const CascadeRules& rules) {
    CascadePlan plan;
    const int32_t min_len = std::max(1, rules.min_shared_len);
    std::unordered_map<int32_t, std::vector<int32_t>> buckets;
    for (size_t i = 0; i < seqs.size(); ++i)
        if (seqs[i].slots && seqs[i].n_cached >= min_len) buckets[seqs[i].slots[min_len - 1]].push_back(int32_t(i));
    std::vector<std::vector<int32_t>> groups;
    std::vector<int32_t> lens;
    for (auto& [key, order] : buckets) {
        if (order.size() < 2) continue;
        auto less = [&](int32_t a, int32_t b) {
            const CascadeSeq &x = seqs[size_t(a)], &y = seqs[size_t(b)];
            const int32_t l = common_slot_prefix(x, y, min_len);
            if (l == x.n_cached || l == y.n_cached) return x.n_cached != y.n_cached ? x.n_cached < y.n_cached : a < b;
            return x.slots[l] != y.slots[l] ? x.slots[l] < y.slots[l] : a < b;
        };
        std::sort(order.begin(), order.end(), less);
        std::vector<int32_t> lcp(order.size() - 1);
        for (size_t i = 0; i + 1 < order.size(); ++i)
            lcp[i] = common_slot_prefix(seqs[size_t(order[i])], seqs[size_t(order[i + 1])], min_len);
        RunSplitter split{order, lcp, min_len, {}, {}, {}};
        split.best(0, int(order.size()) - 1, true);
        for (size_t k = 0; k < split.runs.size(); ++k) {
            std::vector<int32_t> g(order.begin() + split.runs[k].first, order.begin() + split.runs[k].second + 1);
            std::sort(g.begin(), g.end());
            groups.push_back(std::move(g));
            lens.push_back(split.run_len[k]);
        }
    }
    // Groups in the order of their first member, so the plan does not depend
    // on the hash map's iteration order.
    std::vector<size_t> idx(groups.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return groups[a][0] < groups[b][0]; });
    for (size_t i : idx) {
        plan.members.insert(plan.members.end(), groups[i].begin(), groups[i].end());
        plan.group_start.push_back(int32_t(plan.members.size()));
        plan.shared_len.push_back(lens[i]);
    }
    if (plan.saved_tokens() < rules.min_saved_tokens) plan = CascadePlan{};
    return plan;
}

}  // namespace lightllm
