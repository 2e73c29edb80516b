#include "gguf_reader.h"
#include "check.h"
#include <algorithm>
#include <cstring>
#include <limits>

namespace lightllm {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxDims = 4;                  // GGML_MAX_DIMS

struct GgmlTypeDesc {
    uint32_t id;
    const char* name;
    int64_t block_elems;
    size_t block_bytes;
    FileDType dtype;
};

// Sizes from the GGML block definitions.
constexpr GgmlTypeDesc kGgmlTypes[] = {
    {0, "F32", 1, 4, FileDType::F32},        {1, "F16", 1, 2, FileDType::F16},
    {2, "Q4_0", 32, 18, FileDType::Q4_0},    {3, "Q4_1", 32, 20, FileDType::Q4_1},
    {6, "Q5_0", 32, 22, FileDType::Q5_0},    {7, "Q5_1", 32, 24, FileDType::Q5_1},
    {8, "Q8_0", 32, 34, FileDType::Q8_0},    {9, "Q8_1", 32, 36, FileDType::Unknown},
    {10, "Q2_K", 256, 84, FileDType::Unknown}, {11, "Q3_K", 256, 110, FileDType::Unknown},
    {12, "Q4_K", 256, 144, FileDType::Q4_K}, {13, "Q5_K", 256, 176, FileDType::Unknown},
    {14, "Q6_K", 256, 210, FileDType::Q6_K}, {15, "Q8_K", 256, 292, FileDType::Unknown},
    {16, "IQ2_XXS", 256, 66, FileDType::Unknown}, {17, "IQ2_XS", 256, 74, FileDType::Unknown},
    {18, "IQ3_XXS", 256, 98, FileDType::Unknown}, {19, "IQ1_S", 256, 50, FileDType::Unknown},
    {20, "IQ4_NL", 32, 18, FileDType::Unknown},   {21, "IQ3_S", 256, 110, FileDType::Unknown},
    {22, "IQ2_S", 256, 82, FileDType::Unknown},   {23, "IQ4_XS", 256, 136, FileDType::Unknown},
    {24, "I8", 1, 1, FileDType::Unknown},    {25, "I16", 1, 2, FileDType::Unknown},
    {26, "I32", 1, 4, FileDType::Unknown},   {27, "I64", 1, 8, FileDType::Unknown},
    {28, "F64", 1, 8, FileDType::Unknown},   {29, "IQ1_M", 256, 56, FileDType::Unknown},
    {30, "BF16", 1, 2, FileDType::BF16},
};

const GgmlTypeDesc* ggml_type_desc(uint32_t type) {
    for (const auto& d : kGgmlTypes)
        if (d.id == type) return &d;
    return nullptr;
}

size_t scalar_size(GgufType t) {
    switch (t) {
        case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
        case GgufType::U16: case GgufType::I16: return 2;
        case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
        case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
        default: return 0;
    }
}

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

// Integer value of a scalar at p of type t; false when t is not an integer type.
bool load_integer(GgufType t, const uint8_t* p, int64_t* out, bool* is_unsigned_big) {
    *is_unsigned_big = false;
    switch (t) {
        case GgufType::U8: *out = load<uint8_t>(p); return true;
        case GgufType::I8: *out = load<int8_t>(p); return true;
        case GgufType::U16: *out = load<uint16_t>(p); return true;
        case GgufType::I16: *out = load<int16_t>(p); return true;
        case GgufType::U32: *out = load<uint32_t>(p); return true;
        case GgufType::I32: *out = load<int32_t>(p); return true;
        case GgufType::I64: *out = load<int64_t>(p); return true;
        case GgufType::U64: {
            uint64_t v = load<uint64_t>(p);
            if (v > uint64_t(std::numeric_limits<int64_t>::max())) *is_unsigned_big = true;
            *out = int64_t(v);
            return true;
        }
        default: return false;
    }
}

}  // namespace

const char* gguf_type_name(GgufType t) {
    switch (t) {
        case GgufType::U8: return "u8";
        case GgufType::I8: return "i8";
        case GgufType::U16: return "u16";
        case GgufType::I16: return "i16";
        case GgufType::U32: return "u32";
        case GgufType::I32: return "i32";
        case GgufType::F32: return "f32";
        case GgufType::Bool: return "bool";
        case GgufType::String: return "string";
        case GgufType::Array: return "array";
        case GgufType::U64: return "u64";
        case GgufType::I64: return "i64";
        case GgufType::F64: return "f64";
    }
    return "unknown";
}

bool GgufValue::is_integer() const {
    switch (type) {
        case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
        case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
        default: return false;
    }
}

bool ggml_type_block(uint32_t type, int64_t* block_elems, size_t* block_bytes) {
    const GgmlTypeDesc* d = ggml_type_desc(type);
    if (!d) return false;
    *block_elems = d->block_elems;
    *block_bytes = d->block_bytes;
    return true;
}

