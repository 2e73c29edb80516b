// The CUDA factories of backend.h and communicator.h in a build without the CUDA backend
// (compiled only when LIGHTLLM_CUDA is off).
#include "backend.h"
#include "communicator.h"

namespace lightllm {

std::unique_ptr<Backend> make_cuda_backend(int, DType, const CudaOptions&) { return nullptr; }
bool cuda_device_available() { return false; }
std::unique_ptr<Communicator> make_nccl_communicator(TpGroup&, Backend&) { return nullptr; }

}  // namespace lightllm
