// Helpers shared by the tests that run the transformers-made fixtures
// (tests/data/tiny-*/: weights + reference.json, written by the scripts under
// tests/reference/) through ModelRunner, on the CPU or the CUDA backend:
// reading reference.json, feeding a request's tokens into the KV cache,
// prompt logits, greedy decoding of several prompts together, and the error
// measures the reference tests compare logits with.
#pragma once

#include "model_runner.h"
#include "test_util.h"
#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lightllm::testing {

// One case of a fixture's reference.json: a prompt, transformers' logits at
// each of its positions and its greedy continuation.
struct Case {
    std::vector<int32_t> prompt;
    std::vector<std::vector<float>> logits;  // [len][n_vocab]
    std::vector<int32_t> greedy;
};

// The cases of the fixture tests/data/<dir>/reference.json.
inline std::vector<Case> load_cases(const std::string& dir) {
    std::ifstream in(test_data(dir + "/reference.json"));
    REQUIRE(in);
    const nlohmann::json j = nlohmann::json::parse(in);
    std::vector<Case> cases;
    for (const auto& c : j["cases"])
        cases.push_back({c["prompt"].get<std::vector<int32_t>>(), c["logits"].get<std::vector<std::vector<float>>>(),
                         c["greedy"].get<std::vector<int32_t>>()});
    return cases;
}

// A request's state against the runner: its table row and KV slots, given
// back when it goes out of scope.
struct Seq {
    ModelRunner& runner;
    int row;
    std::vector<int32_t> tokens, slots;
    explicit Seq(ModelRunner& r) : runner(r), row(r.req_to_token().alloc_row()) { REQUIRE(row >= 0); }
    ~Seq() {
        runner.kv_pool().free(slots);
        runner.req_to_token().free_row(row);
    }
    // A StepSeq feeding `new_tokens` after what is cached.
    StepSeq feed(const std::vector<int32_t>& new_tokens, bool sample) {
        const size_t before = tokens.size();
        tokens.insert(tokens.end(), new_tokens.begin(), new_tokens.end());
        REQUIRE(runner.kv_pool().alloc(int64_t(new_tokens.size()), slots));
        StepSeq s;
        s.row = row;
        s.n_cached = int32_t(before);
        s.tokens = tokens.data() + before;
        s.n_new = int32_t(new_tokens.size());
        s.slots = slots.data() + before;
        s.sample = sample;
        return s;
    }
};

inline double max_abs(const std::vector<float>& v) {
    double m = 0.0;
    for (float x : v) m = std::max(m, double(std::fabs(x)));
    return m;
}

inline double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

// Rows [len][n_vocab] laid end to end, as forward_all_logits returns them.
inline std::vector<float> flatten(const std::vector<std::vector<float>>& rows) {
    std::vector<float> v;
    for (const auto& r : rows) v.insert(v.end(), r.begin(), r.end());
    return v;
}

// max |ours - transformers'| / max |transformers'| of the logits at every
// prompt position, each case run as a fresh request.
inline double worst_logit_error(ModelRunner& runner, const std::vector<Case>& cases) {
    double worst = 0.0;
    for (const Case& c : cases) {
        Seq s(runner);
        const std::vector<float> got = runner.forward_all_logits(s.feed(c.prompt, false));
        const std::vector<float> want = flatten(c.logits);
        worst = std::max(worst, max_diff(got, want) / max_abs(want));
    }
    return worst;
}

// Checks that the greedy continuation of every case equals transformers',
// decoding the prompts one at a time and all together in one ragged batch.
inline void check_greedy_alone_and_batched(ModelRunner& runner, const std::vector<Case>& cases) {
    // One request at a time.
    for (const Case& c : cases) {
        Seq s(runner);
        std::vector<int32_t> out;
        std::vector<int32_t> next = c.prompt;
        while (out.size() < c.greedy.size()) {
            const std::vector<SampledToken> t = runner.step({s.feed(next, true)});
            REQUIRE(t.size() == 1);
            out.push_back(t[0].id);
            next = {t[0].id};
        }
        CHECK(out == c.greedy);
    }
    // All prompts in one ragged batch, then decoding together.
    std::vector<std::unique_ptr<Seq>> seqs;
    std::vector<std::vector<int32_t>> outs(cases.size()), next(cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        seqs.push_back(std::make_unique<Seq>(runner));
        next[i] = cases[i].prompt;
    }
    for (size_t k = 0; k < cases[0].greedy.size(); ++k) {
        std::vector<StepSeq> step;
        for (size_t i = 0; i < cases.size(); ++i) step.push_back(seqs[i]->feed(next[i], true));
        const std::vector<SampledToken> t = runner.step(step);
        REQUIRE(t.size() == cases.size());
        for (size_t i = 0; i < cases.size(); ++i) {
            outs[i].push_back(t[i].id);
            next[i] = {t[i].id};
        }
    }
    for (size_t i = 0; i < cases.size(); ++i) CHECK(outs[i] == cases[i].greedy);
}

