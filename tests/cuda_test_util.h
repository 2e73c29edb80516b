// Helpers for the CUDA-vs-CPU tests: the same random values (rounded to the
// CUDA dtype first, so both backends see identical inputs) placed on both
// backends, downloads to fp32, and the error measures the tolerances use.
#pragma once
#include "backend.h"
#include "half_convert.h"
#include <doctest/doctest.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <cstring>
#include <memory>
#include <random>
#include <vector>
#ifdef LIGHTLLM_WITH_CUDA
#include "cuda_backend.h"
#endif

namespace lightllm::testing {

// Skips the calling test case (with a message) when no GPU is present.
#define LL_REQUIRE_GPU()                                                     \
    do {                                                                     \
        if (!::lightllm::cuda_device_available()) {                          \
            MESSAGE("no CUDA device available: skipping this CUDA test");    \
            return;                                                          \
        }                                                                    \
    } while (0)

inline float round_to(DType dt, float x) {
    switch (dt) {
        case DType::F16: return f16_to_f32(f32_to_f16(x));
        case DType::BF16: return bf16_to_f32(f32_to_bf16(x));
        default: return x;
    }
}

inline std::vector<float> to_floats(DType dt, const std::vector<uint8_t>& raw, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        if (dt == DType::F32) {
            std::memcpy(&out[size_t(i)], raw.data() + i * 4, 4);
        } else {
            uint16_t h;
            std::memcpy(&h, raw.data() + i * 2, 2);
            out[size_t(i)] = dt == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    }
    return out;
}

inline std::vector<float> download_f32(Backend& be, const Tensor& t) {
    std::vector<uint8_t> raw(t.nbytes());
    be.download(t, raw.data());
    return to_floats(t.dtype, raw, t.numel());
}

template <typename I> std::vector<I> download_raw(Backend& be, const Tensor& t) {
    std::vector<I> out(static_cast<size_t>(t.numel()));
    be.download(t, out.data());
    return out;
}

// A tensor with the same values on the CPU (F32) and the GPU (dtype).
struct Twin {
    Tensor c, g;
    std::vector<float> host;
};

struct Backends {
    std::unique_ptr<Backend> cpu = make_cpu_backend();
    std::unique_ptr<Backend> gpu;
    DType dt;
    std::mt19937 rng;
    std::vector<Tensor> owned_c, owned_g;

    explicit Backends(DType dtype, uint32_t seed = 1234) : gpu(make_cuda_backend(0, dtype)), dt(dtype), rng(seed) {}
    ~Backends() {
        for (Tensor& t : owned_c) cpu->free(t);
        for (Tensor& t : owned_g) gpu->free(t);
    }

    Twin twin(int64_t rows, int64_t cols, float scale = 1.0f, float offset = 0.0f) {
        std::normal_distribution<float> nd(0.0f, 1.0f);
        Twin t;
        t.host.resize(size_t(rows * cols));
        for (float& x : t.host) x = round_to(dt, offset + scale * nd(rng));
        t.c = owned(cpu->alloc(DType::F32, {rows, cols}), false);
        t.g = owned(gpu->alloc(dt, {rows, cols}), true);
        cpu->upload(t.c, t.host.data(), DType::F32);
        gpu->upload(t.g, t.host.data(), DType::F32);
        return t;
    }
    // Output buffers (GPU ones poisoned with NaN-producing bytes).
    Twin outputs(int64_t rows, int64_t cols, DType gpu_dtype) {
        Twin t;
        t.c = owned(cpu->alloc(DType::F32, {rows, cols}), false);
        t.g = owned(gpu->alloc(gpu_dtype, {rows, cols}), true);
        std::vector<uint8_t> poison(t.g.nbytes(), 0xFF);
        gpu->upload(t.g, poison.data(), gpu_dtype);
        return t;
    }
    Twin outputs(int64_t rows, int64_t cols) { return outputs(rows, cols, dt); }
    // I32 data, identical on both.
    Twin ints(const std::vector<int32_t>& v) {
        Twin t;
        int64_t n = int64_t(v.size());
        t.c = owned(cpu->alloc(DType::I32, {std::max<int64_t>(n, 1)}), false);
        t.g = owned(gpu->alloc(DType::I32, {std::max<int64_t>(n, 1)}), true);
        t.c.shape[0] = t.g.shape[0] = n;
        if (n > 0) {
            cpu->upload(t.c, v.data(), DType::I32);
            gpu->upload(t.g, v.data(), DType::I32);
        }
        return t;
    }
    Tensor owned(Tensor t, bool on_gpu) {
        (on_gpu ? owned_g : owned_c).push_back(t);
        return t;
    }
};

struct ErrorStats {
    double rel_l2 = 0.0;   // ||a - b|| / ||b||
    double max_abs = 0.0;
    bool finite = true;
};

inline ErrorStats compare(const std::vector<float>& got, const std::vector<float>& want) {
    ErrorStats e;
    double num = 0.0, den = 0.0;
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        if (!std::isfinite(got[i])) e.finite = false;
        double d = double(got[i]) - double(want[i]);
        num += d * d;
        den += double(want[i]) * double(want[i]);
        e.max_abs = std::max(e.max_abs, std::fabs(d));
    }
    e.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return e;
}

// Relative-L2 tolerance for results rounded once to dtype after fp32 math.
inline double tol_elementwise(DType dt) { return dt == DType::BF16 ? 6e-3 : 1e-3; }
// For results of longer fp32-accumulated chains (GEMM, attention with P rounded to dtype).
inline double tol_reduction(DType dt) { return dt == DType::BF16 ? 1.5e-2 : 2.5e-3; }

// The CUDA backend's device argmax (and log-softmax at it); false when `be`
// is not a CUDA backend.
inline bool gpu_argmax(Backend& be, const Tensor& logits, Tensor& ids, Tensor& logprobs) {
#ifdef LIGHTLLM_WITH_CUDA
    if (auto* cb = dynamic_cast<CudaBackend*>(&be)) {
        cb->argmax_rows(logits, ids, &logprobs);
        return true;
    }
#endif
    return false;
}

// With LIGHTLLM_PRINT_ERRORS=1 every comparison prints its measured error
// (bench/device_run.sh collects them).
inline void print_error(const char* file, int line, const ErrorStats& e, double tol) {
    const char* on = std::getenv("LIGHTLLM_PRINT_ERRORS");
    if (on && std::string(on) == "1") std::printf("close-check %s:%d rel_l2=%.3e max_abs=%.3e tol=%.1e\n", file, line, e.rel_l2, e.max_abs, tol);
}

#define LL_CHECK_CLOSE(got, want, tol)                                                               \
    do {                                                                                             \
        ::lightllm::testing::ErrorStats e_ = ::lightllm::testing::compare((got), (want));            \
        ::lightllm::testing::print_error(__FILE__, __LINE__, e_, (tol));                             \
        INFO("rel_l2 = " << e_.rel_l2 << ", max_abs = " << e_.max_abs << ", tol = " << (tol));       \
        CHECK(e_.finite);                                                                            \
        CHECK(e_.rel_l2 <= (tol));                                                                   \
    } while (0)

}  // namespace lightllm::testing
