// DecodeAccelerator on the CUDA backend: a CudaGraphCache plus the device
// buffers of sampling (per-row parameters, penalty entries, ids, logprobs,
// top logprobs); CudaBackend::make_decode_accelerator() makes it.
//
// Penalty entries of a row (cuda/kernels.h, sample_rows; only rows with some
// penalty have any): with a repetition penalty alone, the ids of prompt +
// output as they are (repeats included: the kernel only marks them in a
// bitmap, so a step copies the ids instead of counting them); with a
// presence or frequency penalty, the distinct ids of prompt + output (or of
// the output alone when repetition_penalty == 1), sorted, with their output
// counts, which the kernel looks up by binary search; counted through a
// vocabulary-sized scratch array that is reset after each row.
#include "decode_accelerator.h"
#include "cuda_backend.h"
#include "cuda_graph_cache.h"
#include "kernels.h"
#include "pinned_host_buffer.h"
#include <algorithm>
#include <cstring>
#include <map>
#include <string>

namespace lightllm {

namespace {

class CudaDecodeAccelerator : public DecodeAccelerator {
public:
    CudaDecodeAccelerator(CudaBackend& be, int max_batch, bool graphs)
        : be_(be), graphs_(be), max_batch_(max_batch), use_graphs_(graphs) {
        results_ = be_.alloc(DType::I32, {2 * int64_t(max_batch)});
        top_ids_ = be_.alloc(DType::I32, {max_batch, gpu::kSampleMaxTop});
        top_logprobs_ = be_.alloc(DType::F32, {max_batch, gpu::kSampleMaxTop});
        workspace_bytes_ = gpu::sample_rows_workspace_bytes(max_batch);
        workspace_ = be_.alloc(DType::I32, {int64_t((workspace_bytes_ + 3) / 4)});
        CUDA_CHECK(cudaStreamCreateWithFlags(&upload_stream_, cudaStreamNonBlocking));
        CUDA_CHECK(cudaEventCreateWithFlags(&uploaded_, cudaEventDisableTiming));
    }
    ~CudaDecodeAccelerator() override {
        cudaStreamSynchronize(upload_stream_);
        cudaEventDestroy(uploaded_);
        cudaStreamDestroy(upload_stream_);
        for (Tensor* t : {&results_, &inputs_, &top_ids_, &top_logprobs_, &workspace_})
            if (!t->empty()) be_.free(*t);
    }

    int graph_bucket(int n_reqs) const override {
        return use_graphs_ ? CudaGraphCache::bucket(n_reqs, max_batch_) : 0;
    }
    Tensor run_graph(int bucket, const std::function<Tensor()>& forward) override {
        graphs_.run(bucket, [&] { outputs_[bucket] = forward(); });
        return outputs_[bucket];
    }

