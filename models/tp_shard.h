// Tensor-parallel sharding of a model at load (Megatron-style):
//   - attention: query heads split evenly; key/value heads split evenly, or,
//     when there are fewer KV heads than ranks (MQA, GQA with 8 heads on 16
//     ranks), each rank keeps the one KV head its query heads use;
//   - q/k/v and gate/up (column-parallel) keep this rank's output rows;
//   - o_proj and down (row-parallel) keep this rank's input columns; their
//     outputs are partial sums, all-reduced; their biases live on rank 0 only;
//   - embedding and lm_head keep this rank's block of ceil(n_vocab / N)
//     vocabulary rows plus one zero row: a token of another block is looked up
//     as the zero row, the embedding is all-reduced, and the logit blocks are
//     gathered on rank 0;
//   - ALiBi slopes use the global head index (AttentionParams' offset).
// The model is built from local_config() (the shard's head, FFN and
// vocabulary sizes) and reads its tensors through shard_tensor_source(), which
// shows each file tensor as this rank's slice under the same name, so the
// model files keep one loader for every world size.
#pragma once
#include "model_config.h"
#include "tensor_source.h"
#include <cstdint>
#include <memory>
#include <vector>

namespace lightllm {

class Communicator;

struct TpShard {
    int rank = 0;
    int world = 1;
    Communicator* comm = nullptr;  // null for world 1
    int n_head_total = 0;          // query heads of the whole model
    int head_begin = 0;            // this rank's first query head
    int n_head = 0;                // query heads here
    int kv_head_begin = 0;         // this rank's first KV head
    int n_kv_head = 0;             // KV heads here
    int64_t ff_begin = 0, n_ff = 0;                      // FFN columns here
    int64_t n_vocab_total = 0, vocab_begin = 0, vocab_block = 0;  // rows [begin, begin + block) (+ a zero row)
    bool active() const { return world > 1; }
    // Rows of this rank's embedding / lm_head: the block plus the zero row.
    int64_t n_vocab_local() const { return active() ? vocab_block + 1 : n_vocab_total; }
    // The row of this rank's embedding that holds token `id`.
    int32_t local_id(int32_t id) const {
        if (!active()) return id;
        const int64_t i = int64_t(id) - vocab_begin;
        return i >= 0 && i < vocab_block ? int32_t(i) : int32_t(vocab_block);
    }
};

// Rank `rank` of `world`'s shard of `cfg`; throws Error naming the config field
// and --tp when the heads or the FFN do not divide.
TpShard plan_tp_shard(const ModelConfig& cfg, int rank, int world);
// `cfg` with the shard's n_head, n_kv_head, n_ff and n_vocab (block + 1).
ModelConfig local_config(const ModelConfig& cfg, const TpShard& shard);
// `full`'s tensors as slices for this rank (the same names; `full` must outlive it).
std::unique_ptr<TensorSource> shard_tensor_source(const TensorSource& full, const ModelConfig& cfg,
                                                  const TpShard& shard);

}  // namespace lightllm
