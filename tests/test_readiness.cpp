// What routers read from one server: liveness (/health) and readiness
// (/health/ready, /readiness) through loading, an engine fault and a drain;
// the engine loop counting faults; vLLM's metric names in /metrics.
#include "engine_loop.h"
#include "fake_step_engine.h"
#include "http_test_server.h"
#include "metrics.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <condition_variable>

using namespace lightllm;
using lightllm::testing::eventually;
using lightllm::testing::FakeModel;
using lightllm::testing::FakeStepEngine;

namespace {

// An HttpServer over a FakeModel whose status the test sets.
struct StatusServer {
    FakeModel model;
    std::mutex mu;
    ModelStatus status{ModelState::Loading, "the model is loading"};
    std::unique_ptr<HttpServer> server;
    std::thread thread;
    int port = 0;

    StatusServer() {
        model.step_ms = 20;
        ServerOptions opts;
        opts.port = 0;
        opts.access_log = false;
        opts.api_key = "k";
        opts.limits.max_context = model.max_context;
        opts.limits.n_vocab = 28;
        ServedModel m = model.served();
        m.status = [this] {
            std::lock_guard<std::mutex> lock(mu);
            return status;
        };
        server = std::make_unique<HttpServer>(m, opts);
        port = server->bind();
        thread = std::thread([this] { server->run(); });
    }
    ~StatusServer() {
        server->shutdown(std::chrono::milliseconds(0));
        thread.join();
    }
    void set(ModelState s, std::string msg = "") {
        std::lock_guard<std::mutex> lock(mu);
        status = {s, std::move(msg)};
    }
    int get(const char* path) {
        httplib::Client c("127.0.0.1", port);
        auto r = c.Get(path);
        return r ? r->status : 0;
    }
};

struct ThrowingEngine : FakeStepEngine {
    ThrowingEngine() : FakeStepEngine(256, 4, 64) {}
    std::vector<SampledToken> step(const std::vector<StepSeq>&) override { throw Error("device lost"); }
};

}  // namespace

TEST_CASE("readiness: 503 while loading, 200 when ready, 503 after an engine fault; /health is liveness") {
    StatusServer s;
    CHECK(s.get("/health") == 200);  // alive while loading
    CHECK(s.get("/health/ready") == 503);
    CHECK(s.get("/readiness") == 503);
    s.set(ModelState::Ready);
    CHECK(s.get("/health/ready") == 200);  // no API key needed
    CHECK(s.get("/readiness") == 200);
    CHECK(s.get("/health") == 200);
    s.set(ModelState::Failed, "the engine failed 1 step(s)");
    CHECK(s.get("/health/ready") == 503);
    httplib::Client c("127.0.0.1", s.port);
    auto h = c.Get("/health");
    REQUIRE(h);
    CHECK(h->status == 503);
    CHECK(nlohmann::json::parse(h->body)["message"] == "the engine failed 1 step(s)");
}

TEST_CASE("readiness: drain keeps accepting connections, answers 503 to readiness and new requests, lets in-flight ones finish") {
    StatusServer s;
    s.set(ModelState::Ready);
    httplib::Headers auth = {{"Authorization", "Bearer k"}};
    std::thread client([&] {
        httplib::Client c("127.0.0.1", s.port);
        c.set_read_timeout(20, 0);
        auto r = c.Post("/v1/completions", auth, R"({"prompt": "abc", "max_tokens": 20})", "application/json");
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(nlohmann::json::parse(r->body)["choices"][0]["finish_reason"] == "length");
    });
    REQUIRE(eventually([&] { return s.server->n_in_flight() == 1; }));
    s.server->drain(std::chrono::seconds(10));
    CHECK(s.get("/health/ready") == 503);
    CHECK(s.get("/readiness") == 503);
    httplib::Client c("127.0.0.1", s.port);
    auto late = c.Post("/v1/completions", auth, R"({"prompt": "abc", "max_tokens": 2})", "application/json");
    REQUIRE(late);  // still accepting connections
    CHECK(late->status == 503);
    CHECK(late->get_header_value("Retry-After") == "1");
    client.join();
    CHECK(s.model.n_cancelled.load() == 0);
}

TEST_CASE("engine loop: a step that throws fails its requests and counts an engine fault") {
    std::mutex m;
    std::condition_variable cv;
    FinishReason reason = FinishReason::Stop;
    bool done = false;
    EngineLoop loop([] { return std::make_unique<ThrowingEngine>(); }, RouterOptions{}, [&](std::vector<EngineEvent>& evs) {
        std::lock_guard<std::mutex> lock(m);
        for (auto& ev : evs)
            if (ev.kind == EngineEvent::Kind::Finish || ev.finished) {
                reason = ev.reason;
                done = true;
            }
        cv.notify_all();
    });
    CHECK(loop.stats().n_engine_faults == 0);
    auto req = std::make_unique<EngineRequest>();
    req->id = 1;
    req->prompt = {1, 2, 3};
    req->params.max_new_tokens = 4;
    req->control = std::make_shared<RequestControl>(1);
    REQUIRE(loop.submit(std::move(req)));
    std::unique_lock<std::mutex> lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
    CHECK(reason == FinishReason::Error);
    lock.unlock();
    CHECK(eventually([&] { return loop.stats().n_engine_faults == 1; }));
}

TEST_CASE("metrics: vLLM's names with model_name, cache_config_info in 16-token blocks, prefix-cache counters") {
    ServerMetrics metrics;
    PipelineStats st;
    st.n_waiting = 3;
    st.n_running = 2;
    st.kv_capacity_tokens = 4100;
    st.kv_used_tokens = 1025;
    st.prefix_cache_query_tokens = 40;
    st.prefix_cache_hit_tokens = 16;
    std::string text = metrics.render(st, "m\"x");
    auto has = [&](const std::string& s) { return text.find(s) != std::string::npos; };
    CHECK(has("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"m\\\"x\"} 3\n"));
    CHECK(has("vllm:num_requests_running{model_name=\"m\\\"x\"} 2\n"));
    CHECK(has("vllm:kv_cache_usage_perc{model_name=\"m\\\"x\"} 0.25\n"));
    CHECK(has("vllm:cache_config_info{model_name=\"m\\\"x\",block_size=\"16\",num_gpu_blocks=\"256\"} 1\n"));
    CHECK(has("# TYPE vllm:prefix_cache_queries_total counter\nvllm:prefix_cache_queries_total{model_name=\"m\\\"x\"} 40\n"));
    CHECK(has("vllm:prefix_cache_hits_total{model_name=\"m\\\"x\"} 16\n"));
    CHECK(has("# TYPE vllm:time_to_first_token_seconds histogram\n"));
    CHECK(has("vllm:e2e_request_latency_seconds_bucket{model_name=\"m\\\"x\",le=\"7680\"} 0\n"));
}
