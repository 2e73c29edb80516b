// TensorSource: the tensors of a model file, by name, mmap'd and read-only.
// Implemented by safetensors (one file or sharded, safetensors_reader.cpp) and
// GGUF (gguf_reader.cpp). Models map file tensor names to their weights
// through this interface and never see the file format.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lightllm {

// Element types as stored in files; the quantized ones are GGML block formats.
enum class FileDType : uint8_t { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q6_K, Q4_K, Unknown };

const char* file_dtype_name(FileDType t);

struct TensorInfo {
    std::string name;
    FileDType dtype = FileDType::Unknown;
    std::vector<int64_t> shape;       // outermost first, PyTorch order ([n_out, n_in] for a weight)
    const uint8_t* data = nullptr;    // into the mapped file
    size_t nbytes = 0;
    std::string file;                 // path, for error messages

    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

class TensorSource {
public:
    virtual ~TensorSource() = default;
    // nullptr when absent.
    virtual const TensorInfo* find(const std::string& name) const = 0;
    virtual std::vector<std::string> names() const = 0;
    // Throws Error naming the file and tensor when absent or not of `shape`.
    const TensorInfo& require(const std::string& name, const std::vector<int64_t>& shape) const;
    // Whether find(name)'s bytes are a copy this source built (a GGUF tensor
    // with reordered rows) rather than the mapped file. Such a copy may be
    // dropped with release(name) once read: the TensorInfo find returned is
    // then invalid, and a later find builds it again. A tensor-parallel rank
    // keeps its slice and releases the whole tensor (models/tp_shard.h).
    virtual bool built_copy(const std::string& name) const { return false; }
    virtual void release(const std::string& name) const {}
};

// Converts (dequantizes) a tensor to fp32; `out` holds info.numel() floats.
// Throws Error naming the tensor for types it cannot convert.
void tensor_to_f32(const TensorInfo& info, float* out);

}  // namespace lightllm
