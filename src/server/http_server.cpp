#include "http_server.h"
#include "http_connection.h"
#include "http_generation.h"
#include "lightllm_api.h"
#include "metrics.h"
#include "openai_api.h"
#include "request_stream.h"
#include "tokenize_api.h"
#include <sys/socket.h>
#include <cerrno>
#include <cstring>
#include <map>
#include <random>

namespace lightllm {

namespace {

using Ms = std::chrono::milliseconds;
constexpr Ms kSlice{100};  // how often the health probe checks on its request

// httplib listens with a backlog of 5, which drops (and then resets) bursts
// of new connections; listen() again on the bound socket raises it.
// httplib's stop() also cuts chunked answers short, so a graceful stop shuts
// the listening socket down instead: accept() fails, httplib's loop ends and
// waits for the connections it is serving.
// Each connection is read by serve_connection (http_connection.h), which
// hands httplib one checked, normalized request at a time.
struct HttplibServer : httplib::Server {
    ConnectionLimits limits;
    ConnectionPolicy policy;

    void raise_backlog(int n) { ::listen(svr_sock_, n); }
    void stop_accepting() {
        socket_t s = svr_sock_;
        if (s != INVALID_SOCKET) ::shutdown(s, SHUT_RDWR);
    }

private:
    bool process_and_close_socket(socket_t sock) override {
        serve_connection(
            sock, limits, policy, [this] { return svr_sock_ == INVALID_SOCKET; },
            [this](httplib::Stream& strm, bool close_connection, bool& closed) { return process_request(strm, close_connection, closed, nullptr); });
        return true;
    }
};

// SO_REUSEADDR (a restart may bind while old connections linger) but not
// httplib's default SO_REUSEPORT, which lets a second server share a busy port.
void listening_socket_options(socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

constexpr const char* kReadinessPaths[] = {"/health/ready", "/readiness"};
bool is_readiness_path(const std::string& path) { return path == kReadinessPaths[0] || path == kReadinessPaths[1]; }

bool key_exempt(const std::string& path) {
    return path == "/health" || path.rfind("/health/", 0) == 0 || path == "/metrics" || is_readiness_path(path);
}

bool is_openai_path(const std::string& path) { return path.rfind("/v1/", 0) == 0; }

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

struct HttpServer::Impl {
    ServedModel model;
    ServerOptions opts;
    HttplibServer http;
    ServerMetrics metrics;

    std::mutex mu;                       // guards rng, stopping, deadline
    std::mt19937_64 rng{std::random_device{}()};
    bool stopping = false;
    Clock::time_point deadline = Clock::time_point::max();
    std::atomic<int> in_flight{0};
    std::mutex connections_mu;
    std::map<std::string, int> connections;  // peer "ip:port" -> socket, while served
    int64_t created = unix_time_now();

    std::map<std::string, std::string> route_methods;  // path -> "GET" / "POST", for 405 answers

    std::mutex probe_mu;                 // one health probe at a time; the others reuse the last answer
    std::mutex health_mu;                // guards health_at, health_status, health_body
    Clock::time_point health_at{};
    int health_status = 0;
    std::string health_body;

    Impl(ServedModel m, ServerOptions o) : model(std::move(m)), opts(std::move(o)) {}

    uint64_t random64() {
        std::lock_guard<std::mutex> lock(mu);
        return rng();
    }
    bool is_stopping() {
        std::lock_guard<std::mutex> lock(mu);
        return stopping;
    }
    bool past_deadline() {
        std::lock_guard<std::mutex> lock(mu);
        return stopping && Clock::now() >= deadline;
    }

    // --- answers -----------------------------------------------------------
    void send_json(httplib::Response& res, int status, const json& body) {
        res.status = status;
        res.set_content(json_text(body), "application/json");
    }
    void send_error(const httplib::Request& req, httplib::Response& res, const ApiError& e) {
        if (e.status == 503) res.set_header("Retry-After", "1");
        send_json(res, e.status, is_openai_path(req.path) ? openai_error(e.status, e.what(), e.param, e.code) : lightllm_error(e.what()));
    }
    void access_log(const httplib::Request& req, int status, double ms, const std::string& extra) {
        metrics.count_http(req.matches.empty() ? "unmatched" : std::string(req.matches[0]), status);
        if (opts.access_log)
            std::fprintf(stderr, "%s\n", fmt::format("lightllm serve: {} \"{} {}\" {} {:.1f}ms{}", req.remote_addr, req.method, req.path, status, ms, extra).c_str());
    }

    // A route handler that may throw ApiError; logs one line unless it
    // handed the answer to a streaming writer (which logs when done).
    using Handler = std::function<bool(const httplib::Request&, httplib::Response&, Clock::time_point)>;
    httplib::Server::Handler wrap(Handler h) {
        return [this, h](const httplib::Request& req, httplib::Response& res) {
            auto start = Clock::now();
            bool deferred = false;
            try {
                deferred = h(req, res, start);
            } catch (const ApiError& e) {
                send_error(req, res, e);
            } catch (const std::exception& e) {
                send_error(req, res, ApiError(500, fmt::format("internal error: {}", e.what())));
            }
            res.set_header("X-Lightllm-Handled", "1");
            if (is_stopping()) res.set_header("Connection", "close");
            if (!deferred) access_log(req, res.status, ms_since(start), "");
        };
    }

    json body_of(const httplib::Request& req) { return parse_json_object(req.body); }

    GenerationContext generation_context() {
        GenerationContext g;
        g.model = &model;
        g.metrics = &metrics;
        g.past_deadline = [this] { return past_deadline(); };
        g.in_flight = &in_flight;
        g.access_log = opts.access_log;
        return g;
    }

    bool run_call(const httplib::Request& req, httplib::Response& res, Clock::time_point start, GenerationCall g) {
        if (is_stopping()) throw ApiError(503, "the server is shutting down", "", "shutting_down");
        GenerationContext ctx = generation_context();
        ctx.client_gone = [this, peer = req.remote_addr + ":" + std::to_string(req.remote_port)] {
            std::lock_guard<std::mutex> lock(connections_mu);
            auto it = connections.find(peer);
            return it == connections.end() || !client_connected(it->second);
        };
        answer_generation(ctx, req, res, start, std::move(g));
        return true;
    }

    // --- health ------------------------------------------------------------
    ModelStatus model_status() const { return model.status ? model.status() : ModelStatus{}; }

    // Readiness: 200 only while the model is loaded, has run a step, has
    // had no engine fault and the server is not draining.
    void readiness(httplib::Response& res) {
        ModelStatus st = model_status();
        if (is_stopping()) st = {ModelState::Failed, "the server is draining (shutting down)"};
        if (st.state == ModelState::Ready) return send_json(res, 200, {{"status", "ready"}});
        res.set_header("Retry-After", "1");
        send_json(res, 503, {{"status", st.state == ModelState::Loading ? "loading" : "not ready"}, {"message", st.message}});
    }

    // Answers within about kProbeWait whatever the engine is doing: while it
    // has requests, from the numbers it publishes around every step (it is
    // serving); when idle, from a one-token probe generation, cached
    // health_cache_s. A probe that is still running after kProbeWait means
    // the engine took it up behind other work: also healthy.
    void health(httplib::Response& res) {
        if (is_stopping()) {
            send_json(res, 503, {{"status", "shutting down"}});
            return;
        }
        ModelStatus st = model_status();
        if (st.state == ModelState::Loading) {  // alive, not ready yet
            send_json(res, 200, {{"status", "loading"}});
            return;
        }
        if (st.state == ModelState::Failed) {
            send_json(res, 503, {{"status", "unhealthy"}, {"message", st.message}});
            return;
        }
        PipelineStats s = model.stats();
        json busy = {{"status", "ok"}, {"running", s.n_running}, {"waiting", s.n_waiting}, {"steps", s.n_steps}};
        if (s.n_running + s.n_waiting > 0) {
            send_json(res, 200, busy);
            return;
        }
        std::unique_lock<std::mutex> probing(probe_mu, std::try_to_lock);
        std::lock_guard<std::mutex> lock(health_mu);
        bool fresh = health_status != 0 && Clock::now() - health_at <= std::chrono::duration<double>(opts.health_cache_s);
        if (!fresh && probing.owns_lock()) probe();
        res.status = health_status != 0 ? health_status : 200;
        res.set_content(health_status != 0 ? health_body : json_text(busy), "application/json");
    }

    // Runs the probe generation; sets health_status/health_body (under health_mu).
    void probe() {
        constexpr int kProbeSlices = 8;  // kProbeWait = 800 ms
        RequestInput probe;
        int32_t bos = model.tokenizer->bos_id();
        probe.prompt_ids = {bos >= 0 ? bos : 0};
        probe.params.max_new_tokens = 1;
        probe.params.ignore_eos = true;
        auto t0 = Clock::now();
        health_status = 200;
        health_body = json_text({{"status", "ok"}, {"probe", "queued behind other work"}});
        try {
            auto stream = submit_choices(model, {probe});
            for (int i = 0; i < kProbeSlices && !past_deadline(); ++i) {
                bool done = false;
                for (const StreamEvent& ev : stream->wait(kSlice)) {
                    if (!ev.finished) continue;
                    done = true;
                    bool ok = ev.result.finish_reason == FinishReason::Stop || ev.result.finish_reason == FinishReason::Length;
                    health_status = ok ? 200 : 503;
                    json body = {{"status", ok ? "ok" : "unhealthy"}, {"probe_ms", ms_since(t0)}};
                    if (!ok) body["message"] = ev.result.error.empty() ? finish_reason_name(ev.result.finish_reason) : ev.result.error;
                    health_body = json_text(body);
                }
                if (done) break;
            }
            stream->cancel();
        } catch (const ApiError& e) {
            health_status = 503;
            health_body = json_text({{"status", "overloaded"}, {"message", e.what()}});
        }
        health_at = Clock::now();
    }

    // --- routes ------------------------------------------------------------
    void add_routes() {
        const RequestLimits& lim = opts.limits;
        const Tokenizer& tok = *model.tokenizer;
        auto gen = [this, &lim, &tok](bool stream) {
            return wrap([this, &lim, &tok, stream](const httplib::Request& req, httplib::Response& res, Clock::time_point t) {
                return run_call(req, res, t, lightllm_call(body_of(req), lim, random64(), stream, tok));
            });
        };
        auto post = [this](const std::string& path, httplib::Server::Handler h) { add_route("POST", path, std::move(h)); };
        auto get = [this](const std::string& path, httplib::Server::Handler h) { add_route("GET", path, std::move(h)); };
        post("/generate", gen(false));
        post("/generate_stream", gen(true));
        auto openai = [this, &lim, &tok](bool chat) {
            return wrap([this, &lim, &tok, chat](const httplib::Request& req, httplib::Response& res, Clock::time_point t) {
                OpenAiContext ctx{fmt::format("{:016x}", random64()), model.name, unix_time_now(), random64()};
                json body = body_of(req);
                return run_call(req, res, t, chat ? openai_chat_call(body, lim, ctx, tok) : openai_completion_call(body, lim, ctx, tok));
            });
        };
        post("/v1/completions", openai(false));
        post("/v1/chat/completions", openai(true));
        get("/v1/models", wrap([this, &lim](const httplib::Request&, httplib::Response& res, Clock::time_point) {
            send_json(res, 200, openai_models(model.name, created, lim.max_context, lim.n_vocab));
            return false;
        }));
        post("/tokenize", wrap([this, &lim, &tok](const httplib::Request& req, httplib::Response& res, Clock::time_point) {
            send_json(res, 200, tokenize_response(body_of(req), tok, lim));
            return false;
        }));
        post("/detokenize", wrap([this, &lim, &tok](const httplib::Request& req, httplib::Response& res, Clock::time_point) {
            send_json(res, 200, detokenize_response(body_of(req), tok, lim));
            return false;
        }));
        get("/health", wrap([this](const httplib::Request&, httplib::Response& res, Clock::time_point) {
            health(res);
            return false;
        }));
        for (const char* path : kReadinessPaths)
            get(path, wrap([this](const httplib::Request&, httplib::Response& res, Clock::time_point) {
                readiness(res);
                return false;
            }));
        get("/metrics", wrap([this](const httplib::Request&, httplib::Response& res, Clock::time_point) {
            res.status = 200;
            res.set_content(metrics.render(model.stats(), model.name), "text/plain; version=0.0.4");
            return false;
        }));
    }

    void add_route(const std::string& method, const std::string& path, httplib::Server::Handler h) {
        std::string& m = route_methods[path];
        m += (m.empty() ? "" : ", ") + method;
        if (method == "GET") http.Get(path, std::move(h));
        else http.Post(path, std::move(h));
    }

    void configure_connections() {
        http.set_socket_options(listening_socket_options);
        http.limits.max_body_bytes = opts.max_body_bytes;
        http.limits.max_header_bytes = opts.max_header_bytes;
        http.limits.max_headers = opts.max_headers;
        ConnectionPolicy& p = http.policy;
        p.allowed_methods = [this](const std::string& path) {
            auto it = route_methods.find(path);
            return it == route_methods.end() ? std::string() : it->second;
        };
        p.authorized = [this](const std::string& path, const std::string& authorization) {
            return opts.api_key.empty() || key_exempt(path) || same_secret(authorization, "Bearer " + opts.api_key);
        };
        p.error_body = [](const std::string& path, int status, const std::string& message) {
            return json_text(is_openai_path(path) ? openai_error(status, message, "", status == 401 ? "invalid_api_key" : "") : lightllm_error(message));
        };
        p.refused = [this](const std::string& remote, const std::string& method, const std::string& path, int status) {
            httplib::Request req;
            req.remote_addr = remote;
            req.method = method;
            req.path = path;
            access_log(req, status, 0.0, "");
        };
        p.tracked = [this](int sock, const std::string& peer, bool open) {
            std::lock_guard<std::mutex> lock(connections_mu);
            if (open) connections[peer] = sock;
            else connections.erase(peer);
        };
    }

    void configure() {
        configure_connections();
        http.new_task_queue = [n = opts.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
        http.set_payload_max_length(opts.max_body_bytes);
        http.set_keep_alive_max_count(1000);
        // Errors httplib answers itself (no route, body too large, bad request line) get a clear body.
        http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string msg = res.status == 404 ? fmt::format("no route for {} {}", req.method, req.path)
                            : res.status == 413 ? fmt::format("the request body is larger than the limit of {} bytes (--max-body-bytes)", opts.max_body_bytes)
                            : res.status == 405 ? fmt::format("method {} is not allowed on {}", req.method, req.path)
                                                : fmt::format("bad request ({})", res.status);
            int status = res.status;
            send_error(req, res, ApiError(status, msg));
            return httplib::Server::HandlerResponse::Handled;
        }));
        http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
            if (!res.has_header("X-Lightllm-Handled")) access_log(req, res.status, 0.0, "");
        });
        add_routes();
    }
};

