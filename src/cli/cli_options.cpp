#include "cli_options.h"
#include "backend.h"
#include "check.h"
#include "presets.h"
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <sstream>

namespace lightllm {

namespace {

void add_tp_flags(CLI::App& cmd, TpFlags& f) {
    cmd.add_option("--tp,--tensor-parallel-size", f.tp,
                   "Tensor-parallel ranks (one process per GPU; default 1, or the launcher's world size)")
        ->check(CLI::Range(0, 4096));
    cmd.add_option("--nnodes", f.nnodes, "Hosts the --tp ranks are spread over (with --node-rank, without a launcher)")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    cmd.add_option("--node-rank", f.node_rank, "This host's index among --nnodes (0 runs rank 0 and the server)")
        ->check(CLI::Range(0, 4095));
    cmd.add_option("--master-addr", f.master_addr, "Address of rank 0's host (default MASTER_ADDR, else 127.0.0.1)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    cmd.add_option("--master-port", f.master_port, "TCP port rank 0 listens on (default MASTER_PORT, else 29500)")
        ->check(CLI::Range(0, 65535))
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    cmd.add_option("--tp-timeout", f.timeout_s,
                   "Seconds a rank may stay silent (not joining, not answering) before every rank stops with an error")
        ->capture_default_str();
    cmd.add_option("--tp-rank", f.spawned_rank, "Internal: the rank of a worker spawned by rank 0")->group("");
    cmd.add_option("--tp-local-rank", f.spawned_local_rank, "Internal: a spawned worker's device index")->group("");
}

}  // namespace


void add_engine_flags(CLI::App& cmd, EngineFlags& f) {
    EngineOptions& e = f.pipeline.engine;
    cmd.add_option("-m,--model", e.model_path,
                   "Model: a Hugging Face directory, a .gguf file, or a preset name with --load-format dummy")
        ->required();
    cmd.add_option("--tokenizer", f.pipeline.tokenizer_path, "Tokenizer directory or file (default: the model's; a dummy preset's prepared one under ~/.cache/lightllm)");
    cmd.add_option("--chat-template", f.pipeline.chat_template,
                   "Chat template: a Jinja file, or the name of one of the model's templates (e.g. tool_use)");
    cmd.add_option("--load-format", f.load_format, "auto: read the weights; dummy: seeded random weights")
        ->check(CLI::IsMember({"auto", "dummy"}))
        ->capture_default_str();
    cmd.add_option("--device", f.device, "cpu, cuda or auto")->capture_default_str();
    cmd.add_option("--dtype", f.dtype, "Compute dtype on CUDA: auto, f16, bf16, f32")->capture_default_str();
    cmd.add_option("--kv-cache-dtype", f.kv_cache_dtype, "KV cache dtype: auto, f16, bf16, f32, int8")
        ->capture_default_str();
    cmd.add_flag("--no-cuda-graphs", f.no_cuda_graphs, "Run decode steps eagerly instead of replaying CUDA graphs");
    cmd.add_flag("--no-gemm-tune", f.no_gemm_tune,
                 "Take cuBLASLt's first heuristic choice per GEMM shape instead of timing candidates at start-up");
    cmd.add_flag("--no-pdl", f.no_pdl, "Launch kernels without programmatic dependent launch (sm_90+)");
    cmd.add_flag("--no-cascade-attention", f.no_cascade_attention,
                 "Decode attention reads every request's context separately, even where requests share a prefix of "
                 "KV slots (from the prefix cache) that cascade attention reads once per group");
    cmd.add_option("--max-total-tokens", e.max_total_tokens, "KV cache capacity in tokens (0: from --mem-fraction)")
        ->capture_default_str();
    cmd.add_option("--mem-fraction", e.mem_fraction, "Share of free device memory for the KV cache")
        ->capture_default_str();
    cmd.add_option("--max-running-requests", e.max_running_requests, "Requests decoded together at most")
        ->capture_default_str();
    cmd.add_option("--max-prefill-tokens", f.max_prefill_tokens,
                   fmt::format("New prompt tokens per step; longer prompts are chunked (default {} on CUDA, {} on the CPU)",
                               kCudaPrefillTokens, kCpuPrefillTokens));
    cmd.add_option("--max-context", e.max_context, "Tokens one request may reach (0: the model's)")->capture_default_str();
    cmd.add_option("--seed-weights", e.dummy_seed, "Seed of --load-format dummy weights")->capture_default_str();
    cmd.add_flag("--profile-ops", e.profile_ops,
                 "Time every GPU op; print GPU time per op kind to stderr at exit (decode runs without CUDA graphs)");
    cmd.add_option("--step-log", f.pipeline.step_log, "Write one JSON line per engine step to this file");
    cmd.add_option("--max-wait-steps", f.pipeline.max_wait_steps,
                   "Decode steps the running batch may take before waiting requests get a prefill")
        ->capture_default_str();
    cmd.add_option("--prefill-chunk-decoding", f.pipeline.prefill_chunk_decoding,
                   "While requests decode, prefill tokens per step for each request waiting to be prefilled "
                   "(at most --max-prefill-tokens), so one long prompt does not stall every decode; 0: the whole budget")
        ->capture_default_str();
    cmd.add_option("--max-waiting-requests", f.pipeline.max_waiting_requests,
                   "Requests that may wait; beyond it new ones are refused as overloaded")
        ->capture_default_str();
    cmd.add_option("--admission-order", f.admission_order,
                   "Waiting requests offered to admission first: fifo, or longest-first among one step's arrivals")
        ->check(CLI::IsMember({"fifo", "longest-first"}))
        ->capture_default_str();
    cmd.add_flag("!--no-prefix-cache", f.pipeline.prefix_cache,
                 "Do not reuse the KV of earlier requests' common prefixes (the prefix cache is on by default)");
    cmd.add_option("--expected-output-fraction", f.pipeline.expected_output_fraction,
                   "Admission's guess of the share of max tokens a request uses before EOS (1: never pause)")
        ->capture_default_str();
    add_tp_flags(cmd, f.tp);
}

std::unique_ptr<TpSession> start_tp(const EngineFlags& flags, PipelineOptions& o) {
    auto session = TpSession::start(flags.tp, o.engine);
    o.engine.tp = session->group();
    return session;
}

PipelineOptions engine_options(const EngineFlags& f) {
    PipelineOptions o = f.pipeline;
    o.engine.load_dummy = f.load_format == "dummy";
    o.engine.device = parse_device(f.device);
    o.engine.dtype = parse_compute_dtype(f.dtype);
    o.engine.kv_cache_dtype = parse_kv_cache_dtype(f.kv_cache_dtype);
    o.engine.cuda.graphs = !f.no_cuda_graphs;
    o.engine.cuda.gemm_tune = !f.no_gemm_tune;
    o.engine.cuda.pdl = !f.no_pdl;
    o.engine.cascade_attention = !f.no_cascade_attention;
    o.admission_order = parse_admission_order(f.admission_order);
    // A dummy preset may name a tokenizer that bench/prepare_sharegpt.sh
    // keeps under ~/.cache/lightllm (the Llama-3 presets do): real text is
    // then tokenized as the real model would.
    if (o.engine.load_dummy && o.tokenizer_path.empty()) {
        const char* home = std::getenv("HOME");
        if (home && *home) o.tokenizer_path = preset_tokenizer_dir(o.engine.model_path, std::string(home) + "/.cache/lightllm");
    }
    if (f.max_prefill_tokens < 0) fail("--max-prefill-tokens must be >= 1 (got {})", f.max_prefill_tokens);
    bool cuda = o.engine.device == DeviceChoice::Cuda || (o.engine.device == DeviceChoice::Auto && cuda_device_available());
    o.engine.max_prefill_tokens = f.max_prefill_tokens > 0 ? f.max_prefill_tokens : cuda ? kCudaPrefillTokens : kCpuPrefillTokens;
    const EngineOptions& e = o.engine;
    if (e.max_total_tokens < 0) fail("--max-total-tokens must be >= 0 (got {})", e.max_total_tokens);
    if (!(e.mem_fraction > 0.0f && e.mem_fraction <= 1.0f)) fail("--mem-fraction must be in (0, 1] (got {})", e.mem_fraction);
    if (e.max_running_requests < 1) fail("--max-running-requests must be >= 1 (got {})", e.max_running_requests);
    if (e.max_prefill_tokens < 1) fail("--max-prefill-tokens must be >= 1 (got {})", e.max_prefill_tokens);
    if (o.max_wait_steps < 0) fail("--max-wait-steps must be >= 0 (got {})", o.max_wait_steps);
    if (o.prefill_chunk_decoding < 0) fail("--prefill-chunk-decoding must be >= 0 (got {})", o.prefill_chunk_decoding);
    if (o.max_waiting_requests < 1) fail("--max-waiting-requests must be >= 1 (got {})", o.max_waiting_requests);
    if (!(o.expected_output_fraction > 0.0f && o.expected_output_fraction <= 1.0f))
        fail("--expected-output-fraction must be in (0, 1] (got {})", o.expected_output_fraction);
    return o;
}

void add_sampling_flags(CLI::App& cmd, SamplingParams& p) {
    cmd.add_option("-n,--max-tokens", p.max_new_tokens, "Most new tokens per prompt")->capture_default_str();
    cmd.add_option("--min-tokens", p.min_new_tokens, "EOS and stop strings are ignored before this many")
        ->capture_default_str();
    cmd.add_option("--temperature", p.temperature, "0: greedy")->capture_default_str();
    cmd.add_option("--top-k", p.top_k, "0: off")->capture_default_str();
    cmd.add_option("--top-p", p.top_p, "1: off")->capture_default_str();
    cmd.add_option("--min-p", p.min_p, "0: off")->capture_default_str();
    cmd.add_option("--repetition-penalty", p.repetition_penalty, "1: off")->capture_default_str();
    cmd.add_option("--presence-penalty", p.presence_penalty, "0: off")->capture_default_str();
    cmd.add_option("--frequency-penalty", p.frequency_penalty, "0: off")->capture_default_str();
    cmd.add_option("--seed", p.seed, "Random stream of sampling")->capture_default_str();
    cmd.add_option("--stop", p.stop, "Stop string (repeatable); not part of the output");
    cmd.add_flag("--ignore-eos", p.ignore_eos, "Keep generating after EOS");
}

void check_sampling_flags(const SamplingParams& p) {
    if (p.max_new_tokens < 1) fail("-n/--max-tokens must be >= 1 (got {})", p.max_new_tokens);
    if (p.min_new_tokens < 0) fail("--min-tokens must be >= 0 (got {})", p.min_new_tokens);
    if (!(p.temperature >= 0.0f)) fail("--temperature must be >= 0 (got {})", p.temperature);
    if (p.top_k < 0) fail("--top-k must be >= 0 (got {})", p.top_k);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) fail("--top-p must be in (0, 1] (got {})", p.top_p);
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail("--min-p must be in [0, 1] (got {})", p.min_p);
    if (!(p.repetition_penalty > 0.0f)) fail("--repetition-penalty must be > 0 (got {})", p.repetition_penalty);
    if (!std::isfinite(p.presence_penalty)) fail("--presence-penalty must be a finite number (got {})", p.presence_penalty);
    if (!std::isfinite(p.frequency_penalty)) fail("--frequency-penalty must be a finite number (got {})", p.frequency_penalty);
}

void add_api_key_flags(CLI::App& cmd, ApiKeyFlags& flags, const std::string& help) {
    auto* key = cmd.add_option("--api-key", flags.key, help + " (visible in ps: prefer --api-key-file)")->envname("LIGHTLLM_API_KEY");
    cmd.add_option("--api-key-file", flags.file, "Read the API key from this file (its first line)")->excludes(key);
}

std::string resolve_api_key(const ApiKeyFlags& flags) {
    if (flags.file.empty()) return flags.key;
    std::ifstream f(flags.file);
    if (!f) fail("--api-key-file {}: cannot read the file", flags.file);
    std::string line;
    std::getline(f, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty()) fail("--api-key-file {}: the first line is empty; expected the API key", flags.file);
    return line;
}

}  // namespace lightllm
