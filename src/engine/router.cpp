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
    started_ = last_step_end_ = Clock::now();
    if (!opts_.step_log.empty()) {
        step_log_ = std::make_unique<std::ofstream>(opts_.step_log, std::ios::out | std::ios::trunc);
        if (!*step_log_) fail("--step-log {}: cannot open for writing", opts_.step_log);
    }
}

Router::~Router() = default;

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
    auto finish = [&](EngineRequest& req) {
        release(req);
        EngineEvent ev;
        ev.kind = EngineEvent::Kind::Finish;
        ev.id = req.id;
        ev.time = Clock::now();
        ev.reason = reason;
        ev.error = error;
        ev.n_pauses = req.n_pauses;
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
        EngineEvent ev;
        ev.kind = EngineEvent::Kind::Finish;
        ev.id = req->id;
        ev.time = Clock::now();
        ev.reason = req->control->handle->cancelled() ? FinishReason::Cancelled : FinishReason::Stop;
        ev.n_pauses = req->n_pauses;
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

// Gives every running request with one pending token a slot, pausing the most
// recently admitted requests while the pool is short.
void Router::plan_decodes(std::vector<Chunk>& plan) {
    TokenKvPool& pool = engine_.kv_pool();
    auto n_decoding = [&] {
        return int64_t(std::count_if(running_.begin(), running_.end(), [](const auto& r) { return r->n_pending() == 1; }));
    };
    while (pool.n_free() < n_decoding()) pause_latest();
    for (auto& r : running_) {
        if (r->n_pending() != 1) continue;
        int n_cached = r->n_cached();
        bool ok = pool.alloc(1, r->slots);
        LL_CHECK(ok, "decode slot for request {}", r->id);
        plan.push_back({r.get(), n_cached, 1, true, false});
    }
}

void Router::plan_prefill(std::vector<Chunk>& plan) {
    const bool has_partial =
        std::any_of(running_.begin(), running_.end(), [](const auto& r) { return r->n_pending() > 1; });
    if (!has_partial && waiting_.empty()) return;
    const bool decoding = !plan.empty();
    if (decoding && !has_partial && steps_since_prefill_ < opts_.max_wait_steps) return;

    order_waiting(waiting_, opts_.admission_order);
    TokenKvPool& pool = engine_.kv_pool();
    int budget = opts_.max_prefill_tokens;
    for (auto& r : running_) {
        if (budget == 0) break;
        if (r->n_pending() <= 1) continue;
        int n_new = std::min(r->n_pending(), budget);
        int n_cached = r->n_cached();
        if (!pool.alloc(n_new, r->slots)) {
            ++stats_.n_kv_stalls;
            break;
        }
        plan.push_back({r.get(), n_cached, n_new, n_cached + n_new == r->n_tokens(), true});
        budget -= n_new;
    }
    while (budget > 0 && try_admit(budget, plan)) budget -= plan.back().n_new;
}

// Admits the head of the waiting queue with a first chunk of at most `budget`
// tokens, if the admission rule, a table row and the pool allow.
bool Router::try_admit(int budget, std::vector<Chunk>& plan) {
    if (waiting_.empty() || int(running_.size()) >= opts_.max_running_requests) return false;
    EngineRequest& cand = *waiting_.front();
    int64_t prefill_ahead = 0;
    std::vector<KvDemand> demands;
    demands.reserve(running_.size());
    for (const auto& r : running_) demands.push_back(demand(*r, prefill_ahead));
    AdmissionLimits limits{engine_.kv_pool().capacity(), opts_.max_running_requests};
    // Alone, a request always fits (add() checked prompt + max_new <= capacity);
    // its own prefill delay matters only next to others.
    if (!running_.empty() && !can_admit(demands, demand(cand, prefill_ahead), limits)) return false;

    ReqToTokenTable& table = engine_.req_to_token();
    int row = table.alloc_row();
    if (row < 0) return false;
    int n_new = std::min(cand.n_tokens(), budget);
    LL_CHECK(cand.slots.empty(), "waiting request {} holds slots", cand.id);
    if (!engine_.kv_pool().alloc(n_new, cand.slots)) {
        ++stats_.n_kv_stalls;
        table.free_row(row);
        return false;
    }
    cand.row = row;
    cand.phase = RequestPhase::Running;
    cand.admit_order = ++n_admitted_;
    if (!cand.started) stats_.prompt_tokens_total += int64_t(cand.prompt.size());
    cand.started = true;
    plan.push_back({&cand, 0, n_new, n_new == cand.n_tokens(), true});
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
    return true;
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
        "\"prefill_tokens\":{},\"kv_used\":{},\"running\":{},\"waiting\":{}}}\n",
        stats_.n_steps, ms(step_start - started_), ms(end - step_start), ms(step_start - last_step_end_), n_decode,
        n_prefill, prefill_tokens, engine_.kv_pool().n_used(), running_.size(), waiting_.size());
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
        s.sample = c.sample;
        s.params = &c.req->params;
        s.prompt = &c.req->prompt;
        s.output = &c.req->output;
        seqs.push_back(s);
    }
    stats_.kv_peak_tokens = std::max(stats_.kv_peak_tokens, engine_.kv_pool().n_used());

    const Clock::time_point step_start = Clock::now();
    std::vector<SampledToken> sampled = engine_.step(seqs);
    ++stats_.n_steps;
    if (step_log_) log_step(plan, step_start);
    steps_since_prefill_ = prefilled ? 0 : steps_since_prefill_ + 1;

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
        EngineEvent ev;
        ev.kind = EngineEvent::Kind::Token;
        ev.id = req.id;
        ev.token = tok.id;
        ev.logprob = tok.logprob;
        ev.top = std::move(tok.top);
        ev.time = now;
        ev.n_pauses = req.n_pauses;
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
    return {int64_t(req.n_tokens()), left};
}

void Router::release(EngineRequest& req) {
    if (!req.slots.empty()) engine_.kv_pool().free(req.slots);
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

void Router::update_stats() {
    stats_.n_waiting = int(waiting_.size());
    stats_.n_running = int(running_.size());
    stats_.kv_used_tokens = engine_.kv_pool().n_used();
}

}  // namespace lightllm
