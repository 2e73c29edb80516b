// RoPE inverse frequencies vs transformers' rope init for each scaling type.
// Reference: tests/data/rope_reference.json (tests/reference/make_llama_fixtures.py).
// transformers computes in fp32, we in double: relative tolerance 1e-6.
#include "rope.h"
#include "test_util.h"
#include <cmath>
#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace lightllm;

namespace {

ModelConfig config_for(const nlohmann::json& c) {
    ModelConfig cfg;
    cfg.head_dim = c["head_dim"];
    cfg.rope_dim = cfg.head_dim;
    cfg.rope_theta = c["rope_theta"];
    cfg.max_position = c["max_position_embeddings"];
    const std::string type = c["type"];
    RopeScaling& rs = cfg.rope_scaling;
    if (type == "linear") rs.type = RopeScalingType::Linear;
    if (type == "dynamic") rs.type = RopeScalingType::Dynamic;
    if (type == "llama3") {
        rs.type = RopeScalingType::Llama3;
        rs.low_freq_factor = c["low_freq_factor"];
        rs.high_freq_factor = c["high_freq_factor"];
        rs.original_max_position = c["original_max_position_embeddings"];
    }
    if (c.contains("factor")) rs.factor = c["factor"];
    return cfg;
}

}  // namespace

TEST_CASE("rope: inv_freq matches transformers for every scaling type") {
    std::ifstream in(test_data("rope_reference.json"));
    REQUIRE(in);
    const nlohmann::json ref = nlohmann::json::parse(in);
    REQUIRE(ref["cases"].size() >= 7);
    for (const auto& c : ref["cases"]) {
        const ModelConfig cfg = config_for(c);
        const std::vector<float> got = rope_inv_freq(cfg, c["seq_len"].get<int64_t>());
        const std::vector<float> want = c["inv_freq"].get<std::vector<float>>();
        CAPTURE(c["type"].get<std::string>());
        CAPTURE(c["seq_len"].get<int64_t>());
        REQUIRE(got.size() == want.size());
        double worst = 0.0;
        for (size_t j = 0; j < got.size(); ++j) worst = std::max(worst, std::fabs(double(got[j]) / want[j] - 1.0));
        CHECK(worst < 1e-6);
    }
}

TEST_CASE("rope: scaled types differ from the base where they should") {
    ModelConfig cfg;
    cfg.head_dim = cfg.rope_dim = 128;
    cfg.max_position = 2048;
    const std::vector<float> base = rope_inv_freq(cfg, 2048);
    cfg.rope_scaling.type = RopeScalingType::Dynamic;
    cfg.rope_scaling.factor = 2.0f;
    CHECK(rope_inv_freq(cfg, 1000) == base);  // shorter than max_position: unscaled
    CHECK(rope_inv_freq(cfg, 4096)[1] < base[1]);
    CHECK(rope_inv_freq(cfg, 4096)[0] == doctest::Approx(1.0));  // j = 0 is always 1
    cfg.rope_dim = 0;
    CHECK(rope_inv_freq(cfg, 10).empty());
    cfg.rope_dim = 128;
    cfg.rope_scaling.type = RopeScalingType::Yarn;
    CHECK_THROWS_AS(rope_inv_freq(cfg, 10), Error);
}
