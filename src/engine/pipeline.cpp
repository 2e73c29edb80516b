// Pipeline: tokenizer thread -> engine thread (EngineLoop) -> detokenizer thread.
//
// A Job is one request's pipeline-side state. submit() creates it; the
// tokenizer thread fills the prompt ids and announces it to the detokenizer
// (a Begin message on q2) before handing the engine its EngineRequest, so the
// detokenizer always knows a request before its first token. After that only
// the detokenizer thread touches the Job's text and result.
#include "pipeline.h"
#include "blocking_queue.h"
#include "chat_prompt.h"
#include "engine_loop.h"
#include "stop_matcher.h"
#include "tokenizer.h"
#include <map>
#include <sys/stat.h>
#include <thread>

namespace lightllm {

namespace {

struct Job {
    uint64_t id = 0;
    RequestInput input;
    RequestSink sink;
    std::shared_ptr<RequestControl> control;
    std::vector<int32_t> prompt_ids;
    // detokenizer thread only
    std::unique_ptr<IncrementalDetokenizer> detok;
    std::unique_ptr<StopMatcher> stops;
    std::string text;            // everything decoded so far
    size_t n_emitted = 0;        // bytes of text streamed
    size_t stop_from = 0;        // stop strings may start here (text before min_new_tokens is exempt)
    bool started = false;        // first token or finish seen
    RequestResult result;
};

struct DetokMsg {
    std::shared_ptr<Job> begin;  // set: announce a job; else `event`
    EngineEvent event;
};

bool path_exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

void check_params(const SamplingParams& p, int n_vocab) {
    if (!(p.temperature >= 0.0f)) fail("temperature must be >= 0 (got {})", p.temperature);
    if (p.top_k < 0) fail("top_k must be >= 0 (got {})", p.top_k);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) fail("top_p must be in (0, 1] (got {})", p.top_p);
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail("min_p must be in [0, 1] (got {})", p.min_p);
    if (!(p.repetition_penalty > 0.0f)) fail("repetition_penalty must be > 0 (got {})", p.repetition_penalty);
    if (p.max_new_tokens < 1) fail("max_new_tokens must be >= 1 (got {})", p.max_new_tokens);
    if (p.min_new_tokens < 0) fail("min_new_tokens must be >= 0 (got {})", p.min_new_tokens);
    if (p.n_logprobs > 20) fail("logprobs must be <= 20 (got {})", p.n_logprobs);
    for (int32_t id : p.stop_token_ids)
        if (id < 0 || id >= n_vocab) fail("stop token id {} is outside the vocabulary (0..{})", id, n_vocab - 1);
}

}  // namespace

struct Pipeline::Impl {
    PipelineOptions opts;
    std::unique_ptr<Tokenizer> tokenizer;
    std::string chat_template;  // --chat-template's source ("" = the model's own)
    ModelConfig config;
    std::string device;
    DType compute_dtype = DType::F32;
    DevicePeaks peaks;
    int max_context = 0;
    std::atomic<uint64_t> next_id{1};
    std::atomic<int> n_unstarted{0};  // submitted, no token or finish yet
    BlockingQueue<std::shared_ptr<Job>> q_in;
    BlockingQueue<DetokMsg> q_out;     // q2: unbounded, the engine never waits on it
    std::unique_ptr<EngineLoop> engine;
    std::thread tokenizer_thread, detok_thread;

    explicit Impl(const PipelineOptions& o) : opts(o), q_in(size_t(std::max(1, o.max_waiting_requests))) {}

    std::vector<int32_t> tokenize(const RequestInput& in) const;
    void tokenizer_loop();
    void detok_loop();
    void on_begin(std::map<uint64_t, std::shared_ptr<Job>>& jobs, std::shared_ptr<Job> job);
    void on_event(Job& job, EngineEvent& ev);
    void finish(Job& job, FinishReason reason, const std::string& error, Clock::time_point t, int n_pauses);
    void mark_started(Job& job) {
        if (!job.started) --n_unstarted;
        job.started = true;
    }
};