const char* ggml_type_name(uint32_t type) {
    const GgmlTypeDesc* d = ggml_type_desc(type);
    return d ? d->name : "unknown";
}

FileDType ggml_type_to_file_dtype(uint32_t type) {
    const GgmlTypeDesc* d = ggml_type_desc(type);
    return d ? d->dtype : FileDType::Unknown;
}

int64_t GgufTensor::numel() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
}

// Sequential reader over the mapping; every read is bounds-checked.
class GgufParser {
public:
    explicit GgufParser(GgufFile& f) : f_(f), p_(f.file_.data()), size_(f.file_.size()) {}

    void parse() {
        if (size_ < 4) fail("{}: not a GGUF file (only {} bytes)", path(), size_);
        uint32_t magic = u32("magic");
        if (magic != kGgufMagic) fail("{}: not a GGUF file: its header does not start with \"GGUF\" (bad magic 0x{:08x}); the file is damaged or of another format", path(), magic);
        uint32_t version = u32("version");
        if (version == 1) fail("{}: GGUF version 1 is not supported (re-convert the model)", path());
        if (version != 2 && version != 3) {
            fail("{}: unsupported GGUF version {}{}", path(), version,
                 (version & 0xffff) == 0 ? " (big-endian file?)" : "");
        }
        f_.version_ = version;
        uint64_t n_tensors = u64("tensor count");
        uint64_t n_kv = u64("metadata count");
        // Each entry takes at least 8 (+4) bytes: reject absurd counts before allocating.
        if (n_kv > remaining() / 12)
            fail("{}: metadata count {} exceeds the file size (truncated or corrupted){}", path(), n_kv, text_conversion_hint());
        for (uint64_t i = 0; i < n_kv; ++i) read_kv();
        if (n_tensors > remaining() / 24)
            fail("{}: tensor count {} exceeds the file size (truncated or corrupted)", path(), n_tensors);
        read_alignment();
        f_.tensors_.reserve(n_tensors);
        for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info();
        size_t a = f_.alignment_;
        size_t data_offset = (pos_ + a - 1) / a * a;
        if (n_tensors > 0 && data_offset > size_)
            fail("{}: truncated: data section starts at {} but the file has {} bytes", path(), data_offset, size_);
        f_.data_offset_ = data_offset;
        place_tensors();
    }

private:
    const std::string& path() const { return f_.path(); }
    size_t remaining() const { return size_ - pos_; }

    // A common way to break a GGUF file: saving it through a UTF-8 text
    // conversion, which turns invalid bytes into U+FFFD (EF BF BD).
    std::string text_conversion_hint() const {
        size_t end = std::min(size_, pos_ + 64);
        for (size_t i = 0; i + 3 <= end; ++i)
            if (p_[i] == 0xEF && p_[i + 1] == 0xBF && p_[i + 2] == 0xBD)
                return " (the header contains U+FFFD bytes EF BF BD: the file was probably damaged by a text-mode UTF-8 conversion)";
        return {};
    }

    const uint8_t* take(size_t n, const char* what) {
        if (n > remaining())
            fail("{}: truncated or corrupted: reading {} needs {} bytes at offset {}, file has {}{}", path(), what, n, pos_, size_,
                 text_conversion_hint());
        const uint8_t* q = p_ + pos_;
        pos_ += n;
        return q;
    }
    uint32_t u32(const char* what) { return load<uint32_t>(take(4, what)); }
    uint64_t u64(const char* what) { return load<uint64_t>(take(8, what)); }

    std::string_view str(const char* what) {
        uint64_t n = u64(what);
        if (n > remaining())
            fail("{}: truncated or corrupted: {} of length {} at offset {} runs past the end ({} bytes){}", path(), what, n, pos_, size_,
                 text_conversion_hint());
        return {reinterpret_cast<const char*>(take(size_t(n), what)), size_t(n)};
    }

    GgufType type(const std::string& key) {
        uint32_t t = u32("value type");
        if (t > uint32_t(GgufType::F64)) fail("{}: metadata '{}' has unknown value type {}", path(), key, t);
        return GgufType(t);
    }

