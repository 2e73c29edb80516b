// `lightllm bench`: Measure throughput and latency on a workload.
#include "cli.h"

namespace lightllm {

void add_bench_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("bench", "Measure throughput and latency on a workload");
    cmd->callback([&exit_code] { exit_code = not_implemented("bench"); });
}

}  // namespace lightllm
