// Safetensors writer: one .safetensors file from a list of tensors whose
// bytes are produced one at a time (so a whole model never sits in memory).
// Layout as read by safetensors_reader.h; the header JSON is padded with
// spaces to a multiple of 8 bytes, tensors are written in the order given,
// back to back. The file is written as PATH.part and renamed at the end, so
// an interrupted write leaves no half file under the final name.
#pragma once
#include "tensor_source.h"
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lightllm {

struct SafetensorsEntry {
    std::string name;
    FileDType dtype = FileDType::F32;  // F32, F16 or BF16
    std::vector<int64_t> shape;
    size_t nbytes() const;
};

// `produce(i, out)` fills `out` with exactly entries[i].nbytes() bytes.
// `progress(i)` (optional) is called after tensor i is written. Throws
// Error naming the file on I/O failure.
void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                       const std::function<void(size_t i, std::vector<uint8_t>& out)>& produce,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}},
                       const std::function<void(size_t i)>& progress = nullptr);

// The safetensors dtype string of F32/F16/BF16 ("F32", "F16", "BF16").
const char* safetensors_dtype_name(FileDType t);

// Converts n fp32 values to `dtype` (F32, F16 or BF16) bytes, appended to out.
void f32_to_file_dtype(const float* x, size_t n, FileDType dtype, std::vector<uint8_t>& out);

}  // namespace lightllm
