// Safetensors reader: fixtures written by the `safetensors` package
// (tests/reference/make_safetensors_fixtures.py) read back value for value;
// every kind of broken file is an Error naming the file and tensor.
#include "check.h"
#include "file_dtype.h"
#include "safetensors_reader.h"
#include "temp_dir.h"
#include "test_util.h"
#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <functional>
#include <sstream>

using namespace lightllm;
using nlohmann::json;

namespace {

json read_json(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return json::parse(in);
}

FileDType expected_dtype(const std::string& torch_name) {
    if (torch_name == "float32") return FileDType::F32;
    if (torch_name == "float16") return FileDType::F16;
    if (torch_name == "bfloat16") return FileDType::BF16;
    return FileDType::Unknown;
}

void check_against_expected(const SafetensorsSource& src, const json& expected) {
    CHECK(src.names().size() == expected.size());
    for (const auto& [name, e] : expected.items()) {
        CAPTURE(name);
        const TensorInfo* t = src.find(name);
        REQUIRE(t != nullptr);
        CHECK(t->dtype == expected_dtype(e["dtype"].get<std::string>()));
        CHECK(t->shape == e["shape"].get<std::vector<int64_t>>());
        CHECK(t->file.find(e["file"].get<std::string>()) != std::string::npos);
        std::vector<float> v(size_t(t->numel()));
        tensor_to_f32(*t, v.data());
        auto want = e["values"].get<std::vector<float>>();
        REQUIRE(v.size() == want.size());
        for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == want[i]);  // exact: widening conversions
    }
}

// A safetensors file from a header JSON and a data section.
std::string st_bytes(const std::string& header, const std::string& data) {
    std::string out(8, '\0');
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
    return out + header + data;
}


}  // namespace

TEST_CASE("safetensors: single file matches the safetensors package") {
    json expected = read_json(test_data("safetensors/expected.json"));
    auto src = SafetensorsSource::open(test_data("safetensors/single.safetensors"));
    check_against_expected(*src, expected["single"]);
    CHECK(src->metadata().at("format") == "pt");
    CHECK(src->file_dtype_string("c.bias") == "BF16");
}

TEST_CASE("safetensors: sharded model via index, by index file and by directory") {
    json expected = read_json(test_data("safetensors/expected.json"));
    auto by_index = SafetensorsSource::open(test_data("safetensors/sharded/model.safetensors.index.json"));
    check_against_expected(*by_index, expected["sharded"]);
    CHECK(by_index->files().size() == 2);
    auto by_dir = SafetensorsSource::open(test_data("safetensors/sharded"));
    check_against_expected(*by_dir, expected["sharded"]);
}

TEST_CASE("safetensors: require checks presence and shape") {
    auto src = SafetensorsSource::open(test_data("safetensors/single.safetensors"));
    CHECK(src->require("a.weight", {3, 5}).numel() == 15);
    std::string e = error_of([&] { src->require("missing.weight", {1}); });
    CHECK(e.find("missing.weight") != std::string::npos);
    CHECK(e.find("single.safetensors") != std::string::npos);
    e = error_of([&] { src->require("a.weight", {5, 3}); });
    CHECK(e.find("a.weight") != std::string::npos);
    CHECK(e.find("[3, 5]") != std::string::npos);
    CHECK(e.find("[5, 3]") != std::string::npos);
}

