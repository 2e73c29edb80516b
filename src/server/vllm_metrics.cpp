// vLLM's metric names over our numbers, for routers and gateways that read
// them (see metrics.h). Written as Python's prometheus_client writes vLLM's
// own exposition: a counter's family is named with its _total suffix.
// Histogram buckets are vLLM's (v1 engine), so dashboards and recording
// rules built for vLLM apply unchanged.
#include "metrics.h"
#include <fmt/format.h>

namespace lightllm {

namespace {

// A virtual block over the token-wise KV pool, as vLLM's block_size.
constexpr int64_t kVirtualBlockTokens = 16;

void gauge(std::string& out, const char* name, const char* help, double v, const std::string& labels) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{}{{{}}} {}\n", name, help, name, name, labels, v);
}

void counter(std::string& out, const char* name, const char* help, int64_t v, const std::string& labels) {
    out += fmt::format("# HELP {}_total {}\n# TYPE {}_total counter\n{}_total{{{}}} {}\n", name, help, name, name, labels, v);
}

}  // namespace

std::vector<double> vllm_ttft_buckets() {
    return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
            1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
}

std::vector<double> vllm_inter_token_buckets() {
    return {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
}

std::vector<double> vllm_e2e_buckets() {
    return {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
}

void write_vllm_metrics(std::string& out, const PipelineStats& s, const VllmCounters& c, const Histogram& ttft,
                        const Histogram& inter_token, const Histogram& e2e, const std::string& m) {
    gauge(out, "vllm:num_requests_running", "Number of requests in model execution batches.", s.n_running, m);
    gauge(out, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", s.n_waiting, m);
    double usage = s.kv_capacity_tokens > 0 ? static_cast<double>(s.kv_used_tokens) / static_cast<double>(s.kv_capacity_tokens) : 0.0;
    gauge(out, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", usage, m);
    gauge(out, "vllm:gpu_cache_usage_perc", "KV-cache usage (the older name of vllm:kv_cache_usage_perc). 1 means 100 percent usage.", usage, m);
    out += "# HELP vllm:cache_config_info Information of the cache configuration (a virtual block of 16 tokens over the token-wise KV pool).\n"
           "# TYPE vllm:cache_config_info gauge\n";
    out += fmt::format("vllm:cache_config_info{{{},block_size=\"{}\",num_gpu_blocks=\"{}\"}} 1\n", m, kVirtualBlockTokens,
                       s.kv_capacity_tokens / kVirtualBlockTokens);
    counter(out, "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", s.prefix_cache_query_tokens, m);
    counter(out, "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", s.prefix_cache_hit_tokens, m);
    counter(out, "vllm:prompt_tokens", "Number of prefill tokens processed.", c.prompt_tokens, m);
    counter(out, "vllm:generation_tokens", "Number of generation tokens processed.", c.generation_tokens, m);
    write_histogram(out, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", ttft, m);
    write_histogram(out, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", inter_token, m);
    write_histogram(out, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", e2e, m);
}

}  // namespace lightllm
