// Cascade (shared-prefix) decode attention on the CPU: the planner's groups
// (src/engine/cascade_plan.h) on slot rows shaped as the prefix cache makes
// them, the split-and-merge math (src/backend/cpu_cascade_attention.h) against
// plain attention, and whole fixture models giving the same greedy tokens
// with cascade attention on and off (--no-cascade-attention).
#include "cascade_plan.h"
#include "counter_rng.h"
#include "cpu_backend.h"
#include "cpu_cascade_attention.h"
#include "fixture_reference.h"
#include "router.h"
#include "router_waves.h"
#include "step_plan.h"
#include "tp_test_group.h"
#include <doctest/doctest.h>
#include <map>
#include <numeric>
#include <random>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

// Slot rows built from segments: a segment is a run of slots; rows that list
// the same segment share those slots (a node of the radix tree), the rest of
// a row is its own.
struct Rows {
    int32_t next = 0;
    std::vector<std::vector<int32_t>> rows;
    std::vector<int32_t> segment(int n) {
        std::vector<int32_t> s(static_cast<size_t>(n));
        std::iota(s.begin(), s.end(), next);
        next += n;
        return s;
    }
    int add(std::initializer_list<const std::vector<int32_t>*> parts, int own) {
        std::vector<int32_t> r;
        for (const auto* p : parts) r.insert(r.end(), p->begin(), p->end());
        const std::vector<int32_t> tail = segment(own);
        r.insert(r.end(), tail.begin(), tail.end());
        rows.push_back(r);
        return int(rows.size()) - 1;
    }
    std::vector<CascadeSeq> seqs() const {
        std::vector<CascadeSeq> s;
        for (const auto& r : rows) s.push_back({r.data(), int32_t(r.size())});
        return s;
    }
};

CascadeRules rules(int min_len, int64_t min_saved = 0) {
    CascadeRules r;
    r.min_shared_len = min_len;
    r.min_saved_tokens = min_saved;
    return r;
}

std::vector<std::vector<int32_t>> groups_of(const CascadePlan& p) {
    std::vector<std::vector<int32_t>> g;
    for (int i = 0; i < p.n_groups(); ++i)
        g.emplace_back(p.members.begin() + p.group_start[size_t(i)], p.members.begin() + p.group_start[size_t(i) + 1]);
    return g;
}

int32_t scan_lcp(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    int32_t l = 0;
    while (size_t(l) < a.size() && size_t(l) < b.size() && a[size_t(l)] == b[size_t(l)]) ++l;
    return l;
}

}  // namespace

TEST_CASE("cascade plan: requests sharing a system prompt form one group over exactly the shared slots") {
    Rows t;
    const auto sys = t.segment(300);
    const int a = t.add({&sys}, 40), b = t.add({&sys}, 7), c = t.add({&sys}, 129);
    const auto other = t.segment(280);
    const int d = t.add({&other}, 5), e = t.add({&other}, 9);
    const int lone = t.add({}, 500);
    const CascadePlan p = plan_cascade(t.seqs(), rules(256));
    REQUIRE(p.n_groups() == 2);
    CHECK(groups_of(p) == std::vector<std::vector<int32_t>>{{a, b, c}, {d, e}});
    CHECK(p.shared_len == std::vector<int32_t>{300, 280});
    CHECK(p.max_members() == 3);
    CHECK(p.max_shared_len() == 300);
    CHECK(p.saved_tokens() == 2 * 300 + 280);
    for (int32_t m : p.members) CHECK(m != lone);
}

