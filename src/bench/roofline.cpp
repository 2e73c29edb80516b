#include "roofline.h"
#include <fmt/format.h>
#include <algorithm>

namespace lightllm {

ModelCost model_cost(const ModelConfig& c, DType weight_dtype) {
    ModelCost m;
    const double e = c.n_embd, q = double(c.n_head) * c.head_dim, kv = double(c.n_kv_head) * c.head_dim;
    const double mlp_mats = c.arch == Arch::Llama ? 3.0 : 2.0;
    m.layer_params = double(c.n_layer) * (e * q + 2.0 * e * kv + q * e + mlp_mats * e * c.n_ff);
    m.head_params = e * double(c.n_vocab);
    m.n_layer = c.n_layer;
    m.n_head = c.n_head;
    m.head_dim = c.head_dim;
    m.bytes_per_param = double(dtype_size(weight_dtype));
    return m;
}

DevicePeaks merge_peaks(const DevicePeaks& flags, const DevicePeaks& measured) {
    const bool tf = flags.matmul_tflops > 0.0, bw = flags.bandwidth_gbs > 0.0;
    if (!tf && !bw) return measured;
    DevicePeaks p = measured;
    if (tf) p.matmul_tflops = flags.matmul_tflops;
    if (bw) p.bandwidth_gbs = flags.bandwidth_gbs;
    p.source = (tf && bw) || measured.source.empty() ? "flags" : "flags+measured";
    return p;
}

Roofline compute_roofline(const ModelCost& cost, const std::vector<RequestRecord>& records, double duration_s,
                          const DevicePeaks& peaks) {
    Roofline r;
    r.peaks = peaks;
    double flops = 0.0;
    const double attn = 4.0 * cost.n_layer * double(cost.n_head) * cost.head_dim;
    for (const RequestRecord& rec : records) {
        if (!rec.ok) continue;
        const double fed = std::max(0, rec.n_prompt + rec.n_output - 1);
        flops += 2.0 * cost.layer_params * fed + 2.0 * cost.head_params * rec.n_output + attn * fed * (fed + 1.0) / 2.0;
        r.longest_output = std::max(r.longest_output, rec.n_output);
    }
    r.model_tflop = flops * 1e-12;
    r.weight_gb = (cost.layer_params + cost.head_params) * cost.bytes_per_param * 1e-9;
    if (peaks.matmul_tflops <= 0.0 || peaks.bandwidth_gbs <= 0.0) return r;
    r.valid = true;
    r.compute_s = r.model_tflop / peaks.matmul_tflops;
    r.bandwidth_s = std::max(0, r.longest_output - 1) * r.weight_gb / peaks.bandwidth_gbs;
    r.bound = r.compute_s >= r.bandwidth_s ? "compute" : "bandwidth";
    r.limit_s = std::max(r.compute_s, r.bandwidth_s);
    r.achieved_fraction = duration_s > 0.0 ? r.limit_s / duration_s : 0.0;
    int64_t n_out = 0;
    for (const RequestRecord& rec : records)
        if (rec.ok) n_out += rec.n_output;
    r.limit_output_throughput = r.limit_s > 0.0 ? double(n_out) / r.limit_s : 0.0;
    return r;
}

std::string format_roofline(const Roofline& r) {
    std::string s = fmt::format("{:-^52}\n", " Limit (roofline) ");
    auto line = [&](const std::string& k, const std::string& v) { s += fmt::format("{:<36}{:>16}\n", k, v); };
    line("Model compute (TFLOP):", fmt::format("{:.4g}", r.model_tflop));
    line("Longest request (output tokens):", std::to_string(r.longest_output));
    if (!r.valid) {
        line("Peak rates:", "unknown");
        s += "  (measured on CUDA; or give --peak-tflops and --peak-bandwidth)\n";
        return s;
    }
    line(fmt::format("Peak matrix rate (TFLOP/s, {}):", r.peaks.source), fmt::format("{:.4g}", r.peaks.matmul_tflops));
    line(fmt::format("Peak bandwidth (GB/s, {}):", r.peaks.source), fmt::format("{:.4g}", r.peaks.bandwidth_gbs));
    line("Compute-bound time (s):", fmt::format("{:.2f}", r.compute_s));
    line("Bandwidth-bound time, longest (s):", fmt::format("{:.2f}", r.bandwidth_s));
    line("Limit output throughput (tok/s):", fmt::format("{:.2f}", r.limit_output_throughput));
    line(fmt::format("Achieved fraction ({}-bound):", r.bound), fmt::format("{:.1f}%", 100.0 * r.achieved_fraction));
    return s;
}

nlohmann::json roofline_json(const Roofline& r) {
    nlohmann::json j = {{"model_tflop", r.model_tflop}, {"longest_output", r.longest_output}, {"weight_gb", r.weight_gb}};
    if (!r.valid) {
        j["peaks"] = nullptr;
        return j;
    }
    j["peaks"] = {{"matmul_tflops", r.peaks.matmul_tflops}, {"bandwidth_gbs", r.peaks.bandwidth_gbs},
                  {"source", r.peaks.source}};
    j["compute_s"] = r.compute_s;
    j["bandwidth_s"] = r.bandwidth_s;
    j["limit_s"] = r.limit_s;
    j["bound"] = r.bound;
    j["achieved_fraction"] = r.achieved_fraction;
    j["limit_output_throughput"] = r.limit_output_throughput;
    return j;
}

}  // namespace lightllm
