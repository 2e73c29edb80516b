// Pieces every architecture shares: the device tensors a model owns
// (WeightArena) and the logits tail (the rows that need logits -> lm_head ->
// F32) with its buffers.
#pragma once

#include "model.h"
#include "progress.h"
#include <vector>

namespace lightllm {

// The device tensors a model owns, freed when the arena goes, and the writes
// that fill them: each write counts towards the load's progress (when a
// reporter is set).
class WeightArena {
public:
    explicit WeightArena(Backend& be) : be_(be) {}
    ~WeightArena();
    WeightArena(const WeightArena&) = delete;
    WeightArena& operator=(const WeightArena&) = delete;

    // A weight in the backend's compute dtype, counted in bytes().
    Tensor alloc(std::initializer_list<int64_t> shape);
    // A table of another dtype (RoPE frequencies), not counted as weights.
    Tensor alloc_table(DType dtype, std::initializer_list<int64_t> shape);
    size_t bytes() const { return bytes_; }

    // Reports the writes below to `progress` (null: none); its total is the
    // weights allocated so far plus `later_bytes` still to come.
    void set_progress(ProgressReporter* progress, size_t later_bytes);
    void fill_random(Tensor& t, uint64_t seed, float stddev);
    void fill_constant(Tensor& t, float value);
    // `info` converted to the weight's dtype (upload_file_tensor).
    void upload(Tensor dst, const TensorInfo& info);
    // F32 host values.
    void upload(Tensor dst, const float* values);
    // A weight written some other way (upload_head_interleaved_qkv).
    void written(const Tensor& t);

private:
    Backend& be_;
    ProgressReporter* progress_ = nullptr;
    std::vector<Tensor> owned_;
    size_t bytes_ = 0;
};

struct LogitsWorkspace;

// What every architecture's class holds besides its own weights and
// buffers: its config, its backend, and the arena its weights live in (freed
// after the derived class's buffers).
class ArenaModel : public Model {
public:
    ArenaModel(const ModelConfig& cfg, Backend& backend) : cfg_(cfg), be_(backend), arena_(backend) {}
    const ModelConfig& config() const override { return cfg_; }
    size_t weight_bytes() const override { return arena_.bytes(); }
    // Where load() and randomize() report their progress (null: nowhere);
    // an untied lm_head, allocated by them, counts in the total from the start.
    void set_progress(ProgressReporter* progress, bool tied_lm_head) {
        const size_t lm_head = size_t(cfg_.n_vocab) * size_t(cfg_.n_embd) * dtype_size(be_.compute_dtype());
        arena_.set_progress(progress, tied_lm_head ? 0 : lm_head);
    }

protected:
    // The forward's tail: logits of batch.logit_rows (compute_logits below),
    // dumped as "logits".
    Tensor output_logits(const Tensor& h, const Batch& batch, const Tensor& lm_head, const LogitsWorkspace& ws) const;

    ModelConfig cfg_;
    Backend& be_;
    WeightArena arena_;
};

// Whether the output projection is the token embedding: tied in the config,
// or a checkpoint without lm_head.weight.
bool lm_head_tied(const ModelConfig& c, const TensorSource& src);
// A dummy model's output projection: tok_embd when the config ties them,
// else a new [n_vocab, n_embd] weight of seeded normal values.
Tensor random_lm_head(WeightArena& arena, const ModelConfig& c, const Tensor& tok_embd, uint64_t seed, float stddev);

// The output projection of a checkpoint: tok_embd when lm_head_tied(), else
// lm_head.weight [n_vocab, n_embd] read into a new weight.
Tensor load_lm_head(WeightArena& arena, const ModelConfig& c, const TensorSource& src, const Tensor& tok_embd);

// Every architecture's factory pair: an M built from (cfg, backend, extra...)
// on its tensor-parallel shard, then its weights read from `src`
// (M::load) or seeded (M::randomize), reporting to `progress` (may be null).
template <typename M, typename... Extra>
std::unique_ptr<Model> make_loaded(const TensorSource& src, const TpShard& shard, ProgressReporter* progress,
                                   const ModelConfig& cfg, Backend& be, Extra... extra) {
    auto m = std::make_unique<M>(cfg, be, extra...);
    m->set_tp(shard);
    m->set_progress(progress, lm_head_tied(cfg, src));
    m->load(src);
    return m;
}
template <typename M, typename... Extra>
std::unique_ptr<Model> make_seeded(uint64_t seed, const TpShard& shard, ProgressReporter* progress,
                                   const ModelConfig& cfg, Backend& be, Extra... extra) {
    auto m = std::make_unique<M>(cfg, be, extra...);
    m->set_tp(shard);
    m->set_progress(progress, cfg.tie_word_embeddings);
    m->randomize(seed);
    return m;
}

// Buffers of the logits tail for up to L = max_logits rows. Under tensor
// parallelism n_vocab is this rank's block (+1, tp_shard.h) and rank 0 also
// holds the gathered logits of the whole vocabulary.
struct LogitsWorkspace {
    Tensor last;        // [L, n_embd] final-normed rows that need logits
    Tensor logits;      // [L, n_vocab] compute dtype
    Tensor logits_f32;  // [L, n_vocab] F32
    Tensor gathered;    // [L, n_vocab_total] F32, rank 0 under TP only
    Communicator* comm = nullptr;
    int64_t vocab_block = 0;
};

// Allocates them in the backend's compute dtype (logits_f32 in F32).
LogitsWorkspace alloc_logits_workspace(Backend& be, const ModelConfig& c, int max_logits, const TpShard& tp = {});
// Device bytes alloc_logits_workspace takes for max_logits rows.
size_t logits_workspace_bytes(const Backend& be, const ModelConfig& c, int max_logits, const TpShard& tp = {});
// Gives them back to the backend (those allocated).
void free_logits_workspace(Backend& be, LogitsWorkspace& ws);

// Logits [n_logits, n_vocab] F32 (a row slice of ws.logits_f32) of the rows
// batch.logit_rows of the final-normed hidden states h [n_tokens, n_embd],
// through lm_head [n_vocab, n_embd] without bias. Under TP: rank 0 gets the
// whole vocabulary's logits (ws.gathered), other ranks their own block.
Tensor compute_logits(Backend& be, const Tensor& h, const Batch& batch, const Tensor& lm_head,
                      const LogitsWorkspace& ws);

}  // namespace lightllm