TEST_CASE("cascade plan: a common trunk with diverging branches") {
    SUBCASE("short branches: one group over the trunk") {
        Rows t;
        const auto trunk = t.segment(300), ba = t.segment(10), bb = t.segment(10);
        t.add({&trunk, &ba}, 3);
        t.add({&trunk, &ba}, 4);
        t.add({&trunk, &bb}, 5);
        t.add({&trunk, &bb}, 6);
        const CascadePlan p = plan_cascade(t.seqs(), rules(256));
        CHECK(groups_of(p) == std::vector<std::vector<int32_t>>{{0, 1, 2, 3}});
        CHECK(p.shared_len == std::vector<int32_t>{300});
    }
    SUBCASE("long branches: one group per branch, each over trunk + branch") {
        Rows t;
        const auto trunk = t.segment(300), ba = t.segment(400), bb = t.segment(400);
        t.add({&trunk, &ba}, 3);
        t.add({&trunk, &bb}, 5);
        t.add({&trunk, &ba}, 4);
        t.add({&trunk, &bb}, 6);
        const CascadePlan p = plan_cascade(t.seqs(), rules(256));
        CHECK(groups_of(p) == std::vector<std::vector<int32_t>>{{0, 2}, {1, 3}});
        CHECK(p.shared_len == std::vector<int32_t>{700, 700});
    }
    SUBCASE("a short common head below the threshold does not join two groups") {
        Rows t;
        const auto head = t.segment(10), pa = t.segment(300), pb = t.segment(300);
        t.add({&head, &pa}, 1);
        t.add({&head, &pb}, 1);
        t.add({&head, &pa}, 2);
        t.add({&head, &pb}, 2);
        const CascadePlan p = plan_cascade(t.seqs(), rules(256));
        CHECK(groups_of(p) == std::vector<std::vector<int32_t>>{{0, 2}, {1, 3}});
        CHECK(p.shared_len == std::vector<int32_t>{310, 310});
    }
}

TEST_CASE("cascade plan: members leaving, a group shrinking to one, short and unknown rows") {
    Rows t;
    const auto sys = t.segment(256);
    t.add({&sys}, 1);
    t.add({&sys}, 1);
    t.add({&sys}, 1);
    std::vector<CascadeSeq> s = t.seqs();
    CHECK(plan_cascade(s, rules(256)).members == std::vector<int32_t>{0, 1, 2});
    s.erase(s.begin() + 1);  // a member finished
    CHECK(plan_cascade(s, rules(256)).members == std::vector<int32_t>{0, 1});
    s.erase(s.begin());  // one left: no group
    CHECK(plan_cascade(s, rules(256)).n_groups() == 0);
    // Below the threshold, or without a known row: never grouped.
    std::vector<CascadeSeq> two = t.seqs();
    CHECK(plan_cascade(two, rules(258)).n_groups() == 0);
    two[0].slots = nullptr;
    two.erase(two.begin() + 2);
    CHECK(plan_cascade(two, rules(16)).n_groups() == 0);
    // Too little saved in all: the step runs without cascade.
    CHECK(plan_cascade(t.seqs(), rules(256, 512)).n_groups() == 1);
    CHECK(plan_cascade(t.seqs(), rules(256, 513)).n_groups() == 0);
}

TEST_CASE("cascade plan: random prefix trees; groups never claim slots their members do not share") {
    std::mt19937 rng(5);
    for (int trial = 0; trial < 200; ++trial) {
        Rows t;
        // A random tree: each node a segment, children extend their parent.
        std::vector<std::vector<int32_t>> paths{{}};
        for (int n = 0; n < 12; ++n) {
            std::vector<int32_t> path = paths[rng() % paths.size()];
            const auto seg = t.segment(1 + int(rng() % 60));
            path.insert(path.end(), seg.begin(), seg.end());
            paths.push_back(path);
        }
        const int n_req = 2 + int(rng() % 20);
        for (int r = 0; r < n_req; ++r) t.add({&paths[rng() % paths.size()]}, 1 + int(rng() % 5));
        const std::vector<CascadeSeq> s = t.seqs();
        for (int i = 0; i < n_req; ++i)
            for (int j = 0; j < n_req; ++j)
                REQUIRE(common_slot_prefix(s[size_t(i)], s[size_t(j)]) == scan_lcp(t.rows[size_t(i)], t.rows[size_t(j)]));
        const int min_len = 1 + int(rng() % 40);
        const CascadePlan p = plan_cascade(s, rules(min_len));
        std::vector<int> seen(size_t(n_req), 0);
        for (int g = 0; g < p.n_groups(); ++g) {
            const int32_t L = p.shared_len[size_t(g)];
            REQUIRE(p.group_start[size_t(g) + 1] - p.group_start[size_t(g)] >= 2);
            REQUIRE(L >= min_len);
            const auto& anchor = t.rows[size_t(p.members[size_t(p.group_start[size_t(g)])])];
            for (int32_t i = p.group_start[size_t(g)]; i < p.group_start[size_t(g) + 1]; ++i) {
                const int32_t m = p.members[size_t(i)];
                REQUIRE(++seen[size_t(m)] == 1);
                REQUIRE(scan_lcp(anchor, t.rows[size_t(m)]) >= L);
                REQUIRE(L < int32_t(t.rows[size_t(m)].size()));
            }
        }
        // The plan saves at least what the best single pair would.
        int64_t best_pair = 0;
        for (int i = 0; i < n_req; ++i)
            for (int j = i + 1; j < n_req; ++j) {
                const int32_t l = scan_lcp(t.rows[size_t(i)], t.rows[size_t(j)]);
                if (l >= min_len) best_pair = std::max<int64_t>(best_pair, l);
            }
        CHECK(p.saved_tokens() >= best_pair);
    }
}

