// ServerMetrics: the server's own counters and latency histograms, rendered
// together with the pipeline's live numbers (PipelineStats) as Prometheus
// text exposition format for GET /metrics. Every name starts with lightllm_.
// Thread-safe: HTTP worker threads record, /metrics reads.
#pragma once
#include "generation_call.h"
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace lightllm {

// A cumulative histogram with fixed upper bounds (seconds).
struct Histogram {
    std::vector<double> bounds;
    std::vector<int64_t> counts;  // per bucket (not cumulative); one more for +Inf
    double sum = 0;
    int64_t n = 0;

    explicit Histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}
    void observe(double v);
};

class ServerMetrics {
public:
    ServerMetrics();

    // One HTTP request answered (any route), by route and status.
    void count_http(const std::string& route, int status);
    // One choice of a generation finished: finish reason, TTFT, inter-token
    // gaps, end-to-end latency, token counts.
    void observe_choice(const ChoiceOutput& out);

    std::string render(const PipelineStats& stats, const std::string& model_name) const;

private:
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, int64_t> http_;
    std::map<std::string, int64_t> finished_;  // by finish reason
    int64_t prompt_tokens_ = 0;
    int64_t generation_tokens_ = 0;
    Histogram ttft_;
    Histogram inter_token_;
    Histogram e2e_;
};

}  // namespace lightllm