Pipeline::Pipeline(const PipelineOptions& opts) : impl_(std::make_unique<Impl>(opts)) {
    Impl& m = *impl_;
    const EngineOptions& eo = opts.engine;
    if (!opts.tokenizer_path.empty())
        m.tokenizer = load_tokenizer(opts.tokenizer_path);
    else if (!eo.load_dummy || path_exists(eo.model_path))
        m.tokenizer = load_tokenizer(eo.model_path);
    if (!opts.chat_template.empty()) {
        if (!m.tokenizer) fail("--chat-template: this model has no tokenizer (dummy weights from a preset)");
        m.chat_template = resolve_chat_template_option(opts.chat_template, *m.tokenizer);
    }
    std::vector<int32_t> tok_eos = m.tokenizer ? m.tokenizer->eos_ids() : std::vector<int32_t>{};
    RouterOptions ro;
    ro.max_running_requests = eo.max_running_requests;
    ro.max_prefill_tokens = eo.max_prefill_tokens;
    ro.max_wait_steps = opts.max_wait_steps;
    ro.prefill_chunk_decoding = opts.prefill_chunk_decoding;
    ro.expected_output_fraction = opts.expected_output_fraction;
    ro.admission_order = opts.admission_order;
    ro.step_log = opts.step_log;
    ro.prefix_cache = opts.prefix_cache;
    m.engine = std::make_unique<EngineLoop>(
        [&m, eo, tok_eos, measure_peaks = opts.measure_peaks]() -> std::unique_ptr<StepEngine> {
            auto runner = std::make_unique<ModelRunner>(eo);
            m.config = runner->config();
            m.device = runner->backend().name();
            m.compute_dtype = runner->backend().compute_dtype();
            if (measure_peaks) m.peaks = measure_device_peaks(runner->backend());
            m.max_context = runner->req_to_token().max_context();
            return std::make_unique<ModelRunnerEngine>(std::move(runner), tok_eos);
        },
        ro,
        [&m](std::vector<EngineEvent>& events) {
            for (EngineEvent& ev : events) m.q_out.push(DetokMsg{nullptr, std::move(ev)});
        },
        size_t(std::max(1, opts.max_waiting_requests)));
    m.detok_thread = std::thread([&m] { m.detok_loop(); });
    m.tokenizer_thread = std::thread([&m] { m.tokenizer_loop(); });
}

Pipeline::~Pipeline() {
    Impl& m = *impl_;
    m.q_in.close();
    m.tokenizer_thread.join();  // cancels what it had not handed on
    m.engine->stop();           // finishes what is left as Cancelled
    m.q_out.close();
    m.detok_thread.join();
}

std::shared_ptr<RequestHandle> Pipeline::submit(RequestInput input, RequestSink sink) {
    Impl& m = *impl_;
    auto job = std::make_shared<Job>();
    job->id = m.next_id++;
    job->input = std::move(input);
    job->sink = std::move(sink);
    job->control = std::make_shared<RequestControl>(job->id);
    job->result.t_submit = Clock::now();
    if (m.n_unstarted.fetch_add(1) >= m.opts.max_waiting_requests) {
        --m.n_unstarted;
        throw Overloaded(fmt::format("overloaded: {} requests are already waiting", m.opts.max_waiting_requests));
    }
    std::shared_ptr<RequestHandle> handle = job->control->handle;
    if (!m.q_in.try_push(job)) {
        --m.n_unstarted;
        throw Overloaded("overloaded: the request queue is full");
    }
    return handle;
}

const ModelConfig& Pipeline::model_config() const { return impl_->config; }

const Tokenizer& Pipeline::tokenizer() const {
    if (!impl_->tokenizer) fail("no tokenizer: '{}' is a dummy-weight preset", impl_->opts.engine.model_path);
    return *impl_->tokenizer;
}

std::string Pipeline::device_name() const { return impl_->device; }

DType Pipeline::compute_dtype() const { return impl_->compute_dtype; }

const DevicePeaks& Pipeline::device_peaks() const { return impl_->peaks; }

PipelineStats Pipeline::stats() const {
    PipelineStats s = impl_->engine->stats();
    s.n_waiting += int(impl_->q_in.size());
    return s;
}

std::vector<int32_t> Pipeline::Impl::tokenize(const RequestInput& in) const {
    const int n_vocab = config.n_vocab;
    std::vector<int32_t> ids;
    if (!in.prompt_ids.empty()) {
        ids = in.prompt_ids;
        for (int32_t id : ids)
            if (id < 0 || id >= n_vocab) fail("prompt token id {} is outside the vocabulary (0..{})", id, n_vocab - 1);
    } else if (in.prompt.empty() && in.messages.empty()) {
        fail("the prompt is empty");
    } else if (!tokenizer) {
        fail("this model has no tokenizer (dummy weights from a preset): send prompt token ids");
    } else if (!in.messages.empty()) {
        ids = tokenizer->encode(build_chat_prompt(*tokenizer, in.messages, in.chat_args, true, chat_template), false);
    } else {
        ids = tokenizer->encode(in.prompt, in.add_special_tokens && tokenizer->add_bos());
    }
    if (ids.empty()) fail("the prompt is empty");
    if (int(ids.size()) >= max_context)
        fail("the prompt has {} tokens; the model's context is {} tokens (prompt + at least one new token)",
             ids.size(), max_context);
    return ids;
}

