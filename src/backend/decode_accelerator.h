// DecodeAccelerator: the CUDA-only speed-ups of ModelRunner's step, behind an
// interface that exists in every build (make() returns nullptr on the CPU
// backend or without CUDA, so the runner needs no #ifdef):
//  - decode steps (every sequence feeds one token) replayed from CUDA graphs,
//    one per batch-size bucket (cuda/cuda_graph_cache.h says why this is safe
//    and how a batch is padded to its bucket);
//  - sampling on the device (greedy, or the host sampler's full semantics:
//    temperature, top_k, top_p, min_p, penalties, seeded draws): only the
//    chosen ids, their logprobs and any top logprobs come back to the host
//    instead of [n, n_vocab] F32 logits.
// Backend::make_decode_accelerator() makes one (cuda/decode_accelerator.cpp);
// CudaOptions::graphs (--no-cuda-graphs) turns the graphs off.
#pragma once
#include "backend.h"
#include "sampled_token.h"
#include "sampling_params.h"
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace lightllm {

class DecodeAccelerator {
public:
    virtual ~DecodeAccelerator() = default;

    // The padded batch size a decode step of n_reqs sequences runs at as a
    // graph, or 0 when it should run eagerly.
    virtual int graph_bucket(int n_reqs) const = 0;
    // Queues `forward` (device work only; returns the logits tensor, the same
    // workspace view every time) as the graph of `bucket`: the first call runs
    // it eagerly and captures it, later calls replay the capture. Returns the
    // logits tensor.
    virtual Tensor run_graph(int bucket, const std::function<Tensor()>& forward) = 0;

    // One row's request: what sample_token (src/engine/sampler.h) takes besides the
    // logits. Null pointers: the default greedy parameters / no tokens.
    struct SampleRequest {
        const SamplingParams* params = nullptr;
        const std::vector<int32_t>* prompt = nullptr;  // for repetition_penalty
        const std::vector<int32_t>* output = nullptr;  // penalties; the draw is the output.size()-th
    };
    // Most top logprobs a row may ask of sample().
    static constexpr int kMaxTopLogprobs = 20;
    // Per row of logits [n, n_vocab] (F32/F16/BF16), the token sample_token
    // would return for requests[i] (same id except where the draw falls within
    // rounding of a CDF boundary; logprobs to float rounding), computed on the
    // device; greedy and sampled rows mix freely. out gets n tokens.
    virtual void sample(const Tensor& logits, const std::vector<SampleRequest>& requests,
                        std::vector<SampledToken>& out) = 0;
    // True when sample() takes `p` (null: the default greedy parameters).
    static bool can_sample(const SamplingParams* p) { return !p || p->n_logprobs <= kMaxTopLogprobs; }
};

}  // namespace lightllm
