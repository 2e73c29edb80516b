// --admission-order longest-first: among one step's arrivals the request with
// the most output left is admitted first; later arrivals never overtake.
#include "admission_order.h"
#include "fake_step_engine.h"
#include "request_state.h"
#include "router.h"
#include <doctest/doctest.h>
#include <map>

using namespace lightllm;
using lightllm::testing::FakeStepEngine;

namespace {

std::unique_ptr<EngineRequest> request(uint64_t id, int max_new, uint64_t window, int n_output = 0, int n_prompt = 8) {
    auto r = std::make_unique<EngineRequest>();
    r->id = id;
    r->prompt.assign(size_t(n_prompt), int32_t(1 + id % 60));
    r->output.assign(size_t(n_output), 5);
    r->params.max_new_tokens = max_new;
    r->params.ignore_eos = true;
    r->control = std::make_shared<RequestControl>(id);
    r->arrival_window = window;
    return r;
}

std::vector<uint64_t> ids(const std::deque<std::unique_ptr<EngineRequest>>& q) {
    std::vector<uint64_t> out;
    for (const auto& r : q) out.push_back(r->id);
    return out;
}

}  // namespace

TEST_CASE("admission order: longest remaining output first within a window, windows in arrival order") {
    std::deque<std::unique_ptr<EngineRequest>> q;
    q.push_back(request(1, 10, 0));
    q.push_back(request(2, 50, 0));
    q.push_back(request(3, 60, 0, /*n_output=*/20));  // 40 left
    q.push_back(request(4, 50, 0));                    // ties keep arrival order
    q.push_back(request(5, 500, 1));                   // a later window: after all of window 0
    q.push_back(request(6, 700, 1));
    q.push_front(request(7, 5, 0, 2));                 // paused: back at the head, window 0
    std::deque<std::unique_ptr<EngineRequest>> fifo;
    for (auto& r : q) fifo.push_back(request(r->id, r->params.max_new_tokens, r->arrival_window, int(r->output.size())));
    order_waiting(q, AdmissionOrder::LongestFirst);
    CHECK(ids(q) == std::vector<uint64_t>{2, 4, 3, 1, 7, 6, 5});
    order_waiting(fifo, AdmissionOrder::Fifo);
    CHECK(ids(fifo) == std::vector<uint64_t>{7, 1, 2, 3, 4, 5, 6});
    CHECK(remaining_output(*q[2]) == 40);
    CHECK(parse_admission_order("longest-first") == AdmissionOrder::LongestFirst);
    CHECK(parse_admission_order("fifo") == AdmissionOrder::Fifo);
    CHECK_THROWS_WITH_AS(parse_admission_order("lifo"), doctest::Contains("--admission-order 'lifo'"), Error);
}

TEST_CASE("router: longest-first admits one step's arrivals by output length, and no later arrival overtakes") {
    for (AdmissionOrder order : {AdmissionOrder::Fifo, AdmissionOrder::LongestFirst}) {
        FakeStepEngine engine(4096, 16, 1024);
        RouterOptions opts;
        opts.max_prefill_tokens = 8;  // one 8-token prompt per step
        opts.admission_order = order;
        Router router(engine, opts);
        std::vector<EngineEvent> events;
        std::map<uint64_t, int> first_token_step, n_tokens;
        int step = 0;
        auto run_step = [&] {
            router.step(events);
            for (const EngineEvent& ev : events) {
                if (ev.kind != EngineEvent::Kind::Token) continue;
                if (!n_tokens[ev.id]++) first_token_step[ev.id] = step;
            }
            events.clear();
            ++step;
        };
        const int max_new[] = {3, 50, 10, 50, 20};
        for (uint64_t id = 1; id <= 5; ++id) {
            auto r = request(id, max_new[id - 1], 0);
            r->arrival_window = 99;  // the router stamps its own
            router.add(std::move(r), events);
        }
        run_step();
        router.add(request(6, 200, 0), events);  // arrives one step later
        while (!router.idle()) run_step();
        for (uint64_t id = 1; id <= 5; ++id) CHECK(n_tokens[id] == max_new[id - 1]);
        CHECK(n_tokens[6] == 200);
        std::vector<uint64_t> by_start = {1, 2, 3, 4, 5, 6};
        std::stable_sort(by_start.begin(), by_start.end(),
                         [&](uint64_t a, uint64_t b) { return first_token_step[a] < first_token_step[b]; });
        if (order == AdmissionOrder::Fifo) {
            CHECK(by_start == std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
        } else {
            CHECK(by_start == std::vector<uint64_t>{2, 4, 5, 3, 1, 6});
        }
        router.flush_prefix_cache();  // finished requests' tokens stay cached until then
        CHECK(engine.kv_pool().n_used() == 0);
        CHECK(engine.n_errors == 0);
    }
}
