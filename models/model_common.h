// Pieces every architecture's forward shares: the logits tail (the rows that
// need logits -> lm_head -> F32) and its buffers.
#pragma once

#include "model.h"

namespace lightllm {

// Buffers of the logits tail for up to L = max_logits rows.
struct LogitsWorkspace {
    Tensor last;        // [L, n_embd] final-normed rows that need logits
    Tensor logits;      // [L, n_vocab] compute dtype
    Tensor logits_f32;  // [L, n_vocab] F32
};

// Allocates them in the backend's compute dtype (logits_f32 in F32).
LogitsWorkspace alloc_logits_workspace(Backend& be, const ModelConfig& c, int max_logits);
// Gives them back to the backend (those allocated).
void free_logits_workspace(Backend& be, LogitsWorkspace& ws);

// Logits [n_logits, n_vocab] F32 (a row slice of ws.logits_f32) of the rows
// batch.logit_rows of the final-normed hidden states h [n_tokens, n_embd],
// through lm_head [n_vocab, n_embd] without bias.
Tensor compute_logits(Backend& be, const Tensor& h, const Batch& batch, const Tensor& lm_head,
                      const LogitsWorkspace& ws);

}  // namespace lightllm