    void read_kv() {
        std::string key(str("metadata key"));
        GgufValue v;
        v.type = type(key);
        if (v.type == GgufType::String) {
            v.str = str(key.c_str());
        } else if (v.type == GgufType::Array) {
            v.elem_type = type(key);
            v.n = u64("array length");
            if (v.elem_type == GgufType::Array) fail("{}: metadata '{}' is a nested array (not supported)", path(), key);
            if (v.elem_type == GgufType::String) {
                if (v.n > remaining() / 8) fail("{}: truncated or corrupted: array '{}' of {} strings runs past the end", path(), key, v.n);
                v.strings.reserve(size_t(v.n));
                for (uint64_t j = 0; j < v.n; ++j) v.strings.push_back(str(key.c_str()));
            } else {
                size_t es = scalar_size(v.elem_type);
                if (v.n > remaining() / es) fail("{}: truncated or corrupted: array '{}' of {} elements runs past the end", path(), key, v.n);
                v.data = take(size_t(v.n) * es, key.c_str());
            }
        } else {
            v.data = take(scalar_size(v.type), key.c_str());
        }
        if (f_.kv_.count(key)) fail("{}: duplicate metadata key '{}'", path(), key);
        f_.keys_.push_back(key);
        f_.kv_.emplace(std::move(key), std::move(v));
    }

    void read_alignment() {
        const GgufValue* a = f_.find("general.alignment");
        if (!a) return;
        int64_t v = 0;
        bool big = false;
        if (!load_integer(a->type, a->data, &v, &big) || big || v <= 0 || (v & (v - 1)) != 0 || v > (1 << 20))
            fail("{}: general.alignment must be a power-of-two integer", path());
        f_.alignment_ = size_t(v);
    }