    void sample(const Tensor& logits, const std::vector<SampleRequest>& requests,
                std::vector<SampledToken>& out) override {
        const int64_t n = logits.rows();
        const int vocab = int(logits.dim(-1));
        LL_CHECK(n == int64_t(requests.size()) && n <= max_batch_, "sample: {} rows for {} requests, buffer of {}", n,
                 requests.size(), max_batch_);
        out.assign(size_t(n), SampledToken{});
        if (n == 0) return;
        if (std::all_of(requests.begin(), requests.end(), [](const SampleRequest& r) { return plain_greedy(r.params); })) {
            // Plain greedy rows (the common serving case): the single-pass
            // argmax kernel gives the same ids and logprobs with less work.
            Tensor t_ids = results_.slice_rows(0, n);
            Tensor t_lp(static_cast<int32_t*>(results_.data) + n, DType::F32, Device::CUDA, {n});
            be_.argmax_rows(logits, t_ids, &t_lp);
            const int32_t* results = fetch_results(n);
            for (int64_t i = 0; i < n; ++i) {
                out[size_t(i)].id = results[i];
                std::memcpy(&out[size_t(i)].logprob, &results[n + i], sizeof(float));
            }
            return;
        }
        h_params_.assign(size_t(n), gpu::SampleRowParams{});
        h_pen_ids_.clear();
        h_pen_counts_.clear();
        bool any_top = false;
        const SamplingParams greedy_params;
        for (int64_t i = 0; i < n; ++i) {
            const SampleRequest& r = requests[size_t(i)];
            const SamplingParams& p = r.params ? *r.params : greedy_params;
            LL_CHECK(can_sample(&p), "sample: {} top logprobs asked, at most {}", p.n_logprobs, kMaxTopLogprobs);
            gpu::SampleRowParams& g = h_params_[size_t(i)];
            g.temperature = p.temperature;
            g.top_k = p.top_k;
            g.top_p = p.top_p;
            g.min_p = p.min_p;
            g.repetition_penalty = p.repetition_penalty;
            g.presence_penalty = p.presence_penalty;
            g.frequency_penalty = p.frequency_penalty;
            g.n_top = std::max(p.n_logprobs, 0);
            g.seed = p.seed;
            g.counter = r.output ? uint64_t(r.output->size()) : 0;
            g.greedy = p.greedy() ? 1 : 0;
            g.pen_begin = g.pen_end = int32_t(h_pen_ids_.size());
            add_penalty_entries(p, r, vocab);
            g.pen_end = int32_t(h_pen_ids_.size());
            any_top = any_top || g.n_top > 0;
        }
        const bool any_penalty = !h_pen_ids_.empty();
        if (!h_pen_counts_.empty()) h_pen_counts_.resize(h_pen_ids_.size(), 0);
        // One upload: the rows' parameters, then the penalty ids, then their
        // counts (only when some row reads them).
        const size_t n_param_words = size_t(n) * kParamWords;
        h_inputs_.resize(n_param_words + h_pen_ids_.size() + h_pen_counts_.size());
        std::memcpy(h_inputs_.data(), h_params_.data(), n_param_words * sizeof(int32_t));
        std::copy(h_pen_ids_.begin(), h_pen_ids_.end(), h_inputs_.begin() + int64_t(n_param_words));
        std::copy(h_pen_counts_.begin(), h_pen_counts_.end(),
                  h_inputs_.begin() + int64_t(n_param_words + h_pen_ids_.size()));
        reserve_inputs(int64_t(h_inputs_.size()));
        upload_inputs();
        const int32_t* d_pen_ids = inputs_.ptr<int32_t>() + n_param_words;
        // ids then logprobs, back-to-back in results_: one copy brings both home (fetch_results).
        Tensor t_ids = results_.slice_rows(0, n);
        Tensor t_lp(static_cast<int32_t*>(results_.data) + n, DType::F32, Device::CUDA, {n});
        gpu::SampleRowsArgs args;
        args.logits = &logits;
        args.params = reinterpret_cast<const gpu::SampleRowParams*>(inputs_.data);
        args.n_rows = int(n);
        args.pen_ids = any_penalty ? d_pen_ids : nullptr;
        // Rows without presence / frequency penalties read no counts.
        args.pen_counts = any_penalty ? d_pen_ids + (h_pen_counts_.empty() ? 0 : h_pen_ids_.size()) : nullptr;
        args.any_penalty = any_penalty;
        args.ids = &t_ids;
        args.logprobs = &t_lp;
        args.top_ids = top_ids_.ptr<int32_t>();
        args.top_logprobs = top_logprobs_.ptr<float>();
        args.workspace = workspace_.data;
        args.workspace_bytes = workspace_bytes_;
        gpu::sample_rows(args, be_.launch_stream());
        const int32_t* results = fetch_results(n);  // synchronizes: the pinned inputs are free again
        if (any_top) {
            Tensor t_tid = top_ids_.slice_rows(0, n), t_tlp = top_logprobs_.slice_rows(0, n);
            h_top_ids_.resize(size_t(n) * gpu::kSampleMaxTop);
            h_top_logprobs_.resize(h_top_ids_.size());
            be_.download(t_tid, h_top_ids_.data());
            be_.download(t_tlp, h_top_logprobs_.data());
        }
        for (int64_t i = 0; i < n; ++i) {
            SampledToken& tok = out[size_t(i)];
            tok.id = results[i];
            std::memcpy(&tok.logprob, &results[n + i], sizeof(float));
            const int n_top = std::min(h_params_[size_t(i)].n_top, vocab);
            for (int j = 0; j < n_top; ++j) {
                const size_t at = size_t(i) * gpu::kSampleMaxTop + size_t(j);
                tok.top.push_back({h_top_ids_[at], h_top_logprobs_[at]});
            }
        }
    }

private:
    // Greedy with no penalties and no top logprobs: the argmax and its logprob.
    static bool plain_greedy(const SamplingParams* p) {
        return !p || (p->greedy() && p->n_logprobs <= 0 && p->repetition_penalty == 1.0f &&
                      p->presence_penalty == 0.0f && p->frequency_penalty == 0.0f);
    }

