// Converting file tensors to fp32: plain types and the GGML block formats
// (layouts in file_dtype.h). Also TensorSource::require and the dtype names.
#include "check.h"
#include "file_dtype.h"
#include "tensor_source.h"
#include <cstring>

namespace lightllm {

const char* file_dtype_name(FileDType t) {
    switch (t) {
        case FileDType::F32: return "F32";
        case FileDType::F16: return "F16";
        case FileDType::BF16: return "BF16";
        case FileDType::Q8_0: return "Q8_0";
        case FileDType::Q4_0: return "Q4_0";
        case FileDType::Q4_1: return "Q4_1";
        case FileDType::Q5_0: return "Q5_0";
        case FileDType::Q5_1: return "Q5_1";
        case FileDType::Q6_K: return "Q6_K";
        case FileDType::Q4_K: return "Q4_K";
        case FileDType::Unknown: return "unknown";
    }
    return "unknown";
}

int64_t file_dtype_block_elems(FileDType t) {
    switch (t) {
        case FileDType::F32: case FileDType::F16: case FileDType::BF16: return 1;
        case FileDType::Q8_0: case FileDType::Q4_0: case FileDType::Q4_1:
        case FileDType::Q5_0: case FileDType::Q5_1: return 32;
        case FileDType::Q6_K: case FileDType::Q4_K: return 256;
        case FileDType::Unknown: return 0;
    }
    return 0;
}

size_t file_dtype_block_bytes(FileDType t) {
    switch (t) {
        case FileDType::F32: return 4;
        case FileDType::F16: case FileDType::BF16: return 2;
        case FileDType::Q8_0: return 34;
        case FileDType::Q4_0: return 18;
        case FileDType::Q4_1: return 20;
        case FileDType::Q5_0: return 22;
        case FileDType::Q5_1: return 24;
        case FileDType::Q6_K: return 210;
        case FileDType::Q4_K: return 144;
        case FileDType::Unknown: return 0;
    }
    return 0;
}

size_t file_dtype_nbytes(FileDType t, int64_t n) {
    int64_t blk = file_dtype_block_elems(t);
    if (blk == 0) return 0;
    if (n % blk != 0) return SIZE_MAX;
    return size_t(n / blk) * file_dtype_block_bytes(t);
}

const TensorInfo& TensorSource::require(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorInfo* t = find(name);
    if (!t) {
        std::vector<std::string> all = names();
        const TensorInfo* any = all.empty() ? nullptr : find(all.front());
        fail("{}: missing tensor '{}'", any ? any->file : std::string("model files"), name);
    }
    if (t->shape != shape) {
        auto str = [](const std::vector<int64_t>& s) {
            std::string r = "[";
            for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
            return r + "]";
        };
        fail("{}: tensor '{}' has shape {}, expected {}", t->file, name, str(t->shape), str(shape));
    }
    if (t->dtype == FileDType::Unknown) fail("{}: tensor '{}' has an unsupported dtype", t->file, name);
    return *t;
}

namespace {

inline uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline float rdf16(const uint8_t* p) { return f16_to_f32(rd16(p)); }

void block_q8_0(const uint8_t* b, float* y) {
    float d = rdf16(b);
    const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
    for (int j = 0; j < 32; ++j) y[j] = float(q[j]) * d;
}

void block_q4_0(const uint8_t* b, float* y) {
    float d = rdf16(b);
    const uint8_t* qs = b + 2;
    for (int j = 0; j < 16; ++j) {
        y[j] = float(int(qs[j] & 0x0f) - 8) * d;
        y[j + 16] = float(int(qs[j] >> 4) - 8) * d;
    }
}

void block_q4_1(const uint8_t* b, float* y) {
    float d = rdf16(b), m = rdf16(b + 2);
    const uint8_t* qs = b + 4;
    for (int j = 0; j < 16; ++j) {
        y[j] = float(qs[j] & 0x0f) * d + m;
        y[j + 16] = float(qs[j] >> 4) * d + m;
    }
}

// Q5: the fifth bit of element j is bit j of the 32-bit little-endian qh.
void block_q5(const uint8_t* b, float* y, bool with_min) {
    float d = rdf16(b), m = with_min ? rdf16(b + 2) : 0.0f;
    const uint8_t* p = b + (with_min ? 4 : 2);
    uint32_t qh = uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
    const uint8_t* qs = p + 4;
    int offset = with_min ? 0 : 16;
    for (int j = 0; j < 16; ++j) {
        int lo = (qs[j] & 0x0f) | int(((qh >> j) & 1) << 4);
        int hi = (qs[j] >> 4) | int(((qh >> (j + 16)) & 1) << 4);
        y[j] = float(lo - offset) * d + m;
        y[j + 16] = float(hi - offset) * d + m;
    }
}

// Q4_K: 8 sub-blocks of 32, each with a 6-bit scale and 6-bit min packed in
// 12 bytes; x = d * sc * q - dmin * mn.
void q4_k_scale_min(int j, const uint8_t* s, int& sc, int& mn) {
    if (j < 4) {
        sc = s[j] & 63;
        mn = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

void block_q4_k(const uint8_t* b, float* y) {
    float d = rdf16(b), dmin = rdf16(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* q = b + 16;
    for (int is = 0; is < 8; is += 2) {
        int sc0, m0, sc1, m1;
        q4_k_scale_min(is, scales, sc0, m0);
        q4_k_scale_min(is + 1, scales, sc1, m1);
        for (int l = 0; l < 32; ++l) y[l] = d * float(sc0) * float(q[l] & 0x0f) - dmin * float(m0);
        for (int l = 0; l < 32; ++l) y[l + 32] = d * float(sc1) * float(q[l] >> 4) - dmin * float(m1);
        y += 64;
        q += 32;
    }
}

// Q6_K: 4 low bits in ql[128], 2 high bits in qh[64], 16 int8 scales, f16 d.
void block_q6_k(const uint8_t* b, float* y) {
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    float d = rdf16(b + 208);
    for (int half = 0; half < 2; ++half) {
        for (int l = 0; l < 32; ++l) {
            int is = l / 16;
            int q1 = int((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = int((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * float(sc[is]) * float(q1);
            y[l + 32] = d * float(sc[is + 2]) * float(q2);
            y[l + 64] = d * float(sc[is + 4]) * float(q3);
            y[l + 96] = d * float(sc[is + 6]) * float(q4);
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

}  // namespace

void tensor_to_f32(const TensorInfo& info, float* out) {
    const int64_t n = info.numel();
    const size_t need = file_dtype_nbytes(info.dtype, n);
    if (info.dtype == FileDType::Unknown) fail("{}: tensor '{}': cannot convert an unsupported dtype to f32", info.file, info.name);
    if (need == SIZE_MAX)
        fail("{}: tensor '{}': {} elements is not a whole number of {} blocks", info.file, info.name, n,
             file_dtype_name(info.dtype));
    if (info.nbytes < need || (need > 0 && info.data == nullptr))
        fail("{}: tensor '{}': {} bytes but {} {} elements need {}", info.file, info.name, info.nbytes, n,
             file_dtype_name(info.dtype), need);
    const uint8_t* src = info.data;
    const int64_t blk = file_dtype_block_elems(info.dtype);
    const int64_t n_blocks = n / blk;
    const size_t bb = file_dtype_block_bytes(info.dtype);
    switch (info.dtype) {
        case FileDType::F32: std::memcpy(out, src, size_t(n) * 4); return;
        case FileDType::F16:
#pragma omp parallel for if (n > (1 << 16))
            for (int64_t i = 0; i < n; ++i) out[i] = rdf16(src + 2 * i);
            return;
        case FileDType::BF16:
#pragma omp parallel for if (n > (1 << 16))
            for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(rd16(src + 2 * i));
            return;
        default: break;
    }
    const FileDType t = info.dtype;
#pragma omp parallel for if (n_blocks > 1024)
    for (int64_t ib = 0; ib < n_blocks; ++ib) {
        const uint8_t* b = src + size_t(ib) * bb;
        float* y = out + ib * blk;
        switch (t) {
            case FileDType::Q8_0: block_q8_0(b, y); break;
            case FileDType::Q4_0: block_q4_0(b, y); break;
            case FileDType::Q4_1: block_q4_1(b, y); break;
            case FileDType::Q5_0: block_q5(b, y, false); break;
            case FileDType::Q5_1: block_q5(b, y, true); break;
            case FileDType::Q4_K: block_q4_k(b, y); break;
            case FileDType::Q6_K: block_q6_k(b, y); break;
            default: break;
        }
    }
}

}  // namespace lightllm