namespace {

struct CpuKv {
    CpuBackend be;
    std::vector<Tensor> owned;
    Tensor make(DType dt, std::initializer_list<int64_t> shape) {
        owned.push_back(be.alloc(dt, shape));
        return owned.back();
    }
    ~CpuKv() {
        for (Tensor& t : owned) be.free(t);
    }
};

// Random K/V in every slot (int8: random codes and scales).
KvLayer random_kv(CpuKv& o, DType dt, int capacity, int nkv, int hd, uint64_t seed) {
    KvLayer kv;
    kv.k = o.make(dt, {capacity, nkv, hd});
    kv.v = o.make(dt, {capacity, nkv, hd});
    const int64_t n = int64_t(capacity) * nkv * hd;
    if (dt == DType::I8) {
        kv.k_scale = o.make(DType::F32, {capacity, nkv});
        kv.v_scale = o.make(DType::F32, {capacity, nkv});
        for (int64_t i = 0; i < n; ++i) {
            kv.k.ptr<int8_t>()[i] = int8_t(std::clamp(int(normal01(seed, uint64_t(i)) * 40.0f), -127, 127));
            kv.v.ptr<int8_t>()[i] = int8_t(std::clamp(int(normal01(seed + 1, uint64_t(i)) * 40.0f), -127, 127));
        }
        for (int64_t i = 0; i < int64_t(capacity) * nkv; ++i) {
            kv.k_scale.ptr<float>()[i] = 0.01f + 0.01f * std::fabs(normal01(seed + 2, uint64_t(i)));
            kv.v_scale.ptr<float>()[i] = 0.01f + 0.01f * std::fabs(normal01(seed + 3, uint64_t(i)));
        }
    } else {
        std::vector<float> k(static_cast<size_t>(n)), v(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            k[size_t(i)] = normal01(seed, uint64_t(i));
            v[size_t(i)] = normal01(seed + 1, uint64_t(i));
        }
        o.be.upload(kv.k, k.data(), DType::F32);
        o.be.upload(kv.v, v.data(), DType::F32);
    }
    return kv;
}

}  // namespace

