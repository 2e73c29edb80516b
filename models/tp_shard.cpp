// Shard planning and the sliced view of a model's file tensors (tp_shard.h).
// Each tensor's slice is made by slice_tensor (src/formats/tensor_slice.h):
// one block of whole rows points into the mapped file (only its pages are
// ever read), whatever its dtype; other slices (columns, several row blocks,
// padding) are copied into buffers the source owns, quantized ones still
// quantized where the columns fall on block boundaries, else dequantized from
// the covering blocks only. A tensor the full source built (reordered GGUF
// rows) is always copied and then released there.
#include "tp_shard.h"
#include "check.h"
#include "tensor_slice.h"
#include <cstring>
#include <map>
#include <mutex>

namespace lightllm {

TpShard plan_tp_shard(const ModelConfig& cfg, int rank, int world) {
    TpShard s;
    s.rank = rank;
    s.world = world;
    s.n_head_total = cfg.n_head;
    s.n_vocab_total = cfg.n_vocab;
    if (world == 1) {
        s.n_head = cfg.n_head;
        s.n_kv_head = cfg.n_kv_head;
        s.n_ff = cfg.n_ff;
        s.vocab_block = cfg.n_vocab;
        return s;
    }
    if (cfg.n_head % world != 0)
        fail("--tp {}: the model's {} attention heads (num_attention_heads) do not divide among {} ranks", world,
             cfg.n_head, world);
    if (cfg.n_ff % world != 0)
        fail("--tp {}: the model's FFN width {} (intermediate_size) does not divide among {} ranks", world, cfg.n_ff,
             world);
    s.n_head = cfg.n_head / world;
    s.head_begin = rank * s.n_head;
    if (cfg.n_kv_head % world == 0) {
        s.n_kv_head = cfg.n_kv_head / world;
        s.kv_head_begin = rank * s.n_kv_head;
    } else if (world % cfg.n_kv_head == 0) {  // fewer KV heads than ranks: each rank keeps the one it reads
        s.n_kv_head = 1;
        s.kv_head_begin = rank / (world / cfg.n_kv_head);
    } else {
        fail("--tp {}: the model's {} key/value heads (num_key_value_heads) neither divide among {} ranks nor "
             "divide {}", world, cfg.n_kv_head, world, world);
    }
    s.n_ff = cfg.n_ff / world;
    s.ff_begin = int64_t(rank) * s.n_ff;
    s.vocab_block = (int64_t(cfg.n_vocab) + world - 1) / world;
    s.vocab_begin = int64_t(rank) * s.vocab_block;
    return s;
}

ModelConfig local_config(const ModelConfig& cfg, const TpShard& s) {
    ModelConfig c = cfg;
    if (!s.active()) return c;
    c.n_head = s.n_head;
    c.n_kv_head = s.n_kv_head;
    c.n_ff = int(s.n_ff);
    c.n_vocab = int(s.n_vocab_local());
    return c;
}

namespace {

bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

class ShardedSource : public TensorSource {
public:
    ShardedSource(const TensorSource& full, const ModelConfig& cfg, const TpShard& s) : full_(full), cfg_(cfg), s_(s) {}

    std::vector<std::string> names() const override { return full_.names(); }

    const TensorInfo* find(const std::string& name) const override {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = made_.find(name);
        if (it != made_.end()) return &it->second.info;
        const TensorInfo* src = full_.find(name);
        if (!src) return nullptr;
        TensorSlice rule;
        if (!rule_for(name, *src, rule)) return src;
        Made& m = made_[name];
        // A reordered GGUF tensor (llama q/k, BLOOM qkv, Baichuan W_pack) is
        // built whole by `full`: keep a copy of this rank's slice and drop it,
        // so at most one whole tensor is in host memory at a time.
        const bool built = full_.built_copy(name);
        m.info = slice_tensor(*src, rule, m.bytes, !built);
        if (built) full_.release(name);
        return &m.info;
    }

private:
    struct Made {
        TensorInfo info;
        std::vector<uint8_t> bytes;
    };

