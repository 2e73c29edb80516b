// A scripted stand-in for the Pipeline, for protocol and HTTP server tests
// that need no model: a letters-only tokenizer, and a "model" that answers
// each request from its own thread with the prompt's letters shifted by one
// (a -> b, ..., z -> a), one token every `step` milliseconds. It honours
// max_new_tokens, stop strings, cancellation and a waiting-queue limit like
// the Pipeline, and reports a too-long prompt as FinishReason::Error.
#pragma once
#include "generation_call.h"
#include "tokenizer.h"
#include <atomic>
#include <mutex>
#include <thread>

namespace lightllm::testing {

// ids 0..25: 'a'..'z'; 26: ' '; 27: "<eos>" (special).
class LetterTokenizer : public Tokenizer {
public:
    std::vector<int32_t> encode(std::string_view text, bool, bool) const override {
        std::vector<int32_t> ids;
        for (char c : text) ids.push_back(c >= 'a' && c <= 'z' ? c - 'a' : 26);
        return ids;
    }
    std::string token_bytes(int32_t id) const override {
        return id < 26 ? std::string(1, static_cast<char>('a' + id)) : id == 26 ? " " : "<eos>";
    }
    std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override {
        std::string s;
        for (int32_t id : ids)
            if (!(skip_special && id == 27)) s += token_bytes(id);
        return s;
    }
    int32_t n_vocab() const override { return 28; }
    int32_t bos_id() const override { return -1; }
    std::vector<int32_t> eos_ids() const override { return {27}; }
    bool add_bos() const override { return false; }
    bool is_special(int32_t id) const override { return id == 27; }
    int32_t token_id(std::string_view piece) const override {
        return piece.size() == 1 && piece[0] >= 'a' && piece[0] <= 'z' ? piece[0] - 'a' : -1;
    }
    const std::string& chat_template() const override { return empty_; }

private:
    std::string empty_;
};

class FakeModel {
public:
    int step_ms = 2;
    int max_active = 1000;   // beyond it submit() throws Overloaded
    int max_context = 64;    // prompt tokens beyond it: FinishReason::Error

    ~FakeModel() {
        std::vector<std::thread> ts;
        {
            std::lock_guard<std::mutex> lock(mu_);
            ts.swap(threads_);
        }
        for (auto& t : ts) t.join();
    }

    ServedModel served() {
        ServedModel m;
        m.name = "fake-letters";
        m.tokenizer = &tok_;
        m.submit = [this](RequestInput in, RequestSink sink) { return submit(std::move(in), std::move(sink)); };
        m.stats = [this] {
            PipelineStats s;
            s.kv_capacity_tokens = 4096;
            s.kv_used_tokens = kv_used.load();
            s.n_running = active.load();
            return s;
        };
        return m;
    }

    const LetterTokenizer& tokenizer() const { return tok_; }

    std::atomic<int> active{0};
    std::atomic<int> peak_active{0};
    std::atomic<int> n_cancelled{0};
    std::atomic<int> n_submitted{0};
    std::atomic<int64_t> kv_used{0};
    std::mutex seen_mu;
    std::vector<RequestInput> seen;   // every input submitted, in order

private:
    std::shared_ptr<RequestHandle> submit(RequestInput in, RequestSink sink) {
        if (active.load() >= max_active) throw Overloaded("waiting queue is full");
        {
            std::lock_guard<std::mutex> lock(seen_mu);
            seen.push_back(in);
        }
        auto h = std::make_shared<RequestHandle>(static_cast<uint64_t>(++n_submitted));
        int now = ++active;
        for (int peak = peak_active.load(); now > peak && !peak_active.compare_exchange_weak(peak, now);) {
        }
        std::lock_guard<std::mutex> lock(mu_);
        threads_.emplace_back([this, h, in = std::move(in), sink = std::move(sink)] { run(*h, in, sink); });
        return h;
    }

    void run(const RequestHandle& h, const RequestInput& in, const RequestSink& sink) {
        RequestResult r;
        r.t_submit = Clock::now();
        std::vector<int32_t> prompt = in.prompt_ids;
        if (prompt.empty() && !in.messages.empty())
            for (const ChatMessage& m : in.messages) {
                auto ids = tok_.encode(m.content, false, false);
                prompt.insert(prompt.end(), ids.begin(), ids.end());
            }
        if (prompt.empty()) prompt = tok_.encode(in.prompt, false, false);
        r.n_prompt_tokens = static_cast<int>(prompt.size());
        if (r.n_prompt_tokens > max_context || prompt.empty()) {
            r.finish_reason = FinishReason::Error;
            r.error = prompt.empty() ? "the prompt is empty"
                                     : fmt::format("the prompt is {} tokens, more than the context of {}", prompt.size(), max_context);
        } else {
            kv_used += r.n_prompt_tokens;
            r.finish_reason = FinishReason::Length;
            for (int i = 0; i < in.params.max_new_tokens; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
                if (h.cancelled()) {
                    r.finish_reason = FinishReason::Cancelled;
                    n_cancelled += 1;
                    break;
                }
                int32_t src = prompt[static_cast<size_t>(i) % prompt.size()];
                TokenEvent t;
                t.id = src < 26 ? (src + 1) % 26 : src;
                t.logprob = -0.5f * static_cast<float>(i + 1);
                for (int k = 0; k < in.params.n_logprobs; ++k) t.top.push_back({(t.id + k) % 26, t.logprob - static_cast<float>(k)});
                t.text = tok_.token_bytes(t.id);
                t.time = Clock::now();
                if (i == 0) r.t_first_token = t.time;
                r.output_ids.push_back(t.id);
                kv_used += 1;
                bool stopped = false;
                for (const std::string& s : in.params.stop) {
                    if ((r.text + t.text).find(s) != std::string::npos) stopped = true;
                }
                if (stopped) {
                    r.finish_reason = FinishReason::Stop;
                    break;
                }
                r.text += t.text;
                if (sink.on_token) sink.on_token(t);
            }
            kv_used -= r.n_prompt_tokens + static_cast<int64_t>(r.output_ids.size());
        }
        r.t_finish = Clock::now();
        active -= 1;
        sink.on_finish(r);
    }

    LetterTokenizer tok_;
    std::mutex mu_;
    std::vector<std::thread> threads_;
};

}  // namespace lightllm::testing