// Each fixture `name` (a tests/data directory, run as options(name)) against
// its transformers reference: the logits at every position within 2e-5 of the
// largest logit, and the greedy continuations, alone and batched.
template <typename Names, typename Options>
void check_fixtures_match_transformers(const Names& names, Options options) {
    for (const char* name : names) {
        CAPTURE(std::string(name));
        ModelRunner runner(options(name));
        const std::vector<Case> cases = load_cases(name);
        const double worst = worst_logit_error(runner, cases);
        MESSAGE(std::string(name) << ": max |diff| / max |logit| = " << worst);
        CHECK(worst < 2e-5);
        check_greedy_alone_and_batched(runner, cases);
    }
}

// Checks that chunked prefill (3 chunks with n_cached > 0) and token-by-token
// decode of c.prompt give the full prefill's logits within 1e-5 * their scale.
inline void check_chunked_prefill(ModelRunner& runner, const Case& c) {
    const size_t n = c.prompt.size();
    std::vector<float> full;
    {
        Seq s(runner);
        full = runner.forward_all_logits(s.feed(c.prompt, false));
    }
    const double scale = max_abs(full);
    std::vector<float> chunked, one_by_one;
    {
        Seq s(runner);
        const size_t cuts[] = {0, n / 3, n / 2 + 1, n};
        for (int k = 0; k < 3; ++k) {
            const std::vector<int32_t> part(c.prompt.begin() + long(cuts[k]), c.prompt.begin() + long(cuts[k + 1]));
            const std::vector<float> l = runner.forward_all_logits(s.feed(part, false));
            chunked.insert(chunked.end(), l.begin(), l.end());
        }
    }
    {
        Seq s(runner);
        for (size_t p = 0; p < n; ++p) {
            const std::vector<float> l = runner.forward_all_logits(s.feed({c.prompt[p]}, false));
            one_by_one.insert(one_by_one.end(), l.begin(), l.end());
        }
    }
    CHECK(max_diff(chunked, full) <= 1e-5 * scale);
    CHECK(max_diff(one_by_one, full) <= 1e-5 * scale);
}

// Logits [len * n_vocab] at every position of `prompt`, run as a fresh request.
inline std::vector<float> prompt_logits(ModelRunner& r, const std::vector<int32_t>& prompt) {
    Seq s(r);
    return r.forward_all_logits(s.feed(prompt, false));
}

// Greedy continuations of `prompts` by n tokens, all in the same steps: one
// ragged prefill, then decode steps of all of them (a CUDA-graph bucket when
// the runner uses graphs). Each prompt's tokens and their chosen logprobs.
struct BatchOut {
    std::vector<std::vector<int32_t>> ids;
    std::vector<std::vector<float>> logprobs;
};
inline BatchOut greedy_batch(ModelRunner& r, const std::vector<std::vector<int32_t>>& prompts, int n) {
    const size_t k = prompts.size();
    std::vector<int> rows(k);
    std::vector<std::vector<int32_t>> slots(k), all = prompts;
    BatchOut out;
    out.ids.resize(k);
    out.logprobs.resize(k);
    for (size_t i = 0; i < k; ++i) {
        rows[i] = r.req_to_token().alloc_row();
        REQUIRE(rows[i] >= 0);
        REQUIRE(r.kv_pool().alloc(int64_t(prompts[i].size()) + n, slots[i]));
    }
    SamplingParams params;
    std::vector<int> cached(k, 0);
    for (int step = 0; step < n; ++step) {
        std::vector<StepSeq> seqs(k);
        for (size_t i = 0; i < k; ++i) {
            StepSeq& s = seqs[i];
            s.row = rows[i];
            s.n_cached = cached[i];
            s.tokens = all[i].data() + cached[i];
            s.n_new = int(all[i].size()) - cached[i];
            s.slots = slots[i].data() + cached[i];
            s.sample = true;
            s.params = &params;
            s.prompt = &prompts[i];
            s.output = &out.ids[i];
        }
        const std::vector<SampledToken> t = r.step(seqs);
        REQUIRE(t.size() == k);
        for (size_t i = 0; i < k; ++i) {
            cached[i] = int(all[i].size());
            out.ids[i].push_back(t[i].id);
            out.logprobs[i].push_back(t[i].logprob);
            all[i].push_back(t[i].id);
        }
    }
    for (size_t i = 0; i < k; ++i) {
        r.kv_pool().free(slots[i]);
        r.req_to_token().free_row(rows[i]);
    }
    return out;
}

}  // namespace lightllm::testing
