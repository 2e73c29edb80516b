// GGUF reader (versions 2 and 3, little-endian), over a read-only mmap.
//
// File layout:
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv
//   n_kv x { string key, u32 value type, value }
//       string = u64 length + bytes (no terminator)
//       array  = u32 element type, u64 count, count x value (arrays of
//                strings allowed; nested arrays are not used by any writer)
//   n_tensors x { string name, u32 n_dims, n_dims x u64 ne, u32 ggml type,
//                 u64 offset (relative to the data section) }
//   padding to `general.alignment` (default 32)
//   data section
// `ne` is in GGML order: ne[0] is the innermost (contiguous) dimension, so a
// weight [n_out, n_in] in PyTorch terms has ne = {n_in, n_out}.
//
// Every offset is bounds-checked: a truncated or corrupted file is an Error
// naming the file and what was being read, never a crash.
#pragma once
#include "mapped_file.h"
#include "tensor_source.h"
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lightllm {

enum class GgufType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
    String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};

const char* gguf_type_name(GgufType t);

// One metadata value. Scalars are read from `data`; strings are views into
// the mapping; arrays keep their element type and count, numeric elements
// packed at `data`, string elements in `strings`.
struct GgufValue {
    GgufType type = GgufType::U8;
    GgufType elem_type = GgufType::U8;     // arrays only
    uint64_t n = 0;                        // arrays only: element count
    const uint8_t* data = nullptr;         // scalar value / first numeric array element
    std::string_view str;                  // String
    std::vector<std::string_view> strings; // Array of String

    bool is_integer() const;               // scalar integer type (incl. bool: no)
};

// GGML tensor types: element count per block and bytes per block. False for
// type ids this reader does not know.
bool ggml_type_block(uint32_t type, int64_t* block_elems, size_t* block_bytes);
const char* ggml_type_name(uint32_t type);  // "unknown" for unknown ids
// FileDType for the GGML types lightllm computes with; Unknown otherwise.
FileDType ggml_type_to_file_dtype(uint32_t type);

struct GgufTensor {
    std::string name;
    uint32_t type = 0;              // GGML type id
    std::vector<int64_t> ne;        // GGML order: ne[0] innermost
    uint64_t offset = 0;            // relative to the data section
    const uint8_t* data = nullptr;  // into the mapping
    size_t nbytes = 0;              // 0 when the type is unknown
    bool known_type = false;

    // PyTorch order (outermost first): ne reversed.
    std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
    int64_t numel() const;
};

class GgufFile {
public:
    // Throws Error naming `path` for a missing file, bad magic, unsupported
    // version, truncation, or inconsistent tensor infos.
    static std::shared_ptr<GgufFile> open(const std::string& path);

    const std::string& path() const { return file_.path(); }
    uint32_t version() const { return version_; }
    size_t alignment() const { return alignment_; }
    size_t data_offset() const { return data_offset_; }   // start of the data section in the file

    // Metadata. Keys in file order.
    const std::vector<std::string>& keys() const { return keys_; }
    bool has(const std::string& key) const { return kv_.count(key) != 0; }
    const GgufValue* find(const std::string& key) const;  // nullptr when absent

    // Typed accessors: throw Error naming the file and key when the key is
    // absent or has an incompatible type. Integer getters accept any integer
    // type whose value fits; get_f32 accepts F32 and F64.
    std::string get_string(const std::string& key) const;
    uint32_t get_u32(const std::string& key) const;
    int64_t get_i64(const std::string& key) const;
    float get_f32(const std::string& key) const;
    bool get_bool(const std::string& key) const;
    std::vector<std::string> get_string_array(const std::string& key) const;
    std::vector<float> get_f32_array(const std::string& key) const;
    std::vector<int32_t> get_i32_array(const std::string& key) const;  // any integer element type that fits

    // With a default for absent keys (a present key of the wrong type still throws).
    std::string get_string(const std::string& key, const std::string& dflt) const;
    uint32_t get_u32(const std::string& key, uint32_t dflt) const;
    float get_f32(const std::string& key, float dflt) const;
    bool get_bool(const std::string& key, bool dflt) const;

    const std::vector<GgufTensor>& tensors() const { return tensors_; }
    const GgufTensor* find_tensor(const std::string& name) const;  // nullptr when absent

    explicit GgufFile(MappedFile file) : file_(std::move(file)) {}

private:
    friend class GgufParser;
    const GgufValue& require(const std::string& key) const;

    MappedFile file_;
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    size_t data_offset_ = 0;
    std::vector<std::string> keys_;
    std::unordered_map<std::string, GgufValue> kv_;
    std::vector<GgufTensor> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

// TensorSource over a GGUF file: shapes in PyTorch order (ne reversed),
// dtype from the GGML type. Throws Error naming the tensor and type id at
// construction when a tensor has a type lightllm cannot compute with.
class GgufTensorSource : public TensorSource {
public:
    explicit GgufTensorSource(std::shared_ptr<const GgufFile> file);
    static std::unique_ptr<GgufTensorSource> open(const std::string& path);

    const TensorInfo* find(const std::string& name) const override;
    std::vector<std::string> names() const override;
    const GgufFile& file() const { return *file_; }

private:
    std::shared_ptr<const GgufFile> file_;
    std::vector<TensorInfo> infos_;
    std::unordered_map<std::string, size_t> index_;
};

}  // namespace lightllm
