#include "router.h"
#include "check.h"
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace lightllm {

Router::Router(StepEngine& engine, const RouterOptions& opts)
    : engine_(engine), opts_(opts), eos_ids_(engine.eos_ids()), max_context_(engine.max_context()) {
    opts_.max_running_requests = std::min(opts_.max_running_requests, engine.req_to_token().max_requests());
    LL_CHECK(opts_.max_running_requests > 0, "max_running_requests {}", opts_.max_running_requests);
    LL_CHECK(opts_.max_prefill_tokens > 0, "max_prefill_tokens {}", opts_.max_prefill_tokens);
    stats_.kv_capacity_tokens = engine.kv_pool().capacity();
    if (opts_.prefix_cache) cache_ = std::make_unique<RequestPrefixCache>(engine.kv_pool());
    started_ = last_step_end_ = Clock::now();
    if (!opts_.step_log.empty()) {
        step_log_ = std::make_unique<std::ofstream>(opts_.step_log, std::ios::out | std::ios::trunc);
        if (!*step_log_) fail("--step-log {}: cannot open for writing", opts_.step_log);
    }
}

Router::~Router() = default;

EngineEvent Router::event_for(const EngineRequest& req) const {
    EngineEvent ev;
    ev.id = req.id;
    ev.time = Clock::now();
    ev.n_pauses = req.n_pauses;
    ev.n_cached_prompt = req.n_cached_prompt;
    return ev;
}

void Router::add(std::unique_ptr<EngineRequest> req, std::vector<EngineEvent>& events) {
    auto reject = [&](std::string why) {
        EngineEvent ev;
        ev.kind = EngineEvent::Kind::Finish;
        ev.id = req->id;
        ev.time = Clock::now();
        ev.reason = FinishReason::Error;
        ev.error = std::move(why);
        events.push_back(std::move(ev));
        ++stats_.n_finished;
    };
    const int n_prompt = int(req->prompt.size());
    const int64_t capacity = engine_.kv_pool().capacity();
    if (n_prompt == 0) return reject("the prompt is empty");
    if (n_prompt >= max_context_)
        return reject(fmt::format("the prompt has {} tokens; the context holds {} (prompt + at least 1 new token)",
                                  n_prompt, max_context_));
    if (req->params.max_new_tokens < 1) return reject("max_new_tokens must be at least 1");
    req->params.max_new_tokens = std::min(req->params.max_new_tokens, max_context_ - n_prompt);
    if (n_prompt + int64_t(req->params.max_new_tokens) > capacity)
        return reject(fmt::format("the request needs {} KV tokens ({} prompt + {} new) but the KV pool holds {} "
                                  "(raise --max-total-tokens or --mem-fraction, or lower max_new_tokens)",
                                  n_prompt + req->params.max_new_tokens, n_prompt, req->params.max_new_tokens, capacity));
    req->phase = RequestPhase::Waiting;
    req->arrival_window = stats_.n_steps;
    waiting_.push_back(std::move(req));
    update_stats();
}

void Router::step(std::vector<EngineEvent>& events, const std::function<void()>& planned) {
    drop_stopped(events);
    std::vector<Chunk> plan = schedule();
    update_stats();
    if (planned) planned();
    if (!plan.empty()) run(plan, events);
    update_stats();
}

void Router::finish_all(FinishReason reason, const std::string& error, std::vector<EngineEvent>& events) {
    // After an engine failure the K/V of the step that failed may be unwritten:
    // nothing of it goes into the prefix cache.
    auto finish = [&](EngineRequest& req) {
        release(req, reason != FinishReason::Error);
        EngineEvent ev = event_for(req);
        ev.kind = EngineEvent::Kind::Finish;
        ev.reason = reason;
        ev.error = error;
        events.push_back(std::move(ev));
        ++stats_.n_finished;
    };
    for (auto& r : running_) finish(*r);
    for (auto& r : waiting_) finish(*r);
    running_.clear();
    waiting_.clear();
    update_stats();
}

void Router::drop_stopped(std::vector<EngineEvent>& events) {
    auto drop = [&](std::unique_ptr<EngineRequest>& req) {
        if (!req->stop_asked()) return false;
        release(*req);
        EngineEvent ev = event_for(*req);
        ev.kind = EngineEvent::Kind::Finish;
        ev.reason = req->control->handle->cancelled() ? FinishReason::Cancelled : FinishReason::Stop;
        events.push_back(std::move(ev));
        ++stats_.n_finished;
        return true;
    };
    running_.erase(std::remove_if(running_.begin(), running_.end(), drop), running_.end());
    waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(), drop), waiting_.end());
}

