// CUDA_CHECK / CUBLAS_CHECK: abort with file and line when a CUDA runtime or
// cuBLAS call fails (these are invariants: a failing call is a lightllm bug
// or a broken device, never user input). Usable from .cpp and .cu files.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>

#define CUDA_CHECK(expr)                                                                    \
    do {                                                                                    \
        cudaError_t err_ = (expr);                                                          \
        if (err_ != cudaSuccess) {                                                          \
            std::fprintf(stderr, "lightllm: CUDA error at %s:%d: %s: %s\n", __FILE__, __LINE__, \
                         #expr, cudaGetErrorString(err_));                                  \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)

#define CUBLAS_CHECK(expr)                                                                  \
    do {                                                                                    \
        cublasStatus_t st_ = (expr);                                                        \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                                 \
            std::fprintf(stderr, "lightllm: cuBLAS error at %s:%d: %s: %s\n", __FILE__, __LINE__, \
                         #expr, cublasGetStatusString(st_));                                \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)

// After a kernel launch: catches bad launch configurations at once.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
