// CascadePlan: which decode requests of a step share a prefix of KV slots,
// for cascade attention (backend.h, CascadeGroups).
//
// Rule: request i's table row holds slots[0..n_cached) (EngineRequest::slots).
// A slot belongs to one owner at a time: a request's own token, or one node of
// the prefix cache's radix tree, which sits at one depth on one path from the
// root. So two rows that hold the same slot at position p hold the same slots
// at every position <= p, and the longest common prefix (LCP) of two rows is
// found by a binary search on "slot equal at p" instead of a scan.
//
// Grouping, per step, cheap at 1024 requests x 2k shared tokens:
//   1. requests with at least min_shared_len cached tokens are bucketed by
//      their slot at position min_shared_len - 1 (equal slot: LCP >= that);
//   2. a bucket is sorted lexicographically by slot row (a comparison is one
//      binary search), so every subset of requests with a long common prefix
//      is a run, and the LCP of a run is the minimum of its neighbours' LCPs;
//   3. a run is either one group (shared length = its LCP) or split at its
//      smallest neighbour LCP, whichever saves more key reads
//      ((members - 1) x shared length): requests that took different branches
//      after a common trunk form one group over the trunk when the branches
//      are short, and one group per branch when they are long.
// The plan is used only when it saves at least min_saved_tokens key reads
// in all (a cascade step runs without a CUDA graph: see model_runner.cpp).
#pragma once
#include <cstdint>
#include <vector>

namespace lightllm {

// The defaults are estimates for Llama-3-8B on the H200, not measurements:
// 64k key reads per layer are 32 layers x 64k x 4 KiB (8 KV heads of K and
// V in bf16) = 8.6 GB per step, ~2 ms at the H200's bandwidth, a little more
// than a step loses running eagerly instead of as a CUDA graph.
struct CascadeRules {
    int min_shared_len = 256;          // shorter shared prefixes are read per request, as before
    int64_t min_saved_tokens = 65536;  // key reads per layer a step must save to use cascade at all
};

// One decode request as the planner sees it.
struct CascadeSeq {
    const int32_t* slots = nullptr;  // its table row on the host: slots of positions 0..n_cached-1; null: never grouped
    int32_t n_cached = 0;            // keys before its new token
};

struct CascadePlan {
    std::vector<int32_t> group_start{0};  // [n_groups + 1] offsets into members
    std::vector<int32_t> members;         // indices into the planner's input, ascending within a group
    std::vector<int32_t> shared_len;      // [n_groups]
    int n_groups() const { return int(shared_len.size()); }
    int max_members() const;
    int max_shared_len() const;
    int64_t saved_tokens() const;  // sum over groups of (members - 1) x shared_len
};

// Longest common prefix of two slot rows (the binary search above); `known`:
// positions [0, known) are already known to agree.
int32_t common_slot_prefix(const CascadeSeq& a, const CascadeSeq& b, int32_t known = 0);

CascadePlan plan_cascade(const std::vector<CascadeSeq>& seqs, const CascadeRules& rules);

}  // namespace lightllm
