// ServerMetrics: the server's own counters and latency histograms, rendered
// together with the pipeline's live numbers (PipelineStats) as Prometheus
// text exposition format for GET /metrics: our own names (lightllm_*) and,
// for routers and gateways (Gateway API inference extension, vLLM's
// production stack, sglang-router), vLLM's names, semantics and histogram
// buckets (vllm:*, vllm_metrics.cpp), each with a model_name label.
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
    // The same observations in vLLM's buckets.
    Histogram vllm_ttft_;
    Histogram vllm_inter_token_;
    Histogram vllm_e2e_;
};

// vLLM's metric names over our numbers (vllm_metrics.cpp): appended to out.
// `labels` is the model_name label ready to print.
struct VllmCounters {
    int64_t prompt_tokens = 0;
    int64_t generation_tokens = 0;
};
void write_vllm_metrics(std::string& out, const PipelineStats& s, const VllmCounters& c, const Histogram& ttft,
                        const Histogram& inter_token, const Histogram& e2e, const std::string& labels);
std::vector<double> vllm_ttft_buckets();
std::vector<double> vllm_inter_token_buckets();
std::vector<double> vllm_e2e_buckets();
void write_histogram(std::string& out, const char* name, const char* help, const Histogram& h, const std::string& labels);

}  // namespace lightllm
