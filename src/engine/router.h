// Router: continuous batching over the token-wise KV pool (DESIGN.md §3).
//
// Every engine step, in order:
//  1. requests whose caller cancelled, or whose detokenizer saw a stop string,
//     leave (their KV slots and table row are freed);
//  2. every running request with exactly one pending token decodes; if the
//     pool cannot give each a slot (only possible when admission used an
//     output estimate below max_new_tokens), the most recently admitted
//     running requests are paused: slots freed, back to the head of the
//     waiting queue, and later prefilled again with prompt + output so far;
//  3. when allowed (nothing decoding, a chunked prefill under way, or
//     max_wait_steps decode steps since the last prefill), one prefill batch
//     of at most max_prefill_tokens new tokens (fewer while requests decode
//     and few wait: prefill_chunk_decoding): first the next chunks of
//     partly prefilled requests, then waiting requests in arrival order (or
//     longest-first within a step's arrivals: admission_order.h) while the
//     admission rule (admission.h) lets them in — the first that does not fit
//     blocks the rest;
//  4. one fused ModelRunner step over all of them; sampled tokens are appended,
//     requests that hit EOS / a stop token / their length finish and free
//     everything they hold.
// With the prefix cache (request_prefix.h), an admitted request starts from
// the longest cached prefix of its tokens and prefills only the rest; prefill
// chunks and leaving requests put their tokens into the cache; whenever the
// pool is short, least-recently-used cached tokens no running request uses
// are evicted first, and only then is anyone paused. Admission counts the
// cached tokens running requests use once, and the evictable ones as free.
// Invariant after every step: pool free + used == capacity, and the used
// slots are exactly the cache's plus the running requests' own.
#pragma once
#include "admission.h"
#include "admission_order.h"
#include "request_prefix.h"
#include "router_stats.h"
#include "request_state.h"
#include "step_engine.h"
#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

namespace lightllm {

struct RouterOptions {
    int max_running_requests = 256;
    int max_prefill_tokens = 8192;
    int max_wait_steps = 0;
    // While requests decode, a step's prefill budget is this many tokens per
    // request waiting for (the rest of) its prefill, at most
    // max_prefill_tokens: a lone arrival's prompt is chunked so the decoding
    // requests' next token is not held up by a whole long prompt, while a
    // backlog still gets the whole budget (0: the whole budget every step).
    int prefill_chunk_decoding = 0;
    // Admission's guess of how much of max_new_tokens a request that may stop
    // at EOS will produce (1: all of it — the pool never runs out). Lower
    // values admit more requests but may run out mid-decode and pause some.
    float expected_output_fraction = 1.0f;
    // Which waiting request admission considers first (admission_order.h).
    AdmissionOrder admission_order = AdmissionOrder::Fifo;
    // When set, one JSON line per engine step is appended to this file:
    // {"step", "t_ms" (engine call start, since the router began), "engine_ms"
    // (the engine's step: forward + sampling), "host_ms" (from the previous
    // step's end to this call: scheduling and event delivery), "decode"
    // (sequences feeding one sampled token), "prefill_seqs", "prefill_tokens",
    // "kv_used" (slots in use, evictable cached tokens not counted),
    // "kv_cached" (tokens in the prefix cache), "running", "waiting"}.
    std::string step_log;
    bool prefix_cache = true;  // keep computed tokens' KV for later requests with the same prefix
};


class Router {
public:
    Router(StepEngine& engine, const RouterOptions& opts);
    ~Router();

    // Queues a request at the tail of the waiting queue. One that can never
    // run (empty, longer than the context, more KV than the pool) finishes at
    // once with an Error event.
    void add(std::unique_ptr<EngineRequest> req, std::vector<EngineEvent>& events);
    bool idle() const { return waiting_.empty() && running_.empty(); }
    // One engine step (see above); appends what happened to `events`.
    // `planned` runs once the step is scheduled and stats() counts it (a
    // request being prefilled is running), before the step runs.
    void step(std::vector<EngineEvent>& events, const std::function<void()>& planned = {});
    // Finishes every request with `reason` (shutdown, engine failure).
    void finish_all(FinishReason reason, const std::string& error, std::vector<EngineEvent>& events);

    const RouterStats& stats() const { return stats_; }
    const std::vector<std::unique_ptr<EngineRequest>>& running() const { return running_; }
    const std::deque<std::unique_ptr<EngineRequest>>& waiting() const { return waiting_; }
    // Null when the prefix cache is off.
    const RequestPrefixCache* prefix_cache() const { return cache_.get(); }
    // Gives every cached token no running request uses back to the pool.
    void flush_prefix_cache();

private:
    struct Chunk {
        EngineRequest* req;
        int n_cached;  // before this step
        int n_new;
        bool sample;
        bool prefill;  // part of this step's prefill batch
        int n_stale;   // cached tokens (a prefix-cache hit) not yet in the request's table row
    };

    void drop_stopped(std::vector<EngineEvent>& events);
    std::vector<Chunk> schedule();
    void plan_decodes(std::vector<Chunk>& plan);
    void plan_prefill(std::vector<Chunk>& plan);
    bool try_admit(int budget, std::vector<Chunk>& plan);
    bool shares_uncached_prefix(const EngineRequest& cand, int n_hit, const std::vector<Chunk>& plan) const;
    void run(const std::vector<Chunk>& plan, std::vector<EngineEvent>& events);
    bool check_finished(EngineRequest& req, int32_t token, FinishReason& reason) const;
    KvDemand demand(const EngineRequest& req, int64_t& prefill_ahead) const;
    void release(EngineRequest& req, bool keep_cached = true);
    void pause_latest();
    int64_t n_available() const;
    int64_t kv_in_use() const;  // pool slots minus evictable cached ones
    bool alloc_slots(int64_t n, std::vector<int32_t>& out);
    EngineEvent event_for(const EngineRequest& req) const;
    void update_stats();
    void log_step(const std::vector<Chunk>& plan, Clock::time_point step_start);

    StepEngine& engine_;
    RouterOptions opts_;
    std::vector<int32_t> eos_ids_;
    int max_context_;
    std::deque<std::unique_ptr<EngineRequest>> waiting_;
    std::vector<std::unique_ptr<EngineRequest>> running_;  // in admission order
    uint64_t n_admitted_ = 0;
    int steps_since_prefill_ = 0;
    std::vector<int32_t> feed_;  // this step's new tokens, packed
    RouterStats stats_;
    std::unique_ptr<RequestPrefixCache> cache_;
    std::unique_ptr<std::ofstream> step_log_;
    Clock::time_point started_, last_step_end_;
};

}  // namespace lightllm
