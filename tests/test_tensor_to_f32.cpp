// Dequantization of every GGML block type against the `gguf` package:
// tests/data/gguf/quant_types.gguf holds each quantized tensor next to
// NAME.expected, its dequantization by gguf.quants.dequantize
// (tests/reference/make_gguf_quant_fixtures.py).
#include "check.h"
#include "file_dtype.h"
#include "gguf_reader.h"
#include "test_util.h"
#include <doctest/doctest.h>
#include <cmath>
#include <set>

using namespace lightllm;

TEST_CASE("tensor_to_f32: every type matches gguf.quants.dequantize") {
    auto src = GgufTensorSource::open(test_data("gguf/quant_types.gguf"));
    std::set<FileDType> seen;
    const std::string suffix = ".expected";
    for (const std::string& name : src->names()) {
        if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) continue;
        CAPTURE(name);
        const TensorInfo& t = *src->find(name);
        const TensorInfo* e = src->find(name + suffix);
        REQUIRE(e != nullptr);
        REQUIRE(e->shape == t.shape);
        seen.insert(t.dtype);
        std::vector<float> got(size_t(t.numel())), want(size_t(t.numel()));
        tensor_to_f32(t, got.data());
        tensor_to_f32(*e, want.data());
        int bad = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            // The package computes in fp32 as we do, but may order the
            // multiply-adds differently: allow one or two ulps.
            float tol = 1e-6f * std::max(1.0f, std::fabs(want[i]));
            if (!(std::fabs(got[i] - want[i]) <= tol)) ++bad;
        }
        CHECK(bad == 0);
    }
    for (FileDType t : {FileDType::F32, FileDType::F16, FileDType::BF16, FileDType::Q8_0, FileDType::Q4_0,
                        FileDType::Q4_1, FileDType::Q5_0, FileDType::Q5_1, FileDType::Q4_K, FileDType::Q6_K}) {
        CAPTURE(file_dtype_name(t));
        CHECK(seen.count(t) == 1);
    }
}

TEST_CASE("tensor_to_f32: Q4_1 block by hand") {
    // d = 0.5, m = -1.0; byte j = (j+16 high nibble, j low nibble) = (15 - j, j).
    uint8_t block[20];
    uint16_t d = f32_to_f16(0.5f), m = f32_to_f16(-1.0f);
    block[0] = uint8_t(d & 0xff), block[1] = uint8_t(d >> 8);
    block[2] = uint8_t(m & 0xff), block[3] = uint8_t(m >> 8);
    for (int j = 0; j < 16; ++j) block[4 + j] = uint8_t(j | ((15 - j) << 4));
    TensorInfo t;
    t.name = "x";
    t.dtype = FileDType::Q4_1;
    t.shape = {32};
    t.data = block;
    t.nbytes = sizeof(block);
    std::vector<float> y(32);
    tensor_to_f32(t, y.data());
    for (int j = 0; j < 16; ++j) {
        CHECK(y[size_t(j)] == 0.5f * float(j) - 1.0f);
        CHECK(y[size_t(j + 16)] == 0.5f * float(15 - j) - 1.0f);
    }
}

TEST_CASE("tensor_to_f32: too few bytes or partial blocks are errors naming the tensor") {
    uint8_t buf[40] = {};
    TensorInfo t;
    t.name = "blk.0.attn_q.weight";
    t.file = "m.gguf";
    t.dtype = FileDType::Q8_0;
    t.shape = {64};
    t.data = buf;
    t.nbytes = 34;  // one block of two
    std::vector<float> y(64);
    try {
        tensor_to_f32(t, y.data());
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("blk.0.attn_q.weight") != std::string::npos);
        CHECK(std::string(e.what()).find("m.gguf") != std::string::npos);
    }
    t.shape = {40};
    t.nbytes = 40;
    CHECK_THROWS_AS(tensor_to_f32(t, y.data()), Error);
}