    void read_tensor_info() {
        GgufTensor t;
        t.name = std::string(str("tensor name"));
        uint32_t n_dims = u32("tensor dims");
        if (n_dims == 0 || n_dims > kMaxDims) fail("{}: tensor '{}' has {} dimensions (1..{} allowed)", path(), t.name, n_dims, kMaxDims);
        int64_t numel = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            uint64_t ne = u64("tensor dim");
            if (ne > uint64_t(1) << 40 || (ne > 0 && uint64_t(numel) > (uint64_t(1) << 50) / ne))
                fail("{}: tensor '{}' has an absurd size (dimension {} = {})", path(), t.name, d, ne);
            t.ne.push_back(int64_t(ne));
            numel *= int64_t(ne);
        }
        t.type = u32("tensor type");
        t.offset = u64("tensor offset");
        int64_t be = 0;
        size_t bb = 0;
        t.known_type = ggml_type_block(t.type, &be, &bb);
        if (t.known_type) {
            if (t.ne[0] % be != 0)
                fail("{}: tensor '{}': row length {} is not a multiple of the {} block size {}", path(), t.name, t.ne[0], ggml_type_name(t.type), be);
            t.nbytes = size_t(numel / be) * bb;
        }
        if (f_.tensor_index_.count(t.name)) fail("{}: duplicate tensor '{}'", path(), t.name);
        f_.tensor_index_.emplace(t.name, f_.tensors_.size());
        f_.tensors_.push_back(std::move(t));
    }

    void place_tensors() {
        size_t data_size = size_ - f_.data_offset_;
        for (GgufTensor& t : f_.tensors_) {
            if (t.offset % f_.alignment_ != 0)
                fail("{}: tensor '{}' offset {} is not aligned to {}", path(), t.name, t.offset, f_.alignment_);
            if (t.offset > data_size || t.nbytes > data_size - t.offset)
                fail("{}: truncated: tensor '{}' ({} bytes at data offset {}) runs past the end of the file", path(), t.name,
                     t.nbytes, t.offset);
            t.data = p_ + f_.data_offset_ + t.offset;
        }
        // No tensor may overlap the next one in the file (a changed type or
        // shape would read its neighbour's bytes).
        std::vector<const GgufTensor*> by_offset;
        for (const GgufTensor& t : f_.tensors_)
            if (t.known_type) by_offset.push_back(&t);
        std::sort(by_offset.begin(), by_offset.end(), [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
        for (size_t i = 1; i < by_offset.size(); ++i) {
            const GgufTensor& a = *by_offset[i - 1];
            const GgufTensor& b = *by_offset[i];
            if (a.offset + a.nbytes > b.offset)
                fail("{}: corrupted: tensor '{}' ({}, {} bytes at data offset {}) overlaps tensor '{}' at data offset {}", path(), a.name,
                     ggml_type_name(a.type), a.nbytes, a.offset, b.name, b.offset);
        }
    }

    GgufFile& f_;
    const uint8_t* p_;
    size_t size_;
    size_t pos_ = 0;
};

std::shared_ptr<GgufFile> GgufFile::open(const std::string& path) {
    auto f = std::make_shared<GgufFile>(MappedFile(path));
    GgufParser(*f).parse();
    return f;
}

const GgufValue* GgufFile::find(const std::string& key) const {
    auto it = kv_.find(key);
    return it == kv_.end() ? nullptr : &it->second;
}

const GgufValue& GgufFile::require(const std::string& key) const {
    const GgufValue* v = find(key);
    if (!v) fail("{}: metadata '{}' is missing", path(), key);
    return *v;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::string GgufFile::get_string(const std::string& key) const {
    const GgufValue& v = require(key);
    if (v.type != GgufType::String) fail("{}: metadata '{}' is {}, expected a string", path(), key, gguf_type_name(v.type));
    return std::string(v.str);
}

int64_t GgufFile::get_i64(const std::string& key) const {
    const GgufValue& v = require(key);
    int64_t x = 0;
    bool big = false;
    if (!load_integer(v.type, v.data, &x, &big)) fail("{}: metadata '{}' is {}, expected an integer", path(), key, gguf_type_name(v.type));
    if (big) fail("{}: metadata '{}' is too large", path(), key);
    return x;
}

uint32_t GgufFile::get_u32(const std::string& key) const {
    int64_t x = get_i64(key);
    if (x < 0 || x > int64_t(std::numeric_limits<uint32_t>::max())) fail("{}: metadata '{}' = {} is out of range", path(), key, x);
    return uint32_t(x);
}

float GgufFile::get_f32(const std::string& key) const {
    const GgufValue& v = require(key);
    if (v.type == GgufType::F32) return load<float>(v.data);
    if (v.type == GgufType::F64) return float(load<double>(v.data));
    fail("{}: metadata '{}' is {}, expected a float", path(), key, gguf_type_name(v.type));
}

bool GgufFile::get_bool(const std::string& key) const {
    const GgufValue& v = require(key);
    if (v.type != GgufType::Bool) fail("{}: metadata '{}' is {}, expected a bool", path(), key, gguf_type_name(v.type));
    return v.data[0] != 0;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
    const GgufValue& v = require(key);
    if (v.type != GgufType::Array || v.elem_type != GgufType::String)
        fail("{}: metadata '{}' is not an array of strings", path(), key);
    return {v.strings.begin(), v.strings.end()};
}

std::vector<float> GgufFile::get_f32_array(const std::string& key) const {
    const GgufValue& v = require(key);
    if (v.type != GgufType::Array || (v.elem_type != GgufType::F32 && v.elem_type != GgufType::F64))
        fail("{}: metadata '{}' is not an array of floats", path(), key);
    std::vector<float> out(size_t(v.n));
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = v.elem_type == GgufType::F32 ? load<float>(v.data + 4 * i) : float(load<double>(v.data + 8 * i));
    return out;
}

std::vector<int32_t> GgufFile::get_i32_array(const std::string& key) const {
    const GgufValue& v = require(key);
    size_t es = scalar_size(v.elem_type);
    if (v.type != GgufType::Array || v.elem_type == GgufType::F32 || v.elem_type == GgufType::F64 ||
        v.elem_type == GgufType::Bool || es == 0)
        fail("{}: metadata '{}' is not an array of integers", path(), key);
    std::vector<int32_t> out(size_t(v.n));
    for (size_t i = 0; i < out.size(); ++i) {
        int64_t x = 0;
        bool big = false;
        load_integer(v.elem_type, v.data + es * i, &x, &big);
        if (big || x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
            fail("{}: metadata '{}'[{}] = {} does not fit in int32", path(), key, i, x);
        out[i] = int32_t(x);
    }
    return out;
}

std::string GgufFile::get_string(const std::string& key, const std::string& dflt) const {
    return has(key) ? get_string(key) : dflt;
}
uint32_t GgufFile::get_u32(const std::string& key, uint32_t dflt) const { return has(key) ? get_u32(key) : dflt; }
float GgufFile::get_f32(const std::string& key, float dflt) const { return has(key) ? get_f32(key) : dflt; }
bool GgufFile::get_bool(const std::string& key, bool dflt) const { return has(key) ? get_bool(key) : dflt; }

GgufTensorSource::GgufTensorSource(std::shared_ptr<const GgufFile> file) : file_(std::move(file)) {
    infos_.reserve(file_->tensors().size());
    for (const GgufTensor& t : file_->tensors()) {
        FileDType dt = ggml_type_to_file_dtype(t.type);
        if (dt == FileDType::Unknown)
            fail("{}: tensor '{}' has GGML type {} ({}), which lightllm does not support", file_->path(), t.name, t.type,
                 ggml_type_name(t.type));
        TensorInfo info;
        info.name = t.name;
        info.dtype = dt;
        info.shape = t.shape();
        info.data = t.data;
        info.nbytes = t.nbytes;
        info.file = file_->path();
        index_.emplace(t.name, infos_.size());
        infos_.push_back(std::move(info));
    }
}

std::unique_ptr<GgufTensorSource> GgufTensorSource::open(const std::string& path) {
    return std::make_unique<GgufTensorSource>(GgufFile::open(path));
}

const TensorInfo* GgufTensorSource::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &infos_[it->second];
}

std::vector<std::string> GgufTensorSource::names() const {
    std::vector<std::string> out;
    out.reserve(infos_.size());
    for (const auto& i : infos_) out.push_back(i.name);
    return out;
}

}  // namespace lightllm
