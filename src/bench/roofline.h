// The limit next to a serving run's figure: how fast the hardware could have
// done the same work, from the model's shape and the device's peak rates.
//
//   compute-bound time   = model FLOPs of the run / peak matrix rate, where
//       model FLOPs = sum over requests of
//           2 * P_layers * T                      (every token fed: T = prompt + output - 1)
//         + 2 * P_head * n_output                 (logits of every sampled position)
//         + 4 * n_layer * n_head * head_dim * T (T + 1) / 2   (causal attention: QK^T and PV)
//       P_layers: the matrix weights of the transformer layers, P_head: the
//       output projection (n_embd x n_vocab);
//   bandwidth-bound time = decode steps of the longest request (its output - 1)
//       * bytes of every matrix weight (P_layers + P_head, compute dtype)
//       / peak bandwidth: each step of it must read all weights at least once;
//   limit = the larger of the two; achieved fraction = limit / measured duration.
// Peak bandwidth is a copy's (read + write bytes over time), the rate a
// streaming read reaches on the same memory.
#pragma once
#include "bench_report.h"
#include "device_peaks.h"
#include "model_config.h"
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lightllm {

struct ModelCost {
    double layer_params = 0.0;  // P_layers
    double head_params = 0.0;   // P_head
    int n_layer = 0, n_head = 0, head_dim = 0;
    double bytes_per_param = 2.0;
};

// From the architecture's shape: Q, K, V, O per layer, the MLP (three
// matrices for gated SwiGLU, two for BLOOM / StarCoder), and the output
// projection; `weight_dtype` gives the bytes per weight.
ModelCost model_cost(const ModelConfig& cfg, DType weight_dtype);

struct Roofline {
    bool valid = false;         // false: peak rates unknown
    DevicePeaks peaks;
    double model_tflop = 0.0;   // the run's model FLOPs, in TFLOP
    double compute_s = 0.0;
    int longest_output = 0;     // output tokens of the longest request
    double weight_gb = 0.0;     // bytes read per decode step, GB
    double bandwidth_s = 0.0;
    double limit_s = 0.0;
    std::string bound;          // "compute" or "bandwidth"
    double achieved_fraction = 0.0;      // limit_s / duration_s
    double limit_output_throughput = 0.0;  // output tokens / limit_s
};

// Peak rates given as flags (> 0) win over measured ones, each on its own.
DevicePeaks merge_peaks(const DevicePeaks& flags, const DevicePeaks& measured);

// Over the completed requests of `records` (their prompt and output tokens).
Roofline compute_roofline(const ModelCost& cost, const std::vector<RequestRecord>& records, double duration_s,
                          const DevicePeaks& peaks);

std::string format_roofline(const Roofline& r);
nlohmann::json roofline_json(const Roofline& r);

}  // namespace lightllm