std::vector<Router::Chunk> Router::schedule() {
    for (;;) {
        std::vector<Chunk> plan;
        plan_decodes(plan);
        plan_prefill(plan);
        if (!plan.empty() || running_.empty()) return plan;
        // Nothing can move: partly prefilled requests found no free slots
        // (output estimate too low). Give the older ones room.
        pause_latest();
    }
}

// Slots free in the pool plus cached ones that could be evicted for them.
int64_t Router::n_available() const {
    return engine_.kv_pool().n_free() + (cache_ ? cache_->tree().n_evictable() : 0);
}

// Appends n slots to `out`, evicting least-recently-used cached tokens when
// the pool is short; false (nothing taken) when even that is not enough.
bool Router::alloc_slots(int64_t n, std::vector<int32_t>& out) {
    TokenKvPool& pool = engine_.kv_pool();
    if (pool.n_free() < n && cache_) stats_.prefix_cache_evicted_tokens += cache_->tree().evict(n - pool.n_free());
    return pool.alloc(n, out);
}

// Gives every running request with one pending token a slot, evicting cached
// tokens and then pausing the most recently admitted requests while the pool
// is short.
void Router::plan_decodes(std::vector<Chunk>& plan) {
    auto n_decoding = [&] {
        return int64_t(std::count_if(running_.begin(), running_.end(), [](const auto& r) { return r->n_pending() == 1; }));
    };
    while (n_available() < n_decoding()) pause_latest();
    for (auto& r : running_) {
        if (r->n_pending() != 1) continue;
        int n_cached = r->n_cached();
        bool ok = alloc_slots(1, r->slots);
        LL_CHECK(ok, "decode slot for request {}", r->id);
        plan.push_back({r.get(), n_cached, 1, true, false, 0});
    }
}

void Router::plan_prefill(std::vector<Chunk>& plan) {
    const bool has_partial =
        std::any_of(running_.begin(), running_.end(), [](const auto& r) { return r->n_pending() > 1; });
    if (!has_partial && waiting_.empty()) return;
    const bool decoding = !plan.empty();
    if (decoding && !has_partial && steps_since_prefill_ < opts_.max_wait_steps) return;

    order_waiting(waiting_, opts_.admission_order);
    int budget = opts_.max_prefill_tokens;
    if (decoding && opts_.prefill_chunk_decoding > 0) {
        const int64_t n_partial = std::count_if(running_.begin(), running_.end(), [](const auto& r) { return r->n_pending() > 1; });
        const int64_t n_prefilling = n_partial + int64_t(waiting_.size());
        budget = int(std::min<int64_t>(budget, n_prefilling * opts_.prefill_chunk_decoding));
    }
    for (auto& r : running_) {
        if (budget == 0) break;
        if (r->n_pending() <= 1) continue;
        int n_new = std::min(r->n_pending(), budget);
        int n_cached = r->n_cached();
        if (!alloc_slots(n_new, r->slots)) {
            ++stats_.n_kv_stalls;
            break;
        }
        plan.push_back({r.get(), n_cached, n_new, n_cached + n_new == r->n_tokens(), true, 0});
        budget -= n_new;
    }
    while (budget > 0 && try_admit(budget, plan)) budget -= plan.back().n_new;
}

// Admits the head of the waiting queue with a first chunk of at most `budget`
// tokens, if the admission rule, a table row and the pool allow. With the
// prefix cache the candidate first takes (and locks) its cached prefix: the
// rule then sees the tokens cached prefixes of running requests lock, counted
// once, as taken, each request's own tokens as its `held`, and evictable
// cached tokens as free.
bool Router::try_admit(int budget, std::vector<Chunk>& plan) {
    if (waiting_.empty() || int(running_.size()) >= opts_.max_running_requests) return false;
    EngineRequest& cand = *waiting_.front();
    LL_CHECK(cand.slots.empty(), "waiting request {} holds slots", cand.id);
    const int n_hit = cache_ ? cache_->attach(cand) : 0;
    if (cache_ && shares_uncached_prefix(cand, n_hit, plan)) {
        cache_->detach(cand, false);
        return false;
    }
    int64_t prefill_ahead = 0;
    std::vector<KvDemand> demands;
    demands.reserve(running_.size());
    for (const auto& r : running_) demands.push_back(demand(*r, prefill_ahead));
    const int64_t locked = cache_ ? cache_->tree().n_locked() : 0;
    AdmissionLimits limits{engine_.kv_pool().capacity() - locked, opts_.max_running_requests};
    // Alone, a request always fits (add() checked prompt + max_new <= capacity);
    // its own prefill delay matters only next to others.
    const bool fits = running_.empty() || can_admit(demands, demand(cand, prefill_ahead), limits);
    ReqToTokenTable& table = engine_.req_to_token();
    const int row = fits ? table.alloc_row() : -1;
    const int n_new = std::min(cand.n_pending(), budget);
    if (row < 0 || !alloc_slots(n_new, cand.slots)) {
        if (row >= 0) {
            ++stats_.n_kv_stalls;
            table.free_row(row);
        }
        if (cache_) cache_->detach(cand, false);
        return false;
    }
    cand.row = row;
    cand.phase = RequestPhase::Running;
    cand.admit_order = ++n_admitted_;
    if (!cand.started) {
        stats_.prompt_tokens_total += int64_t(cand.prompt.size());
        cand.n_cached_prompt = std::min(n_hit, int(cand.prompt.size()));
    }
    cand.started = true;
    if (cache_) {
        stats_.prefix_cache_query_tokens += cand.n_tokens();
        stats_.prefix_cache_hit_tokens += n_hit;
    }
    plan.push_back({&cand, n_hit, n_new, n_hit + n_new == cand.n_tokens(), true, n_hit});
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    return true;
}

