// WeightArena and the logits tail shared by the architectures.
#include "model_common.h"
#include "communicator.h"

namespace lightllm {

WeightArena::~WeightArena() {
    for (Tensor& t : owned_) be_.free(t);
}

Tensor WeightArena::alloc(std::initializer_list<int64_t> shape) {
    Tensor t = be_.alloc(be_.compute_dtype(), shape);
    owned_.push_back(t);
    bytes_ += t.nbytes();
    return t;
}

Tensor WeightArena::alloc_table(DType dtype, std::initializer_list<int64_t> shape) {
    Tensor t = be_.alloc(dtype, shape);
    owned_.push_back(t);
    return t;
}

void WeightArena::set_progress(ProgressReporter* progress, size_t later_bytes) {
    progress_ = progress;
    if (progress_) progress_->expect(bytes_ + later_bytes);
}

void WeightArena::fill_random(Tensor& t, uint64_t seed, float stddev) {
    be_.fill_random(t, seed, stddev);
    written(t);
}

void WeightArena::fill_constant(Tensor& t, float value) {
    const std::vector<float> v(size_t(t.numel()), value);
    upload(t, v.data());
}

void WeightArena::upload(Tensor dst, const TensorInfo& info) {
    upload_file_tensor(be_, dst, info);
    written(dst);
}

void WeightArena::upload(Tensor dst, const float* values) {
    be_.upload(dst, values, DType::F32);
    written(dst);
}

void WeightArena::written(const Tensor& t) {
    if (progress_) progress_->add(t.nbytes());
}

bool lm_head_tied(const ModelConfig& c, const TensorSource& src) {
    return c.tie_word_embeddings || src.find("lm_head.weight") == nullptr;
}

Tensor random_lm_head(WeightArena& arena, const ModelConfig& c, const Tensor& tok_embd, uint64_t seed, float stddev) {
    if (c.tie_word_embeddings) return tok_embd;
    Tensor t = arena.alloc({c.n_vocab, c.n_embd});
    arena.fill_random(t, seed, stddev);
    return t;
}

LogitsWorkspace alloc_logits_workspace(Backend& be, const ModelConfig& c, int max_logits, const TpShard& tp) {
    const DType dt = be.compute_dtype();
    const int64_t L = max_logits;
    LogitsWorkspace ws;
    ws.last = be.alloc(dt, {L, c.n_embd});
    ws.logits = be.alloc(dt, {L, c.n_vocab});
    ws.logits_f32 = be.alloc(DType::F32, {L, c.n_vocab});
    if (tp.active()) {
        ws.comm = tp.comm;
        ws.vocab_block = tp.vocab_block;
        if (tp.rank == 0) ws.gathered = be.alloc(DType::F32, {L, tp.n_vocab_total});
        if (tp.comm) tp.comm->reserve_gather(L, c.n_vocab);  // no allocation inside a captured step
    }
    return ws;
}

size_t logits_workspace_bytes(const Backend& be, const ModelConfig& c, int max_logits, const TpShard& tp) {
    const size_t L = size_t(max_logits);
    size_t gathered = tp.active() && tp.rank == 0 ? L * size_t(tp.n_vocab_total) * sizeof(float) : 0;
    if (tp.active() && be.device() != Device::CPU)  // the NCCL gather's buffer: every rank's block
        gathered += L * size_t(c.n_vocab) * size_t(tp.world) * sizeof(float);
    return L * (size_t(c.n_embd) + size_t(c.n_vocab)) * dtype_size(be.compute_dtype()) +
           L * size_t(c.n_vocab) * sizeof(float) + gathered;
}

void free_logits_workspace(Backend& be, LogitsWorkspace& ws) {
    for (Tensor* t : {&ws.last, &ws.logits, &ws.logits_f32, &ws.gathered})
        if (!t->empty()) be.free(*t);
}

Tensor compute_logits(Backend& be, const Tensor& h, const Batch& batch, const Tensor& lm_head,
                      const LogitsWorkspace& ws) {
    const int n_out = batch.n_logits;
    Tensor last = ws.last.slice_rows(0, n_out), logits = ws.logits.slice_rows(0, n_out);
    Tensor logits_f32 = ws.logits_f32.slice_rows(0, n_out);
    if (n_out == 0) return logits_f32;
    be.gather_rows(h, batch.logit_rows, last);
    be.linear(last, lm_head, Tensor(), logits);
    be.to_f32(logits, logits_f32);
    if (!ws.comm) return logits_f32;
    Tensor full = ws.gathered.empty() ? Tensor() : ws.gathered.slice_rows(0, n_out);
    ws.comm->gather_columns(logits_f32, full, ws.vocab_block);
    return ws.gathered.empty() ? logits_f32 : full;
}

Tensor load_lm_head(WeightArena& arena, const ModelConfig& c, const TensorSource& src, const Tensor& tok_embd) {
    if (lm_head_tied(c, src)) return tok_embd;
    Tensor w = arena.alloc({c.n_vocab, c.n_embd});
    arena.upload(w, src.require("lm_head.weight", {c.n_vocab, c.n_embd}));
    return w;
}

Tensor ArenaModel::output_logits(const Tensor& h, const Batch& batch, const Tensor& lm_head,
                                 const LogitsWorkspace& ws) const {
    const Tensor logits = compute_logits(be_, h, batch, lm_head, ws);  // [n_logits, n_vocab] F32
    if (batch.n_logits > 0) dump("logits", -1, logits);
    return logits;
}

}  // namespace lightllm
