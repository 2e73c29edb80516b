#include "http_generation.h"
#include "request_stream.h"
#include <cstdio>

namespace lightllm {

namespace {

constexpr std::chrono::milliseconds kSlice{100};        // how often a waiting writer checks the connection
constexpr auto kCancelWait = std::chrono::seconds(5);   // for cancelled choices to report back

struct Call {
    GenerationContext ctx;
    GenerationCall g;
    std::shared_ptr<RequestStream> stream;
    std::vector<ChoiceOutput> outs;
    std::vector<StreamEvent> backlog;  // events taken while waiting for the first one
    int n_finished = 0;
    bool success = false;
    std::string remote_addr, method, path, route;
    Clock::time_point start;
};

// Applies one event to the outputs; returns the streaming text for it.
std::string apply(Call& c, StreamEvent& ev) {
    ChoiceOutput& o = c.outs[ev.choice];
    if (!ev.finished) {
        o.streamed_text += ev.token.text;
        o.tokens.push_back(std::move(ev.token));
        return c.g.stream ? c.g.on_token(ev.choice, o.tokens.back(), o) : std::string();
    }
    o.result = std::move(ev.result);
    o.finished = true;
    c.n_finished += 1;
    c.ctx.metrics->observe_choice(o);
    return c.g.stream ? c.g.on_finish(ev.choice, o) : std::string();
}

// Waits for events; cancels the request at the shutdown deadline and gives up
// kCancelWait after cancelling. Returns false when given up.
bool wait_events(Call& c, std::vector<StreamEvent>& evs, Clock::time_point& cancelled_at) {
    evs = c.stream->wait(kSlice);
    if (cancelled_at == Clock::time_point{} && c.ctx.past_deadline()) {
        c.stream->cancel();
        cancelled_at = Clock::now();
    }
    return !evs.empty() || cancelled_at == Clock::time_point{} || Clock::now() - cancelled_at < kCancelWait;
}

bool write_call(Call& c, httplib::DataSink& sink) {
    auto write = [&sink](const std::string& s) { return s.empty() || sink.write(s.data(), s.size()); };
    Clock::time_point cancelled_at{}, checked_at = Clock::now();
    std::vector<StreamEvent> evs = std::move(c.backlog);
    for (;;) {
        for (StreamEvent& ev : evs) {
            if (!write(apply(c, ev))) return false;
        }
        if (c.n_finished == static_cast<int>(c.outs.size())) break;
        if (!wait_events(c, evs, cancelled_at)) return false;
        if (Clock::now() - checked_at >= kSlice) {  // a non-streamed answer writes nothing until the end
            checked_at = Clock::now();
            if (!sink.is_writable()) return false;
        }
    }
    std::string tail;
    if (c.g.stream) {
        tail = c.g.on_end(c.outs);
    } else {
        for (const ChoiceOutput& o : c.outs)
            if (o.result.finish_reason == FinishReason::Error) return false;  // after the answer began: cut it
        tail = json_text(c.g.on_complete(c.outs));
    }
    if (!write(tail)) return false;
    c.success = true;
    sink.done();
    return true;
}

// Cancels what is left of an answer that was cut and waits (briefly) for the
// pipeline to report the cancelled choices, so the metrics count them.
void drain_cancelled(Call& c) {
    c.stream->cancel();
    auto until = Clock::now() + kCancelWait;
    while (c.n_finished < static_cast<int>(c.outs.size()) && Clock::now() < until)
        for (StreamEvent& ev : c.stream->wait(kSlice)) apply(c, ev);
}

void finish_log(const Call& c) {
    int status = c.success ? 200 : 499;  // 499: the client went away (or the answer was cut)
    c.ctx.metrics->count_http(c.route, status);
    if (!c.ctx.access_log) return;
    int64_t prompt = 0, out = 0;
    std::string reasons;
    for (const ChoiceOutput& o : c.outs) {
        prompt += o.result.n_prompt_tokens;
        out += static_cast<int64_t>(o.result.output_ids.size());
        reasons += std::string(reasons.empty() ? "" : ",") + (o.finished ? finish_reason_name(o.result.finish_reason) : "?");
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - c.start).count();
    std::fprintf(stderr, "%s\n", fmt::format("lightllm serve: {} \"{} {}\" {} {:.1f}ms prompt_tokens={} output_tokens={} finish={}",
                                             c.remote_addr, c.method, c.path, status, ms, prompt, out, reasons).c_str());
}

}  // namespace

void answer_generation(const GenerationContext& ctx, const httplib::Request& req, httplib::Response& res,
                       Clock::time_point start, GenerationCall call) {
    auto c = std::make_shared<Call>();
    c->ctx = ctx;
    c->g = std::move(call);
    c->outs.resize(c->g.inputs.size());
    c->remote_addr = req.remote_addr;
    c->method = req.method;
    c->path = req.path;
    c->route = req.matches.empty() ? req.path : std::string(req.matches[0]);
    c->start = start;
    c->stream = submit_choices(*ctx.model, c->g.inputs);
    // Wait for the first event so that a rejected prompt is still a 4xx.
    Clock::time_point cancelled_at{};
    std::vector<StreamEvent> evs;
    // A long prompt is prefilled in many steps before its first event: a
    // client that hangs up meanwhile cancels it (between two chunks).
    while (evs.empty()) {
        if (!wait_events(*c, evs, cancelled_at)) throw ApiError(503, "the server is shutting down", "", "shutting_down");
        if (evs.empty() && ctx.client_gone && ctx.client_gone()) {
            drain_cancelled(*c);
            throw ApiError(499, "the client closed the connection");
        }
    }
    for (const StreamEvent& ev : evs) {
        if (ev.finished && ev.result.finish_reason == FinishReason::Error) {
            c->stream->cancel();
            throw ApiError(400, ev.result.error.empty() ? "the request was rejected" : ev.result.error);
        }
    }
    c->backlog = std::move(evs);
    *ctx.in_flight += 1;
    auto provider = [c](size_t, httplib::DataSink& sink) {
        try {
            return write_call(*c, sink);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "lightllm serve: error while answering %s: %s\n", c->path.c_str(), e.what());
            return false;
        }
    };
    auto releaser = [c](bool) {
        if (!c->success) drain_cancelled(*c);
        *c->ctx.in_flight -= 1;
        finish_log(*c);
    };
    res.status = 200;
    res.set_chunked_content_provider(c->g.content_type, provider, releaser);
}

}  // namespace lightllm
