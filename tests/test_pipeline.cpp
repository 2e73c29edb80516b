// The pipeline end to end on the CPU backend with the tiny fixture model
// (tests/data/tiny-llama-gqa, greedy tokens from transformers) and the tiny
// byte-level tokenizer (tests/data/tiny-tokenizer): concurrent requests give
// the tokens of runs on their own (also through chunked prefill and pause +
// recompute), cancellation, overload, stop strings, errors.
#include "pipeline.h"
#include "stop_matcher.h"
#include "test_util.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

using namespace lightllm;

namespace {

struct Collector {
    std::mutex m;
    std::condition_variable cv;
    std::vector<RequestResult> results;
    std::vector<std::string> streamed;
    std::vector<int> n_finish;
    int n_done = 0;

    explicit Collector(size_t n) : results(n), streamed(n), n_finish(n, 0) {}

    RequestSink sink(size_t i) {
        RequestSink s;
        s.on_token = [this, i](const TokenEvent& t) {
            std::lock_guard<std::mutex> lock(m);
            streamed[i] += t.text;
        };
        s.on_finish = [this, i](const RequestResult& r) {
            std::lock_guard<std::mutex> lock(m);
            results[i] = r;
            ++n_finish[i];
            ++n_done;
            cv.notify_all();
        };
        return s;
    }

    bool wait_all(std::chrono::seconds timeout = std::chrono::seconds(120)) {
        std::unique_lock<std::mutex> lock(m);
        return cv.wait_for(lock, timeout, [&] { return n_done >= int(results.size()); });
    }
};

PipelineOptions tiny_options() {
    PipelineOptions o;
    o.engine.model_path = test_data("tiny-llama-gqa");
    o.engine.device = DeviceChoice::Cpu;
    o.engine.max_total_tokens = 4096;
    o.engine.max_running_requests = 16;
    o.tokenizer_path = test_data("tiny-tokenizer");
    return o;
}

std::vector<RequestResult> run_all(Pipeline& p, const std::vector<RequestInput>& inputs, Collector* out = nullptr) {
    Collector local(inputs.size());
    Collector& c = out ? *out : local;
    for (size_t i = 0; i < inputs.size(); ++i) p.submit(inputs[i], c.sink(i));
    REQUIRE(c.wait_all());
    return c.results;
}

RequestResult run_one(Pipeline& p, const RequestInput& in) { return run_all(p, {in})[0]; }

struct GreedyCase {
    std::vector<int32_t> prompt, greedy;
};

std::vector<GreedyCase> reference_cases() {
    std::ifstream f(test_data("tiny-llama-gqa/reference.json"));
    REQUIRE(f.good());
    nlohmann::json j = nlohmann::json::parse(f);
    std::vector<GreedyCase> cases;
    for (const auto& c : j["cases"])
        cases.push_back({c["prompt"].get<std::vector<int32_t>>(), c["greedy"].get<std::vector<int32_t>>()});
    return cases;
}

RequestInput ids_input(const std::vector<int32_t>& ids, int max_new) {
    RequestInput in;
    in.prompt_ids = ids;
    in.params.max_new_tokens = max_new;
    in.params.ignore_eos = true;
    return in;
}

}  // namespace

TEST_CASE("stop matcher: finds the earliest stop and holds back possible starts") {
    StopMatcher m({"</end>", "xy"});
    CHECK(m.scan("hello", 0).end == 5);
    auto s = m.scan("hello</e", 0);
    CHECK_FALSE(s.stopped);
    CHECK(s.end == 5);  // "</e" may start a stop string
    s = m.scan("hello</end> more", 0);
    CHECK(s.stopped);
    CHECK(s.end == 5);
    s = m.scan("a xy b </end>", 0);
    CHECK(s.stopped);
    CHECK(s.end == 2);
    CHECK(m.scan("abx", 0).end == 2);
    // text before `from` is exempt (it came before min_new_tokens)
    CHECK_FALSE(m.scan("xy and more", 1).stopped);
    CHECK(StopMatcher({}).scan("anything", 0).end == 8);
}

