// Shard planning and the sliced view of a model's file tensors (tp_shard.h).
// A slice that is one block of whole rows of a 16/32-bit tensor points into
// the mapped file (only its pages are ever read); other slices (columns,
// several row blocks, padding, quantized tensors) are copied into buffers the
// source owns.
#include "tp_shard.h"
#include "check.h"
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

// What one file tensor becomes on this rank: the concatenation of row blocks,
// optionally restricted to columns [col0, col0 + n_cols), padded with zero rows
// to pad_rows; all zeros when `zero`.
struct SliceRule {
    std::vector<std::pair<int64_t, int64_t>> rows;  // (first row, count)
    int64_t col0 = 0, n_cols = -1;                   // -1: every column
    int64_t pad_rows = -1;                           // -1: no padding
    bool zero = false;
};

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
        SliceRule rule;
        if (!rule_for(name, *src, rule)) return src;
        Made& m = made_[name];
        make_slice(*src, rule, m);
        return &m.info;
    }

private:
    struct Made {
        TensorInfo info;
        std::vector<uint8_t> bytes;
    };

    bool rule_for(const std::string& n, const TensorInfo& t, SliceRule& r) const {
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

    static void make_slice(const TensorInfo& src, const SliceRule& r, Made& m) {
        const int64_t rows = src.shape.empty() ? 1 : src.shape[0];
        const int64_t cols = rows == 0 ? 0 : src.numel() / rows;
        const int64_t n_cols = r.n_cols < 0 ? cols : r.n_cols;
        int64_t n_rows = 0;
        for (auto [first, count] : r.rows) {
            if (first < 0 || count < 0 || first + count > rows)
                fail("{}: tensor '{}' has {} rows; this rank needs rows {}..{} (does the config match the file?)",
                     src.file, src.name, rows, first, first + count);
            n_rows += count;
        }
        if (r.col0 + n_cols > cols)
            fail("{}: tensor '{}' has {} columns; this rank needs {}..{}", src.file, src.name, cols, r.col0,
                 r.col0 + n_cols);
        const int64_t out_rows = std::max(n_rows, r.pad_rows);
        m.info = src;
        m.info.shape = src.shape;
        if (m.info.shape.empty()) m.info.shape = {out_rows};
        m.info.shape[0] = out_rows;
        if (m.info.shape.size() >= 2) {
            m.info.shape.resize(2);
            m.info.shape[1] = n_cols;
        }
        const bool plain = src.dtype == FileDType::F32 || src.dtype == FileDType::F16 || src.dtype == FileDType::BF16;
        const size_t es = src.dtype == FileDType::F32 ? 4 : 2;
        if (plain && !r.zero && r.rows.size() == 1 && n_cols == cols && out_rows == n_rows) {
            m.info.data = src.data + size_t(r.rows[0].first * cols) * es;  // a view into the mapped file
            m.info.nbytes = size_t(n_rows * cols) * es;
            return;
        }
        // Copy: 16/32-bit tensors keep their dtype; quantized ones become F32.
        std::vector<float> f32;
        const uint8_t* base = src.data;
        size_t el = es;
        if (!plain) {
            f32.resize(size_t(src.numel()));
            if (!r.zero) tensor_to_f32(src, f32.data());
            base = reinterpret_cast<const uint8_t*>(f32.data());
            el = 4;
            m.info.dtype = FileDType::F32;
        }
        m.bytes.assign(size_t(out_rows * n_cols) * el, 0);
        if (!r.zero) {
            int64_t out = 0;
            for (auto [first, count] : r.rows)
                for (int64_t i = 0; i < count; ++i, ++out)
                    std::memcpy(m.bytes.data() + size_t(out * n_cols) * el,
                                base + (size_t((first + i) * cols) + size_t(r.col0)) * el, size_t(n_cols) * el);
        }
        m.info.data = m.bytes.data();
        m.info.nbytes = m.bytes.size();
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
