#include "safetensors_reader.h"
#include <algorithm>
#include <tuple>
#include "check.h"
#include "file_dtype.h"
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace lightllm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Maps a safetensors dtype string to the FileDType; `known` is false for a
// string that is not a safetensors type at all. Unsupported-but-valid types
// return Unknown with known = true; their element size is in `elem_bytes`.
FileDType parse_dtype(const std::string& s, bool& known, size_t& elem_bytes) {
    known = true;
    if (s == "F32") { elem_bytes = 4; return FileDType::F32; }
    if (s == "F16") { elem_bytes = 2; return FileDType::F16; }
    if (s == "BF16") { elem_bytes = 2; return FileDType::BF16; }
    static const std::pair<const char*, size_t> other[] = {
        {"F64", 8}, {"I64", 8}, {"U64", 8}, {"I32", 4}, {"U32", 4}, {"I16", 2}, {"U16", 2},
        {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (const auto& [name, size] : other) {
        if (s == name) { elem_bytes = size; return FileDType::Unknown; }
    }
    known = false;
    elem_bytes = 0;
    return FileDType::Unknown;
}

json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open", path);
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) fail("{}: not valid JSON", path);
    return j;
}

}  // namespace

std::unique_ptr<SafetensorsSource> SafetensorsSource::open(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        fs::path dir(path);
        if (fs::exists(dir / "model.safetensors.index.json")) return open((dir / "model.safetensors.index.json").string());
        if (fs::exists(dir / "model.safetensors")) return open((dir / "model.safetensors").string());
        std::vector<std::string> shards;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            if (e.path().extension() == ".safetensors") shards.push_back(e.path().string());
        }
        if (shards.empty()) fail("{}: no *.safetensors files", path);
        std::sort(shards.begin(), shards.end());
        std::unique_ptr<SafetensorsSource> src(new SafetensorsSource());
        for (const auto& f : shards) src->add_file(f, nullptr);
        return src;
    }
    if (!fs::exists(path, ec)) fail("{}: no such file", path);

    std::unique_ptr<SafetensorsSource> src(new SafetensorsSource());
    const std::string suffix = ".index.json";
    if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
        json index = read_json_file(path);
        if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
            fail("{}: missing object 'weight_map'", path);
        std::map<std::string, std::vector<std::string>> by_file;
        for (const auto& [name, file] : index["weight_map"].items()) {
            if (!file.is_string()) fail("{}: weight_map['{}'] is not a file name", path, name);
            by_file[file.get<std::string>()].push_back(name);
        }
        if (by_file.empty()) fail("{}: empty weight_map", path);
        fs::path dir = fs::path(path).parent_path();
        for (const auto& [file, names] : by_file) {
            if (file.find('/') != std::string::npos || file == "..")
                fail("{}: weight_map names a file outside the directory: '{}'", path, file);
            src->add_file((dir / file).string(), &names);
        }
        return src;
    }
    src->add_file(path, nullptr);
    return src;
}

void SafetensorsSource::add_file(const std::string& path, const std::vector<std::string>* expected_names) {
    auto map = std::make_unique<MappedFile>(path);
    const uint8_t* base = map->data();
    const size_t size = map->size();
    if (size < 8) fail("{}: truncated safetensors file ({} bytes, no header length)", path, size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | base[i];
    if (header_len > size - 8)
        fail("{}: header length {} goes beyond the end of the file ({} bytes)", path, header_len, size);
    const char* hbegin = reinterpret_cast<const char*>(base + 8);
    json header = json::parse(hbegin, hbegin + header_len, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded() || !header.is_object()) fail("{}: safetensors header is not a valid JSON object", path);

    const uint8_t* data = base + 8 + header_len;
    const size_t data_size = size - 8 - size_t(header_len);
    std::vector<std::tuple<uint64_t, uint64_t, std::string>> ranges;  // [begin, end), name: no two may overlap
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) fail("{}: __metadata__ is not an object", path);
            if (metadata_.empty()) {
                for (const auto& [k, v] : entry.items())
                    if (v.is_string()) metadata_[k] = v.get<std::string>();
            }
            continue;
        }
        if (!entry.is_object()) fail("{}: tensor '{}': header entry is not an object", path, name);
        if (!entry.contains("dtype") || !entry["dtype"].is_string())
            fail("{}: tensor '{}': missing string 'dtype'", path, name);
        if (!entry.contains("shape") || !entry["shape"].is_array())
            fail("{}: tensor '{}': missing array 'shape'", path, name);
        if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
            fail("{}: tensor '{}': missing 'data_offsets' [begin, end]", path, name);

        const std::string dtype_str = entry["dtype"].get<std::string>();
        bool known = false;
        size_t elem_bytes = 0;
        FileDType dtype = parse_dtype(dtype_str, known, elem_bytes);
        if (!known) fail("{}: tensor '{}': unknown dtype '{}'", path, name, dtype_str);

        TensorInfo info;
        info.name = name;
        info.dtype = dtype;
        info.file = path;
        uint64_t numel = 1;
        for (const auto& d : entry["shape"]) {
            if (!d.is_number_unsigned()) fail("{}: tensor '{}': shape has a non-integer or negative dimension", path, name);
            uint64_t n = d.get<uint64_t>();
            if (n > (uint64_t(1) << 40) || (n && numel > std::numeric_limits<uint64_t>::max() / 64 / n))
                fail("{}: tensor '{}': shape too large", path, name);
            numel *= n;
            info.shape.push_back(int64_t(n));
        }
        const auto& offs = entry["data_offsets"];
        if (!offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
            fail("{}: tensor '{}': data_offsets must be non-negative integers", path, name);
        uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
        if (begin > end || end > data_size)
            fail("{}: tensor '{}': data_offsets [{}, {}] outside the data section ({} bytes; file truncated?)", path,
                 name, begin, end, data_size);
        if (end - begin != numel * elem_bytes)
            fail("{}: tensor '{}': {} bytes in the file but shape and dtype {} need {}", path, name, end - begin,
                 dtype_str, numel * elem_bytes);
        info.data = data + begin;
        info.nbytes = size_t(end - begin);
        if (end > begin) ranges.emplace_back(begin, end, name);
        if (tensors_.count(name)) fail("{}: tensor '{}' also appears in {}", path, name, tensors_[name].file);
        dtype_strings_[name] = dtype_str;
        tensors_.emplace(name, std::move(info));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
        const auto& [b0, e0, n0] = ranges[i - 1];
        const auto& [b1, e1, n1] = ranges[i];
        if (e0 > b1) fail("{}: corrupted: tensor '{}' (bytes {}..{}) overlaps tensor '{}' (bytes {}..{})", path, n0, b0, e0, n1, b1, e1);
    }
    if (expected_names) {
        for (const auto& n : *expected_names) {
            if (!tensors_.count(n)) fail("{}: tensor '{}' listed in the index is missing from the file", path, n);
        }
    }
    files_.push_back(path);
    maps_.push_back(std::move(map));
}

const TensorInfo* SafetensorsSource::find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> SafetensorsSource::names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& kv : tensors_) out.push_back(kv.first);
    return out;
}

const std::vector<std::string>& SafetensorsSource::files() const { return files_; }

const std::string& SafetensorsSource::file_dtype_string(const std::string& name) const {
    static const std::string none;
    auto it = dtype_strings_.find(name);
    return it == dtype_strings_.end() ? none : it->second;
}

bool dir_has_safetensors(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return false;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() == ".safetensors") return true;
        if (e.path().filename() == "model.safetensors.index.json") return true;
    }
    return false;
}

}  // namespace lightllm