HttpServer::HttpServer(ServedModel model, ServerOptions opts) : impl_(std::make_unique<Impl>(std::move(model), std::move(opts))) {
    LL_CHECK(impl_->model.tokenizer && impl_->model.submit && impl_->model.stats, "ServedModel is incomplete");
    impl_->configure();
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
    ServerOptions& o = impl_->opts;
    errno = 0;
    int port = o.port == 0 ? impl_->http.bind_to_any_port(o.host) : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
    int err = errno;
    if (port <= 0 && err == EADDRINUSE) fail("cannot listen on {}:{}: address already in use (is another server running on this port?)", o.host, o.port);
    if (port <= 0) fail("cannot listen on {}:{}: {}", o.host, o.port, err != 0 ? std::strerror(err) : "not an address of this host");
    impl_->http.raise_backlog(1024);
    return port;
}

void HttpServer::run() {
    impl_->http.listen_after_bind();
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
}

void HttpServer::drain(std::chrono::milliseconds grace) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto d = Clock::now() + grace;
    impl_->deadline = impl_->stopping ? std::min(impl_->deadline, d) : d;
    impl_->stopping = true;
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
    drain(grace);
    impl_->http.stop_accepting();
}

int HttpServer::n_in_flight() const { return impl_->in_flight.load(); }

}  // namespace lightllm
