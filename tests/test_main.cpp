// The test binary's main: doctest's, except that on a machine without a GPU
// the CUDA test cases (named "cuda...") are filtered out, so doctest reports
// them as skipped instead of as passed cases that checked nothing.
#define DOCTEST_CONFIG_IMPLEMENT
#include "backend.h"
#include <doctest/doctest.h>
#include <cstdio>

int main(int argc, char** argv) {
    doctest::Context context;
    if (!lightllm::cuda_device_available()) {
        context.addFilter("test-case-exclude", "cuda*");
        std::fprintf(stderr, "lightllm_tests: no CUDA device: the cuda* test cases are skipped\n");
    }
    context.applyCommandLine(argc, argv);
    return context.run();
}