TEST_CASE("cascade attention (cpu): shared-prefix partials merged with each request's own keys equal plain attention") {
    for (DType kv_dt : {DType::F32, DType::I8}) {
        for (int ratio : {1, 4}) {
            CAPTURE(dtype_name(kv_dt));
            CAPTURE(ratio);
            CpuKv o;
            const int nkv = 2, nh = nkv * ratio, hd = 16, ctx = 160, capacity = 2048;
            const HeadShape heads{nh, nkv, hd, 0};
            KvLayer kv = random_kv(o, kv_dt, capacity, nkv, hd, 11);
            // Requests 0, 2, 3 share 37 slots, 1 and 4 share 90; 5 shares nothing.
            const std::vector<int> kv_len{60, 100, 38, 150, 91, 70};
            const std::vector<int> shared{37, 90, 37, 37, 90, 0};
            const int n = int(kv_len.size());
            Tensor table = o.make(DType::I32, {n, ctx});
            int32_t next = 500;
            for (int r = 0; r < n; ++r)
                for (int p = 0; p < kv_len[size_t(r)]; ++p)
                    table.ptr<int32_t>()[r * ctx + p] = p < shared[size_t(r)] ? (shared[size_t(r)] == 37 ? p : 100 + p) : next++;
            std::vector<int32_t> q_start(size_t(n) + 1), rows(static_cast<size_t>(n));
            std::iota(q_start.begin(), q_start.end(), 0);
            std::iota(rows.begin(), rows.end(), 0);
            auto i32 = [&](const std::vector<int32_t>& v) {
                Tensor t = o.make(DType::I32, {int64_t(v.size())});
                std::copy(v.begin(), v.end(), t.ptr<int32_t>());
                return t;
            };
            AttentionBatch b;
            b.q_start = i32(q_start);
            b.kv_len = i32(std::vector<int32_t>(kv_len.begin(), kv_len.end()));
            b.req_rows = i32(rows);
            b.table = table;
            b.n_reqs = n;
            b.n_tokens = n;
            b.max_q_len = 1;
            b.max_kv_len = 150;
            b.n_decode_first = n;
            Tensor q = o.make(DType::F32, {n, nh * hd});
            for (int64_t i = 0; i < q.numel(); ++i) q.ptr<float>()[i] = normal01(77, uint64_t(i));
            AttentionParams params;
            params.scale = 1.0f / std::sqrt(float(hd));
            Tensor plain = o.make(DType::F32, {n, nh * hd}), casc = o.make(DType::F32, {n, nh * hd});
            o.be.attention(q, kv, b, heads, params, plain);

            b.cascade.group_start = i32({0, 3, 5});
            b.cascade.members = i32({0, 2, 3, 1, 4});
            b.cascade.shared_len = i32({37, 90});
            b.cascade.req_shared = i32(std::vector<int32_t>(shared.begin(), shared.end()));
            b.cascade.n_groups = 2;
            b.cascade.n_members = 5;
            b.cascade.max_members = 3;
            b.cascade.max_shared_len = 90;
            o.be.attention(q, kv, b, heads, params, casc);  // the split-and-merge path
            double worst = 0.0;
            for (int64_t i = 0; i < plain.numel(); ++i)
                worst = std::max(worst, double(std::fabs(plain.ptr<float>()[i] - casc.ptr<float>()[i])));
            CHECK(worst < 1e-5);

            // The pieces: [0, L) and [L, len) of one query, merged, against one
            // partial over [0, len); and an empty part merges as nothing.
            const int32_t* row3 = table.ptr<int32_t>() + 3 * ctx;
            const float* q3 = q.ptr<float>() + 3 * nh * hd;
            SoftmaxPartial whole = attention_partial(kv, heads, params.scale, {q3, row3, 0, 150, 0});
            SoftmaxPartial part = attention_partial(kv, heads, params.scale, {q3, row3, 0, 37, 0});
            merge_partial(part, attention_partial(kv, heads, params.scale, {q3, row3, 37, 150, 0}));
            merge_partial(part, attention_partial(kv, heads, params.scale, {q3, row3, 150, 150, 0}));
            std::vector<float> ow(static_cast<size_t>(hd)), op(static_cast<size_t>(hd));
            finish_partial(whole, hd, ow.data());
            finish_partial(part, hd, op.data());
            for (int d = 0; d < hd; ++d) CHECK(op[size_t(d)] == doctest::Approx(ow[size_t(d)]).epsilon(1e-5));
            // The merged partial is the plain attention's output for head 0 of request 3.
            for (int d = 0; d < hd; ++d)
                CHECK(op[size_t(d)] == doctest::Approx(plain.ptr<float>()[3 * nh * hd + d]).epsilon(1e-4));
        }
    }
}

namespace {

// Waves through the router with the prefix cache on: the first wave's
// requests finish (their prompts go into the tree), then the next wave's,
// sharing those prompts and branching off them, decode together.
GreedyWaves run_fixture(const std::string& fixture, bool cascade, const char* kv_dtype,
                        const std::vector<std::vector<std::vector<int32_t>>>& prompts) {
    EngineOptions eo;
    eo.model_path = test_data(fixture);
    eo.device = DeviceChoice::Cpu;
    eo.max_total_tokens = 4096;
    eo.max_running_requests = 8;
    eo.max_prefill_tokens = 64;
    eo.max_context = 64;
    eo.kv_cache_dtype = parse_kv_cache_dtype(kv_dtype);
    eo.cascade_attention = cascade;
    eo.cascade_rules = rules(4, 0);  // the fixtures' prompts are short
    return run_greedy_waves(eo, prompts, 12);
}

}  // namespace

