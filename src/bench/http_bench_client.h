// Online bench: `lightllm bench --url http://HOST:PORT ...` drives a running
// OpenAI-compatible server (ours or another) with streaming
// POST /v1/completions requests (stream_options.include_usage), at the
// workload's arrival times (Poisson --request-rate) with at most
// --concurrency requests open at once, and reports with the same code as the
// offline bench (bench_report.h).
// Per request: TTFT is the time from sending to the first streamed token,
// ITL the gaps between token chunks, E2E sending to the end of the answer;
// token counts come from the usage chunk (or the number of token chunks when
// a server sends no usage). Requests waiting for a free --concurrency slot
// are timed from when they are actually sent, as vLLM's benchmark does.
// KV capacity, peak and pauses come from the server's /metrics when it is a
// lightllm server (zero otherwise).
#pragma once
#include "bench_driver.h"
#include "sampling_params.h"
#include "workload.h"
#include <memory>
#include <string>

namespace lightllm {

struct HttpBenchOptions {
    std::string url;           // http://host:port
    std::string api_key;       // sent as "Authorization: Bearer KEY" when set
    std::string model;         // "model" field; empty: the first of GET /v1/models
    int concurrency = 0;       // requests open at once; 0: no cap
    SamplingParams sampling;   // temperature, top_k, top_p, min_p, penalties, ignore_eos, seed
};

// The server's KV numbers from /metrics (lightllm_kv_*); zeros when absent.
struct ServerKvStats {
    int64_t capacity_tokens = 0;
    int64_t used_tokens = 0;
    int64_t peak_tokens = 0;  // over the server's lifetime
    int64_t pauses = 0;
};

class HttpBenchClient {
public:
    // Checks the server (GET /v1/models); throws Error naming the URL when it
    // cannot be reached or answers badly.
    explicit HttpBenchClient(HttpBenchOptions opts);
    ~HttpBenchClient();  // waits for requests still open

    const std::string& model() const;
    int max_model_len() const;  // from /v1/models when the server says (0 otherwise)
    int vocab_size() const;     // likewise
    RequestSender sender();
    ServerKvStats kv_stats();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The whole online bench: builds the workload (text prompts need
// `tokenizer_path`, or come as random ids of their length), drives the
// server, prints the report and writes it as JSON to `json_path` when set.
// Returns the exit code (1 when a request failed).
int run_http_bench(const HttpBenchOptions& opts, const WorkloadSpec& workload, const std::string& tokenizer_path,
                   const std::string& json_path);

// Parses Prometheus text: the sum of every sample of `name` (any labels).
double prometheus_value(const std::string& text, const std::string& name);

// One streamed /v1/completions answer, fed in pieces as they arrive.
class CompletionStreamParser {
public:
    // Returns how many token chunks `data` completed.
    int feed(const std::string& data);
    bool done() const { return done_; }
    const std::string& error() const { return error_; }
    int n_token_chunks() const { return n_token_chunks_; }
    int usage_prompt_tokens() const { return usage_prompt_; }      // -1 when no usage chunk came
    int usage_completion_tokens() const { return usage_completion_; }

private:
    void event(const std::string& payload);
    std::string buf_;
    bool done_ = false;
    std::string error_;
    int n_token_chunks_ = 0;
    int usage_prompt_ = -1;
    int usage_completion_ = -1;
};

}  // namespace lightllm
