// Kernel launches with programmatic dependent launch (PDL, sm_90+).
//
// A decode step is a chain of ~300 short kernels; between two of them the GPU
// normally drains the first grid completely before the second starts, and
// the second then ramps up from no loads in flight. With PDL the next kernel
// of the chain is launched while the previous one finishes: its blocks may
// start early, do work that depends on nothing before them (the weight GEMVs
// issue their first weight loads), then wait in pdl_wait() until the previous
// grid has completed and its writes are visible.
//
// Rules for a kernel launched with launch_pdl():
//  - it calls pdl_wait() before it reads anything an earlier kernel wrote and
//    before it writes anything (an earlier kernel may still read it);
//  - it calls pdl_launch_dependents() once it no longer needs its block slots
//    for itself (we call it right after pdl_wait(): the next grid is placed
//    only after every block of this one has started).
// Waiting is transitive, so ordering with kernels launched the plain way
// (cuBLAS, copies) is unchanged. On a Stream without pdl (GPUs before sm_90,
// --no-pdl, or a plain cudaStream_t), launch_pdl() is a plain launch.
#pragma once
#include "cuda_check.h"
#include "kernels.h"
#include <utility>

namespace lightllm::gpu {

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// kernel<<<grid, block, smem, stream>>>(args...), with the PDL attribute when enabled.
template <typename... Params, typename... Args>
void launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, Stream stream,
                Args&&... args) {
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream.stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = stream.pdl ? 1 : 0;
    CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

}  // namespace lightllm::gpu
