#include "engine_loop.h"
#include <exception>
#include <future>

namespace lightllm {

EngineLoop::EngineLoop(EngineFactory make_engine, const RouterOptions& opts, EventSink on_events, size_t max_queued)
    : on_events_(std::move(on_events)), input_(max_queued) {
    std::promise<void> ready;
    std::future<void> started = ready.get_future();
    thread_ = std::thread([this, make_engine = std::move(make_engine), opts, ready = std::move(ready)]() mutable {
        std::unique_ptr<StepEngine> engine;
        std::unique_ptr<Router> router_owner;
        try {
            engine = make_engine();
            router_owner = std::make_unique<Router>(*engine, opts);
            std::lock_guard<std::mutex> lock(stats_mutex_);
            stats_ = router_owner->stats();  // capacity known before the constructor returns
        } catch (...) {
            router_owner.reset();
            engine.reset();
            ready.set_exception(std::current_exception());
            return;
        }
        ready.set_value();
        Router& router = *router_owner;
        std::vector<std::unique_ptr<EngineRequest>> arrived;
        std::vector<EngineEvent> events;
        auto publish = [&] {
            {
                std::lock_guard<std::mutex> lock(stats_mutex_);
                stats_ = router.stats();
            }
            if (!events.empty()) on_events_(events);
            events.clear();
        };
        publish();
        while (!stopping_.load(std::memory_order_relaxed)) {
            arrived.clear();
            if (router.idle())
                input_.wait_pop_all(arrived, std::chrono::milliseconds(100));
            else
                input_.pop_all(arrived);
            for (auto& req : arrived) router.add(std::move(req), events);
            if (!router.idle()) {
                try {
                    router.step(events, [&] {  // /metrics sees the step's requests while it runs
                        std::lock_guard<std::mutex> lock(stats_mutex_);
                        stats_ = router.stats();
                    });
                } catch (const std::exception& e) {
                    n_faults_.fetch_add(1);
                    router.finish_all(FinishReason::Error, std::string("engine failure: ") + e.what(), events);
                }
            }
            publish();
        }
        arrived.clear();
        input_.pop_all(arrived);
        for (auto& req : arrived) router.add(std::move(req), events);
        router.finish_all(FinishReason::Cancelled, "", events);
        publish();
    });
    try {
        started.get();
    } catch (...) {
        thread_.join();
        throw;
    }
}

EngineLoop::~EngineLoop() { stop(); }

bool EngineLoop::submit(std::unique_ptr<EngineRequest> req) { return input_.push(std::move(req)); }

void EngineLoop::stop() {
    stopping_.store(true, std::memory_order_relaxed);
    input_.close();
    if (thread_.joinable()) thread_.join();
}

RouterStats EngineLoop::stats() const {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    RouterStats s = stats_;
    s.n_engine_faults = n_faults_.load();
    return s;
}

}  // namespace lightllm