TEST_CASE("safetensors: broken files are errors naming the file and tensor") {
    TempDir dir;
    const std::string good_header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    const std::string data16(16, '\0');
    CHECK_NOTHROW(SafetensorsSource::open(dir.write("good.safetensors", st_bytes(good_header, data16))));

    struct Case {
        const char* name;
        std::string bytes;
        const char* expect;
    };
    std::string full = st_bytes(good_header, data16);
    std::string huge_len = full;
    huge_len[6] = 1;  // header length ~2^48
    const Case cases[] = {
        {"empty", "", "truncated"},
        {"short_len", std::string(5, '\0'), "truncated"},
        {"header_beyond", huge_len, "header length"},
        {"truncated_data", full.substr(0, full.size() - 4), "'w'"},
        {"bad_json", st_bytes("{not json", data16), "JSON"},
        {"not_object", st_bytes("[1,2]", data16), "JSON object"},
        {"offsets_out", st_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}})", data16), "data_offsets"},
        {"offsets_reversed", st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", data16), "data_offsets"},
        {"wrong_span", st_bytes(R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", data16), "need 24"},
        {"unknown_dtype", st_bytes(R"({"w":{"dtype":"Q9","shape":[4],"data_offsets":[0,16]}})", data16), "unknown dtype 'Q9'"},
        {"no_dtype", st_bytes(R"({"w":{"shape":[4],"data_offsets":[0,16]}})", data16), "dtype"},
        {"negative_dim", st_bytes(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", data16), "shape"},
        {"no_offsets", st_bytes(R"({"w":{"dtype":"F32","shape":[4]}})", data16), "data_offsets"},
        {"overlap", st_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", data16),
         "tensor 'a' (bytes 0..12) overlaps tensor 'b' (bytes 8..16)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        std::string path = dir.write(std::string(c.name) + ".safetensors", c.bytes);
        std::string e = error_of([&] { SafetensorsSource::open(path); });
        CHECK(e.find(path) != std::string::npos);
        CHECK(e.find(c.expect) != std::string::npos);
    }
}

TEST_CASE("safetensors: valid but unsupported dtypes are listed, and fail when used") {
    TempDir dir;
    std::string path = dir.write(
        "i64.safetensors", st_bytes(R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", std::string(16, '\0')));
    auto src = SafetensorsSource::open(path);
    REQUIRE(src->find("ids") != nullptr);
    CHECK(src->file_dtype_string("ids") == "I64");
    std::string e = error_of([&] { src->require("ids", {2}); });
    CHECK(e.find("ids") != std::string::npos);
    CHECK(e.find("unsupported") != std::string::npos);
    std::vector<float> out(2);
    e = error_of([&] { tensor_to_f32(*src->find("ids"), out.data()); });
    CHECK(e.find("ids") != std::string::npos);
}

TEST_CASE("safetensors: index problems") {
    TempDir dir;
    const std::string a = st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0'));
    dir.write("m/x.safetensors", a);
    dir.write("m/model.safetensors.index.json", R"({"weight_map":{"a":"x.safetensors","b":"x.safetensors"}})");
    std::string e = error_of([&] { SafetensorsSource::open(dir.file("m")); });
    CHECK(e.find("'b'") != std::string::npos);
    CHECK(e.find("x.safetensors") != std::string::npos);

    dir.write("n/model.safetensors.index.json", R"({"weight_map":{"a":"gone.safetensors"}})");
    e = error_of([&] { SafetensorsSource::open(dir.file("n")); });
    CHECK(e.find("gone.safetensors") != std::string::npos);

    dir.write("o/model.safetensors.index.json", R"({"metadata":{}})");
    e = error_of([&] { SafetensorsSource::open(dir.file("o")); });
    CHECK(e.find("weight_map") != std::string::npos);

    dir.write("p/a.safetensors", a);
    dir.write("p/b.safetensors", a);
    e = error_of([&] { SafetensorsSource::open(dir.file("p")); });
    CHECK(e.find("'a'") != std::string::npos);

    std::filesystem::create_directories(dir.file("empty"));
    e = error_of([&] { SafetensorsSource::open(dir.file("empty")); });
    CHECK(e.find("no *.safetensors") != std::string::npos);
}

TEST_CASE("file dtypes: sizes and half-float conversions") {
    CHECK(file_dtype_nbytes(FileDType::Q4_1, 64) == 40);
    CHECK(file_dtype_nbytes(FileDType::Q8_0, 33) == SIZE_MAX);
    CHECK(file_dtype_nbytes(FileDType::Q6_K, 256) == 210);
    CHECK(std::string(file_dtype_name(FileDType::BF16)) == "BF16");
    // Exhaustive round trip of every finite half.
    for (uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7c00) == 0x7c00) continue;
        float f = f16_to_f32(uint16_t(h));
        if (f == 0.0f && (h & 0x7fff) == 0) continue;
        REQUIRE(f32_to_f16(f) == h);
    }
    CHECK(f16_to_f32(0x3c00) == 1.0f);
    CHECK(f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    CHECK(f32_to_f16(65520.0f) == 0x7c00);  // rounds to inf
    CHECK(f32_to_bf16(1.0f) == 0x3f80);
    CHECK(bf16_to_f32(f32_to_bf16(3.140625f)) == 3.140625f);
    CHECK(f32_to_bf16(1.00390625f) == 0x3f80);  // tie rounds to even
}

TEST_CASE("safetensors: every truncation and random byte damage is an Error or a valid file, never a crash") {
    std::ifstream in(test_data("safetensors/single.safetensors"), std::ios::binary);
    std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(good.size() > 100);
    TempDir dir;
    auto exercise = [&](const std::string& bytes) {
        std::string path = dir.write("x.safetensors", bytes);
        try {
            auto src = SafetensorsSource::open(path);
            for (const std::string& n : src->names()) {
                const TensorInfo* t = src->find(n);
                std::vector<float> v(size_t(t->numel()));
                tensor_to_f32(*t, v.data());
            }
            return true;
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find(path) != std::string::npos);
            return false;
        }
    };
    for (size_t len = 0; len < good.size(); ++len) CHECK(!exercise(good.substr(0, len)));
    exercise_corrupted_copies(good, 7, exercise);
}
