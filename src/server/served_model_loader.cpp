#include "served_model_loader.h"
#include "model_files.h"
#include "presets.h"
#include "request_validation.h"
#include "tokenizer.h"
#include <condition_variable>
#include <future>

namespace lightllm {

namespace {

ApiError loading_error() { return ApiError(503, "the model is still loading; retry later", "", "model_loading"); }

// Stands in for the tokenizer of a model that has none (dummy weights from a
// preset): prompts must be token ids, and answers carry ids without text.
class IdOnlyTokenizer : public Tokenizer {
public:
    explicit IdOnlyTokenizer(int n_vocab) : n_vocab_(n_vocab) {}
    std::vector<int32_t> encode(std::string_view, bool, bool) const override {
        throw ApiError(400, "this model has no tokenizer (dummy weights from a preset): send token ids, not text");
    }
    std::string token_bytes(int32_t) const override { return ""; }
    std::string decode(const std::vector<int32_t>&, bool) const override { return ""; }
    int32_t n_vocab() const override { return n_vocab_; }
    int32_t bos_id() const override { return -1; }
    std::vector<int32_t> eos_ids() const override { return {}; }
    bool add_bos() const override { return false; }
    bool is_special(int32_t) const override { return false; }
    int32_t token_id(std::string_view) const override { return -1; }
    const std::string& chat_template() const override { return empty_; }

private:
    int n_vocab_;
    std::string empty_;
};

}  // namespace

// The pipeline's tokenizer once loaded; before that every call is a 503.
class ServedModelLoader::ForwardingTokenizer : public Tokenizer {
public:
    void set(const Tokenizer* t) { real_.store(t, std::memory_order_release); }
    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override {
        return get().encode(text, add_bos, parse_special);
    }
    std::string token_bytes(int32_t id) const override { return get().token_bytes(id); }
    std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override { return get().decode(ids, skip_special); }
    bool strip_leading_space() const override { return get().strip_leading_space(); }
    int32_t n_vocab() const override { return get().n_vocab(); }
    int32_t bos_id() const override { return get().bos_id(); }
    std::vector<int32_t> eos_ids() const override { return get().eos_ids(); }
    bool add_bos() const override { return get().add_bos(); }
    bool is_special(int32_t id) const override { return get().is_special(id); }
    int32_t token_id(std::string_view piece) const override { return get().token_id(piece); }
    const std::string& chat_template() const override { return get().chat_template(); }

private:
    const Tokenizer& get() const {
        const Tokenizer* t = real_.load(std::memory_order_acquire);
        if (!t) throw loading_error();
        return *t;
    }
    std::atomic<const Tokenizer*> real_{nullptr};
};

ModelConfig peek_model_config(const EngineOptions& opts) {
    if (opts.load_dummy) return load_preset_config(opts.model_path);
    return open_model_files(opts.model_path).config;
}

ServedModelLoader::ServedModelLoader(PipelineOptions opts)
    : opts_(std::move(opts)), tokenizer_(std::make_unique<ForwardingTokenizer>()) {}

void ServedModelLoader::start() {
    if (!thread_.joinable() && phase_.load() == 0) thread_ = std::thread([this] { load(); });
}

ServedModelLoader::~ServedModelLoader() {
    if (thread_.joinable()) thread_.join();
}

void ServedModelLoader::load() {
    try {
        pipeline_ = std::make_unique<Pipeline>(opts_);
        try {
            tokenizer_->set(&pipeline_->tokenizer());
        } catch (const Error& e) {
            std::fprintf(stderr, "lightllm serve: %s; serving token ids only\n", e.what());
            id_only_ = std::make_unique<IdOnlyTokenizer>(pipeline_->model_config().n_vocab);
            tokenizer_->set(id_only_.get());
        }
        // Warm-up: one token through a first engine step before Ready.
        RequestInput warm;
        int32_t bos = tokenizer_->bos_id();
        warm.prompt_ids = {bos >= 0 ? bos : 0};
        warm.params.max_new_tokens = 1;
        warm.params.ignore_eos = true;
        std::promise<RequestResult> done;
        auto finished = done.get_future();
        RequestSink sink;
        sink.on_finish = [&done](const RequestResult& r) { done.set_value(r); };
        pipeline_->submit(std::move(warm), std::move(sink));
        RequestResult r = finished.get();
        if (r.finish_reason == FinishReason::Error || r.finish_reason == FinishReason::Cancelled)
            fail("the warm-up generation failed: {}", r.error.empty() ? finish_reason_name(r.finish_reason) : r.error);
        phase_.store(1, std::memory_order_release);
    } catch (const std::exception& e) {
        load_error_ = e.what();
        phase_.store(2, std::memory_order_release);
    }
}

void ServedModelLoader::wait() {
    if (thread_.joinable()) thread_.join();
    if (phase_.load(std::memory_order_acquire) == 2) throw Error(load_error_);
}

ModelStatus ServedModelLoader::status() const {
    int phase = phase_.load(std::memory_order_acquire);
    if (phase == 0) return {ModelState::Loading, "the model is loading"};
    if (phase == 2) return {ModelState::Failed, "the model failed to load: " + load_error_};
    int64_t faults = pipeline_->stats().n_engine_faults;
    if (faults > 0)
        return {ModelState::Failed, fmt::format("the engine failed {} step(s); its state is not trusted: restart this server", faults)};
    return {ModelState::Ready, ""};
}

ServedModel ServedModelLoader::served(const std::string& name) {
    ServedModel m;
    m.name = name;
    m.tokenizer = tokenizer_.get();
    m.submit = [this](RequestInput in, RequestSink sink) {
        if (phase_.load(std::memory_order_acquire) != 1) throw loading_error();
        return pipeline_->submit(std::move(in), std::move(sink));
    };
    m.stats = [this] { return phase_.load(std::memory_order_acquire) == 1 ? pipeline_->stats() : PipelineStats{}; };
    m.status = [this] { return status(); };
    return m;
}

}  // namespace lightllm
