// Answering one generation request over HTTP (the server's half of a
// GenerationCall): submit its choices, wait for the first event, then write
// the rest from a chunked content provider.
//  - The first event is awaited before the status line goes out, so a prompt
//    the pipeline rejects (too long, no tokenizer, ...) is still a 400.
//  - The writer waits on the request's events in slices of kSlice and checks
//    the connection between them, also while a non-streamed answer is still
//    being generated; a client that hangs up cancels every choice at once,
//    which frees their KV within one engine step.
//  - The whole answer is written by one provider call: httplib checks for a
//    server stop only between calls.
//  - Past the shutdown deadline the choices are cancelled; a stream then ends
//    with each choice's "abort" finish.
// Every choice's finish is counted in the metrics (also when cut), and one
// access-log line is written when the answer ends.
#pragma once
#include "generation_call.h"
#include "metrics.h"
#include <httplib.h>
#include <atomic>

namespace lightllm {

struct GenerationContext {
    const ServedModel* model = nullptr;
    ServerMetrics* metrics = nullptr;
    std::function<bool()> past_deadline;  // a shutdown's grace period is over
    std::atomic<int>* in_flight = nullptr;
    std::function<bool()> client_gone;    // the client closed the connection (checked while waiting for the first event)
    bool access_log = true;
};

// Throws ApiError (503 when overloaded, 400 when the pipeline rejects the
// request) before anything is sent; otherwise installs the writer on `res`.
void answer_generation(const GenerationContext& ctx, const httplib::Request& req, httplib::Response& res,
                       Clock::time_point start, GenerationCall call);

}  // namespace lightllm
