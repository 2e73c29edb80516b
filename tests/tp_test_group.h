// Runs a ModelRunner as rank 0 of an in-process tensor-parallel group whose
// other ranks are threads of this process, each with its own ModelRunner and
// CPU backend, joined over loopback TCP exactly as separate processes are.
#pragma once
#include "check.h"
#include "model_runner.h"
#include "tp_group.h"
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace lightllm::testing {

class TpTestGroup {
public:
    TpTestGroup(const EngineOptions& opts, int world) : errors_(static_cast<size_t>(world)) {
        auto listener = std::make_unique<TcpListener>("127.0.0.1", 0);
        const int port = listener->port();
        auto place = [&](int r) {
            TpPlace p;
            p.rank = r;
            p.world_size = world;
            p.master_port = port;
            p.timeout_s = 30.0;
            return p;
        };
        for (int r = 1; r < world; ++r) {
            workers_.emplace_back([this, opts, r, p = place(r)] {
                try {
                    EngineOptions o = opts;
                    o.tp = TpGroup::form(p, "test", nullptr);
                    ModelRunner runner(o);
                    runner.run_tp_worker_steps();
                } catch (const std::exception& e) {
                    errors_[size_t(r)] = e.what();
                }
            });
        }
        EngineOptions o = opts;
        group_ = TpGroup::form(place(0), "test", std::move(listener));
        o.tp = group_;
        runner_ = std::make_unique<ModelRunner>(o);
    }
    ~TpTestGroup() {
        runner_.reset();
        if (group_) group_->stop();
        for (auto& t : workers_) t.join();
    }
    ModelRunner& runner() { return *runner_; }
    // The workers' errors so far (empty strings: none); complete after stop().
    void stop_and_join() {
        runner_.reset();
        group_->stop();
        for (auto& t : workers_) t.join();
        workers_.clear();
    }
    const std::vector<std::string>& errors() const { return errors_; }

private:
    std::vector<std::string> errors_;
    std::vector<std::thread> workers_;
    std::shared_ptr<TpGroup> group_;
    std::unique_ptr<ModelRunner> runner_;
};

}  // namespace lightllm::testing
