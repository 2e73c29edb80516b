#include "bench_report.h"
#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace lightllm {

using json = nlohmann::json;

LatencyStat latency_stat(std::vector<double> v, double scale) {
    LatencyStat s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto pct = [&](double q) {
        double pos = q * double(v.size() - 1);
        size_t lo = size_t(std::floor(pos));
        size_t hi = std::min(lo + 1, v.size() - 1);
        return (v[lo] + (v[hi] - v[lo]) * (pos - double(lo))) * scale;
    };
    s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()) * scale;
    s.p50 = pct(0.50);
    s.p90 = pct(0.90);
    s.p99 = pct(0.99);
    return s;
}

BenchReport summarize_bench(const std::vector<RequestRecord>& records, double duration_s, const BenchConfig& config) {
    BenchReport r;
    r.config = config;
    r.duration_s = duration_s;
    std::vector<double> ttft, tpot, itl, e2e, ttft_hit, ttft_miss;
    for (const RequestRecord& rec : records) {
        if (!rec.ok) {
            ++r.n_failed;
            if (r.errors.size() < 5) r.errors.push_back(rec.error);
            continue;
        }
        ++r.n_completed;
        r.total_input_tokens += rec.n_prompt;
        r.total_output_tokens += rec.n_output;
        ttft.push_back(rec.ttft_s);
        if (rec.n_cached >= 0) {
            r.cached_prompt_tokens += rec.n_cached;
            (rec.n_cached > 0 ? ttft_hit : ttft_miss).push_back(rec.ttft_s);
        }
        e2e.push_back(rec.e2e_s);
        if (rec.n_output > 1) tpot.push_back((rec.e2e_s - rec.ttft_s) / double(rec.n_output - 1));
        itl.insert(itl.end(), rec.itl_s.begin(), rec.itl_s.end());
    }
    if (duration_s > 0) {
        r.request_throughput = double(r.n_completed) / duration_s;
        r.input_throughput = double(r.total_input_tokens) / duration_s;
        r.output_throughput = double(r.total_output_tokens) / duration_s;
    }
    r.ttft_ms = latency_stat(ttft);
    r.tpot_ms = latency_stat(tpot);
    r.itl_ms = latency_stat(itl);
    r.e2e_ms = latency_stat(e2e);
    r.n_hit_requests = int(ttft_hit.size());
    r.n_miss_requests = int(ttft_miss.size());
    r.ttft_hit_ms = latency_stat(ttft_hit);
    r.ttft_miss_ms = latency_stat(ttft_miss);
    return r;
}

std::string format_bench_report(const BenchReport& r) {
    std::string s;
    auto line = [&](const std::string& k, const std::string& v) { s += fmt::format("{:<36}{:>16}\n", k, v); };
    auto stat = [&](const char* name, const LatencyStat& l) {
        s += fmt::format("{:-^52}\n", fmt::format(" {} ", name));
        line(fmt::format("Mean {} (ms):", name), fmt::format("{:.2f}", l.mean));
        line(fmt::format("Median {} (ms):", name), fmt::format("{:.2f}", l.p50));
        line(fmt::format("P90 {} (ms):", name), fmt::format("{:.2f}", l.p90));
        line(fmt::format("P99 {} (ms):", name), fmt::format("{:.2f}", l.p99));
    };
    s += fmt::format("{:=^52}\n", " Serving Benchmark Result ");
    line("Model:", r.config.model);
    line("Device:", r.config.device);
    line("Workload:", "");
    s += "  " + r.config.workload + "\n";
    line("Successful requests:", std::to_string(r.n_completed));
    line("Failed requests:", std::to_string(r.n_failed));
    line("Benchmark duration (s):", fmt::format("{:.2f}", r.duration_s));
    line("Total input tokens:", std::to_string(r.total_input_tokens));
    line("Total generated tokens:", std::to_string(r.total_output_tokens));
    line("Request throughput (req/s):", fmt::format("{:.2f}", r.request_throughput));
    line("Input token throughput (tok/s):", fmt::format("{:.2f}", r.input_throughput));
    line("Output token throughput (tok/s):", fmt::format("{:.2f}", r.output_throughput));
    stat("TTFT", r.ttft_ms);
    stat("TPOT", r.tpot_ms);
    stat("ITL", r.itl_ms);
    stat("E2E", r.e2e_ms);
    s += fmt::format("{:-^52}\n", " KV cache ");
    line("KV capacity (tokens):", std::to_string(r.kv_capacity_tokens));
    line("KV peak use (tokens):", std::to_string(r.kv_peak_tokens));
    line("Pauses (recomputed requests):", std::to_string(r.pauses));
    s += fmt::format("{:-^52}\n", " Prefix cache ");
    line("Prefix cache:", r.config.prefix_cache ? "on" : "off");
    line("Cascade attention:", r.config.cascade_attention ? "on" : "off");
    if (r.prefix_cache_query_tokens > 0)
        line("Hit rate (tokens found / looked up):",
             fmt::format("{:.1f}%", 100.0 * double(r.prefix_cache_hit_tokens) / double(r.prefix_cache_query_tokens)));
    if (r.n_hit_requests + r.n_miss_requests > 0) {
        line("Cached prompt tokens:", std::to_string(r.cached_prompt_tokens));
        line("Requests with a hit / without:", fmt::format("{} / {}", r.n_hit_requests, r.n_miss_requests));
        line("Median TTFT, hits (ms):", fmt::format("{:.2f}", r.ttft_hit_ms.p50));
        line("Median TTFT, misses (ms):", fmt::format("{:.2f}", r.ttft_miss_ms.p50));
    }
    s += fmt::format("{:=^52}\n", "");
    for (const std::string& e : r.errors) s += "error: " + e + "\n";
    return s;
}

