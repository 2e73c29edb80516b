// The subcommands of the `lightllm` executable. Each lives in its own file
// (cli_generate.cpp, cli_bench.cpp, cli_serve.cpp, cli_convert.cpp) and
// registers its options and a callback that stores the exit code.
#pragma once
#include <CLI/CLI.hpp>

namespace lightllm {

void add_generate_command(CLI::App& root, int& exit_code);
void add_bench_command(CLI::App& root, int& exit_code);
void add_serve_command(CLI::App& root, int& exit_code);
void add_convert_command(CLI::App& root, int& exit_code);

}  // namespace lightllm
