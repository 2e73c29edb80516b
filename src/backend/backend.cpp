// The backend factories of backend.h that every build has. The CUDA ones are
// defined by the CUDA backend (cuda/cuda_backend.cpp), or by no_cuda.cpp in a
// build without CUDA, so callers never need an #ifdef.
#include "backend.h"
#include "cpu_backend.h"
#include "decode_accelerator.h"

namespace lightllm {

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

std::unique_ptr<DecodeAccelerator> Backend::make_decode_accelerator(int) { return nullptr; }

}  // namespace lightllm