static json stat_json(const LatencyStat& l) { return {{"mean", l.mean}, {"p50", l.p50}, {"p90", l.p90}, {"p99", l.p99}}; }

static json config_json(const BenchConfig& c) {
    return {{"model", c.model},
            {"device", c.device},
            {"dtype", c.dtype},
            {"kv_cache_dtype", c.kv_cache_dtype},
            {"workload", c.workload},
            {"seed", c.seed},
            {"commit", c.commit},
            {"num_prompts", c.num_prompts},
            {"request_rate", std::isfinite(c.request_rate) ? json(c.request_rate) : json("inf")},
            {"max_running_requests", c.max_running_requests},
            {"max_total_tokens", c.max_total_tokens},
            {"sampling",
             {{"temperature", c.sampling.temperature},
              {"top_k", c.sampling.top_k},
              {"top_p", c.sampling.top_p},
              {"min_p", c.sampling.min_p},
              {"repetition_penalty", c.sampling.repetition_penalty},
              {"presence_penalty", c.sampling.presence_penalty},
              {"frequency_penalty", c.sampling.frequency_penalty}}},
            {"prefix_cache", c.prefix_cache},
            {"cascade_attention", c.cascade_attention}};
}

json bench_report_json(const BenchReport& r) {
    return {{"duration_s", r.duration_s},
            {"completed", r.n_completed},
            {"failed", r.n_failed},
            {"total_input_tokens", r.total_input_tokens},
            {"total_output_tokens", r.total_output_tokens},
            {"request_throughput", r.request_throughput},
            {"input_throughput", r.input_throughput},
            {"output_throughput", r.output_throughput},
            {"ttft_ms", stat_json(r.ttft_ms)},
            {"tpot_ms", stat_json(r.tpot_ms)},
            {"itl_ms", stat_json(r.itl_ms)},
            {"e2e_ms", stat_json(r.e2e_ms)},
            {"kv_capacity_tokens", r.kv_capacity_tokens},
            {"kv_peak_tokens", r.kv_peak_tokens},
            {"pauses", r.pauses},
            {"prefix_cache",
             {{"query_tokens", r.prefix_cache_query_tokens},
              {"hit_tokens", r.prefix_cache_hit_tokens},
              {"hit_rate", r.prefix_cache_query_tokens > 0
                               ? json(double(r.prefix_cache_hit_tokens) / double(r.prefix_cache_query_tokens))
                               : json(nullptr)},
              {"cached_prompt_tokens", r.cached_prompt_tokens},
              {"hit_requests", r.n_hit_requests},
              {"miss_requests", r.n_miss_requests},
              {"ttft_hit_ms", stat_json(r.ttft_hit_ms)},
              {"ttft_miss_ms", stat_json(r.ttft_miss_ms)}}},
            {"errors", r.errors},
            {"config", config_json(r.config)}};
}

std::string format_batched_bench(const std::vector<BatchedBenchRow>& rows) {
    std::string s = fmt::format("|{:>6} |{:>7} |{:>7} |{:>10} |{:>12} |{:>10} |{:>12} |{:>10} |\n", "B", "PP", "TG",
                                "T_PP s", "S_PP t/s", "T_TG s", "S_TG t/s", "T s");
    s += fmt::format("|{:-^7}|{:-^8}|{:-^8}|{:-^11}|{:-^13}|{:-^11}|{:-^13}|{:-^11}|\n", "", "", "", "", "", "", "", "");
    for (const auto& r : rows)
        s += fmt::format("|{:>6} |{:>7} |{:>7} |{:>10.3f} |{:>12.2f} |{:>10.3f} |{:>12.2f} |{:>10.3f} |\n", r.batch,
                         r.input_len, r.output_len, r.prefill_s, r.prefill_tok_s, r.decode_s, r.decode_tok_s, r.total_s);
    return s;
}

json batched_bench_json(const std::vector<BatchedBenchRow>& rows, const BenchConfig& config) {
    json out = json::array();
    for (const auto& r : rows)
        out.push_back({{"batch", r.batch},
                       {"input_len", r.input_len},
                       {"output_len", r.output_len},
                       {"prefill_s", r.prefill_s},
                       {"prefill_tok_s", r.prefill_tok_s},
                       {"decode_s", r.decode_s},
                       {"decode_tok_s", r.decode_tok_s},
                       {"total_s", r.total_s}});
    return {{"batched", out}, {"config", config_json(config)}};
}

}  // namespace lightllm
