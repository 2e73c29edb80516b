// LightLLM's KV admission rule against a step-by-step simulation of the pool.
#include "admission.h"
#include <doctest/doctest.h>
#include <algorithm>
#include <random>

using namespace lightllm;

// Pool use at every future step when each request grows by one token per
// step and leaves after its last one; returns the maximum.
static int64_t simulated_peak(const std::vector<KvDemand>& demands) {
    int64_t max_left = 0;
    for (const auto& d : demands) max_left = std::max(max_left, d.left);
    int64_t peak = 0;
    for (int64_t t = 0; t <= max_left; ++t) {
        int64_t used = 0;
        for (const auto& d : demands)
            if (d.left >= t) used += d.held + t;
        peak = std::max(peak, used);
    }
    return peak;
}

TEST_CASE("admission: peak need of small sets, worked by hand") {
    CHECK(peak_kv_need({}) == 0);
    CHECK(peak_kv_need({{10, 5}}) == 15);
    // sorted by left: (10,5) then (20,3): max(1*5+10, 2*3+30) = 36
    CHECK(peak_kv_need({{20, 3}, {10, 5}}) == 36);
    // a long tail dominates: (1,100) alone reaches 101
    CHECK(peak_kv_need({{50, 1}, {50, 1}, {1, 100}}) == 104);
}

TEST_CASE("admission: the formula equals a step-by-step simulation") {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 2000; ++trial) {
        std::vector<KvDemand> d(size_t(rng() % 12));
        for (auto& x : d) x = {int64_t(rng() % 300), int64_t(1 + rng() % 200)};
        CHECK(peak_kv_need(d) == simulated_peak(d));
    }
}

TEST_CASE("admission: capacity and running-count limits") {
    std::vector<KvDemand> running = {{10, 5}};
    KvDemand cand{20, 3};  // need with it: 36
    CHECK(can_admit(running, cand, {36, 8}));
    CHECK_FALSE(can_admit(running, cand, {35, 8}));
    CHECK_FALSE(can_admit(running, cand, {1000, 1}));
    CHECK(can_admit({}, {100, 28}, {128, 1}));
    CHECK_FALSE(can_admit({}, {100, 29}, {128, 1}));
}

TEST_CASE("admission: FIFO, a request that does not fit blocks those behind it") {
    AdmissionLimits limits{100, 16};
    // with the second the need is max(20+75, 2*10+85) = 105; the tiny third would fit but waits
    std::vector<KvDemand> waiting = {{10, 10}, {75, 20}, {1, 1}};
    CHECK(n_admissible({}, waiting, limits) == 1);
    CHECK(n_admissible({}, {{10, 10}, {1, 1}, {75, 20}}, limits) == 2);
    CHECK(n_admissible({}, {{10, 10}, {1, 1}, {1, 1}}, {100, 2}) == 2);
}
