// Safetensors reader: a TensorSource over one .safetensors file or a sharded
// set (model.safetensors.index.json), every file mmap'd read-only.
//
// File layout: u64 little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, "name": {"dtype": "BF16", "shape": [..],
//    "data_offsets": [begin, end]}, ...}
// then the data section; offsets are relative to its start. Everything is
// validated at open (header length, JSON, offsets inside the file, byte span
// == numel * element size), so a truncated or corrupt file is an Error
// naming the file (and the tensor), never a crash.
//
// Tensors of the types the engine reads (F32, F16, BF16) get that FileDType;
// other valid safetensors types (I64, BOOL, F8_E4M3, ...) are listed with
// FileDType::Unknown and fail when required or converted. A dtype string
// that is not a safetensors type fails at open.
#pragma once
#include "mapped_file.h"
#include "tensor_source.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lightllm {

class SafetensorsSource : public TensorSource {
public:
    // `path`: a .safetensors file, a *.safetensors.index.json, or a directory
    // holding model.safetensors.index.json, model.safetensors or any
    // *.safetensors files (in that order of preference).
    static std::unique_ptr<SafetensorsSource> open(const std::string& path);

    const TensorInfo* find(const std::string& name) const override;
    std::vector<std::string> names() const override;  // sorted

    // "__metadata__" of the first file (e.g. {"format": "pt"}).
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::vector<std::string>& files() const;

    // The dtype string of a tensor as written in the header ("BF16", "I64"...).
    const std::string& file_dtype_string(const std::string& name) const;

private:
    void add_file(const std::string& path, const std::vector<std::string>* expected_names);

    std::vector<std::unique_ptr<MappedFile>> maps_;
    std::vector<std::string> files_;
    std::map<std::string, TensorInfo> tensors_;
    std::map<std::string, std::string> dtype_strings_;
    std::map<std::string, std::string> metadata_;
};

// Whether `dir` holds safetensors weights (index, model.safetensors or any
// *.safetensors file).
bool dir_has_safetensors(const std::string& dir);

}  // namespace lightllm