TEST_CASE("pipeline: concurrent greedy requests give transformers' tokens, also chunked and paused") {
    std::vector<GreedyCase> cases = reference_cases();
    REQUIRE(cases.size() >= 3);
    struct Setup {
        const char* name;
        int max_prefill;
        int64_t capacity;
        float fraction;
    };
    for (Setup s : {Setup{"roomy", 8192, 4096, 1.0f}, Setup{"chunked", 7, 4096, 1.0f}, Setup{"tight", 16, 90, 0.2f}}) {
        CAPTURE(std::string(s.name));
        PipelineOptions o = tiny_options();
        o.engine.max_prefill_tokens = s.max_prefill;
        o.engine.max_total_tokens = s.capacity;
        o.expected_output_fraction = s.fraction;
        o.max_wait_steps = 1;
        Pipeline p(o);
        // EOS counts (the output estimate applies only then): a greedy run
        // ends at its first EOS (id 2), inclusive.
        std::vector<RequestInput> inputs;
        for (int copy = 0; copy < 4; ++copy)
            for (const auto& c : cases) {
                inputs.push_back(ids_input(c.prompt, int(c.greedy.size())));
                inputs.back().params.ignore_eos = false;
            }
        std::vector<RequestResult> rs = run_all(p, inputs);
        for (size_t i = 0; i < rs.size(); ++i) {
            CAPTURE(i);
            std::vector<int32_t> want = cases[i % cases.size()].greedy;
            auto eos = std::find(want.begin(), want.end(), 2);
            const bool stops = eos != want.end();
            if (stops) want.erase(eos + 1, want.end());
            CHECK(rs[i].finish_reason == (stops ? FinishReason::Stop : FinishReason::Length));
            CHECK(rs[i].output_ids == want);
        }
        PipelineStats st = p.stats();
        CHECK(st.kv_used_tokens == 0);
        if (s.fraction < 1.0f) CHECK(st.n_pauses > 0);
        else CHECK(st.n_pauses == 0);
    }
}

TEST_CASE("pipeline: seeded sampling survives pauses: a tight pool gives the tokens of a roomy one") {
    std::vector<RequestInput> inputs;
    for (int i = 0; i < 10; ++i) {
        RequestInput in = ids_input({1, int32_t(10 + i), int32_t(40 + 3 * i), 7, 9}, 30);
        in.params.ignore_eos = false;
        in.params.temperature = 0.9f;
        in.params.top_p = 0.95f;
        in.params.seed = 100 + uint64_t(i);
        inputs.push_back(in);
    }
    PipelineOptions roomy = tiny_options();
    Pipeline a(roomy);
    std::vector<RequestResult> want = run_all(a, inputs);
    PipelineOptions tight = tiny_options();
    tight.engine.max_total_tokens = 80;
    tight.engine.max_prefill_tokens = 6;
    tight.expected_output_fraction = 0.1f;
    tight.max_wait_steps = 0;
    Pipeline b(tight);
    std::vector<RequestResult> got = run_all(b, inputs);
    for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i].output_ids == want[i].output_ids);
        CHECK(got[i].finish_reason == want[i].finish_reason);
    }
    int64_t n_pauses = 0;
    for (const auto& r : got) n_pauses += r.n_pauses;
    CHECK(b.stats().n_pauses > 0);
    CHECK(n_pauses == b.stats().n_pauses);  // each result tells how often it was paused
    CHECK(a.stats().n_pauses == 0);
}

