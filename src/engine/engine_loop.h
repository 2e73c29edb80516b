// EngineLoop: the router + engine thread. It builds the engine on its own
// thread (the engine and its device state belong to that thread alone), then
// loops: take every newly submitted request without waiting, run one router
// step, hand the events to `on_events`. With nothing to do it sleeps on the
// input queue. Stopping finishes whatever is left as Cancelled.
#pragma once
#include "blocking_queue.h"
#include "router.h"
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace lightllm {

class EngineLoop {
public:
    using EngineFactory = std::function<std::unique_ptr<StepEngine>()>;
    // Called on the engine thread after every step with what happened; it
    // must not block for long (the pipeline pushes to an unbounded queue).
    using EventSink = std::function<void(std::vector<EngineEvent>&)>;

    // Starts the thread and waits until `make_engine` has run there; its
    // exception, if any, is rethrown here.
    EngineLoop(EngineFactory make_engine, const RouterOptions& opts, EventSink on_events, size_t max_queued = 0);
    ~EngineLoop();  // stops the thread; requests left finish as Cancelled
    EngineLoop(const EngineLoop&) = delete;
    EngineLoop& operator=(const EngineLoop&) = delete;

    // Waits only while the input queue (q1) is full; false after stop().
    bool submit(std::unique_ptr<EngineRequest> req);
    void stop();
    // A copy of the router's numbers as of the last step, with the number
    // of steps that threw (n_engine_faults).
    RouterStats stats() const;

private:
    EventSink on_events_;
    BlockingQueue<std::unique_ptr<EngineRequest>> input_;
    std::atomic<bool> stopping_{false};
    mutable std::mutex stats_mutex_;
    RouterStats stats_;
    std::atomic<int64_t> n_faults_{0};
    std::thread thread_;
};

}  // namespace lightllm
