// The device's peak rates, for bench's roofline (roofline.h): the matrix
// rate a large GEMM reaches and the bandwidth of a large device-to-device
// copy, each measured once through the backend's own ops (linear, and to_f32
// on an f32 tensor, which is a plain copy) in a few hundred ms at start-up.
#pragma once
#include <string>

namespace lightllm {

class Backend;

struct DevicePeaks {
    double matmul_tflops = 0.0;  // dense GEMM in the compute dtype, TFLOP/s; 0: unknown
    double bandwidth_gbs = 0.0;  // copy: (bytes read + bytes written) / time, GB/s; 0: unknown
    std::string source;          // "measured", "flags", or "" when unknown
};

// CUDA backends only (a CPU backend returns zeros: a GEMM of this size would
// take seconds there). A failed allocation (the KV cache took the memory) also
// leaves zeros.
DevicePeaks measure_device_peaks(Backend& backend);

}  // namespace lightllm
