#include "step_plan.h"
#include "check.h"
#include <cstring>
#include <functional>

namespace lightllm {

namespace {
constexpr size_t kHeader = 14;
}

void StepPlan::append_cascade(const CascadePlan& casc) {
    if (casc.n_groups() == 0) return;
    casc_groups = casc.n_groups();
    casc_members = int32_t(casc.members.size());
    casc_max_members = casc.max_members();
    casc_max_len = casc.max_shared_len();
    std::vector<int32_t> req_shared(size_t(n_reqs), 0);
    for (int g = 0; g < casc.n_groups(); ++g)
        for (int32_t i = casc.group_start[size_t(g)]; i < casc.group_start[size_t(g) + 1]; ++i)
            req_shared[size_t(casc.members[size_t(i)])] = casc.shared_len[size_t(g)];
    for (const std::vector<int32_t>& v : {std::cref(casc.group_start), std::cref(casc.members),
                                          std::cref(casc.shared_len), std::cref(req_shared)})
        arrays.insert(arrays.end(), v.begin(), v.end());
}

void StepPlan::encode(std::vector<uint8_t>& out) const {
    const int32_t h[kHeader] = {n,      n_reqs,  n_out, n_wanted,    max_q,        max_kv,           n_decode_first,
                                bucket, n_stale, tune,  casc_groups, casc_members, casc_max_members, casc_max_len};
    out.resize(sizeof h + arrays.size() * sizeof(int32_t));
    std::memcpy(out.data(), h, sizeof h);
    if (!arrays.empty()) std::memcpy(out.data() + sizeof h, arrays.data(), arrays.size() * sizeof(int32_t));
}

void StepPlan::decode(const std::vector<uint8_t>& in) {
    int32_t h[kHeader];
    LL_CHECK(in.size() >= sizeof h && (in.size() - sizeof h) % 4 == 0, "step plan of {} bytes", in.size());
    std::memcpy(h, in.data(), sizeof h);
    n = h[0], n_reqs = h[1], n_out = h[2], n_wanted = h[3], max_q = h[4], max_kv = h[5], n_decode_first = h[6],
    bucket = h[7], n_stale = h[8], tune = h[9];
    casc_groups = h[10], casc_members = h[11], casc_max_members = h[12], casc_max_len = h[13];
    arrays.resize((in.size() - sizeof h) / 4);
    if (!arrays.empty()) std::memcpy(arrays.data(), in.data() + sizeof h, in.size() - sizeof h);
    LL_CHECK(int64_t(arrays.size()) == 4 * int64_t(n) + n_out + 3 * int64_t(n_reqs) + 1 + cascade_ints() + n_stale,
             "step plan: {} ints for {} tokens", arrays.size(), n);
}

}  // namespace lightllm