    // Queues the copy of h_inputs_ into inputs_ on a stream of its own, from
    // pinned memory: it runs while the decode step's forward still computes,
    // and the sampling kernels wait only on its event. (Queued on the compute
    // stream it would start after the forward, and the copy engine's hand-off
    // would sit between the forward and the sampling kernels, ~0.05 ms a
    // step at batch 1.) The previous call's download synchronized the
    // compute stream, so no kernel still reads inputs_ or the pinned buffer.
    void upload_inputs() {
        const size_t bytes = h_inputs_.size() * sizeof(int32_t);
        std::memcpy(pinned_inputs_.reserve(bytes), h_inputs_.data(), bytes);
        CUDA_CHECK(cudaMemcpyAsync(inputs_.data, pinned_inputs_.as<int32_t>(), bytes, cudaMemcpyHostToDevice,
                                   upload_stream_));
        CUDA_CHECK(cudaEventRecord(uploaded_, upload_stream_));
        CUDA_CHECK(cudaStreamWaitEvent(be_.stream(), uploaded_, 0));
    }
    // Copies the step's ids and logprobs (results_[0, 2n)) into pinned memory
    // and waits for the compute stream; returns them.
    const int32_t* fetch_results(int64_t n) {
        const size_t bytes = 2 * size_t(n) * sizeof(int32_t);
        void* host = pinned_results_.reserve(bytes);
        CUDA_CHECK(cudaMemcpyAsync(host, results_.data, bytes, cudaMemcpyDeviceToHost, be_.stream()));
        be_.synchronize();
        return pinned_results_.as<int32_t>();
    }

    static constexpr int kParamWords = int(sizeof(gpu::SampleRowParams) / sizeof(int32_t));

    // Appends the penalty entries of one row (see the header comment).
    void add_penalty_entries(const SamplingParams& p, const SampleRequest& r, int vocab) {
        const bool rep = p.repetition_penalty != 1.0f;
        const bool counted = p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
        if (!rep && !counted) return;
        if (!counted) {  // the kernel reads no counts: the ids as they are (it ignores any out of range)
            for (const std::vector<int32_t>* ids : {r.prompt, r.output})
                if (ids) h_pen_ids_.insert(h_pen_ids_.end(), ids->begin(), ids->end());
            return;
        }
        if (int(count_.size()) < vocab) count_.resize(size_t(vocab), -1);
        distinct_.clear();
        auto touch = [&](int32_t t, int add) {
            if (t < 0 || t >= vocab) return;
            if (count_[size_t(t)] < 0) {
                count_[size_t(t)] = 0;
                distinct_.push_back(t);
            }
            count_[size_t(t)] += add;
        };
        if (rep && r.prompt)
            for (int32_t t : *r.prompt) touch(t, 0);
        if (r.output)
            for (int32_t t : *r.output) touch(t, 1);
        std::sort(distinct_.begin(), distinct_.end());  // the kernel looks counts up by binary search
        h_pen_counts_.resize(h_pen_ids_.size(), 0);  // rows before this one read none
        for (int32_t t : distinct_) {
            h_pen_ids_.push_back(t);
            h_pen_counts_.push_back(count_[size_t(t)]);
            count_[size_t(t)] = -1;
        }
    }
    void reserve_inputs(int64_t n) {
        if (!inputs_.empty() && inputs_.numel() >= n) return;
        const int64_t cap = std::max<int64_t>(n, inputs_.empty() ? int64_t(max_batch_) * kParamWords + 4096
                                                                  : 2 * inputs_.numel());
        if (!inputs_.empty()) {
            be_.synchronize();  // a previous call's kernels may still read the old buffer
            be_.free(inputs_);
        }
        inputs_ = be_.alloc(DType::I32, {cap});
    }

    CudaBackend& be_;
    CudaGraphCache graphs_;
    int max_batch_;
    bool use_graphs_;
    Tensor results_;   // [2 * max_batch] I32: a step's ids, then its logprobs (F32 bits)
    Tensor inputs_;    // I32: [n, kParamWords] gpu::SampleRowParams, penalty ids, penalty counts; grown on demand
    Tensor top_ids_;   // [max_batch, kSampleMaxTop] I32
    Tensor top_logprobs_;          // [max_batch, kSampleMaxTop] F32
    Tensor workspace_;             // gpu::sample_rows scratch
    size_t workspace_bytes_ = 0;
    // Host staging of one sample() call, kept to reuse their memory.
    std::vector<gpu::SampleRowParams> h_params_;
    std::vector<int32_t> h_inputs_, h_pen_ids_, h_pen_counts_, h_top_ids_, distinct_;
    PinnedHostBuffer pinned_inputs_, pinned_results_;
    cudaStream_t upload_stream_ = nullptr;  // upload_inputs()
    cudaEvent_t uploaded_ = nullptr;
    std::vector<float> h_top_logprobs_;
    std::vector<int32_t> count_;  // [vocab] output count of an id while its row is built, else -1
    std::map<int, Tensor> outputs_;  // logits view each bucket's graph writes
};

}  // namespace

std::unique_ptr<DecodeAccelerator> make_cuda_decode_accelerator(CudaBackend& backend, int max_batch, bool graphs) {
    if (max_batch <= 0) return nullptr;
    return std::make_unique<CudaDecodeAccelerator>(backend, max_batch, graphs);
}

}  // namespace lightllm
