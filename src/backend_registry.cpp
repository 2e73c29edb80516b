// The backend factories declared in backend.h. The CUDA ones forward to
// cuda_backend.cpp when lightllm is built with CUDA, and report "no CUDA"
// otherwise, so callers never need an #ifdef.
#include "backend_registry.h"
#include "cpu_backend.h"

namespace lightllm {

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

#ifdef LIGHTLLM_WITH_CUDA
std::unique_ptr<Backend> make_cuda_backend(int device_index, DType compute_dtype) {
    return make_cuda_backend_impl(device_index, compute_dtype);
}
bool cuda_device_available() { return cuda_device_available_impl(); }
#else
std::unique_ptr<Backend> make_cuda_backend(int, DType) { return nullptr; }
bool cuda_device_available() { return false; }
#endif

}  // namespace lightllm
