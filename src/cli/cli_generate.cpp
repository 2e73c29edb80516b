// `lightllm generate`: text from prompts, on the Pipeline.
//   -p TEXT           one prompt; the text streams to stdout as it is made
//   (no -p)           prompts from stdin, one per line (or JSON Lines with
//                     --jsonl), all submitted at once; one JSON line per
//                     prompt on stdout, in input order
//   --chat (no -p, a terminal on stdin): an interactive multi-turn chat
//   --tokenize-only   print each prompt's token ids; loads only the tokenizer
#include "chat_prompt.h"
#include "check.h"
#include "cli.h"
#include "cli_options.h"
#include "prompt_jsonl.h"
#include "tokenizer.h"
#include <nlohmann/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>
#include <unistd.h>

namespace lightllm {

namespace {

using json = nlohmann::json;

struct GenerateArgs {
    EngineFlags engine;
    SamplingParams sampling;
    std::string prompt;
    std::string system;
    bool jsonl = false;
    bool chat = false;
    bool verbose = false;
    bool tokenize_only = false;
    bool no_bos = false;
    bool prompt_given = false;  // -p was on the command line (maybe empty)
    bool seed_given = false;    // --seed was; else a random one
};

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

std::vector<ChatMessage> chat_messages(const GenerateArgs& a, std::vector<ChatMessage> msgs) {
    bool has_system = !msgs.empty() && msgs.front().role == "system";
    if (!a.system.empty() && !has_system) msgs.insert(msgs.begin(), {"system", a.system});
    return msgs;
}

// Completion of many requests, waited for on the submitting thread.
struct Waiter {
    std::mutex m;
    std::condition_variable cv;
    int n_done = 0;
    void done() {
        std::lock_guard<std::mutex> lock(m);
        ++n_done;
        cv.notify_all();
    }
    void wait_for(int n) {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return n_done >= n; });
    }
};

// Submits, waiting a little while the pipeline says it is overloaded.
std::shared_ptr<RequestHandle> submit_patiently(Pipeline& p, RequestInput in, RequestSink sink) {
    for (;;) {
        try {
            return p.submit(in, sink);
        } catch (const Overloaded&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
}

// The prefix cache's hit rate so far (tokens found / tokens looked up).
void print_prefix_cache(const Pipeline& p) {
    const PipelineStats st = p.stats();
    if (st.prefix_cache_query_tokens == 0) return;
    std::fprintf(stderr, "lightllm: prefix cache hit rate %.1f%% (%lld of %lld prompt tokens), %lld tokens cached\n",
                 100.0 * double(st.prefix_cache_hit_tokens) / double(st.prefix_cache_query_tokens),
                 static_cast<long long>(st.prefix_cache_hit_tokens), static_cast<long long>(st.prefix_cache_query_tokens),
                 static_cast<long long>(st.prefix_cache_tokens));
}

void print_speed(const Pipeline& p, const RequestResult& r) {
    const double total_s = ms_between(r.t_submit, r.t_finish) / 1000.0;
    const double decode_s = ms_between(r.t_first_token, r.t_finish) / 1000.0;
    const size_t n = r.output_ids.size();
    std::fprintf(stderr,
                 "\nlightllm: prompt %d tokens (%d from the prefix cache), generated %zu tokens in %.2f s; first token "
                 "%.1f ms; %.2f tokens/s decode\n",
                 r.n_prompt_tokens, r.n_cached_tokens, n, total_s, ms_between(r.t_submit, r.t_first_token),
                 n > 1 && decode_s > 0 ? double(n - 1) / decode_s : 0.0);
    print_prefix_cache(p);
}

// Streams one request's text to stdout; returns its result.
RequestResult stream_one(Pipeline& p, RequestInput in) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    RequestResult result;
    size_t n_streamed = 0;
    RequestSink sink;
    sink.on_token = [&](const TokenEvent& t) {
        std::fwrite(t.text.data(), 1, t.text.size(), stdout);
        std::fflush(stdout);
        n_streamed += t.text.size();
    };
    sink.on_finish = [&](const RequestResult& r) {
        std::lock_guard<std::mutex> lock(m);
        result = r;
        done = true;
        cv.notify_all();
    };
    submit_patiently(p, std::move(in), sink);
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return done; });
    if (result.text.size() > n_streamed) std::fwrite(result.text.data() + n_streamed, 1, result.text.size() - n_streamed, stdout);
    return result;
}

