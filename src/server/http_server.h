// HttpServer: cpp-httplib threads that parse and validate requests, submit
// them to the model (the Pipeline) and answer from each request's events.
// Routes:
//   POST /generate, /generate_stream           LightLLM's API (lightllm_api.h)
//   POST /v1/completions, /v1/chat/completions  OpenAI's API (openai_api.h)
//   GET  /v1/models
//   POST /tokenize, /detokenize                 (tokenize_api.h)
//   GET  /health   liveness: 200 while the model loads; then a real one-token
//                  generation, cached a few seconds (200 or 503); 503 after
//                  an engine fault and while shutting down
//   GET  /health/ready, /readiness   readiness: 200 only once the model is
//                  loaded and has run a step, 503 while loading, after an
//                  engine fault and while draining
//   GET  /metrics  Prometheus text (metrics.h)
// Generations are answered by http_generation.h: a client that hangs up
// cancels its request (and frees its KV) within ~100 ms; a prompt the
// pipeline rejects is still a 4xx. Each connection is read by
// http_connection.h (pipelining, header and body limits, 405 with Allow, the
// API key before the body, HTTP/1.0). Limits: header count and size (431),
// decoded body size (413), prompt size and sampling ranges (400), --api-key
// (401, compared in constant time), a full queue (503 + Retry-After).
// One access-log line per request on stderr.
// shutdown(): stop accepting connections, let in-flight requests finish for
// `grace`, then cancel them; run() returns once every connection is done
// (an idle keep-alive connection may hold it up to httplib's keep-alive
// timeout; a request arriving on one meanwhile gets 503).
#pragma once
#include "generation_call.h"
#include <chrono>
#include <memory>
#include <string>

namespace lightllm {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8000;                    // 0: any free port (see bind())
    std::string api_key;                // non-empty: every route but /health, readiness and /metrics needs "Authorization: Bearer KEY"
    size_t max_body_bytes = 8u << 20;   // decoded bytes (after chunked and gzip decoding)
    size_t max_header_bytes = 64u << 10; // request line and headers; more is 431
    int max_headers = 100;              // more is 431
    int http_threads = 256;             // connections served at once (a streaming request holds one)
    double health_cache_s = 5.0;
    bool access_log = true;
    RequestLimits limits;
};

class HttpServer {
public:
    HttpServer(ServedModel model, ServerOptions opts);
    ~HttpServer();

    // Binds the listening socket; returns the port. Throws Error naming the
    // address when it cannot.
    int bind();
    // Serves until shutdown(); returns when every connection has closed.
    void run();
    // Thread-safe; a second call cancels what is left at once.
    void shutdown(std::chrono::milliseconds grace);
    // Like shutdown() but keeps accepting connections: new generations and
    // readiness get 503 while in-flight requests run on (for `grace`, then
    // they are cancelled). shutdown() later stops accepting.
    void drain(std::chrono::milliseconds grace);
    int n_in_flight() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lightllm
