// GgufBuilder: writes small synthetic GGUF files for tests (metadata of every
// value type and tensors with arbitrary bytes). Follows the layout described
// in src/formats/gguf_reader.h; independent of the reader so that it can test it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

struct GgufBuilder {
    uint32_t version = 3;
    uint32_t alignment = 32;  // only used for layout; add "general.alignment" to change it in the file
    std::vector<uint8_t> kv;
    uint64_t n_kv = 0;
    struct Tensor {
        std::string name;
        std::vector<uint64_t> ne;
        uint32_t type;
        std::vector<uint8_t> bytes;
    };
    std::vector<Tensor> tensors;

    template <typename T>
    static void put(std::vector<uint8_t>& b, T v) {
        uint8_t tmp[sizeof(T)];
        std::memcpy(tmp, &v, sizeof(T));
        b.insert(b.end(), tmp, tmp + sizeof(T));
    }
    static void put_str(std::vector<uint8_t>& b, const std::string& s) {
        put<uint64_t>(b, s.size());
        b.insert(b.end(), s.begin(), s.end());
    }
    void key(const std::string& k, uint32_t type) {
        put_str(kv, k);
        put<uint32_t>(kv, type);
        ++n_kv;
    }
    template <typename T>
    void scalar(const std::string& k, uint32_t type, T v) {
        key(k, type);
        put<T>(kv, v);
    }
    void u8(const std::string& k, uint8_t v) { scalar(k, 0, v); }
    void i8(const std::string& k, int8_t v) { scalar(k, 1, v); }
    void u16(const std::string& k, uint16_t v) { scalar(k, 2, v); }
    void i16(const std::string& k, int16_t v) { scalar(k, 3, v); }
    void u32(const std::string& k, uint32_t v) { scalar(k, 4, v); }
    void i32(const std::string& k, int32_t v) { scalar(k, 5, v); }
    void f32(const std::string& k, float v) { scalar(k, 6, v); }
    void boolean(const std::string& k, bool v) { scalar(k, 7, uint8_t(v)); }
    void u64(const std::string& k, uint64_t v) { scalar(k, 10, v); }
    void i64(const std::string& k, int64_t v) { scalar(k, 11, v); }
    void f64(const std::string& k, double v) { scalar(k, 12, v); }
    void str(const std::string& k, const std::string& v) {
        key(k, 8);
        put_str(kv, v);
    }
    void str_array(const std::string& k, const std::vector<std::string>& v) {
        key(k, 9);
        put<uint32_t>(kv, 8);
        put<uint64_t>(kv, v.size());
        for (const auto& s : v) put_str(kv, s);
    }
    void f32_array(const std::string& k, const std::vector<float>& v) {
        key(k, 9);
        put<uint32_t>(kv, 6);
        put<uint64_t>(kv, v.size());
        for (float x : v) put<float>(kv, x);
    }
    void i32_array(const std::string& k, const std::vector<int32_t>& v) {
        key(k, 9);
        put<uint32_t>(kv, 5);
        put<uint64_t>(kv, v.size());
        for (int32_t x : v) put<int32_t>(kv, x);
    }
    void tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, std::vector<uint8_t> bytes) {
        tensors.push_back({name, std::move(ne), type, std::move(bytes)});
    }

    std::vector<uint8_t> bytes() const {
        std::vector<uint8_t> b;
        put<uint32_t>(b, 0x46554747);
        put<uint32_t>(b, version);
        put<uint64_t>(b, tensors.size());
        put<uint64_t>(b, n_kv);
        b.insert(b.end(), kv.begin(), kv.end());
        uint64_t off = 0;
        std::vector<uint64_t> offsets;
        for (const auto& t : tensors) {
            put_str(b, t.name);
            put<uint32_t>(b, uint32_t(t.ne.size()));
            for (uint64_t d : t.ne) put<uint64_t>(b, d);
            put<uint32_t>(b, t.type);
            put<uint64_t>(b, off);
            offsets.push_back(off);
            off += (t.bytes.size() + alignment - 1) / alignment * alignment;
        }
        while (b.size() % alignment) b.push_back(0);
        size_t base = b.size();
        for (size_t i = 0; i < tensors.size(); ++i) {
            b.resize(base + offsets[i], 0);
            b.insert(b.end(), tensors[i].bytes.begin(), tensors[i].bytes.end());
        }
        return b;
    }

    static std::string write_file(const std::string& path, const std::vector<uint8_t>& b) {
        FILE* f = std::fopen(path.c_str(), "wb");
        if (f) {
            if (!b.empty()) std::fwrite(b.data(), 1, b.size(), f);
            std::fclose(f);
        }
        return path;
    }
    std::string write(const std::string& path) const { return write_file(path, bytes()); }
};
