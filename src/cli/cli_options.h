// Command-line flags shared by generate, bench and serve: the engine (model,
// device, KV cache, batching) and the sampling defaults.
#pragma once
#include "pipeline.h"
#include "tp_launch.h"
#include <CLI/CLI.hpp>
#include <string>

namespace lightllm {

struct EngineFlags {
    PipelineOptions pipeline;
    std::string load_format = "auto";  // auto | dummy
    std::string device = "auto";       // parsed into pipeline.engine by engine_options()
    std::string dtype = "auto";
    std::string kv_cache_dtype = "auto";
    bool no_cuda_graphs = false;
    bool no_gemm_tune = false;
    bool no_pdl = false;
    bool no_cascade_attention = false;
    std::string admission_order = "fifo";  // fifo | longest-first
    int max_prefill_tokens = 0;        // 0: kCudaPrefillTokens on CUDA, kCpuPrefillTokens on the CPU
    TpFlags tp;
};

// Default prefill chunks: on the CPU a step of 8192 prompt tokens runs for
// minutes (a client's cancel and other requests' decodes wait for the step),
// so the CPU default keeps a step to about a second.
constexpr int kCudaPrefillTokens = 8192;
constexpr int kCpuPrefillTokens = 128;

// -m/--model, --tokenizer, --chat-template, --load-format, --device, --dtype, --kv-cache-dtype,
// --max-total-tokens, --mem-fraction, --max-running-requests,
// --max-prefill-tokens, --max-context, --max-wait-steps,
// --max-waiting-requests, --expected-output-fraction, --admission-order, --no-prefix-cache,
// --seed-weights,
// --no-cuda-graphs, --no-gemm-tune, --no-pdl.
void add_engine_flags(CLI::App& cmd, EngineFlags& flags);
// Checks the values, parses the enum flags and fills pipeline.engine; throws Error naming the flag.
PipelineOptions engine_options(const EngineFlags& flags);
// Joins this process's tensor-parallel group (spawning local workers, or as
// the launcher's rank) for the final options `o`, and sets o.engine.tp. Keep
// the session alive while the pipeline runs; when its rank() > 0 this process
// is a worker: return run_tp_worker(o.engine) instead of building a pipeline.
std::unique_ptr<TpSession> start_tp(const EngineFlags& flags, PipelineOptions& o);

// -n/--max-tokens, --temperature, --top-k, --top-p, --min-p,
// --repetition-penalty, --presence-penalty, --frequency-penalty, --seed,
// --stop (repeatable), --ignore-eos, --min-tokens.
void add_sampling_flags(CLI::App& cmd, SamplingParams& params);
// Checks the sampling flags before anything is loaded; throws Error naming the
// flag as typed (-n/--max-tokens, --temperature, ...).
void check_sampling_flags(const SamplingParams& params);

// --api-key KEY (or LIGHTLLM_API_KEY) and --api-key-file PATH (keeps the key
// out of `ps`), one of them; `resolve_api_key` reads the file, once parsed.
struct ApiKeyFlags {
    std::string key;
    std::string file;
};
void add_api_key_flags(CLI::App& cmd, ApiKeyFlags& flags, const std::string& help);
// The key; throws Error naming --api-key-file when the file cannot be read or is empty.
std::string resolve_api_key(const ApiKeyFlags& flags);

}  // namespace lightllm
