// MappedFile: a whole file mapped read-only into memory (mmap), unmapped on
// destruction. Tensor data handed out by the readers points into it, so it
// lives as long as the TensorSource that owns it. Movable, not copyable.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace lightllm {

class MappedFile {
public:
    MappedFile() = default;
    // Throws Error naming `path` when it cannot be opened or mapped.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    void release();

    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace lightllm