int run_single(Pipeline& p, const GenerateArgs& a) {
    RequestInput in;
    in.params = a.sampling;
    if (a.chat)
        in.messages = chat_messages(a, {{"user", a.prompt}});
    else
        in.prompt = a.prompt;
    RequestResult r = stream_one(p, std::move(in));
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (r.finish_reason == FinishReason::Error) {
        std::fprintf(stderr, "lightllm: error: %s\n", r.error.c_str());
        return 1;
    }
    if (a.verbose) {
        print_speed(p, r);
        std::fprintf(stderr, "lightllm: seed %llu (--seed %llu repeats this run)\n", (unsigned long long)a.sampling.seed,
                     (unsigned long long)a.sampling.seed);
    }
    return 0;
}

int run_chat(Pipeline& p, const GenerateArgs& a) {
    std::vector<ChatMessage> history = chat_messages(a, {});
    std::string line;
    for (;;) {
        std::fputs("> ", stderr);
        std::fflush(stderr);
        if (!std::getline(std::cin, line)) break;
        if (line.empty()) continue;
        history.push_back({"user", line});
        RequestInput in;
        in.params = a.sampling;
        in.messages = history;
        RequestResult r = stream_one(p, std::move(in));
        std::fputc('\n', stdout);
        std::fflush(stdout);
        if (r.finish_reason == FinishReason::Error) {
            std::fprintf(stderr, "lightllm: error: %s\n", r.error.c_str());
            history.pop_back();
            continue;
        }
        if (a.verbose) print_speed(p, r);
        history.push_back({"assistant", r.text});
    }
    std::fputc('\n', stderr);
    return 0;
}

struct Entry {
    int line_no = 0;
    std::string label;  // the prompt as given
    RequestInput input;
    std::string error;  // the line could not be read
    RequestResult result;
};

json entry_json(const Entry& e) {
    json j;
    j["line"] = e.line_no;
    j["prompt"] = e.label;
    if (!e.error.empty()) {
        j["finish_reason"] = "error";
        j["error"] = e.error;
        return j;
    }
    const RequestResult& r = e.result;
    j["text"] = r.text;
    j["prompt_tokens"] = r.n_prompt_tokens;
    j["seed"] = e.input.params.seed;
    j["completion_tokens"] = r.output_ids.size();
    j["finish_reason"] = finish_reason_name(r.finish_reason);
    if (r.finish_reason == FinishReason::Error) j["error"] = r.error;
    j["timings"] = {{"ttft_ms", ms_between(r.t_submit, r.t_first_token)}, {"e2e_ms", ms_between(r.t_submit, r.t_finish)}};
    return j;
}

std::vector<Entry> read_entries(const GenerateArgs& a) {
    std::vector<Entry> entries;
    std::string line;
    for (int line_no = 1; std::getline(std::cin, line); ++line_no) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        Entry e;
        e.line_no = line_no;
        e.label = line;
        if (line.find_first_not_of(" \t") == std::string::npos) {
            e.error = fmt::format("line {}: the line is empty; expected {}", line_no, a.jsonl ? "a JSON object" : "a prompt");
            entries.push_back(std::move(e));
            continue;
        }
        if (a.jsonl) {
            try {
                e.input = parse_prompt_jsonl_line(line, line_no, a.sampling);
                e.label = e.input.messages.empty() ? e.input.prompt : e.input.messages.back().content;
            } catch (const Error& err) {
                e.error = err.what();
            }
        } else {
            e.input.prompt = line;
            e.input.params = a.sampling;
        }
        // Identical prompts differ, and each line's seed (in its result) repeats it.
        if (e.error.empty() && e.input.params.seed == a.sampling.seed) e.input.params.seed = a.sampling.seed + uint64_t(line_no - 1);
        if (e.error.empty() && a.chat && e.input.messages.empty()) {
            e.input.messages = {{"user", e.input.prompt}};
            e.input.prompt.clear();
        }
        if (!e.input.messages.empty()) e.input.messages = chat_messages(a, std::move(e.input.messages));
        entries.push_back(std::move(e));
    }
    return entries;
}

