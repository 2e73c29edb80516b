// RequestStream: the events of one HTTP request's choices in flight in the
// pipeline. The pipeline's detokenizer thread pushes into it through the
// sinks it hands out; the HTTP worker thread waits on it with a timeout (so
// it can notice a closed connection or a shutdown between events) and
// cancels every choice at once when the client goes away.
#pragma once
#include "generation_call.h"
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

namespace lightllm {

struct StreamEvent {
    int choice = 0;
    bool finished = false;
    TokenEvent token;       // when !finished
    RequestResult result;   // when finished
};

class RequestStream : public std::enable_shared_from_this<RequestStream> {
public:
    explicit RequestStream(int n_choices) : n_choices_(n_choices) {}

    // A sink for choice `choice`; it keeps this stream alive.
    RequestSink sink(int choice);
    void add_handle(std::shared_ptr<RequestHandle> h);

    // Events ready now, or after waiting up to `timeout` for the first one.
    std::vector<StreamEvent> wait(std::chrono::milliseconds timeout);
    void cancel();
    bool cancelled() const;
    int n_choices() const { return n_choices_; }

private:
    void push(StreamEvent ev);

    const int n_choices_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<StreamEvent> events_;
    std::vector<std::shared_ptr<RequestHandle>> handles_;
    bool cancelled_ = false;
};

// Submits every input of `call` (one per choice). When the pipeline is
// overloaded, cancels the choices already submitted and throws ApiError 503.
std::shared_ptr<RequestStream> submit_choices(const ServedModel& model, const std::vector<RequestInput>& inputs);

}  // namespace lightllm