TEST_CASE("cascade attention (cpu): fixture models give the same greedy tokens with and without it") {
    struct Fx {
        const char* name;
        const char* kv;
        bool usable;  // false: ALiBi or sliding window, cascade stays off
    };
    for (const Fx& fx : {Fx{"tiny-llama-gqa", "auto", true}, Fx{"tiny-llama-gqa", "int8", true},
                         Fx{"tiny-qwen2", "auto", true}, Fx{"tiny-llama-mha-tied", "auto", true},
                         Fx{"tiny-starcoder", "auto", true}, Fx{"tiny-bloom", "auto", false},
                         Fx{"tiny-mistral", "auto", false}}) {
        CAPTURE(std::string(fx.name));
        CAPTURE(std::string(fx.kv));
        const std::vector<Case> cases = load_cases(fx.name);
        std::vector<int32_t> sys = cases[0].prompt;
        while (sys.size() < 24) sys.insert(sys.end(), cases[0].prompt.begin(), cases[0].prompt.end());
        sys.resize(24);
        auto with = [&](std::vector<int32_t> a, std::initializer_list<int32_t> tail) {
            a.insert(a.end(), tail);
            return a;
        };
        const std::vector<int32_t> branch_a = with(sys, {5, 6, 7, 8, 9, 10}), branch_b = with(sys, {11, 12, 13, 14});
        // Wave 1 caches the trunk and two branches; wave 2 shares them.
        const std::vector<std::vector<std::vector<int32_t>>> waves{
            {branch_a, branch_b},
            {with(branch_a, {20}), with(branch_a, {21, 22}), with(branch_b, {23}), with(branch_b, {24, 25, 26}),
             with(sys, {30, 31}), with(sys, {32})}};
        const GreedyWaves off = run_fixture(fx.name, false, fx.kv, waves);
        const GreedyWaves on = run_fixture(fx.name, true, fx.kv, waves);
        CHECK(on.outputs == off.outputs);
        CHECK(off.cascade_steps == 0);
        if (fx.usable) CHECK(on.cascade_steps > 0);
        else CHECK(on.cascade_steps == 0);
        for (const auto& o : on.outputs) CHECK(o.size() == 12);
    }
}

namespace {

struct Decoded {
    std::vector<std::vector<int32_t>> ids;  // per request
    std::vector<std::vector<float>> logprobs;
};

// Request 0 prefills `sys`; then n_join requests join holding the same slots
// for `sys` in their table rows (written by the step, as a prefix-cache hit
// does: n_table_stale) and all decode together for `steps` steps.
Decoded shared_decode(ModelRunner& r, const std::vector<int32_t>& sys, int n_join, int steps) {
    const int n = 1 + n_join, P = int(sys.size());
    std::vector<int> rows(static_cast<size_t>(n));
    for (int& row : rows) {
        row = r.req_to_token().alloc_row();
        REQUIRE(row >= 0);
    }
    std::vector<int32_t> sys_slots;
    REQUIRE(r.kv_pool().alloc(P, sys_slots));
    std::vector<std::vector<int32_t>> ctx(size_t(n), sys_slots);
    StepSeq first;
    first.row = rows[0];
    first.tokens = sys.data();
    first.n_new = P;
    first.slots = sys_slots.data();
    first.sample = true;
    std::vector<int32_t> next(static_cast<size_t>(n));
    next[0] = r.step({first})[0].id;
    for (int j = 1; j < n; ++j) next[size_t(j)] = 3 + j;
    Decoded d;
    d.ids.resize(size_t(n));
    d.logprobs.resize(size_t(n));
    for (int k = 0; k < steps; ++k) {
        std::vector<StepSeq> step(static_cast<size_t>(n));
        for (int j = 0; j < n; ++j) {
            std::vector<int32_t>& c = ctx[size_t(j)];
            REQUIRE(r.kv_pool().alloc(1, c));
            StepSeq& s = step[size_t(j)];
            s.row = rows[size_t(j)];
            s.n_cached = int32_t(c.size()) - 1;
            s.tokens = &next[size_t(j)];
            s.n_new = 1;
            s.slots = c.data() + s.n_cached;
            s.n_table_stale = k == 0 && j > 0 ? P : 0;
            s.context_slots = c.data();
            s.sample = true;
        }
        const std::vector<SampledToken> t = r.step(step);
        REQUIRE(t.size() == size_t(n));
        for (int j = 0; j < n; ++j) {
            next[size_t(j)] = t[size_t(j)].id;
            d.ids[size_t(j)].push_back(t[size_t(j)].id);
            d.logprobs[size_t(j)].push_back(t[size_t(j)].logprob);
        }
    }
    for (int j = 0; j < n; ++j) {
        std::vector<int32_t> own(ctx[size_t(j)].begin() + P, ctx[size_t(j)].end());
        r.kv_pool().free(own);
        r.req_to_token().free_row(rows[size_t(j)]);
    }
    r.kv_pool().free(sys_slots);
    return d;
}

EngineOptions shared_options(bool cascade) {
    EngineOptions o;
    o.model_path = test_data("tiny-llama-gqa");
    o.device = DeviceChoice::Cpu;
    o.max_total_tokens = 1024;
    o.max_running_requests = 8;
    o.max_prefill_tokens = 64;
    o.max_context = 96;
    o.cascade_attention = cascade;
    o.cascade_rules = rules(4, 0);
    return o;
}

}  // namespace