    bool rule_for(const std::string& n, const TensorInfo& t, TensorSlice& r) const {
        const int64_t HD = cfg_.head_dim, rows = t.shape.empty() ? 0 : t.shape[0];
        const int64_t q0 = s_.head_begin * HD, nq = s_.n_head * HD;
        const int64_t k0 = s_.kv_head_begin * HD, nk = s_.n_kv_head * HD;
        const bool weight = ends_with(n, ".weight");
        auto rows_only = [&](int64_t first, int64_t count) { r.rows = {{first, count}}; };
        if (ends_with(n, "embed_tokens.weight") || n == "lm_head.weight" || ends_with(n, "word_embeddings.weight") ||
            ends_with(n, "wte.weight")) {
            const int64_t count = std::max<int64_t>(0, std::min(s_.vocab_block, rows - s_.vocab_begin));
            rows_only(s_.vocab_begin, count);
            r.pad_rows = s_.n_vocab_local();
            return true;
        }
        if (ends_with(n, "q_proj.weight") || ends_with(n, "q_proj.bias")) return rows_only(q0, nq), true;
        if (ends_with(n, "k_proj.weight") || ends_with(n, "k_proj.bias") || ends_with(n, "v_proj.weight") ||
            ends_with(n, "v_proj.bias"))
            return rows_only(k0, nk), true;
        if (ends_with(n, "W_pack.weight")) {  // [q; k; v] blocks of n_head heads each
            const int64_t QD = int64_t(s_.n_head_total) * HD;
            r.rows = {{q0, nq}, {QD + q0, nq}, {2 * QD + q0, nq}};
            return true;
        }
        if (ends_with(n, "query_key_value.weight") || ends_with(n, "query_key_value.bias"))  // [n_head, 3, HD]
            return rows_only(3 * q0, 3 * nq), true;
        if (ends_with(n, "attn.c_attn.weight") || ends_with(n, "attn.c_attn.bias")) {
            const int64_t QD = int64_t(s_.n_head_total) * HD;
            if (cfg_.n_kv_head == 1 && s_.n_head_total > 1)
                r.rows = {{q0, nq}, {QD, 2 * HD}};  // this rank's queries, the shared k and v
            else
                rows_only(3 * q0, 3 * nq);  // per-head interleaved
            return true;
        }
        if (ends_with(n, "o_proj.weight") || ends_with(n, "self_attention.dense.weight") ||
            ends_with(n, "attn.c_proj.weight")) {
            r.rows = {{0, rows}};
            r.col0 = q0;
            r.n_cols = nq;
            return true;
        }
        if (ends_with(n, "down_proj.weight") || ends_with(n, "dense_4h_to_h.weight") ||
            ends_with(n, "mlp.c_proj.weight")) {
            r.rows = {{0, rows}};
            r.col0 = s_.ff_begin;
            r.n_cols = s_.n_ff;
            return true;
        }
        if (ends_with(n, "o_proj.bias") || ends_with(n, "self_attention.dense.bias") || ends_with(n, "attn.c_proj.bias") ||
            ends_with(n, "down_proj.bias") || ends_with(n, "dense_4h_to_h.bias") || ends_with(n, "mlp.c_proj.bias")) {
            if (s_.rank == 0) return false;  // a row-parallel layer's bias is added once
            r.rows = {{0, rows}};
            r.zero = true;
            return true;
        }
        if (ends_with(n, "gate_proj.weight") || ends_with(n, "up_proj.weight") || ends_with(n, "dense_h_to_4h.weight") ||
            ends_with(n, "dense_h_to_4h.bias") || ends_with(n, "mlp.c_fc.weight") || ends_with(n, "mlp.c_fc.bias"))
            return rows_only(s_.ff_begin, s_.n_ff), true;
        (void)weight;
        return false;
    }

    const TensorSource& full_;
    ModelConfig cfg_;
    TpShard s_;
    mutable std::mutex mu_;
    mutable std::map<std::string, Made> made_;
};

}  // namespace

std::unique_ptr<TensorSource> shard_tensor_source(const TensorSource& full, const ModelConfig& cfg,
                                                  const TpShard& shard) {
    return std::make_unique<ShardedSource>(full, cfg, shard);
}

}  // namespace lightllm
