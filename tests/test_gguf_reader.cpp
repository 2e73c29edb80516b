#include "check.h"
#include "gguf_builder.h"
#include "gguf_reader.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>
#include <random>
#include <unistd.h>

using namespace lightllm;

namespace {

std::string tmp_path(const std::string& name) { return "/tmp/lightllm_test_" + std::to_string(getpid()) + "_" + name; }

// Error message of GgufFile::open(path), "" when it opens.
std::string open_error(const std::string& path) {
    try {
        GgufFile::open(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

GgufBuilder sample_file() {
    GgufBuilder b;
    b.str("general.architecture", "llama");
    b.u8("t.u8", 200);
    b.i8("t.i8", -5);
    b.u16("t.u16", 60000);
    b.i16("t.i16", -30000);
    b.u32("t.u32", 4000000000u);
    b.i32("t.i32", -7);
    b.f32("t.f32", 1.5f);
    b.boolean("t.bool", true);
    b.u64("t.u64", 1ull << 40);
    b.i64("t.i64", -(1ll << 40));
    b.f64("t.f64", 0.25);
    b.str_array("t.strs", {"a", "", "\xE4\xBD\xA0\xE5\xA5\xBD"});
    b.f32_array("t.f32s", {0.5f, -2.0f});
    b.i32_array("t.i32s", {1, -2, 3});
    std::vector<uint8_t> w(4 * 3 * 2);
    for (size_t i = 0; i < w.size(); ++i) w[i] = uint8_t(i);
    b.tensor("w", {3, 2}, 0, w);                              // F32, PyTorch shape [2, 3]
    b.tensor("q", {64}, 8, std::vector<uint8_t>(2 * 34, 7));  // Q8_0: 2 blocks
    b.tensor("h", {4}, 1, std::vector<uint8_t>(8, 1));        // F16
    return b;
}

}  // namespace

TEST_CASE("gguf reader: metadata of every type, tensors, PyTorch shapes") {
    std::string path = sample_file().write(tmp_path("sample.gguf"));
    auto f = GgufFile::open(path);
    CHECK(f->version() == 3);
    CHECK(f->alignment() == 32);
    CHECK(f->data_offset() % 32 == 0);
    CHECK(f->keys().size() == 15);
    CHECK(f->keys().front() == "general.architecture");
    CHECK(f->get_string("general.architecture") == "llama");
    CHECK(f->get_u32("t.u8") == 200);
    CHECK(f->get_i64("t.i8") == -5);
    CHECK(f->get_u32("t.u16") == 60000);
    CHECK(f->get_i64("t.i16") == -30000);
    CHECK(f->get_u32("t.u32") == 4000000000u);
    CHECK(f->get_i64("t.i32") == -7);
    CHECK(f->get_f32("t.f32") == 1.5f);
    CHECK(f->get_bool("t.bool"));
    CHECK(f->get_i64("t.u64") == (1ll << 40));
    CHECK(f->get_i64("t.i64") == -(1ll << 40));
    CHECK(f->get_f32("t.f64") == 0.25f);
    CHECK(f->get_string_array("t.strs") == std::vector<std::string>{"a", "", "\xE4\xBD\xA0\xE5\xA5\xBD"});
    CHECK(f->get_f32_array("t.f32s") == std::vector<float>{0.5f, -2.0f});
    CHECK(f->get_i32_array("t.i32s") == std::vector<int32_t>{1, -2, 3});
    CHECK(f->get_u32("absent", 9u) == 9u);
    CHECK(f->get_string("absent", "x") == "x");
    CHECK_FALSE(f->has("absent"));

    REQUIRE(f->tensors().size() == 3);
    const GgufTensor* w = f->find_tensor("w");
    REQUIRE(w != nullptr);
    CHECK(w->ne == std::vector<int64_t>{3, 2});
    CHECK(w->shape() == std::vector<int64_t>{2, 3});
    CHECK(w->nbytes == 24);
    CHECK(w->data[5] == 5);
    const GgufTensor* q = f->find_tensor("q");
    REQUIRE(q != nullptr);
    CHECK(q->nbytes == 68);
    CHECK(q->offset % 32 == 0);
    CHECK(q->data[67] == 7);

    GgufTensorSource src(f);
    const TensorInfo* ti = src.find("w");
    REQUIRE(ti != nullptr);
    CHECK(ti->dtype == FileDType::F32);
    CHECK(ti->shape == std::vector<int64_t>{2, 3});
    CHECK(ti->file == path);
    CHECK(src.find("q")->dtype == FileDType::Q8_0);
    CHECK(src.find("h")->dtype == FileDType::F16);
    CHECK(src.find("nope") == nullptr);
    CHECK(src.names().size() == 3);
    std::remove(path.c_str());
}

TEST_CASE("gguf reader: accessor errors name the file and key") {
    std::string path = sample_file().write(tmp_path("acc.gguf"));
    auto f = GgufFile::open(path);
    auto msg = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    std::string m = msg([&] { f->get_string("missing.key"); });
    CHECK(m.find(path) != std::string::npos);
    CHECK(m.find("missing.key") != std::string::npos);
    CHECK(msg([&] { f->get_u32("t.i8"); }).find("t.i8") != std::string::npos);  // negative: out of range
    CHECK(msg([&] { f->get_string("t.u32"); }).find("expected a string") != std::string::npos);
    CHECK(msg([&] { f->get_bool("t.f32"); }).find("t.f32") != std::string::npos);
    CHECK(msg([&] { f->get_string_array("t.f32s"); }).find("t.f32s") != std::string::npos);
    std::remove(path.c_str());
}

TEST_CASE("gguf reader: general.alignment and version 2") {
    GgufBuilder b;
    b.version = 2;
    b.alignment = 64;
    b.u32("general.alignment", 64);
    b.tensor("a", {5}, 0, std::vector<uint8_t>(20, 1));
    b.tensor("b", {2, 2}, 30, std::vector<uint8_t>(8, 2));  // BF16
    std::string path = b.write(tmp_path("align.gguf"));
    auto f = GgufFile::open(path);
    CHECK(f->version() == 2);
    CHECK(f->alignment() == 64);
    CHECK(f->data_offset() % 64 == 0);
    CHECK(f->find_tensor("b")->offset == 64);
    CHECK(f->find_tensor("b")->data[0] == 2);
    GgufTensorSource src(f);
    CHECK(src.find("b")->dtype == FileDType::BF16);
    std::remove(path.c_str());
}

TEST_CASE("gguf reader: bad magic, unsupported version, missing file") {
    auto bytes = sample_file().bytes();
    auto bad = bytes;
    bad[0] = 'X';
    std::string p1 = GgufBuilder::write_file(tmp_path("magic.gguf"), bad);
    std::string e = open_error(p1);
    CHECK(e.find(p1) != std::string::npos);
    CHECK(e.find("magic") != std::string::npos);

    for (uint32_t v : {1u, 4u, 0x03000000u}) {
        auto vb = bytes;
        std::memcpy(vb.data() + 4, &v, 4);
        std::string p2 = GgufBuilder::write_file(tmp_path("version.gguf"), vb);
        e = open_error(p2);
        CHECK(e.find(p2) != std::string::npos);
        CHECK(e.find("version") != std::string::npos);
        std::remove(p2.c_str());
    }
    e = open_error("/nonexistent/model.gguf");
    CHECK(e.find("/nonexistent/model.gguf") != std::string::npos);
    std::string empty = GgufBuilder::write_file(tmp_path("empty.gguf"), {});
    CHECK(open_error(empty).find(empty) != std::string::npos);
    std::remove(p1.c_str());
    std::remove(empty.c_str());
}

TEST_CASE("gguf reader: every truncation is a clear error") {
    auto bytes = sample_file().bytes();
    std::string path = tmp_path("trunc.gguf");
    // The last tensor ends exactly at the end of the file, so every shorter
    // prefix lacks something.
    for (size_t n = 0; n < bytes.size(); ++n) {
        GgufBuilder::write_file(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + n));
        std::string e = open_error(path);
        INFO("prefix of " << n << " bytes");
        REQUIRE(e.find(path) != std::string::npos);
    }
    std::remove(path.c_str());
}

TEST_CASE("gguf reader: corrupted bytes never crash") {
    auto bytes = sample_file().bytes();
    std::string path = tmp_path("fuzz.gguf");
    std::mt19937 rng(1234);
    int n_errors = 0;
    for (int it = 0; it < 400; ++it) {
        auto b = bytes;
        for (int k = 0; k < 3; ++k) b[rng() % b.size()] = uint8_t(rng());
        GgufBuilder::write_file(path, b);
        try {
            auto f = GgufFile::open(path);
            for (const auto& t : f->tensors()) CHECK(f->data_offset() + t.offset + t.nbytes <= b.size());
        } catch (const Error& e) {
            ++n_errors;
            CHECK(std::string(e.what()).find(path) != std::string::npos);
        }
    }
    CHECK(n_errors > 0);
    std::remove(path.c_str());
}

TEST_CASE("gguf reader: a file mangled by a UTF-8 text conversion is named as such") {
    // What decode("utf-8", errors="replace") does to a length field: 0xC8 -> EF BF BD.
    GgufBuilder b;
    b.str("general.architecture", std::string(200, 'x'));  // length 200 = 0xC8, not valid UTF-8 on its own
    auto raw = b.bytes();
    std::vector<uint8_t> mangled;
    for (uint8_t c : raw) {
        if (c >= 0x80) mangled.insert(mangled.end(), {0xEF, 0xBF, 0xBD});
        else mangled.push_back(c);
    }
    std::string path = GgufBuilder::write_file(tmp_path("mangled.gguf"), mangled);
    std::string e = open_error(path);
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("text-mode UTF-8 conversion") != std::string::npos);
    CHECK(open_error(GgufBuilder::write_file(path, raw)).empty());
    std::remove(path.c_str());
}

TEST_CASE("gguf reader: unknown and unsupported tensor types") {
    GgufBuilder b;
    b.tensor("blk.0.weird", {32}, 99, {});
    std::string path = b.write(tmp_path("unknown.gguf"));
    auto f = GgufFile::open(path);  // metadata and tensor names are still readable
    CHECK_FALSE(f->tensors()[0].known_type);
    std::string e;
    try {
        GgufTensorSource src(f);
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find("blk.0.weird") != std::string::npos);
    CHECK(e.find("99") != std::string::npos);
    CHECK(e.find(path) != std::string::npos);

    GgufBuilder b2;
    b2.tensor("blk.0.q5k", {256}, 13, std::vector<uint8_t>(176, 0));  // Q5_K: known size, no kernel
    std::string path2 = b2.write(tmp_path("q5k.gguf"));
    e.clear();
    try {
        GgufTensorSource::open(path2);
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find("blk.0.q5k") != std::string::npos);
    CHECK(e.find("Q5_K") != std::string::npos);

    GgufBuilder b3;
    b3.tensor("bad_row", {40}, 8, std::vector<uint8_t>(68, 0));  // Q8_0 rows must be multiples of 32
    std::string path3 = b3.write(tmp_path("badrow.gguf"));
    CHECK(open_error(path3).find("bad_row") != std::string::npos);
    for (auto& p : {path, path2, path3}) std::remove(p.c_str());
}

TEST_CASE("gguf reader: a tensor whose type was changed may not read its neighbour's bytes") {
    GgufBuilder b;
    b.tensor("a", {32}, 0, std::vector<uint8_t>(20, 0));   // says F32 (128 bytes) but holds a Q4_1 block (20 bytes)
    b.tensor("b", {32}, 3, std::vector<uint8_t>(20, 0));   // Q4_1, at data offset 32
    b.tensor("c", {64}, 0, std::vector<uint8_t>(256, 0));  // keeps the file long enough for a's 128 bytes
    std::string path = b.write(tmp_path("overlap.gguf"));
    std::string e = open_error(path);
    CHECK(e.find(path) != std::string::npos);
    CHECK(e.find("tensor 'a' (F32, 128 bytes at data offset 0) overlaps tensor 'b' at data offset 32") != std::string::npos);
    std::remove(path.c_str());
}

TEST_CASE("gguf reader: shared vocabulary files") {
    struct Expect {
        const char* name;
        const char* model;
        size_t n_tokens;
    };
    for (Expect x : {Expect{"gpt-2", "gpt2", 50257}, Expect{"starcoder", "gpt2", 49152},
                     Expect{"deepseek-coder", "gpt2", 32256}, Expect{"gpt-neox", "gpt2", 50432},
                     Expect{"llama-spm", "llama", 32000}, Expect{"phi-3", "llama", 32064},
                     Expect{"baichuan", "llama", 64000}}) {
        std::string path = vocab_file(std::string("ggml-vocab-") + x.name + ".gguf");
        INFO(path);
        auto f = GgufFile::open(path);
        CHECK(f->get_string("tokenizer.ggml.model") == x.model);
        auto tokens = f->get_string_array("tokenizer.ggml.tokens");
        CHECK(tokens.size() == x.n_tokens);
        if (std::string(x.model) == "gpt2") {
            CHECK(f->get_string_array("tokenizer.ggml.merges").size() > 10000);
        } else {
            CHECK(f->get_f32_array("tokenizer.ggml.scores").size() == x.n_tokens);
            CHECK(f->get_i32_array("tokenizer.ggml.token_type").size() == x.n_tokens);
        }
        CHECK(f->tensors().empty());
    }
}