// Whether `cand` shares at least kMinSharedPrefill more tokens than it found
// in the cache with a request being prefilled now (in this step's plan, or a
// chunked prompt still under way): those tokens will be in the cache after
// that prefill, so the candidate waits a step rather than compute them again.
// Requests sent together with one system prompt thus compute it once.
bool Router::shares_uncached_prefix(const EngineRequest& cand, int n_hit, const std::vector<Chunk>& plan) const {
    constexpr int kMinSharedPrefill = 16;
    const int n_cand = cand.n_tokens() - 1;
    if (n_cand - n_hit < kMinSharedPrefill) return false;
    // The tokens just past the hit first: most requests differ there at once.
    auto shares = [&](const EngineRequest& r) {
        const int need = n_hit + kMinSharedPrefill;
        if (r.n_tokens() < need) return false;
        for (int k = n_hit; k < need; ++k)
            if (cand.token_at(k) != r.token_at(k)) return false;
        for (int k = 0; k < n_hit; ++k)
            if (cand.token_at(k) != r.token_at(k)) return false;
        return true;
    };
    for (const Chunk& c : plan)
        if (c.prefill && shares(*c.req)) return true;
    for (const auto& r : running_)
        if (r->n_pending() > 1 && shares(*r)) return true;
    return false;
}

void Router::log_step(const std::vector<Chunk>& plan, Clock::time_point step_start) {
    const Clock::time_point end = Clock::now();
    auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    int n_decode = 0, n_prefill = 0;
    int64_t prefill_tokens = 0;
    for (const Chunk& c : plan) {
        if (c.prefill) {
            ++n_prefill;
            prefill_tokens += c.n_new;
        } else {
            ++n_decode;
        }
    }
    *step_log_ << fmt::format(
        "{{\"step\":{},\"t_ms\":{:.3f},\"engine_ms\":{:.3f},\"host_ms\":{:.3f},\"decode\":{},\"prefill_seqs\":{},"
        "\"prefill_tokens\":{},\"kv_used\":{},\"kv_cached\":{},\"running\":{},\"waiting\":{}}}\n",
        stats_.n_steps, ms(step_start - started_), ms(end - step_start), ms(step_start - last_step_end_), n_decode,
        n_prefill, prefill_tokens, kv_in_use(), cache_ ? cache_->tree().n_tokens() : 0, running_.size(),
        waiting_.size());
    last_step_end_ = end;
}

void Router::run(const std::vector<Chunk>& plan, std::vector<EngineEvent>& events) {
    size_t n_feed = 0;
    bool prefilled = false;
    for (const Chunk& c : plan) {
        n_feed += size_t(c.n_new);
        prefilled |= c.prefill;
    }
    feed_.clear();
    feed_.reserve(n_feed);
    std::vector<StepSeq> seqs;
    seqs.reserve(plan.size());
    for (const Chunk& c : plan) {
        StepSeq s;
        s.row = c.req->row;
        s.n_cached = c.n_cached;
        s.tokens = feed_.data() + feed_.size();
        for (int p = c.n_cached; p < c.n_cached + c.n_new; ++p) feed_.push_back(c.req->token_at(p));
        s.n_new = c.n_new;
        s.slots = c.req->slots.data() + c.n_cached;
        s.context_slots = c.req->slots.data();
        s.n_table_stale = c.n_stale;
        s.sample = c.sample;
        s.params = &c.req->params;
        s.prompt = &c.req->prompt;
        s.output = &c.req->output;
        seqs.push_back(s);
    }
    stats_.kv_peak_tokens = std::max(stats_.kv_peak_tokens, kv_in_use());

    const Clock::time_point step_start = Clock::now();
    std::vector<SampledToken> sampled = engine_.step(seqs);
    ++stats_.n_steps;
    if (step_log_) log_step(plan, step_start);
    steps_since_prefill_ = prefilled ? 0 : steps_since_prefill_ + 1;
    if (cache_)
        for (const Chunk& c : plan)
            if (c.prefill) cache_->share(*c.req);

    const Clock::time_point now = Clock::now();
    size_t k = 0;
    bool any_finished = false;
    for (const Chunk& c : plan) {
        if (!c.sample) continue;
        LL_CHECK(k < sampled.size(), "engine returned {} tokens for more sampling sequences", sampled.size());
        SampledToken& tok = sampled[k++];
        EngineRequest& req = *c.req;
        req.output.push_back(tok.id);
        ++stats_.generated_tokens_total;
        EngineEvent ev = event_for(req);
        ev.kind = EngineEvent::Kind::Token;
        ev.token = tok.id;
        ev.logprob = tok.logprob;
        ev.top = std::move(tok.top);
        ev.time = now;
        if (check_finished(req, tok.id, ev.reason)) {
            ev.finished = true;
            release(req);
            any_finished = true;
            ++stats_.n_finished;
        }
        events.push_back(std::move(ev));
    }
    LL_CHECK(k == sampled.size(), "engine returned {} tokens, {} were asked for", sampled.size(), k);
    if (any_finished)
        running_.erase(std::remove_if(running_.begin(), running_.end(),
                                      [](const auto& r) { return r->phase == RequestPhase::Done; }),
                       running_.end());
}

