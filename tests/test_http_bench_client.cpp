// The online bench client (bench --url): its SSE parsing, Prometheus
// reading, and a run against the HTTP server over a scripted model with a
// concurrency cap.
#include "http_bench_client.h"
#include "http_test_server.h"
#include <doctest/doctest.h>

using namespace lightllm;
using lightllm::testing::TestServer;

TEST_CASE("http_bench_client: the stream parser counts token chunks, reads usage, [DONE] and errors, in any split") {
    const std::string stream =
        "data: {\"choices\":[{\"index\":0,\"text\":\"a\",\"finish_reason\":null}]}\n\n"
        ": a comment\n\n"
        "data: {\"choices\":[{\"index\":0,\"text\":\"b\",\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n"
        "data: [DONE]\n\n";
    for (size_t piece : {size_t(1), size_t(7), stream.size()}) {
        CAPTURE(piece);
        CompletionStreamParser p;
        int tokens = 0;
        for (size_t i = 0; i < stream.size(); i += piece) tokens += p.feed(stream.substr(i, piece));
        CHECK(tokens == 2);
        CHECK(p.n_token_chunks() == 2);
        CHECK(p.usage_prompt_tokens() == 3);
        CHECK(p.usage_completion_tokens() == 2);
        CHECK(p.done());
        CHECK(p.error().empty());
    }
    CompletionStreamParser e;
    e.feed("data: {\"error\": {\"message\": \"boom\"}}\n\n");
    CHECK(e.error().find("boom") != std::string::npos);
    CHECK_FALSE(e.done());
}

TEST_CASE("http_bench_client: prometheus_value sums a metric's samples") {
    std::string text = "# HELP x\nlightllm_kv_used_tokens{model_name=\"m\"} 12\nlightllm_kv_used_tokens_other 5\n"
                       "lightllm_pauses_total{a=\"1\"} 2\nlightllm_pauses_total{a=\"2\"} 3\n";
    CHECK(prometheus_value(text, "lightllm_kv_used_tokens") == 12);
    CHECK(prometheus_value(text, "lightllm_pauses_total") == 5);
    CHECK(prometheus_value(text, "absent") == 0);
}

TEST_CASE("http_bench_client: drives the server with at most --concurrency requests open") {
    TestServer ts({}, 5);
    HttpBenchOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(ts.port);
    o.concurrency = 3;
    HttpBenchClient client(o);
    CHECK(client.model() == "fake-letters");
    CHECK(client.max_model_len() == 64);
    CHECK(client.vocab_size() == 28);
    std::vector<WorkloadItem> items(10);
    for (size_t i = 0; i < items.size(); ++i) {
        items[i].prompt_ids = {0, 1, 2};
        items[i].n_prompt = 3;
        items[i].max_new_tokens = 4 + static_cast<int>(i % 3);
    }
    DriveResult run = drive_workload(items, client.sender(), false);
    REQUIRE(run.records.size() == items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        const RequestRecord& r = run.records[i];
        CAPTURE(r.error);
        CHECK(r.ok);
        CHECK(r.n_output == items[i].max_new_tokens);
        CHECK(r.n_prompt == 3);
        CHECK(r.ttft_s > 0);
        CHECK(r.e2e_s >= r.ttft_s);
        CHECK(r.itl_s.size() == static_cast<size_t>(r.n_output - 1));
    }
    CHECK(ts.model.peak_active.load() <= 3);
    CHECK(ts.model.peak_active.load() >= 2);
    CHECK(client.kv_stats().capacity_tokens == 4096);
}

TEST_CASE("http_bench_client: failures are recorded, an unreachable server is a clear error") {
    TestServer ts;
    HttpBenchOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(ts.port);
    HttpBenchClient client(o);
    std::vector<WorkloadItem> items(1);
    items[0].prompt = std::string(100, 'a');  // longer than the fake model's context
    items[0].max_new_tokens = 4;
    DriveResult run = drive_workload(items, client.sender(), false);
    CHECK_FALSE(run.records[0].ok);
    CHECK(run.records[0].error.find("HTTP 400") != std::string::npos);
    ts.stop(std::chrono::milliseconds(0));
    HttpBenchOptions gone = o;
    CHECK_THROWS_WITH_AS(HttpBenchClient{gone}, doctest::Contains("cannot reach the server"), Error);
}
