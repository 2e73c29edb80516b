// ServedModelLoader: builds the Pipeline on a background thread, so that
// `serve` listens (liveness) before the weights are in and routers can watch
// readiness. The ServedModel it hands out:
//   - submit: 503 (Retry-After) until the model is ready;
//   - tokenizer: forwards to the pipeline's (a 503 until loaded), or serves
//     token ids only for a dummy-weight preset without a tokenizer;
//   - stats: zeros until loaded;
//   - status: Loading until the weights are loaded and a one-token warm-up
//     request has run through a first engine step, then Ready; Failed once
//     the engine has had a fault (a step that threw), for good.
#pragma once
#include "generation_call.h"
#include "model_config.h"
#include <atomic>
#include <memory>
#include <thread>

namespace lightllm {

// The model's config without loading weights (a GGUF's metadata, an HF
// directory's config.json, or a preset), for limits known before loading.
ModelConfig peek_model_config(const EngineOptions& opts);

class ServedModelLoader {
public:
    explicit ServedModelLoader(PipelineOptions opts);
    ~ServedModelLoader();  // waits for the load, then stops the pipeline
    void start();          // starts loading (once)
    ServedModelLoader(const ServedModelLoader&) = delete;
    ServedModelLoader& operator=(const ServedModelLoader&) = delete;

    // Valid for the loader's lifetime; `name` is the id /v1/models lists.
    ServedModel served(const std::string& name);
    // After start(): blocks until the load and warm-up have finished; rethrows their error.
    void wait();
    ModelStatus status() const;
    // After wait().
    const Pipeline& pipeline() const { return *pipeline_; }

private:
    class ForwardingTokenizer;
    void load();

    PipelineOptions opts_;
    std::unique_ptr<Pipeline> pipeline_;
    std::unique_ptr<Tokenizer> id_only_;
    std::unique_ptr<ForwardingTokenizer> tokenizer_;
    std::atomic<int> phase_{0};  // 0 loading, 1 ready, 2 failed to load
    std::string load_error_;     // written before phase_ becomes 2
    std::thread thread_;
};

}  // namespace lightllm
