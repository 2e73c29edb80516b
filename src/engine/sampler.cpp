// Host sampling; the steps are listed in sampler.h.
#include "sampler.h"
#include "counter_rng.h"
#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace lightllm {

namespace {

std::vector<float> log_softmax(const float* x, int n) {
    const float m = *std::max_element(x, x + n);
    double sum = 0.0;
    for (int i = 0; i < n; ++i) sum += std::exp(double(x[i]) - m);
    const double lse = double(m) + std::log(sum);
    std::vector<float> out(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) out[size_t(i)] = float(double(x[i]) - lse);
    return out;
}

// Ids ordered by value, best first; ties: lower id first.
std::vector<int32_t> order_desc(const std::vector<float>& v, size_t keep) {
    std::vector<int32_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    auto better = [&](int32_t a, int32_t b) { return v[size_t(a)] > v[size_t(b)] || (v[size_t(a)] == v[size_t(b)] && a < b); };
    keep = std::min(keep, idx.size());
    std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(keep), idx.end(), better);
    idx.resize(keep);
    return idx;
}

int32_t draw(const std::vector<float>& l, const SamplingParams& p, uint64_t counter) {
    const size_t k = p.top_k > 0 ? size_t(p.top_k) : l.size();
    std::vector<int32_t> cand = order_desc(l, k);
    std::vector<double> prob(cand.size());
    const double top = l[size_t(cand[0])] / p.temperature;
    double sum = 0.0;
    for (size_t i = 0; i < cand.size(); ++i) {
        prob[i] = std::exp(double(l[size_t(cand[i])]) / p.temperature - top);
        sum += prob[i];
    }
    for (double& x : prob) x /= sum;
    size_t n = cand.size();
    if (p.top_p < 1.0f) {
        double before = 0.0;
        size_t i = 0;
        while (i < n && (i == 0 || before < double(p.top_p))) before += prob[i++];
        n = i;
    }
    if (p.min_p > 0.0f) {
        size_t i = 1;
        while (i < n && prob[i] >= double(p.min_p) * prob[0]) ++i;
        n = i;
    }
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) total += prob[i];
    const double target = double(uniform01(p.seed, counter)) * total;
    double cum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        cum += prob[i];
        if (target < cum) return cand[i];
    }
    return cand[n - 1];
}

}  // namespace

void apply_penalties(std::vector<float>& l, const SamplingParams& p, const std::vector<int32_t>& prompt,
                     const std::vector<int32_t>& output) {
    const int n = int(l.size());
    if (p.repetition_penalty != 1.0f) {
        std::vector<uint8_t> seen(size_t(n), 0);
        for (const std::vector<int32_t>* v : {&prompt, &output})
            for (int32_t t : *v)
                if (t >= 0 && t < n) seen[size_t(t)] = 1;
        for (int i = 0; i < n; ++i)
            if (seen[size_t(i)]) l[size_t(i)] = l[size_t(i)] > 0 ? l[size_t(i)] / p.repetition_penalty
                                                                 : l[size_t(i)] * p.repetition_penalty;
    }
    if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
        std::unordered_map<int32_t, int> counts;
        for (int32_t t : output)
            if (t >= 0 && t < n) ++counts[t];
        for (const auto& [t, c] : counts) l[size_t(t)] -= p.presence_penalty + p.frequency_penalty * float(c);
    }
}

SampledToken sample_token(const float* logits, int n_vocab, const SamplingParams& params,
                          const std::vector<int32_t>& prompt, const std::vector<int32_t>& output) {
    LL_CHECK(n_vocab > 0, "sample_token: empty vocabulary");
    std::vector<float> l(logits, logits + n_vocab);
    apply_penalties(l, params, prompt, output);
    SampledToken tok;
    tok.id = params.greedy() ? order_desc(l, 1)[0] : draw(l, params, uint64_t(output.size()));
    const std::vector<float> lp = log_softmax(logits, n_vocab);
    tok.logprob = lp[size_t(tok.id)];
    if (params.n_logprobs > 0)
        for (int32_t id : order_desc(lp, size_t(params.n_logprobs))) tok.top.push_back({id, lp[size_t(id)]});
    return tok;
}

}  // namespace lightllm
