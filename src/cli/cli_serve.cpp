// `lightllm serve`: Serve an HTTP endpoint (LightLLM and OpenAI APIs).
// Loads the model into a Pipeline, serves it with HttpServer until SIGINT or
// SIGTERM, then stops accepting, lets in-flight requests finish for
// --shutdown-grace seconds (a second signal cancels them at once) and exits 0.
#include "cli.h"
#include "cli_options.h"
#include "model_config.h"
#include "http_server.h"
#include "request_validation.h"
#include "tokenizer.h"
#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

namespace lightllm {

namespace {

struct ServeFlags {
    EngineFlags engine;
    ServerOptions server;
    std::string served_model_name;
    double shutdown_grace_s = 30.0;
    bool quiet = false;
    int max_new_tokens = 0;
};

std::string base_name(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Stands in for the tokenizer of a model that has none (dummy weights from a
// preset): prompts must be token ids, and answers carry ids without text.
class IdOnlyTokenizer : public Tokenizer {
public:
    explicit IdOnlyTokenizer(int n_vocab) : n_vocab_(n_vocab) {}
    std::vector<int32_t> encode(std::string_view, bool, bool) const override {
        throw ApiError(400, "this model has no tokenizer (dummy weights from a preset): send token ids, not text");
    }
    std::string token_bytes(int32_t) const override { return ""; }
    std::string decode(const std::vector<int32_t>&, bool) const override { return ""; }
    int32_t n_vocab() const override { return n_vocab_; }
    int32_t bos_id() const override { return -1; }
    std::vector<int32_t> eos_ids() const override { return {}; }
    bool add_bos() const override { return false; }
    bool is_special(int32_t) const override { return false; }
    int32_t token_id(std::string_view) const override { return -1; }
    const std::string& chat_template() const override { return empty_; }

private:
    int n_vocab_;
    std::string empty_;
};

// Blocks SIGINT and SIGTERM in this thread and every thread started after
// it, so that only the watcher (sigtimedwait) sees them.
sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not the end of the server
    return set;
}

int serve(ServeFlags& f) {
    sigset_t stop_signals = block_stop_signals();
    PipelineOptions popts = engine_options(f.engine);
    std::fprintf(stderr, "lightllm serve: loading %s\n", popts.engine.model_path.c_str());
    auto tp = start_tp(f.engine, popts);
    if (tp->rank() > 0) return run_tp_worker(popts.engine);
    Pipeline pipeline(popts);
    const ModelConfig& cfg = pipeline.model_config();
    std::unique_ptr<Tokenizer> id_only;
    const Tokenizer* tok = nullptr;
    try {
        tok = &pipeline.tokenizer();
    } catch (const Error& e) {
        std::fprintf(stderr, "lightllm serve: %s; serving token ids only\n", e.what());
        id_only = std::make_unique<IdOnlyTokenizer>(cfg.n_vocab);
        tok = id_only.get();
    }

    ServerOptions& so = f.server;
    so.access_log = !f.quiet;
    RequestLimits& lim = so.limits;
    lim.max_context = popts.engine.max_context > 0 ? std::min(popts.engine.max_context, cfg.max_position) : cfg.max_position;
    lim.max_new_tokens = f.max_new_tokens;
    lim.n_vocab = cfg.n_vocab;

    ServedModel model;
    model.name = f.served_model_name.empty() ? base_name(popts.engine.model_path) : f.served_model_name;
    model.tokenizer = tok;
    model.submit = [&pipeline](RequestInput in, RequestSink sink) { return pipeline.submit(std::move(in), std::move(sink)); };
    model.stats = [&pipeline] { return pipeline.stats(); };

    HttpServer server(model, so);
    int port = server.bind();
    PipelineStats st = pipeline.stats();
    std::fprintf(stderr, "lightllm serve: %s on %s, context %d tokens, KV cache %lld tokens\n", model.name.c_str(),
                 pipeline.device_name().c_str(), lim.max_context, static_cast<long long>(st.kv_capacity_tokens));
    std::fprintf(stderr, "lightllm serve: listening on http://%s:%d\n", so.host.c_str(), port);
    std::fflush(stderr);

    std::atomic<bool> done{false};
    std::thread watcher([&] {
        int n_signals = 0;
        timespec slice{0, 200 * 1000 * 1000};
        while (!done.load()) {
            int sig = sigtimedwait(&stop_signals, nullptr, &slice);
            if (sig < 0) continue;
            ++n_signals;
            auto grace = std::chrono::milliseconds(n_signals == 1 ? static_cast<int64_t>(f.shutdown_grace_s * 1000) : 0);
            std::fprintf(stderr, "lightllm serve: %s: %s (%d in flight)\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                         n_signals == 1 ? "shutting down; in-flight requests may finish" : "cancelling in-flight requests",
                         server.n_in_flight());
            server.shutdown(grace);
        }
    });
    server.run();
    done = true;
    watcher.join();
    std::fprintf(stderr, "lightllm serve: stopped\n");
    return 0;
}

}  // namespace

void add_serve_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("serve", "Serve an HTTP endpoint (LightLLM and OpenAI APIs)");
    auto f = std::make_shared<ServeFlags>();
    add_engine_flags(*cmd, f->engine);
    ServerOptions& so = f->server;
    cmd->add_option("--host", so.host, "Address to listen on (loopback by default; 0.0.0.0 for every interface)")->capture_default_str();
    cmd->add_option("--port", so.port, "Port to listen on (0: any free port, printed at start-up)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    cmd->add_option("--api-key", so.api_key, "Require \"Authorization: Bearer KEY\" on every route but /health and /metrics")
        ->envname("LIGHTLLM_API_KEY");
    cmd->add_option("--served-model-name", f->served_model_name, "Model id in /v1/models and responses (default: the model's file name)");
    cmd->add_option("--max-body-bytes", so.max_body_bytes, "Largest request body; larger ones get 413")->capture_default_str();
    cmd->add_option("--max-prompt-bytes", so.limits.max_prompt_chars, "Largest prompt text (all messages together)")->capture_default_str();
    cmd->add_option("--max-new-tokens", f->max_new_tokens, "Most tokens one request may ask for (0: the context)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--max-n", so.limits.max_n, "Most choices one request may ask for (n, best_of)")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    cmd->add_option("--http-threads", so.http_threads, "Connections served at once (a streaming request holds one)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    cmd->add_option("--shutdown-grace", f->shutdown_grace_s, "Seconds in-flight requests may run after SIGINT/SIGTERM")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--health-cache", so.health_cache_s, "Seconds a /health probe's answer is reused")->capture_default_str();
    cmd->add_flag("--quiet", f->quiet, "No access log");
    cmd->callback([f, &exit_code] { exit_code = serve(*f); });
}

}  // namespace lightllm
