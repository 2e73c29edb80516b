// CudaOpProfile: see cuda_op_profile.h.
#include "cuda_op_profile.h"
#include "check.h"
#include "cuda_check.h"
#include <algorithm>
#include <fmt/format.h>

namespace lightllm {

CudaOpProfile::~CudaOpProfile() {
    for (const Pending& p : pending_) {
        cudaEventDestroy(p.start);
        cudaEventDestroy(p.stop);
    }
    for (cudaEvent_t e : free_events_) cudaEventDestroy(e);
}

cudaEvent_t CudaOpProfile::take_event() {
    if (free_events_.empty()) {
        cudaEvent_t e;
        CUDA_CHECK(cudaEventCreate(&e));
        return e;
    }
    cudaEvent_t e = free_events_.back();
    free_events_.pop_back();
    return e;
}

void CudaOpProfile::begin(const std::string& kind) {
    Pending p{kind, take_event(), take_event()};
    CUDA_CHECK(cudaEventRecord(p.start, stream_));
    pending_.push_back(std::move(p));
}

void CudaOpProfile::end() {
    LL_CHECK(!pending_.empty(), "op profile: end() without begin()");
    CUDA_CHECK(cudaEventRecord(pending_.back().stop, stream_));
}

void CudaOpProfile::collect() {
    if (pending_.empty()) return;
    CUDA_CHECK(cudaEventSynchronize(pending_.back().stop));
    for (const Pending& p : pending_) {
        float ms = 0.0f;
        CUDA_CHECK(cudaEventElapsedTime(&ms, p.start, p.stop));
        Total& t = totals_[p.kind];
        ++t.calls;
        t.ms += double(ms);
        free_events_.push_back(p.start);
        free_events_.push_back(p.stop);
    }
    pending_.clear();
}

std::string CudaOpProfile::report() {
    collect();
    std::vector<std::pair<std::string, Total>> rows(totals_.begin(), totals_.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
    double all = 0.0;
    for (const auto& r : rows) all += r.second.ms;
    std::string out = fmt::format("{:<28} {:>10} {:>12} {:>10} {:>7}\n", "op (GPU time)", "calls", "total ms",
                                  "us/call", "share");
    for (const auto& [kind, t] : rows)
        out += fmt::format("{:<28} {:>10} {:>12.1f} {:>10.1f} {:>6.1f}%\n", kind, t.calls, t.ms,
                           1000.0 * t.ms / double(std::max<int64_t>(t.calls, 1)), all > 0 ? 100.0 * t.ms / all : 0.0);
    out += fmt::format("{:<28} {:>10} {:>12.1f}\n", "all ops", "", all);
    return out;
}

const char* linear_kind(int64_t rows) {
    if (rows <= 4) return "linear n=1-4";
    if (rows <= 64) return "linear n=5-64";
    if (rows <= 256) return "linear n=65-256";
    if (rows <= 1024) return "linear n=257-1024";
    return "linear n>1024";
}

}  // namespace lightllm
