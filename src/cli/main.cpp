// lightllm: parse the command line and dispatch to a subcommand.
#include "check.h"
#include "git_commit.h"
#include "cli.h"
#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"lightllm: run and serve large language models, fast"};
    app.set_version_flag("--version", std::string("lightllm ") + LIGHTLLM_VERSION + " (" + LIGHTLLM_GIT_COMMIT + ")");
    app.require_subcommand(1);
    int exit_code = 0;
    lightllm::add_generate_command(app, exit_code);
    lightllm::add_bench_command(app, exit_code);
    lightllm::add_serve_command(app, exit_code);
    lightllm::add_convert_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const lightllm::Error& e) {
        std::fprintf(stderr, "lightllm: error: %s\n", e.what());
        return 1;
    }
    return exit_code;
}
