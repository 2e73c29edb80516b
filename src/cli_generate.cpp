// `lightllm generate`: Generate text from prompts (a prompt, stdin lines or JSON Lines).
#include "cli.h"

namespace lightllm {

void add_generate_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("generate", "Generate text from prompts (a prompt, stdin lines or JSON Lines)");
    cmd->callback([&exit_code] { exit_code = not_implemented("generate"); });
}

}  // namespace lightllm
