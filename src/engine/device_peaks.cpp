#include "device_peaks.h"
#include "backend.h"
#include <algorithm>
#include <chrono>
#include <exception>

namespace lightllm {

namespace {

using Clock = std::chrono::steady_clock;

// Seconds per call of `op`: the best of 3 batches of `reps` calls queued
// back to back, after one untimed call (first-use GEMM tuning, clocks
// ramping up). A peak is the rate the device can reach, so the best batch.
template <typename F>
double seconds_per_call(Backend& be, int reps, F&& op) {
    op();
    be.synchronize();
    double best = 0.0;
    for (int batch = 0; batch < 3; ++batch) {
        const Clock::time_point t0 = Clock::now();
        for (int i = 0; i < reps; ++i) op();
        be.synchronize();
        const double t = std::chrono::duration<double>(Clock::now() - t0).count() / reps;
        best = batch == 0 ? t : std::min(best, t);
    }
    return best;
}

}  // namespace

DevicePeaks measure_device_peaks(Backend& be) {
    DevicePeaks p;
    if (be.device() != Device::CUDA) return p;
    // 8192^3: 1.1 TFLOP per call, far from launch-bound; 3 x 128 MiB in 16 bits.
    constexpr int64_t n = 8192;
    // 256 Mi floats each way: 2 GiB moved per call, well past any L2.
    constexpr int64_t n_copy = int64_t(1) << 28;
    Tensor x, w, y, src, dst;
    auto release = [&] {
        for (Tensor* t : {&x, &w, &y, &src, &dst})
            if (!t->empty()) be.free(*t);
    };
    try {
        const DType dt = be.compute_dtype();
        x = be.alloc(dt, {n, n});
        w = be.alloc(dt, {n, n});
        y = be.alloc(dt, {n, n});
        be.fill_random(x, 1, 1.0f);
        be.fill_random(w, 2, 0.02f);
        const Tensor no_bias;
        const double t_gemm = seconds_per_call(be, 5, [&] { be.linear(x, w, no_bias, y); });
        p.matmul_tflops = 2.0 * double(n) * double(n) * double(n) / t_gemm * 1e-12;
        for (Tensor* t : {&x, &w, &y}) be.free(*t);

        src = be.alloc(DType::F32, {n_copy});
        dst = be.alloc(DType::F32, {n_copy});
        be.fill_random(src, 3, 1.0f);
        const double t_copy = seconds_per_call(be, 5, [&] { be.to_f32(src, dst); });
        p.bandwidth_gbs = 2.0 * double(src.nbytes()) / t_copy * 1e-9;
        p.source = "measured";
    } catch (const std::exception&) {
        p = DevicePeaks{};
    }
    release();
    return p;
}

}  // namespace lightllm
