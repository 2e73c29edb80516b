// The engine loop (requests from several threads, cancels, stop) and the
// router's --step-log, against the fake engine.
#include "router_harness.h"
#include "temp_dir.h"
#include <nlohmann/json.hpp>
#include <condition_variable>
#include <fstream>
#include <thread>

using namespace lightllm;
using namespace lightllm::testing::router_harness;
using lightllm::testing::FakeStepEngine;
using lightllm::testing::fake_next_token;

TEST_CASE("engine loop: requests from several threads, cancels from another, all finish") {
    std::mutex m;
    std::condition_variable cv;
    std::map<uint64_t, Outcome> outcomes;
    int n_done = 0;
    RouterOptions opts;
    opts.max_running_requests = 8;
    opts.max_prefill_tokens = 64;
    EngineLoop loop([] { return std::make_unique<FakeStepEngine>(2000, 8, 256, kVocab); }, opts,
                    [&](std::vector<EngineEvent>& evs) {
                        std::lock_guard<std::mutex> lock(m);
                        for (auto& ev : evs) {
                            Outcome& o = outcomes[ev.id];
                            if (ev.kind == EngineEvent::Kind::Token) o.tokens.push_back(ev.token);
                            if (ev.kind == EngineEvent::Kind::Finish || ev.finished) {
                                ++o.n_finish;
                                o.reason = ev.reason;
                                ++n_done;
                            }
                        }
                        cv.notify_all();
                    },
                    16);
    const int n_threads = 4, per_thread = 25;
    std::vector<std::shared_ptr<RequestControl>> controls(n_threads * per_thread);
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                uint64_t id = uint64_t(t * per_thread + i);
                auto req = std::make_unique<EngineRequest>();
                req->id = id;
                req->prompt = prompt_of(5 + int(id % 30), id);
                req->params = params(10 + int(id % 20));
                req->control = std::make_shared<RequestControl>(id);
                controls[id] = req->control;
                REQUIRE(loop.submit(std::move(req)));
            }
        });
    for (auto& th : threads) th.join();
    for (size_t id = 0; id < controls.size(); id += 7) controls[id]->handle->cancel();
    {
        std::unique_lock<std::mutex> lock(m);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return n_done == int(controls.size()); }));
    }
    for (uint64_t id = 0; id < controls.size(); ++id) {
        const Outcome& o = outcomes[id];
        CHECK(o.n_finish == 1);
        Expected e = run_alone(prompt_of(5 + int(id % 30), id), params(10 + int(id % 20)), 256, 0);
        if (o.reason == FinishReason::Cancelled) {
            CHECK(id % 7 == 0);
            CHECK(std::equal(o.tokens.begin(), o.tokens.end(), e.output.begin()));
        } else {
            CHECK(o.tokens == e.output);
        }
    }
    RouterStats s = loop.stats();
    CHECK(s.kv_used_tokens == 0);
    CHECK(s.n_finished == int64_t(controls.size()));
}

TEST_CASE("engine loop: stopping cancels what is left; a failing factory throws in the constructor") {
    std::atomic<int> n_cancelled{0};
    {
        EngineLoop loop([] { return std::make_unique<FakeStepEngine>(100000, 8, 100000, kVocab); }, RouterOptions{},
                        [&](std::vector<EngineEvent>& evs) {
                            for (auto& ev : evs)
                                if (ev.kind == EngineEvent::Kind::Finish && ev.reason == FinishReason::Cancelled)
                                    ++n_cancelled;
                        });
        for (uint64_t id = 0; id < 3; ++id) {
            auto req = std::make_unique<EngineRequest>();
            req->id = id;
            req->prompt = prompt_of(5, id);
            req->params = params(90000);
            req->control = std::make_shared<RequestControl>(id);
            loop.submit(std::move(req));
        }
    }
    CHECK(n_cancelled == 3);
    CHECK_THROWS_AS(EngineLoop([]() -> std::unique_ptr<StepEngine> { throw Error("no such model"); }, RouterOptions{},
                               [](std::vector<EngineEvent>&) {}),
                    Error);
}

TEST_CASE("router: --step-log writes one JSON line per engine step with its batch") {
    TempDir dir;
    RouterOptions opts;
    opts.max_prefill_tokens = 16;
    opts.max_wait_steps = 0;
    opts.step_log = dir.file("steps.jsonl");
    {
        Harness h(10000, 4, 1024, opts);
        h.add(1, prompt_of(4, 1), params(6));
        h.step();
        h.add(2, prompt_of(40, 2), params(3));
        h.run_until_idle();
        CHECK(h.router.stats().n_steps == h.n_step);
    }
    std::ifstream in(opts.step_log);
    std::string line;
    std::vector<nlohmann::json> steps;
    while (std::getline(in, line)) steps.push_back(nlohmann::json::parse(line));
    // Request 1: prefill (samples), then 5 decodes; request 2's 40 tokens go in 3 chunks
    // (16, 16, 8) alongside request 1's decodes, then its 2 decodes alongside request 1's last two.
    REQUIRE(steps.size() == 6);
    int64_t prefill_tokens = 0, decodes = 0;
    double t_prev = -1.0;
    for (size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        CHECK(s["step"].get<int64_t>() == int64_t(i) + 1);
        CHECK(s["engine_ms"].get<double>() >= 0.0);
        CHECK(s["host_ms"].get<double>() >= 0.0);
        CHECK(s["t_ms"].get<double>() >= t_prev);
        t_prev = s["t_ms"].get<double>();
        CHECK(s["prefill_tokens"].get<int64_t>() <= 16);
        prefill_tokens += s["prefill_tokens"].get<int64_t>();
        decodes += s["decode"].get<int64_t>();
    }
    CHECK(prefill_tokens == 4 + 40);
    CHECK(decodes == 5 + 2);
    CHECK(steps[0]["prefill_seqs"] == 1);
    CHECK(steps[1]["decode"] == 1);
    CHECK(steps[1]["prefill_tokens"] == 16);
    CHECK(steps[1]["running"] == 2);
}

TEST_CASE("router: an unwritable --step-log is a clear error") {
    RouterOptions opts;
    opts.step_log = "/nonexistent-dir/steps.jsonl";
    FakeStepEngine engine(100, 4, 64, kVocab);
    try {
        Router r(engine, opts);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("--step-log /nonexistent-dir/steps.jsonl") != std::string::npos);
    }
}
