// Pipeline: the three threads every front end drives.
//   tokenizer thread  --q1-->  router + engine thread  --q2-->  detokenizer thread
// submit() hands a request to the tokenizer thread and returns at once with a
// handle; the sink hears tokens and the finish from the detokenizer thread.
// A full waiting queue is answered with Overloaded; cancel() may be called
// from any thread at any time and frees the request's KV slots within one
// engine step.
#pragma once
#include "admission_order.h"
#include "device_peaks.h"
#include "engine_options.h"
#include "request.h"
#include "request_handle.h"
#include "router_stats.h"
#include <atomic>
#include <cstdint>
#include <memory>

namespace lightllm {

class Tokenizer;
struct ModelConfig;

struct Overloaded : Error {
    using Error::Error;
};

struct PipelineOptions {
    EngineOptions engine;
    std::string tokenizer_path;        // empty: the model's own (model_path)
    std::string chat_template;         // --chat-template: a Jinja file or a named template of the model ("" = default)
    int max_waiting_requests = 4096;   // bounded queue; beyond it submit() throws Overloaded
    int max_wait_steps = 0;            // decode steps running requests may make before waiting ones get a prefill (0: prefill every step, mixed with the decodes)
    int prefill_chunk_decoding = 512;  // prefill tokens per waiting request in a step with decodes (router.h; 0: off)
    int max_new_tokens_limit = 0;      // 0: up to the context
    // Admission's guess of the share of max_new_tokens a request that may stop
    // at EOS produces (1: all; lower admits more but may pause requests).
    float expected_output_fraction = 1.0f;
    std::string step_log;              // --step-log: one JSON line per engine step (router.h)
    AdmissionOrder admission_order = AdmissionOrder::Fifo;  // --admission-order (admission_order.h)
    bool measure_peaks = false;        // time a large GEMM and copy once at start (device_peaks.h; bench)
    bool prefix_cache = true;          // --no-prefix-cache turns it off (router.h)
};

// Live numbers, for /metrics and bench: the router's, with n_waiting also
// counting requests not yet through the tokenizer thread.
using PipelineStats = RouterStats;

class Pipeline {
public:
    explicit Pipeline(const PipelineOptions& opts);
    ~Pipeline();  // stops the threads; unfinished requests finish as Cancelled

    // Throws Overloaded when the waiting queue is full. Errors in the input
    // (empty or too-long prompt, bad parameters) reach the sink as
    // FinishReason::Error with a message, never as an exception.
    std::shared_ptr<RequestHandle> submit(RequestInput input, RequestSink sink);

    const ModelConfig& model_config() const;
    const Tokenizer& tokenizer() const;
    PipelineStats stats() const;
    std::string device_name() const;
    DType compute_dtype() const;
    // Zeros unless measure_peaks was set and the device is a GPU.
    const DevicePeaks& device_peaks() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lightllm
