// The CLI as a user sees it: help, version, and clear errors.
#include "test_util.h"
#include <doctest/doctest.h>

TEST_CASE("cli: --help lists the four subcommands") {
    auto r = run_lightllm("--help");
    CHECK(r.exit_code == 0);
    for (const char* sub : {"generate", "bench", "serve", "convert"}) CHECK(r.out.find(sub) != std::string::npos);
}

TEST_CASE("cli: --version prints the version") {
    auto r = run_lightllm("--version");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("lightllm 0.") != std::string::npos);
}

TEST_CASE("cli: an unknown subcommand is an error") {
    auto r = run_lightllm("frobnicate");
    CHECK(r.exit_code != 0);
}
