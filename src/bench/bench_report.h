// Bench results: what each request did (RequestRecord, filled by whoever sent
// it — the in-process pipeline driver or an HTTP client) and the summary
// vLLM's benchmark_serving users expect: throughput, TTFT, TPOT, ITL and
// end-to-end latency (mean/p50/p90/p99, in ms), plus the KV cache's capacity,
// peak use and pauses, and the run's configuration. Printed as a table;
// written as JSON with --json.
#pragma once
#include "sampling_params.h"
#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace lightllm {

struct RequestRecord {
    bool ok = false;
    std::string error;
    int n_prompt = 0;
    int n_output = 0;
    double start_s = 0.0;          // when it was due, from the run's start
    double ttft_s = 0.0;           // first token, from start_s
    double e2e_s = 0.0;            // last token / finish, from start_s
    std::vector<double> itl_s;     // gaps between consecutive tokens
    int n_cached = -1;             // prompt tokens from the prefix cache (-1: not reported)
    std::vector<int32_t> output_ids;  // the generated ids, when the sender knows them (multi-turn replays)
    double queued_s = 0.0;         // waited in the client after start_s (a --concurrency cap) before it was sent
};

struct LatencyStat {
    double mean = 0.0, p50 = 0.0, p90 = 0.0, p99 = 0.0;
};

// Percentiles by linear interpolation between order statistics (numpy's
// default); values are multiplied by `scale` (1000: seconds to ms).
LatencyStat latency_stat(std::vector<double> values, double scale = 1000.0);

struct BenchConfig {
    std::string model, device, dtype, kv_cache_dtype, workload, commit;
    uint64_t seed = 0;
    int num_prompts = 0;
    double request_rate = 0.0;  // inf: all at once
    int max_running_requests = 0;
    int64_t max_total_tokens = 0;
    // Every request's sampling: the JSON's config.sampling records temperature,
    // top_k, top_p, min_p and the three penalties.
    SamplingParams sampling;
    bool prefix_cache = true;
    bool cascade_attention = true;
};

struct BenchReport {
    BenchConfig config;
    double duration_s = 0.0;
    int n_completed = 0;
    int n_failed = 0;
    int64_t total_input_tokens = 0;
    int64_t total_output_tokens = 0;
    double request_throughput = 0.0;  // completed requests / s
    double input_throughput = 0.0;    // prompt tokens / s
    double output_throughput = 0.0;   // generated tokens / s
    LatencyStat ttft_ms, tpot_ms, itl_ms, e2e_ms;
    int64_t kv_capacity_tokens = 0;
    int64_t kv_peak_tokens = 0;
    int64_t pauses = 0;
    // Prefix cache: tokens the engine looked up and found (its counters over
    // the run; -1 when the engine is not in this process), and the TTFT of
    // requests whose prompt partly came from the cache (hits) and of the rest,
    // when the sender reports cached tokens per request.
    int64_t prefix_cache_query_tokens = -1;
    int64_t prefix_cache_hit_tokens = -1;
    int64_t cached_prompt_tokens = 0;
    int n_hit_requests = 0, n_miss_requests = 0;
    LatencyStat ttft_hit_ms, ttft_miss_ms;
    std::vector<std::string> errors;  // the first few failures
};

// TPOT of a request: (e2e - ttft) / (n_output - 1), for requests with more
// than one token (as vLLM computes it).
BenchReport summarize_bench(const std::vector<RequestRecord>& records, double duration_s, const BenchConfig& config);

std::string format_bench_report(const BenchReport& r);
nlohmann::json bench_report_json(const BenchReport& r);

// Static-batch mode (like llama-batched-bench): B prompts of I tokens
// submitted together, each generating O tokens.
struct BatchedBenchRow {
    int batch = 0, input_len = 0, output_len = 0;
    double prefill_s = 0.0;   // until every request has its first token
    double decode_s = 0.0;    // from then until the last finishes
    double prefill_tok_s = 0.0;  // B*I / prefill_s
    double decode_tok_s = 0.0;   // B*(O-1) / decode_s
    double total_s = 0.0;
};

std::string format_batched_bench(const std::vector<BatchedBenchRow>& rows);
nlohmann::json batched_bench_json(const std::vector<BatchedBenchRow>& rows, const BenchConfig& config);

}  // namespace lightllm