int run_batch(Pipeline& p, const GenerateArgs& a) {
    std::vector<Entry> entries = read_entries(a);
    Waiter waiter;
    int n_submitted = 0;
    const Clock::time_point t0 = Clock::now();
    for (Entry& e : entries) {
        if (!e.error.empty()) continue;
        RequestSink sink;
        sink.on_finish = [&e, &waiter](const RequestResult& r) {
            e.result = r;
            waiter.done();
        };
        submit_patiently(p, e.input, sink);
        ++n_submitted;
    }
    waiter.wait_for(n_submitted);
    int rc = 0;
    size_t n_generated = 0;
    for (const Entry& e : entries) {
        std::printf("%s\n", dump(entry_json(e)).c_str());
        if (!e.error.empty() || e.result.finish_reason == FinishReason::Error) rc = 1;
        n_generated += e.result.output_ids.size();
    }
    std::fflush(stdout);
    if (a.verbose) {
        double s = ms_between(t0, Clock::now()) / 1000.0;
        std::fprintf(stderr, "lightllm: %zu prompts, %zu tokens generated in %.2f s: %.2f tokens/s\n", entries.size(),
                     n_generated, s, s > 0 ? double(n_generated) / s : 0.0);
        print_prefix_cache(p);
    }
    return rc;
}

int tokenize_only(const GenerateArgs& a) {
    const PipelineOptions& o = a.engine.pipeline;
    std::unique_ptr<Tokenizer> tok = load_tokenizer(o.tokenizer_path.empty() ? o.engine.model_path : o.tokenizer_path);
    std::string chat_template = resolve_chat_template_option(o.chat_template, *tok);
    auto ids_of = [&](const std::string& text) {
        if (a.chat)
            return tok->encode(build_chat_prompt(*tok, chat_messages(a, {{"user", text}}), {}, true, chat_template), false);
        return tok->encode(text, !a.no_bos && tok->add_bos());
    };
    if (a.prompt_given) {
        std::printf("%s\n", dump(json(ids_of(a.prompt))).c_str());
        return 0;
    }
    std::string line;
    while (std::getline(std::cin, line)) std::printf("%s\n", dump(json(ids_of(line))).c_str());
    return 0;
}

int run_generate(GenerateArgs& a) {
    if (a.tokenize_only) return tokenize_only(a);  // -p '' tokenizes to []
    if (a.prompt_given && a.prompt.empty())
        fail("-p/--prompt is empty; give the prompt text (or leave -p out to read prompts from stdin, one per line)");
    check_sampling_flags(a.sampling);
    if (!a.seed_given) a.sampling.seed = std::random_device{}() * 0x100000000ull + std::random_device{}();
    if (a.prompt.empty() && !a.chat && isatty(STDIN_FILENO))
        std::fprintf(stderr, "lightllm: reading prompts from stdin, one per line (Ctrl-D ends); -p TEXT gives one prompt\n");
    PipelineOptions opts = engine_options(a.engine);
    auto tp = start_tp(a.engine, opts);
    if (tp->rank() > 0) return run_tp_worker(opts.engine);
    Pipeline pipeline(opts);
    if (!a.prompt.empty()) return run_single(pipeline, a);
    if (a.chat && !a.jsonl && isatty(STDIN_FILENO)) return run_chat(pipeline, a);
    return run_batch(pipeline, a);
}

}  // namespace

void add_generate_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("generate", "Generate text from prompts (a prompt, stdin lines or JSON Lines)");
    auto args = std::make_shared<GenerateArgs>();
    add_engine_flags(*cmd, args->engine);
    args->sampling.max_new_tokens = 128;
    add_sampling_flags(*cmd, args->sampling);
    auto* prompt = cmd->add_option("-p,--prompt", args->prompt, "The prompt (without it: prompts from stdin, one per line)");
    cmd->add_flag("--jsonl", args->jsonl, "stdin holds JSON Lines: {\"prompt\": ..., \"max_tokens\": ..., ...}");
    cmd->add_flag("--chat", args->chat, "Apply the model's chat template (interactive when stdin is a terminal)");
    cmd->add_option("--system", args->system, "System message for --chat");
    cmd->add_flag("-v,--verbose", args->verbose, "Print speed to stderr");
    cmd->add_flag("--tokenize-only", args->tokenize_only, "Print the prompt's token ids as JSON; load no weights");
    cmd->add_flag("--no-bos", args->no_bos, "With --tokenize-only: do not add BOS");
    cmd->callback([&exit_code, args, prompt, cmd] {
        args->prompt_given = prompt->count() > 0;
        args->seed_given = cmd->get_option("--seed")->count() > 0;
        exit_code = run_generate(*args);
    });
}

}  // namespace lightllm
