// Fused query/key/value projections stored per head: BLOOM's query_key_value
// and GPT-BigCode's c_attn without multi_query keep their rows as
// [n_head, 3, head_dim] (head 0's q, k, v rows, then head 1's, ...). The
// rope_store_kv op reads [q heads | k heads | v heads]; this re-orders at load.
#pragma once
#include "model.h"

namespace lightllm {

// Uploads `info` (a weight [3 n_head head_dim, n_in] or a bias [3 n_head head_dim])
// into `dst` of the same size, row (h, j, d) of the file going to row
// j * n_head * head_dim + h * head_dim + d (j: 0 q, 1 k, 2 v).
void upload_head_interleaved_qkv(Backend& backend, Tensor& dst, const TensorInfo& info, int n_head, int head_dim);

}  // namespace lightllm
