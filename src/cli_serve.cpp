// `lightllm serve`: Serve an HTTP endpoint (LightLLM and OpenAI APIs).
#include "cli.h"

namespace lightllm {

void add_serve_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("serve", "Serve an HTTP endpoint (LightLLM and OpenAI APIs)");
    cmd->callback([&exit_code] { exit_code = not_implemented("serve"); });
}

}  // namespace lightllm
