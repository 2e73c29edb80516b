// `lightllm bench`: throughput and latency of the engine on a workload.
//   serving mode (default): a workload (random, synthetic, sharegpt, jsonl)
//     sent at --request-rate; reports throughput, TTFT, TPOT, ITL, E2E and
//     KV use, as a table and with --json FILE as JSON
//   static-batch mode (--batch B[,B...] --input-len I --output-len O): B
//     prompts at once; prefill and decode tokens/s like llama-batched-bench
#include "bench_driver.h"
#include "git_commit.h"
#include "check.h"
#include "cli.h"
#include "cli_options.h"
#include "model_config.h"
#include "http_bench_client.h"
#include "presets.h"
#include "roofline.h"
#include "tokenizer.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <unistd.h>

namespace lightllm {

namespace {

using json = nlohmann::json;

struct BenchArgs {
    EngineFlags engine;
    WorkloadSpec workload;
    std::string request_rate = "inf";
    std::string json_path;
    bool ignore_eos = false;
    SamplingParams sampling;  // temperature, top_k, top_p, min_p and the penalties of every request
    std::vector<int> batch;
    int n_warmup = 1;
    bool workload_only = false;
    DevicePeaks peaks;  // --peak-tflops / --peak-bandwidth; measured when not given
};

double parse_rate(const std::string& s) {
    if (s == "inf") return std::numeric_limits<double>::infinity();
    try {
        size_t used = 0;
        double v = std::stod(s, &used);
        if (used == s.size() && v > 0) return v;
    } catch (const std::exception&) {
    }
    fail("--request-rate '{}': expected a positive number or inf", s);
}

void write_json(const std::string& path, const json& j) {
    if (path.empty()) return;
    std::ofstream f(path);
    if (!f) fail("--json {}: cannot write the file", path);
    f << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

// Every request's sampling parameters.
SamplingParams request_params(const BenchArgs& a, bool ignore_eos) {
    SamplingParams sp = a.sampling;
    sp.ignore_eos = ignore_eos;
    sp.seed = a.workload.seed;
    return sp;
}

BenchConfig make_config(const BenchArgs& a, const PipelineOptions& o, const Pipeline& p) {
    BenchConfig c;
    c.model = o.engine.model_path;
    c.device = p.device_name();
    c.dtype = dtype_choice_name(o.engine.dtype);
    c.kv_cache_dtype = dtype_choice_name(o.engine.kv_cache_dtype);
    c.workload = describe_workload(a.workload);
    c.seed = a.workload.seed;
    c.commit = LIGHTLLM_GIT_COMMIT;
    c.num_prompts = a.workload.num_prompts;
    c.request_rate = a.workload.request_rate;
    c.max_running_requests = o.engine.max_running_requests;
    c.max_total_tokens = o.engine.max_total_tokens;
    c.sampling = a.sampling;
    c.prefix_cache = o.prefix_cache;
    c.cascade_attention = o.engine.cascade_attention;
    return c;
}

// A few tiny requests first, so start-up costs stay out of the numbers.
void warm_up(Pipeline& p, int n, int n_vocab) {
    std::vector<WorkloadItem> items(size_t(std::max(0, n)));
    for (auto& it : items) {
        it.prompt_ids = {1 % n_vocab, 2 % n_vocab, 3 % n_vocab, 4 % n_vocab};
        it.max_new_tokens = 2;
    }
    SamplingParams sp;
    sp.ignore_eos = true;
    drive_workload(items, pipeline_sender(p, sp), false);
}

// Where a serving run sends its requests and, when it can tell, the KV
// numbers: here the in-process pipeline.
struct ServingTarget {
    RequestSender send;
    std::function<PipelineStats()> stats;  // may be empty
    ModelCost cost;                        // for the roofline (roofline.h)
    DevicePeaks peaks;
};

int measure_serving(const BenchArgs& a, const std::vector<WorkloadItem>& items, const ServingTarget& target,
                    const BenchConfig& config) {
    const PipelineStats before = target.stats ? target.stats() : PipelineStats{};
    DriveResult run = drive_workload(items, target.send, isatty(STDERR_FILENO));
    BenchReport r = summarize_bench(run.records, run.duration_s, config);
    if (target.stats) {
        const PipelineStats after = target.stats();
        r.kv_capacity_tokens = after.kv_capacity_tokens;
        r.kv_peak_tokens = after.kv_peak_tokens;
        r.pauses = after.n_pauses - before.n_pauses;
        r.prefix_cache_query_tokens = after.prefix_cache_query_tokens - before.prefix_cache_query_tokens;
        r.prefix_cache_hit_tokens = after.prefix_cache_hit_tokens - before.prefix_cache_hit_tokens;
    }
    const Roofline limit = compute_roofline(target.cost, run.records, run.duration_s, target.peaks);
    std::fputs((format_bench_report(r) + format_roofline(limit)).c_str(), stdout);
    std::fflush(stdout);
    json j = bench_report_json(r);
    j["roofline"] = roofline_json(limit);
    write_json(a.json_path, j);
    return r.n_failed ? 1 : 0;
}

int run_serving(const BenchArgs& a) {
    PipelineOptions o = engine_options(a.engine);
    o.measure_peaks = !(a.peaks.matmul_tflops > 0.0 && a.peaks.bandwidth_gbs > 0.0);
    auto tp = start_tp(a.engine, o);
    if (tp->rank() > 0) return run_tp_worker(o.engine);
    Pipeline pipeline(o);
    const Tokenizer* tok = nullptr;
    try {
        tok = &pipeline.tokenizer();
    } catch (const Error&) {
        tok = nullptr;  // dummy preset: ids only
    }
    const int n_vocab = pipeline.model_config().n_vocab;
    std::vector<WorkloadItem> items = make_workload(a.workload, tok, n_vocab);
    warm_up(pipeline, a.n_warmup, n_vocab);
    const SamplingParams sp = request_params(a, a.ignore_eos);
    ServingTarget target{pipeline_sender(pipeline, sp), [&pipeline] { return pipeline.stats(); },
                         model_cost(pipeline.model_config(), pipeline.compute_dtype()),
                         merge_peaks(a.peaks, pipeline.device_peaks())};
    return measure_serving(a, items, target, make_config(a, o, pipeline));
}

int run_batched(const BenchArgs& a) {
    PipelineOptions o = engine_options(a.engine);
    const int max_b = *std::max_element(a.batch.begin(), a.batch.end());
    const int I = a.workload.input_len, O = a.workload.output_len;
    if (max_b < 1) fail("--batch sizes must be >= 1");
    if (O < 2) fail("--output-len must be >= 2 in batch mode (one prefill token, then decode)");
    // Every batch runs as one prefill step and then decode steps together.
    o.engine.max_running_requests = std::max(o.engine.max_running_requests, max_b);
    o.engine.max_prefill_tokens = std::max(o.engine.max_prefill_tokens, max_b * I);
    o.max_wait_steps = 0;
    // A static batch measures a whole prefill: nothing may come from the
    // prefix cache (the warm-up and earlier batches would be found there).
    o.prefix_cache = false;
    auto tp = start_tp(a.engine, o);
    if (tp->rank() > 0) return run_tp_worker(o.engine);
    Pipeline pipeline(o);
    // A static batch must fit the KV cache whole, or the router runs it in
    // waves and the prefill / decode split means nothing.
    const int64_t capacity = pipeline.stats().kv_capacity_tokens;
    if (int64_t(max_b) * (I + O) > capacity)
        fail("--batch {}: {} requests of {} + {} tokens need {} KV slots, the cache holds {} "
             "(raise --mem-fraction or --max-total-tokens, use --kv-cache-dtype int8, or lower the batch)",
             max_b, max_b, I, O, int64_t(max_b) * (I + O), capacity);
    const int n_vocab = pipeline.model_config().n_vocab;
    warm_up(pipeline, a.n_warmup, n_vocab);
    std::mt19937_64 rng(a.workload.seed);
    std::uniform_int_distribution<int32_t> pick(0, n_vocab - 1);
    std::vector<BatchedBenchRow> rows;
    for (int B : a.batch) {
        std::vector<WorkloadItem> items(static_cast<size_t>(B));
        for (auto& it : items) {
            it.prompt_ids.resize(size_t(I));
            for (int32_t& id : it.prompt_ids) id = pick(rng);
            it.max_new_tokens = O;
        }
        const SamplingParams sp = request_params(a, true);
        // An unmeasured pass of the same shapes first: GEMM algorithm tuning
        // and CUDA-graph capture happen on first use and are not throughput.
        std::vector<WorkloadItem> warm = items;
        for (auto& it : warm) it.max_new_tokens = std::min(O, 4);
        drive_workload(warm, pipeline_sender(pipeline, sp), false);
        DriveResult run = drive_workload(items, pipeline_sender(pipeline, sp), false);
        BatchedBenchRow row;
        row.batch = B;
        row.input_len = I;
        row.output_len = O;
        for (const auto& rec : run.records) {
            if (!rec.ok) fail("batch {}: a request failed: {}", B, rec.error);
            row.prefill_s = std::max(row.prefill_s, rec.start_s + rec.ttft_s);
        }
        row.total_s = run.duration_s;
        row.decode_s = std::max(0.0, row.total_s - row.prefill_s);
        row.prefill_tok_s = row.prefill_s > 0 ? double(B) * I / row.prefill_s : 0.0;
        row.decode_tok_s = row.decode_s > 0 ? double(B) * (O - 1) / row.decode_s : 0.0;
        rows.push_back(row);
    }
    std::fputs(format_batched_bench(rows).c_str(), stdout);
    std::fflush(stdout);
    write_json(a.json_path, batched_bench_json(rows, make_config(a, o, pipeline)));
    return 0;
}

// --workload-only: the workload's size, without loading a model (the
// tokenizer of --tokenizer, of the model path, or a dummy preset's prepared one).
int print_workload(const BenchArgs& a) {
    const PipelineOptions o = engine_options(a.engine);
    const std::string tok_path = !o.tokenizer_path.empty() ? o.tokenizer_path
                                 : o.engine.load_dummy   ? std::string()
                                                         : o.engine.model_path;
    std::unique_ptr<Tokenizer> tok = tok_path.empty() ? nullptr : load_tokenizer(tok_path);
    const int n_vocab = tok ? tok->n_vocab() : load_preset_config(o.engine.model_path).n_vocab;
    std::vector<WorkloadItem> items = make_workload(a.workload, tok.get(), n_vocab);
    int64_t n_in = 0, n_out = 0;
    for (const WorkloadItem& it : items) {
        n_in += it.n_prompt;
        n_out += it.max_new_tokens;
    }
    std::fputs(fmt::format("Workload: {}\nPrompts: {}\nTotal input tokens: {}\nTotal output tokens: {}\n",
                           describe_workload(a.workload), items.size(), n_in, n_out)
                   .c_str(),
               stdout);
    write_json(a.json_path, {{"workload", describe_workload(a.workload)},
                             {"prompts", items.size()},
                             {"total_input_tokens", n_in},
                             {"total_output_tokens", n_out}});
    return 0;
}

void add_prefix_workload_flags(CLI::App& cmd, WorkloadSpec& w) {
    cmd.add_option("--prefix-len", w.prefix_len, "shared-prefix: tokens of each group's system prompt")->capture_default_str();
    cmd.add_option("--groups", w.groups, "shared-prefix: system prompts")->capture_default_str();
    cmd.add_option("--prompts-per-group", w.prompts_per_group, "shared-prefix: questions per system prompt")
        ->capture_default_str();
    cmd.add_option("--question-len", w.question_len, "shared-prefix, multi-turn: tokens of each question / user turn")
        ->capture_default_str();
    cmd.add_option("--turns", w.turns, "multi-turn without --dataset-path: user turns per conversation")
        ->capture_default_str();
    cmd.add_option("--max-conversation-len", w.max_conversation_len,
                   "multi-turn: a conversation ends before it would pass this many tokens")
        ->capture_default_str();
}

// In-process runs; bench --url is handled in the callback below
// (run_http_bench, http_bench_client.h), on the same driver and report.
int run_bench(BenchArgs a) {
    a.workload.request_rate = parse_rate(a.request_rate);
    if (a.workload_only) return print_workload(a);
    return a.batch.empty() ? run_serving(a) : run_batched(a);
}

}  // namespace

void add_bench_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("bench", "Measure throughput and latency on a workload");
    auto a = std::make_shared<BenchArgs>();
    add_engine_flags(*cmd, a->engine);
    WorkloadSpec& w = a->workload;
    cmd->add_option("--num-prompts", w.num_prompts, "Requests to send")->capture_default_str();
    cmd->add_option("--dataset-name", w.dataset_name, "random, synthetic, sharegpt, jsonl, shared-prefix or multi-turn")
        ->check(CLI::IsMember({"random", "synthetic", "sharegpt", "jsonl", "shared-prefix", "multi-turn"}))
        ->capture_default_str();
    add_prefix_workload_flags(*cmd, w);
    cmd->add_option("--dataset-path", w.dataset_path, "ShareGPT JSON / JSON Lines file");
    cmd->add_option("--input-len", w.input_len, "Prompt tokens (random, synthetic, --batch)")->capture_default_str();
    auto* out_len = cmd->add_option("--output-len", w.output_len,
                                    "Tokens to generate (random, synthetic, --batch; overrides the dataset's)")
                        ->capture_default_str();
    cmd->add_option("--range-ratio", w.range_ratio, "random: lengths uniform in len*(1 +- r)")->capture_default_str();
    cmd->add_option("--request-rate", a->request_rate, "Requests per second (Poisson arrivals) or inf")
        ->capture_default_str();
    cmd->add_option("--seed", w.seed, "Seed of the workload and of sampling")->capture_default_str();
    cmd->add_option("--json", a->json_path, "Also write the report as JSON to this file");
    cmd->add_flag("--ignore-eos", a->ignore_eos, "Generate the full output length even after EOS");
    SamplingParams& sp = a->sampling;
    cmd->add_option("--temperature", sp.temperature, "Sampling temperature (0: greedy)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--top-k", sp.top_k, "Sample among the k best tokens (0: off)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--top-p", sp.top_p, "Nucleus sampling: the smallest set reaching this probability (1: off)")
        ->check(CLI::Range(1e-9, 1.0))
        ->capture_default_str();
    cmd->add_option("--min-p", sp.min_p, "Drop tokens below min_p times the best one's probability (0: off)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--repetition-penalty", sp.repetition_penalty, "Over prompt + output tokens (1: off)")
        ->check(CLI::Range(1e-2, 1e4))
        ->capture_default_str();
    cmd->add_option("--presence-penalty", sp.presence_penalty, "OpenAI presence penalty (0: off)")
        ->check(CLI::Range(-2.0, 2.0))
        ->capture_default_str();
    cmd->add_option("--frequency-penalty", sp.frequency_penalty, "OpenAI frequency penalty (0: off)")
        ->check(CLI::Range(-2.0, 2.0))
        ->capture_default_str();
    cmd->add_option("--warmup", a->n_warmup, "Tiny requests run before measuring")->capture_default_str();
    cmd->add_option("--batch", a->batch, "Static-batch mode: batch sizes (comma-separated), with --input-len/--output-len")
        ->delimiter(',');
    cmd->add_option("--peak-tflops", a->peaks.matmul_tflops,
                    "Peak matrix rate for the roofline, TFLOP/s (default: measured at start on CUDA)");
    cmd->add_option("--peak-bandwidth", a->peaks.bandwidth_gbs,
                    "Peak memory bandwidth for the roofline, GB/s (default: measured at start on CUDA)");
    cmd->add_flag("--workload-only", a->workload_only,
                  "Print the workload's prompt count and token totals, and exit without running a model");
    // Online bench (H6, http_bench_client.h): --url drives a running server
    // over HTTP instead of a model loaded here; -m is then optional.
    auto http = std::make_shared<HttpBenchOptions>();
    cmd->add_option("--url", http->url, "Bench a running server (http://HOST:PORT) over HTTP instead of loading a model");
    cmd->add_option("--concurrency", http->concurrency, "With --url: requests open at once (0: no cap)")->capture_default_str();
    auto api_key = std::make_shared<ApiKeyFlags>();
    add_api_key_flags(*cmd, *api_key, "With --url: the server's API key");
    cmd->get_option("--model")->required(false);
    cmd->callback([&exit_code, a, out_len, http, api_key] {
        a->workload.output_len_given = out_len->count() > 0;
        if (!http->url.empty()) {
            if (a->workload.dataset_name == "multi-turn")
                fail("--dataset-name multi-turn runs in process only: over --url the answers' token ids are not known");
            http->api_key = resolve_api_key(*api_key);
            http->sampling = request_params(*a, a->ignore_eos);
            a->workload.request_rate = parse_rate(a->request_rate);
            const PipelineOptions& p = a->engine.pipeline;
            exit_code = run_http_bench(*http, a->workload, p.tokenizer_path.empty() ? p.engine.model_path : p.tokenizer_path, a->json_path);
            return;
        }
        if (a->engine.pipeline.engine.model_path.empty()) fail("bench needs -m/--model (or --url of a running server)");
        exit_code = run_bench(*a);
    });
}

}  // namespace lightllm
