// FakeStepEngine: a deterministic stand-in for ModelRunner, for router tests.
// Each KV slot stores the token written into it; a sequence's next token is a
// hash of the tokens read back through its row's slots, its seed and (when
// sampling) its output position. A slot reused while still in use, a row that
// lost its tokens, or a recompute that fed the wrong tokens changes the
// output, and every read is also checked against prompt ++ output. Slots
// shared through the prefix cache are read like any other.
#pragma once
#include "step_engine.h"
#include <cstdint>
#include <algorithm>
#include <set>
#include <vector>

namespace lightllm::testing {

inline uint64_t fake_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

// The token a fake model picks after `seq`, for a request with `params`
// that has produced `k` tokens so far.
inline int32_t fake_next_token(const std::vector<int32_t>& seq, const SamplingParams& params, size_t k, int n_vocab) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t t : seq) h = fake_mix(h, uint64_t(t));
    if (!params.greedy()) h = fake_mix(fake_mix(h, params.seed), k);
    return int32_t((h >> 17) % uint64_t(n_vocab));
}

class FakeStepEngine : public StepEngine {
public:
    FakeStepEngine(int64_t capacity, int max_requests, int max_context, int n_vocab = 64, std::vector<int32_t> eos = {0})
        : pool_(capacity), table_(max_requests), max_context_(max_context), n_vocab_(n_vocab), eos_(std::move(eos)),
          slot_token_(size_t(capacity), -1), rows_(size_t(max_requests)) {}

    TokenKvPool& kv_pool() override { return pool_; }
    ReqToTokenTable& req_to_token() override { return table_; }
    int max_context() const override { return max_context_; }
    std::vector<int32_t> eos_ids() const override { return eos_; }

    std::vector<SampledToken> step(const std::vector<StepSeq>& seqs) override {
        ++n_steps;
        std::vector<SampledToken> out;
        std::set<int32_t> step_slots;
        std::set<int32_t> step_rows;
        int64_t n_new_total = 0;
        for (const StepSeq& s : seqs) {
            if (!step_rows.insert(s.row).second) ++n_errors;  // one seq per row
            std::vector<int32_t>& row = rows_[size_t(s.row)];
            // A prefix-cache hit: the row gets the cached tokens' slots first.
            const int n_valid = s.n_cached - s.n_table_stale;
            if (n_valid == 0) row.clear();
            if (int(row.size()) != n_valid) ++n_errors;
            row.resize(size_t(n_valid));
            for (int i = -s.n_table_stale; i < 0; ++i) {
                if (slot_token_[size_t(s.slots[i])] < 0) ++n_errors;  // a slot never written
                row.push_back(s.slots[i]);
            }
            for (int i = 0; i < s.n_new; ++i) {
                if (!step_slots.insert(s.slots[i]).second) ++n_errors;
                slot_token_[size_t(s.slots[i])] = s.tokens[i];
                row.push_back(s.slots[i]);
            }
            n_new_total += s.n_new;
            std::vector<int32_t> seq;
            seq.reserve(row.size());
            for (int32_t slot : row) seq.push_back(slot_token_[size_t(slot)]);
            std::vector<int32_t> expect = *s.prompt;
            expect.insert(expect.end(), s.output->begin(), s.output->end());
            // Fed tokens are a prefix of prompt ++ output; all of it when sampling.
            if (seq.size() > expect.size() || !std::equal(seq.begin(), seq.end(), expect.begin())) ++n_errors;
            if (s.sample) {
                if (seq.size() != expect.size()) ++n_errors;
                out.push_back({fake_next_token(seq, *s.params, s.output->size(), n_vocab_), 0.0f, {}});
            }
        }
        last_step_new_tokens = n_new_total;
        return out;
    }

    int64_t n_steps = 0;
    int64_t n_errors = 0;                 // broken invariants seen by the fake model
    int64_t last_step_new_tokens = 0;

private:
    TokenKvPool pool_;
    ReqToTokenTable table_;
    int max_context_;
    int n_vocab_;
    std::vector<int32_t> eos_;
    std::vector<int32_t> slot_token_;          // [capacity] token stored in each slot
    std::vector<std::vector<int32_t>> rows_;   // [max_requests] slots of each row's tokens
};

}  // namespace lightllm::testing