bool Router::check_finished(EngineRequest& req, int32_t token, FinishReason& reason) const {
    const SamplingParams& p = req.params;
    const int n_out = int(req.output.size());
    auto has = [token](const std::vector<int32_t>& ids) { return std::find(ids.begin(), ids.end(), token) != ids.end(); };
    bool stop_token = (!p.ignore_eos && has(eos_ids_)) || has(p.stop_token_ids);
    if (stop_token && n_out >= p.min_new_tokens) {
        reason = FinishReason::Stop;
        return true;
    }
    if (n_out >= p.max_new_tokens || req.n_tokens() >= max_context_) {
        reason = FinishReason::Length;
        return true;
    }
    return false;
}

// A request still being prefilled starts decoding only after the chunks ahead
// of it (in admission order) and its own are done, one max_prefill_tokens
// batch per step; counting those steps as extra `left` keeps the admission
// bound safe (it may only overestimate). `prefill_ahead` accumulates the
// pending prompt tokens of the requests passed so far.
KvDemand Router::demand(const EngineRequest& req, int64_t& prefill_ahead) const {
    const SamplingParams& p = req.params;
    int64_t budget = p.max_new_tokens;
    if (!p.ignore_eos && opts_.expected_output_fraction < 1.0f)
        budget = std::max<int64_t>(1, int64_t(std::ceil(double(p.max_new_tokens) * opts_.expected_output_fraction)));
    int64_t left = std::max<int64_t>(1, budget - int64_t(req.output.size()));
    if (req.n_pending() > 1) {
        prefill_ahead += req.n_pending();
        left += (prefill_ahead + opts_.max_prefill_tokens - 1) / opts_.max_prefill_tokens - 1;
    }
    return {int64_t(req.n_tokens() - req.n_shared), left};
}

// Frees what the request holds; with the prefix cache its computed tokens go
// into the cache instead, unless `keep_cached` is false.
void Router::release(EngineRequest& req, bool keep_cached) {
    if (cache_) cache_->detach(req, keep_cached);
    else if (!req.slots.empty()) engine_.kv_pool().free(req.slots);
    req.slots.clear();
    if (req.row >= 0) engine_.req_to_token().free_row(req.row);
    req.row = -1;
    req.phase = RequestPhase::Done;
}

void Router::pause_latest() {
    LL_CHECK(!running_.empty(), "nothing to pause");
    auto latest = std::max_element(running_.begin(), running_.end(),
                                   [](const auto& a, const auto& b) { return a->admit_order < b->admit_order; });
    std::unique_ptr<EngineRequest> req = std::move(*latest);
    running_.erase(latest);
    release(*req);
    req->phase = RequestPhase::Waiting;
    ++req->n_pauses;
    ++stats_.n_pauses;
    waiting_.push_front(std::move(req));
}

void Router::flush_prefix_cache() {
    if (cache_) cache_->tree().evict(cache_->tree().n_evictable());
    update_stats();
}

int64_t Router::kv_in_use() const {
    return engine_.kv_pool().n_used() - (cache_ ? cache_->tree().n_evictable() : 0);
}

void Router::update_stats() {
    stats_.n_waiting = int(waiting_.size());
    stats_.n_running = int(running_.size());
    stats_.kv_used_tokens = kv_in_use();
    stats_.prefix_cache_tokens = cache_ ? cache_->tree().n_tokens() : 0;
}

}  // namespace lightllm
