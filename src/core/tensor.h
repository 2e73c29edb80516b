// Tensor: a non-owning view of a dense, row-major array on one device.
// Shapes are written outermost first: a weight `[n_out, n_in]` has
// shape[0] = n_out rows of n_in contiguous elements. Owning memory is the
// job of Backend::alloc / Backend::free; a Tensor is cheap to copy.
#pragma once
#include "check.h"
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace lightllm {

enum class DType : uint8_t { F32, F16, BF16, I32, I8 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) {
    switch (t) {
        case DType::F32: return 4;
        case DType::F16: return 2;
        case DType::BF16: return 2;
        case DType::I32: return 4;
        case DType::I8: return 1;
    }
    return 0;
}

inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "f32";
        case DType::F16: return "f16";
        case DType::BF16: return "bf16";
        case DType::I32: return "i32";
        case DType::I8: return "i8";
    }
    return "?";
}

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

struct Tensor {
    static constexpr int kMaxDims = 4;
    void* data = nullptr;
    DType dtype = DType::F32;
    Device device = Device::CPU;
    int ndim = 0;
    std::array<int64_t, kMaxDims> shape{};

    Tensor() = default;
    Tensor(void* d, DType t, Device dev, std::initializer_list<int64_t> dims) : data(d), dtype(t), device(dev) {
        LL_CHECK(dims.size() <= kMaxDims, "too many dims");
        for (int64_t n : dims) shape[ndim++] = n;
    }

    int64_t dim(int i) const { return shape[i < 0 ? ndim + i : i]; }
    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < ndim; ++i) n *= shape[i];
        return ndim == 0 ? 0 : n;
    }
    size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
    // Number of rows when viewed as 2-D [rows, last_dim].
    int64_t rows() const { return ndim == 0 ? 0 : numel() / shape[ndim - 1]; }
    bool empty() const { return data == nullptr; }

    template <typename T> T* ptr() const { return static_cast<T*>(data); }

    // Rows [begin, begin + n) of the outermost dimension.
    Tensor slice_rows(int64_t begin, int64_t n) const {
        LL_CHECK(ndim >= 1 && begin >= 0 && begin + n <= shape[0], "slice_rows out of range");
        Tensor t = *this;
        int64_t row_elems = shape[0] == 0 ? 0 : numel() / shape[0];
        t.data = static_cast<char*>(data) + size_t(begin * row_elems) * dtype_size(dtype);
        t.shape[0] = n;
        return t;
    }
    // Same memory, another shape with the same element count.
    Tensor view(std::initializer_list<int64_t> dims) const {
        Tensor t(data, dtype, device, dims);
        LL_CHECK(t.numel() == numel(), "view changes element count");
        return t;
    }
    std::string shape_str() const {
        std::string s = "[";
        for (int i = 0; i < ndim; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
        return s + "]";
    }
};

}  // namespace lightllm
