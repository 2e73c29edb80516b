// RouterStats: the live numbers of the router + engine thread (KV use, queue
// lengths, pauses, token totals). The pipeline reports the same struct
// (PipelineStats), adding requests still waiting for the tokenizer thread to
// n_waiting; /metrics and bench read it.
#pragma once
#include <cstdint>

namespace lightllm {

struct RouterStats {
    int n_waiting = 0;
    int n_running = 0;
    int64_t kv_capacity_tokens = 0;
    int64_t kv_used_tokens = 0;         // slots in use; cached tokens that could be evicted count as free
    int64_t kv_peak_tokens = 0;
    int64_t n_pauses = 0;
    int64_t n_finished = 0;
    int64_t n_steps = 0;
    int64_t n_kv_stalls = 0;            // prefill chunks that found the pool short (only with an output estimate)
    int64_t prompt_tokens_total = 0;    // of requests admitted for the first time
    int64_t generated_tokens_total = 0;
    // Prefix cache: tokens looked up at admission (prompt ++ output so far, each
    // admission) and how many of them were found; tokens the cache holds now;
    // tokens it gave back to the pool.
    int64_t prefix_cache_query_tokens = 0;
    int64_t prefix_cache_hit_tokens = 0;
    int64_t prefix_cache_tokens = 0;
    int64_t prefix_cache_evicted_tokens = 0;
    int64_t n_engine_faults = 0;        // steps that threw (their requests finished as Error); set by EngineLoop
};

}  // namespace lightllm
