// `lightllm serve`: Serve an HTTP endpoint (LightLLM and OpenAI APIs).
// Listens at once, loads the model into a Pipeline in the background
// (served_model_loader.h: readiness is 503 until it is loaded), serves it with
// HttpServer until SIGINT or SIGTERM, then drains: readiness and new requests
// get 503 while in-flight requests finish for up to --shutdown-grace seconds
// (a second signal cancels them at once); then it stops accepting and exits 0.
// A model that fails to load is an error (exit 1).
#include "cli.h"
#include "cli_options.h"
#include "model_config.h"
#include "http_server.h"
#include "served_model_loader.h"
#include "request_validation.h"
#include "tokenizer.h"
#include <atomic>
#include <csignal>
#include <sys/stat.h>
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
    ApiKeyFlags api_key;
};

std::string base_name(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

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

// The model's name by default: a file's stem (smollm2.Q4_1.gguf ->
// smollm2.Q4_1), a directory's or preset's name as it is.
std::string default_model_name(const std::string& model_path) {
    std::string name = base_name(model_path);
    struct stat st;
    bool is_file = ::stat(model_path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    size_t dot = name.find_last_of('.');
    return !is_file || dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

int serve(ServeFlags& f) {
    f.server.api_key = resolve_api_key(f.api_key);
    sigset_t stop_signals = block_stop_signals();
    PipelineOptions popts = engine_options(f.engine);
    auto tp = start_tp(f.engine, popts);
    if (tp->rank() > 0) return run_tp_worker(popts.engine);
    const ModelConfig cfg = peek_model_config(popts.engine);

    ServerOptions& so = f.server;
    so.access_log = !f.quiet;
    RequestLimits& lim = so.limits;
    lim.max_context = popts.engine.max_context > 0 ? std::min(popts.engine.max_context, cfg.max_position) : cfg.max_position;
    lim.max_new_tokens = f.max_new_tokens;
    lim.n_vocab = cfg.n_vocab;

    // Listen first (liveness answers, readiness is 503), load in the background.
    std::string name = f.served_model_name.empty() ? default_model_name(popts.engine.model_path) : f.served_model_name;
    ServedModelLoader loader(popts);
    HttpServer server(loader.served(name), so);
    int port = server.bind();
    loader.start();
    std::fprintf(stderr, "lightllm serve: listening on http://%s:%d; loading %s\n", so.host.c_str(), port,
                 popts.engine.model_path.c_str());
    std::fflush(stderr);

    std::atomic<bool> done{false};
    std::atomic<bool> load_failed{false};
    std::thread announcer([&] {
        try {
            loader.wait();
            std::fprintf(stderr, "lightllm serve: %s ready on %s, context %d tokens, KV cache %lld tokens\n", name.c_str(),
                         loader.pipeline().device_name().c_str(), lim.max_context,
                         static_cast<long long>(loader.pipeline().stats().kv_capacity_tokens));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "lightllm: error: %s\n", e.what());
            load_failed = true;
            server.shutdown(std::chrono::milliseconds(0));
        }
        std::fflush(stderr);
    });
    // First signal: drain (readiness and new requests 503, in-flight ones
    // run on) until nothing is in flight or the grace period is over; then
    // stop accepting. A second signal cancels what is left at once.
    std::thread watcher([&] {
        int n_signals = 0;
        Clock::time_point deadline{};
        timespec slice{0, 100 * 1000 * 1000};
        while (!done.load()) {
            int sig = sigtimedwait(&stop_signals, nullptr, &slice);
            if (sig < 0) {
                if (n_signals == 1 && (server.n_in_flight() == 0 || Clock::now() >= deadline)) {
                    server.shutdown(std::chrono::milliseconds(0));
                    n_signals = 2;
                }
                continue;
            }
            ++n_signals;
            auto grace = std::chrono::milliseconds(n_signals == 1 ? static_cast<int64_t>(f.shutdown_grace_s * 1000) : 0);
            std::fprintf(stderr, "lightllm serve: %s: %s (%d in flight)\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                         n_signals == 1 ? "shutting down; draining, in-flight requests may finish" : "cancelling in-flight requests",
                         server.n_in_flight());
            if (n_signals == 1) {
                deadline = Clock::now() + grace;
                server.drain(grace);
            } else {
                server.shutdown(grace);
            }
        }
    });
    server.run();
    done = true;
    watcher.join();
    announcer.join();
    std::fprintf(stderr, "lightllm serve: stopped\n");
    return load_failed ? 1 : 0;
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
    add_api_key_flags(*cmd, f->api_key, "Require \"Authorization: Bearer KEY\" on every route but /health and /metrics");
    cmd->add_option("--served-model-name", f->served_model_name, "Model id in /v1/models, responses and metrics' model_name label (default: the model file's stem or directory name)");
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