TEST_CASE("pipeline: N concurrent text requests equal N sequential ones, text included") {
    Pipeline p(tiny_options());
    std::vector<RequestInput> inputs;
    for (const char* text : {"Hello world", "abc", "The quick brown fox", "x", "0123456789", "zz top"}) {
        RequestInput in;
        in.prompt = text;
        in.params.max_new_tokens = 30;
        inputs.push_back(in);
    }
    std::vector<RequestResult> sequential;
    for (const auto& in : inputs) sequential.push_back(run_one(p, in));
    Collector c(inputs.size());
    std::vector<RequestResult> concurrent = run_all(p, inputs, &c);
    for (size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(i);
        CHECK(concurrent[i].output_ids == sequential[i].output_ids);
        CHECK(concurrent[i].text == sequential[i].text);
        CHECK(c.streamed[i] == concurrent[i].text);
        CHECK(c.n_finish[i] == 1);
        CHECK(concurrent[i].n_prompt_tokens == int(inputs[i].prompt.size()) + 1);  // one token per char + BOS
        CHECK(!concurrent[i].output_ids.empty());
    }
}

TEST_CASE("pipeline: stop strings end the text before them, also across tokens") {
    Pipeline p(tiny_options());
    RequestInput in;
    in.prompt = "Hello world";
    in.params.max_new_tokens = 40;
    RequestResult full = run_one(p, in);
    REQUIRE(full.text.size() >= 12);
    for (size_t at : {size_t(4), size_t(9)}) {
        std::string stop = full.text.substr(at, 3);
        CAPTURE(stop);
        RequestInput s = in;
        s.params.stop = {stop, "\x01never"};
        Collector c(1);
        RequestResult r = run_all(p, {s}, &c)[0];
        CHECK(r.finish_reason == FinishReason::Stop);
        CHECK(r.text == full.text.substr(0, full.text.find(stop)));
        CHECK(c.streamed[0] == r.text);
        CHECK(r.output_ids.size() < full.output_ids.size());
        CHECK(std::equal(r.output_ids.begin(), r.output_ids.end(), full.output_ids.begin()));
    }
    // Before min_new_tokens a stop string does not count.
    RequestInput late = in;
    late.params.stop = {full.text.substr(0, 2)};
    late.params.min_new_tokens = 30;
    RequestResult r = run_one(p, late);
    CHECK(r.output_ids.size() >= 30);
    CHECK(r.text.rfind(full.text.substr(0, 2), 0) == 0);
    // A stop token id ends the request with that token as the last one.
    RequestInput tok = in;
    tok.params.stop_token_ids = {full.output_ids[5]};
    r = run_one(p, tok);
    CHECK(r.finish_reason == FinishReason::Stop);
    CHECK(r.output_ids.back() == full.output_ids[5]);
    CHECK(r.output_ids.size() <= 6);
    CHECK(p.stats().kv_used_tokens == 0);
}