TEST_CASE("cascade attention (cpu): the step plan carries the groups to every tensor-parallel rank") {
    const std::vector<Case> cases = load_cases("tiny-llama-gqa");
    std::vector<int32_t> sys = cases[0].prompt;
    sys.resize(std::min<size_t>(sys.size(), 20));
    Decoded want;
    {
        ModelRunner one(shared_options(false));
        want = shared_decode(one, sys, 4, 6);
        CHECK(one.cascade_steps() == 0);
        CHECK(one.kv_pool().n_used() == 0);
    }
    {
        ModelRunner one(shared_options(true));
        const Decoded got = shared_decode(one, sys, 4, 6);
        CHECK(one.cascade_steps() == 6);
        CHECK(got.ids == want.ids);
        for (size_t j = 0; j < got.logprobs.size(); ++j)
            for (size_t k = 0; k < got.logprobs[j].size(); ++k)
                CHECK(got.logprobs[j][k] == doctest::Approx(want.logprobs[j][k]).epsilon(1e-4));
    }
    TpTestGroup g(shared_options(true), 2);
    const Decoded got = shared_decode(g.runner(), sys, 4, 6);
    CHECK(g.runner().cascade_steps() == 6);
    CHECK(got.ids == want.ids);
    for (size_t j = 0; j < got.logprobs.size(); ++j)
        for (size_t k = 0; k < got.logprobs[j].size(); ++k)
            CHECK(got.logprobs[j][k] == doctest::Approx(want.logprobs[j][k]).epsilon(1e-4));
    g.stop_and_join();
    for (const std::string& e : g.errors()) CHECK(e == "");
}

TEST_CASE("step plan: the cascade groups survive encode/decode, between the request arrays and the table entries") {
    Rows t;
    const auto sys = t.segment(40);
    t.add({&sys}, 3);
    t.add({}, 50);
    t.add({&sys}, 9);
    const CascadePlan casc = plan_cascade(t.seqs(), rules(16));
    REQUIRE(casc.n_groups() == 1);
    StepPlan plan;
    plan.n = 3;
    plan.n_reqs = 3;
    plan.n_out = 3;
    plan.arrays.assign(4 * 3 + 3 + 3 * 3 + 1, 7);
    plan.append_cascade(casc);
    plan.n_stale = 4;
    plan.arrays.insert(plan.arrays.end(), {2, 0, 1, 99});
    std::vector<uint8_t> bytes;
    plan.encode(bytes);
    StepPlan back;
    back.decode(bytes);
    CHECK(back.casc_groups == 1);
    CHECK(back.casc_members == 2);
    CHECK(back.casc_max_members == 2);
    CHECK(back.casc_max_len == 40);
    CHECK(back.arrays == plan.arrays);
    // group_start, members, shared_len, req_shared after req_rows, then the table entries.
    const std::vector<int32_t> tail(back.arrays.begin() + 25, back.arrays.end());
    CHECK(tail == std::vector<int32_t>{0, 2, 0, 2, 40, 40, 0, 40, 2, 0, 1, 99});
}
