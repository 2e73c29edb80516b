#include "safetensors_writer.h"
#include "check.h"
#include "file_dtype.h"
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace lightllm {

const char* safetensors_dtype_name(FileDType t) {
    switch (t) {
        case FileDType::F32: return "F32";
        case FileDType::F16: return "F16";
        case FileDType::BF16: return "BF16";
        default: return nullptr;
    }
}

size_t SafetensorsEntry::nbytes() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return size_t(n) * file_dtype_block_bytes(dtype);
}

void f32_to_file_dtype(const float* x, size_t n, FileDType dtype, std::vector<uint8_t>& out) {
    size_t base = out.size();
    switch (dtype) {
        case FileDType::F32:
            out.resize(base + n * 4);
            std::memcpy(out.data() + base, x, n * 4);
            return;
        case FileDType::F16:
        case FileDType::BF16: {
            out.resize(base + n * 2);
            uint8_t* p = out.data() + base;
            const bool f16 = dtype == FileDType::F16;
            for (size_t i = 0; i < n; ++i) {
                uint16_t h = f16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
                p[2 * i] = uint8_t(h & 0xff);
                p[2 * i + 1] = uint8_t(h >> 8);
            }
            return;
        }
        default: LL_CHECK(false, "f32_to_file_dtype: unsupported dtype {}", file_dtype_name(dtype));
    }
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                       const std::function<void(size_t, std::vector<uint8_t>&)>& produce,
                       const std::map<std::string, std::string>& metadata,
                       const std::function<void(size_t)>& progress) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::set<std::string> seen;
    uint64_t offset = 0;
    for (const auto& e : entries) {
        LL_CHECK(safetensors_dtype_name(e.dtype) != nullptr, "write_safetensors: dtype {}", file_dtype_name(e.dtype));
        LL_CHECK(seen.insert(e.name).second, "write_safetensors: duplicate tensor {}", e.name);
        uint64_t n = e.nbytes();
        header[e.name] = {{"dtype", safetensors_dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + n}}};
        offset += n;
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';

    const std::string part = path + ".part";
    FILE* f = std::fopen(part.c_str(), "wb");
    if (!f) fail("{}: cannot create: {}", part, std::strerror(errno));
    auto write = [&](const void* p, size_t n) {
        if (n && std::fwrite(p, 1, n, f) != n) {
            int err = errno;
            std::fclose(f);
            std::remove(part.c_str());
            fail("{}: write failed: {}", part, std::strerror(err));
        }
    };
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t((uint64_t(h.size()) >> (8 * i)) & 0xff);
    write(len, 8);
    write(h.data(), h.size());
    std::vector<uint8_t> buf;
    for (size_t i = 0; i < entries.size(); ++i) {
        buf.clear();
        try {
            produce(i, buf);
        } catch (...) {
            std::fclose(f);
            std::remove(part.c_str());
            throw;
        }
        LL_CHECK(buf.size() == entries[i].nbytes(), "write_safetensors: {} produced {} bytes, expected {}",
                 entries[i].name, buf.size(), entries[i].nbytes());
        write(buf.data(), buf.size());
        if (progress) progress(i);
    }
    if (std::fclose(f) != 0) {
        std::remove(part.c_str());
        fail("{}: write failed: {}", part, std::strerror(errno));
    }
    if (std::rename(part.c_str(), path.c_str()) != 0) fail("{}: cannot rename to {}: {}", part, path, std::strerror(errno));
}

}  // namespace lightllm
