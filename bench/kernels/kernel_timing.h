// What the kernel micro-benchmarks share: one result as a JSON line on stdout
// ("bench {...}") and appended to $LIGHTLLM_BENCH_OUT, and the median time of
// a launch sequence between CUDA events.
#pragma once
#include "cuda_check.h"
#include <fmt/format.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>
#include <cuda_runtime.h>

namespace lightllm::testing {

inline void report(const std::string& name, double ms, const std::string& extra) {
    std::string line = fmt::format("{{\"name\": \"{}\", \"ms\": {:.4f}{}}}", name, ms, extra);
    fmt::print("bench {}\n", line);
    if (const char* path = std::getenv("LIGHTLLM_BENCH_OUT")) {
        if (FILE* f = std::fopen(path, "a")) {
            std::fprintf(f, "%s\n", line.c_str());
            std::fclose(f);
        }
    }
    std::fflush(stdout);
}

// Median milliseconds of `fn` over `reps` runs, timed with events on `s`.
inline double time_ms(cudaStream_t s, const std::function<void()>& fn, int reps = 20, int warmup = 3) {
    for (int i = 0; i < warmup; ++i) fn();
    cudaEvent_t a, b;
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
    std::vector<float> t;
    for (int i = 0; i < reps; ++i) {
        CUDA_CHECK(cudaEventRecord(a, s));
        fn();
        CUDA_CHECK(cudaEventRecord(b, s));
        CUDA_CHECK(cudaEventSynchronize(b));
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace lightllm::testing
