// Hooks between the backend factory (backend_registry.cpp, always built) and
// the CUDA backend (cuda_backend.cpp, built only with LIGHTLLM_WITH_CUDA).
#pragma once
#include "backend.h"

namespace lightllm {

#ifdef LIGHTLLM_WITH_CUDA
// Defined in src/cuda_backend.cpp.
std::unique_ptr<Backend> make_cuda_backend_impl(int device_index, DType compute_dtype);
bool cuda_device_available_impl();
#endif

}  // namespace lightllm