void Pipeline::Impl::tokenizer_loop() {
    while (auto next = q_in.pop()) {
        std::shared_ptr<Job> job = std::move(*next);
        if (q_in.closed()) {  // shutting down: what was not handed on is cancelled
            q_out.push(DetokMsg{job, {}});
            EngineEvent fin;
            fin.kind = EngineEvent::Kind::Finish;
            fin.id = job->id;
            fin.reason = FinishReason::Cancelled;
            q_out.push(DetokMsg{nullptr, std::move(fin)});
            continue;
        }
        std::string error;
        try {
            check_params(job->input.params, config.n_vocab);
            job->prompt_ids = tokenize(job->input);
        } catch (const Error& e) {
            error = e.what();
        }
        SamplingParams& p = job->input.params;
        if (opts.max_new_tokens_limit > 0) p.max_new_tokens = std::min(p.max_new_tokens, opts.max_new_tokens_limit);
        q_out.push(DetokMsg{job, {}});
        EngineEvent fin;
        fin.kind = EngineEvent::Kind::Finish;
        fin.id = job->id;
        fin.time = Clock::now();
        if (!error.empty()) {
            fin.reason = FinishReason::Error;
            fin.error = error;
            q_out.push(DetokMsg{nullptr, std::move(fin)});
            continue;
        }
        auto req = std::make_unique<EngineRequest>();
        req->id = job->id;
        req->prompt = job->prompt_ids;
        req->params = p;
        req->control = job->control;
        if (!engine->submit(std::move(req))) {
            fin.reason = FinishReason::Cancelled;
            q_out.push(DetokMsg{nullptr, std::move(fin)});
        }
    }
}

void Pipeline::Impl::detok_loop() {
    std::map<uint64_t, std::shared_ptr<Job>> jobs;
    while (auto msg = q_out.pop()) {
        if (msg->begin) {
            on_begin(jobs, std::move(msg->begin));
            continue;
        }
        auto it = jobs.find(msg->event.id);
        if (it == jobs.end()) continue;  // finished already (stop string)
        Job& job = *it->second;
        on_event(job, msg->event);
        if (job.result.t_finish != Clock::time_point{}) jobs.erase(it);
    }
    for (auto& [id, job] : jobs) finish(*job, FinishReason::Cancelled, "", Clock::now(), 0);
}

void Pipeline::Impl::on_begin(std::map<uint64_t, std::shared_ptr<Job>>& jobs, std::shared_ptr<Job> job) {
    const SamplingParams& p = job->input.params;
    if (tokenizer && !job->prompt_ids.empty())
        job->detok = std::make_unique<IncrementalDetokenizer>(*tokenizer, p.skip_special_tokens, job->prompt_ids);
    job->stops = std::make_unique<StopMatcher>(p.stop);
    job->result.n_prompt_tokens = int(job->prompt_ids.size());
    jobs[job->id] = std::move(job);
}

void Pipeline::Impl::on_event(Job& job, EngineEvent& ev) {
    if (ev.n_cached_prompt > 0) job.result.n_cached_tokens = ev.n_cached_prompt;
    if (ev.kind == EngineEvent::Kind::Finish) {
        if (job.detok && ev.reason != FinishReason::Error) job.text += job.detok->flush();
        finish(job, ev.reason, ev.error, ev.time, ev.n_pauses);
        return;
    }
    if (job.result.output_ids.empty()) job.result.t_first_token = ev.time;
    mark_started(job);
    job.result.output_ids.push_back(ev.token);
    if (job.detok) {
        job.text += job.detok->push(ev.token);
        if (ev.finished) job.text += job.detok->flush();
    }
    const SamplingParams& p = job.input.params;
    StopMatcher::Scan scan{job.text.size(), false};
    if (int(job.result.output_ids.size()) < p.min_new_tokens) {
        job.stop_from = job.text.size();
    } else if (!job.stops->empty()) {
        scan = job.stops->scan(job.text, std::max(job.stop_from, job.n_emitted));
        if (ev.finished && !scan.stopped) scan.end = job.text.size();
    }
    TokenEvent te;
    te.id = ev.token;
    te.logprob = ev.logprob;
    te.top = std::move(ev.top);
    te.time = ev.time;
    te.text = job.text.substr(job.n_emitted, scan.end - job.n_emitted);
    job.n_emitted = scan.end;
    if (job.sink.on_token) job.sink.on_token(te);
    if (scan.stopped) {
        job.text.resize(scan.end);
        job.control->stop_requested = true;
        finish(job, FinishReason::Stop, "", ev.time, ev.n_pauses);
    } else if (ev.finished) {
        finish(job, ev.reason, "", ev.time, ev.n_pauses);
    }
}

void Pipeline::Impl::finish(Job& job, FinishReason reason, const std::string& error, Clock::time_point t,
                            int n_pauses) {
    mark_started(job);
    RequestResult& r = job.result;
    r.finish_reason = reason;
    r.error = error;
    r.text = job.text;
    r.n_pauses = n_pauses;
    r.t_finish = t == Clock::time_point{} ? Clock::now() : t;
    if (r.t_first_token == Clock::time_point{}) r.t_first_token = r.t_finish;
    if (job.sink.on_finish) job.sink.on_finish(r);
}

}  // namespace lightllm
