#include "metrics.h"
#include <fmt/format.h>

namespace lightllm {

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void write_histogram(std::string& out, const char* name, const char* help, const Histogram& h, const std::string& labels) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    int64_t cum = 0;
    for (size_t i = 0; i < h.bounds.size(); ++i) {
        cum += h.counts[i];
        out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, h.bounds[i], cum);
    }
    cum += h.counts.back();
    out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, cum);
    out += fmt::format("{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, labels, h.sum, name, labels, h.n);
}

namespace {

void write_scalar(std::string& out, const char* name, const char* type, const char* help, double v, const std::string& labels) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}{{{}}} {}\n", name, help, name, type, name, labels, v);
}

std::string label_value(const std::string& s) {
    std::string r;
    for (char c : s) {
        if (c == '"' || c == '\\') r += '\\';
        if (c == '\n') { r += "\\n"; continue; }
        r += c;
    }
    return r;
}

}  // namespace

void Histogram::observe(double v) {
    size_t i = 0;
    while (i < bounds.size() && v > bounds[i]) ++i;
    counts[i] += 1;
    sum += v;
    n += 1;
}

ServerMetrics::ServerMetrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      inter_token_({0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.075, 0.1, 0.25, 0.5, 1, 2.5}),
      e2e_({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300}),
      vllm_ttft_(vllm_ttft_buckets()),
      vllm_inter_token_(vllm_inter_token_buckets()),
      vllm_e2e_(vllm_e2e_buckets()) {}

void ServerMetrics::count_http(const std::string& route, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    http_[{route, status}] += 1;
}

void ServerMetrics::observe_choice(const ChoiceOutput& out) {
    std::lock_guard<std::mutex> lock(mu_);
    const RequestResult& r = out.result;
    finished_[finish_reason_name(r.finish_reason)] += 1;
    prompt_tokens_ += r.n_prompt_tokens;
    generation_tokens_ += static_cast<int64_t>(r.output_ids.size());
    if (!out.tokens.empty()) {
        double ttft = seconds(out.tokens.front().time - r.t_submit);
        ttft_.observe(ttft);
        vllm_ttft_.observe(ttft);
        for (size_t i = 1; i < out.tokens.size(); ++i) {
            double gap = seconds(out.tokens[i].time - out.tokens[i - 1].time);
            inter_token_.observe(gap);
            vllm_inter_token_.observe(gap);
        }
    }
    if (r.t_finish > r.t_submit) {
        e2e_.observe(seconds(r.t_finish - r.t_submit));
        vllm_e2e_.observe(seconds(r.t_finish - r.t_submit));
    }
}

std::string ServerMetrics::render(const PipelineStats& s, const std::string& model_name) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string m = "model_name=\"" + label_value(model_name) + "\"";
    std::string out;
    out += "# HELP lightllm_requests Requests in the pipeline by state.\n# TYPE lightllm_requests gauge\n";
    out += fmt::format("lightllm_requests{{{},state=\"waiting\"}} {}\n", m, s.n_waiting);
    out += fmt::format("lightllm_requests{{{},state=\"running\"}} {}\n", m, s.n_running);
    write_scalar(out, "lightllm_queue_length", "gauge", "Requests waiting for admission.", s.n_waiting, m);
    write_scalar(out, "lightllm_kv_capacity_tokens", "gauge", "KV cache capacity in tokens.", static_cast<double>(s.kv_capacity_tokens), m);
    write_scalar(out, "lightllm_kv_used_tokens", "gauge", "KV cache slots in use.", static_cast<double>(s.kv_used_tokens), m);
    write_scalar(out, "lightllm_kv_peak_tokens", "gauge", "Most KV cache slots ever in use.", static_cast<double>(s.kv_peak_tokens), m);
    double usage = s.kv_capacity_tokens > 0 ? static_cast<double>(s.kv_used_tokens) / static_cast<double>(s.kv_capacity_tokens) : 0.0;
    write_scalar(out, "lightllm_kv_usage_ratio", "gauge", "Fraction of the KV cache in use (0..1).", usage, m);
    write_scalar(out, "lightllm_pauses_total", "counter", "Requests paused and recomputed for lack of KV space.", static_cast<double>(s.n_pauses), m);
    write_scalar(out, "lightllm_pipeline_finished_total", "counter", "Requests the pipeline finished.", static_cast<double>(s.n_finished), m);
    write_scalar(out, "lightllm_prompt_tokens_total", "counter", "Prompt tokens processed.", static_cast<double>(s.prompt_tokens_total), m);
    write_scalar(out, "lightllm_generation_tokens_total", "counter", "Tokens generated.", static_cast<double>(s.generated_tokens_total), m);
    write_scalar(out, "lightllm_prefix_cache_tokens", "gauge", "Tokens whose KV the prefix cache holds.", static_cast<double>(s.prefix_cache_tokens), m);
    write_scalar(out, "lightllm_prefix_cache_query_tokens_total", "counter", "Tokens looked up in the prefix cache at admission.", static_cast<double>(s.prefix_cache_query_tokens), m);
    write_scalar(out, "lightllm_prefix_cache_hit_tokens_total", "counter", "Tokens found in the prefix cache at admission.", static_cast<double>(s.prefix_cache_hit_tokens), m);
    write_scalar(out, "lightllm_http_prompt_tokens_total", "counter", "Prompt tokens of finished HTTP generations.", static_cast<double>(prompt_tokens_), m);
    write_scalar(out, "lightllm_http_generation_tokens_total", "counter", "Tokens generated for HTTP clients.", static_cast<double>(generation_tokens_), m);

    out += "# HELP lightllm_request_finished_total Generations finished, by reason.\n# TYPE lightllm_request_finished_total counter\n";
    for (const char* reason : {"stop", "length", "cancelled", "error"}) {
        auto it = finished_.find(reason);
        out += fmt::format("lightllm_request_finished_total{{{},finish_reason=\"{}\"}} {}\n", m, reason, it == finished_.end() ? 0 : it->second);
    }
    out += "# HELP lightllm_http_requests_total HTTP requests answered, by route and status.\n# TYPE lightllm_http_requests_total counter\n";
    for (const auto& [key, n] : http_)
        out += fmt::format("lightllm_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", label_value(key.first), key.second, n);
    write_histogram(out, "lightllm_time_to_first_token_seconds", "Time from submission to the first token.", ttft_, m);
    write_histogram(out, "lightllm_time_per_output_token_seconds", "Time between consecutive output tokens.", inter_token_, m);
    write_histogram(out, "lightllm_e2e_request_latency_seconds", "Time from submission to the finish.", e2e_, m);
    write_vllm_metrics(out, s, VllmCounters{prompt_tokens_, generation_tokens_}, vllm_ttft_, vllm_inter_token_, vllm_e2e_, m);
    return out;
}

}  // namespace lightllm
