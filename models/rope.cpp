// RoPE inverse frequencies; the formulas are in rope.h.
#include "rope.h"
#include "check.h"
#include <algorithm>
#include <cmath>

namespace lightllm {

namespace {

std::vector<double> base_inv_freq(double theta, int dim) {
    std::vector<double> f(size_t(dim / 2));
    for (int j = 0; j < dim / 2; ++j) f[size_t(j)] = 1.0 / std::pow(theta, double(2 * j) / double(dim));
    return f;
}

}  // namespace

std::vector<float> rope_inv_freq(const ModelConfig& cfg, int64_t seq_len) {
    const int dim = cfg.rope_dim;
    if (dim <= 0) return {};
    const RopeScaling& rs = cfg.rope_scaling;
    std::vector<double> f;
    switch (rs.type) {
        case RopeScalingType::None: f = base_inv_freq(cfg.rope_theta, dim); break;
        case RopeScalingType::Linear:
            f = base_inv_freq(cfg.rope_theta, dim);
            for (double& x : f) x /= rs.factor;
            break;
        case RopeScalingType::Dynamic: {
            const double max_pos = cfg.max_position;
            const double len = std::max<double>(double(seq_len), max_pos);
            const double theta = cfg.rope_theta * std::pow(rs.factor * len / max_pos - (rs.factor - 1.0),
                                                           double(dim) / double(dim - 2));
            f = base_inv_freq(theta, dim);
            break;
        }
        case RopeScalingType::Llama3: {
            f = base_inv_freq(cfg.rope_theta, dim);
            const double orig = rs.original_max_position > 0 ? rs.original_max_position : cfg.max_position;
            const double low_wavelen = orig / rs.low_freq_factor;
            const double high_wavelen = orig / rs.high_freq_factor;
            for (double& x : f) {
                const double wavelen = 2.0 * M_PI / x;
                if (wavelen > low_wavelen) {
                    x = x / rs.factor;
                } else if (wavelen >= high_wavelen) {
                    const double smooth =
                        (orig / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
                    x = (1.0 - smooth) * x / rs.factor + smooth * x;
                }
            }
            break;
        }
        case RopeScalingType::Yarn: fail("rope scaling 'yarn' is not supported (model '{}')", cfg.hf_architecture);
    }
    return std::vector<float>(f.begin(), f.end());
}

}  // namespace lightllm
