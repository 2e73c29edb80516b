// A tensor-parallel worker (rank > 0): loads its shard, then runs every step
// rank 0 sends until rank 0 says stop. A failure to load goes to rank 0,
// which stops every rank with the message.
#include "check.h"
#include "model_runner.h"
#include "tp_group.h"
#include "tp_launch.h"
#include <csignal>

namespace lightllm {

int run_tp_worker(const EngineOptions& engine) {
    TpGroup& g = *engine.tp;
    sigset_t none;  // serve blocks SIGINT/SIGTERM for its watcher thread; a worker has none
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    std::unique_ptr<ModelRunner> runner;
    try {
        runner = std::make_unique<ModelRunner>(engine);
    } catch (const Error& e) {
        const std::string msg = fmt::format("failed to load: {}", e.what());
        std::fprintf(stderr, "lightllm: error: tensor parallel rank %d %s\n", g.rank(), msg.c_str());
        try {
            g.report_ready(msg);
        } catch (const Error&) {
        }
        return 1;
    }
    runner->run_tp_worker_steps();
    return 0;
}

}  // namespace lightllm
