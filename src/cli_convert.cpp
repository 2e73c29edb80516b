// `lightllm convert`: Convert a GGUF model into a Hugging Face directory.
#include "cli.h"

namespace lightllm {

void add_convert_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("convert", "Convert a GGUF model into a Hugging Face directory");
    cmd->callback([&exit_code] { exit_code = not_implemented("convert"); });
}

}  // namespace lightllm