TEST_CASE("pipeline: cancellation finishes the request and frees its slots") {
    // The engine may outrun the cancel (the tiny model is fast), so: every
    // request finishes exactly once, a cancelled one has fewer tokens, and at
    // least some of those cancelled right after submit are.
    PipelineOptions o = tiny_options();
    o.engine.max_total_tokens = 128;  // two at a time: the rest wait
    Pipeline p(o);
    const size_t n = 8;
    Collector c(n);
    for (size_t i = 0; i < n; ++i) p.submit(ids_input({1, 5, 6, 7}, 55), c.sink(i))->cancel();
    REQUIRE(c.wait_all());
    int n_cancelled = 0;
    for (size_t i = 0; i < n; ++i) {
        CHECK(c.n_finish[i] == 1);
        if (c.results[i].finish_reason == FinishReason::Cancelled) {
            ++n_cancelled;
            CHECK(c.results[i].output_ids.size() < 55);
        } else {
            CHECK(c.results[i].output_ids.size() == 55);
        }
    }
    CHECK(n_cancelled > 0);
    for (int i = 0; i < 100 && p.stats().kv_used_tokens != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(p.stats().kv_used_tokens == 0);
}

TEST_CASE("pipeline: a full waiting queue answers Overloaded") {
    PipelineOptions o = tiny_options();
    o.max_waiting_requests = 2;
    Pipeline p(o);
    Collector c(64);
    int n_overloaded = 0, n_accepted = 0;
    for (size_t i = 0; i < 64; ++i) {
        try {
            p.submit(ids_input({1, 9, 9, 9}, 40), c.sink(i));
            ++n_accepted;
        } catch (const Overloaded& e) {
            ++n_overloaded;
            CHECK(std::string(e.what()).find("overloaded") != std::string::npos);
        }
    }
    CHECK(n_overloaded > 0);
    CHECK(n_accepted >= 2);
    std::unique_lock<std::mutex> lock(c.m);
    CHECK(c.cv.wait_for(lock, std::chrono::seconds(120), [&] { return c.n_done == n_accepted; }));
}

TEST_CASE("pipeline: bad requests finish with a clear error, the pipeline goes on") {
    Pipeline p(tiny_options());
    RequestInput too_long;
    too_long.prompt = std::string(80, 'a');
    RequestInput bad_temp;
    bad_temp.prompt = "hi";
    bad_temp.params.temperature = -1.0f;
    RequestInput bad_id = ids_input({1, 999}, 4);
    RequestInput empty;
    RequestInput good = ids_input({1, 17, 42, 99, 5}, 3);
    std::vector<RequestResult> rs = run_all(p, {too_long, bad_temp, bad_id, empty, good});
    CHECK(rs[0].finish_reason == FinishReason::Error);
    CHECK(rs[0].error.find("context") != std::string::npos);
    CHECK(rs[1].finish_reason == FinishReason::Error);
    CHECK(rs[1].error.find("temperature") != std::string::npos);
    CHECK(rs[2].finish_reason == FinishReason::Error);
    CHECK(rs[2].error.find("999") != std::string::npos);
    CHECK(rs[3].finish_reason == FinishReason::Error);
    CHECK(rs[3].error.find("empty") != std::string::npos);
    CHECK(rs[4].finish_reason == FinishReason::Length);
    const std::vector<int32_t> greedy = reference_cases()[0].greedy;
    CHECK(rs[4].output_ids == std::vector<int32_t>(greedy.begin(), greedy.begin() + 3));
}

TEST_CASE("pipeline: destroying it finishes every request still in flight exactly once") {
    Collector c(6);
    {
        Pipeline p(tiny_options());
        for (size_t i = 0; i < 6; ++i) p.submit(ids_input({1, 4, 4, 4}, 59), c.sink(i));
    }
    CHECK(c.n_done == 6);
    for (size_t i = 0; i < 6; ++i) {
        CHECK(c.n_finish[i] == 1);
        const RequestResult& r = c.results[i];
        CHECK((r.finish_reason == FinishReason::Cancelled || r.output_ids.size() == 59));
    }
}

TEST_CASE("pipeline: a model that does not exist is an Error from the constructor") {
    PipelineOptions o = tiny_options();
    o.engine.model_path = test_data("no-such-model");
    o.tokenizer_path.clear();
    CHECK_THROWS_AS(Pipeline{o}, Error);
}

TEST_CASE("pipeline: a repeated prompt reports its cached tokens and gives the same tokens; off, none") {
    const std::vector<GreedyCase> cases = reference_cases();
    const GreedyCase& c = cases.back();
    for (bool cache : {true, false}) {
        CAPTURE(cache);
        PipelineOptions o = tiny_options();
        o.prefix_cache = cache;
        Pipeline p(o);
        const RequestResult first = run_one(p, ids_input(c.prompt, 10));
        const RequestResult again = run_one(p, ids_input(c.prompt, 10));
        CHECK(first.n_cached_tokens == 0);
        CHECK(again.n_cached_tokens == (cache ? int(c.prompt.size()) - 1 : 0));
        CHECK(first.output_ids == std::vector<int32_t>(c.greedy.begin(), c.greedy.begin() + 10));
        CHECK(again.output_ids == first.output_ids);
        const PipelineStats st = p.stats();
        CHECK(st.kv_used_tokens == 0);
        CHECK(st.prefix_cache_hit_tokens == (cache ? int64_t(c.prompt.size()) - 1 : 0));
        CHECK(st.prefix_cache_tokens == (cache ? int64_t(c.prompt.size()) + 9 : 0));
    }
}
