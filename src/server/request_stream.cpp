#include "request_stream.h"
#include <ctime>

namespace lightllm {

std::string ChoiceOutput::unstreamed_tail() const {
    const std::string& all = result.text;
    if (all.size() > streamed_text.size() && all.compare(0, streamed_text.size(), streamed_text) == 0)
        return all.substr(streamed_text.size());
    return "";
}

std::string json_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int64_t unix_time_now() { return static_cast<int64_t>(std::time(nullptr)); }

RequestSink RequestStream::sink(int choice) {
    auto self = shared_from_this();
    RequestSink s;
    s.on_token = [self, choice](const TokenEvent& t) {
        StreamEvent ev;
        ev.choice = choice;
        ev.token = t;
        self->push(std::move(ev));
    };
    s.on_finish = [self, choice](const RequestResult& r) {
        StreamEvent ev;
        ev.choice = choice;
        ev.finished = true;
        ev.result = r;
        self->push(std::move(ev));
    };
    return s;
}

void RequestStream::push(StreamEvent ev) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(std::move(ev));
    }
    cv_.notify_all();
}

void RequestStream::add_handle(std::shared_ptr<RequestHandle> h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) h->cancel();
    handles_.push_back(std::move(h));
}

std::vector<StreamEvent> RequestStream::wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !events_.empty(); });
    std::vector<StreamEvent> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    return out;
}

void RequestStream::cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    for (auto& h : handles_) h->cancel();
}

bool RequestStream::cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
}

std::shared_ptr<RequestStream> submit_choices(const ServedModel& model, const std::vector<RequestInput>& inputs) {
    auto stream = std::make_shared<RequestStream>(static_cast<int>(inputs.size()));
    for (size_t i = 0; i < inputs.size(); ++i) {
        try {
            stream->add_handle(model.submit(inputs[i], stream->sink(static_cast<int>(i))));
        } catch (const Overloaded& e) {
            stream->cancel();
            throw ApiError(503, fmt::format("the server is overloaded ({}); retry later", e.what()), "", "overloaded");
        }
    }
    return stream;
}

}  // namespace lightllm
