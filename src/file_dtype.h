// Sizes of the element types stored in model files (FileDType, declared in
// tensor_source.h). Plain types have one element per block; the GGML block
// formats pack `block_elems` values into `block_bytes` bytes:
//   Q8_0: 32 values, 34 bytes = f16 scale d + 32 x int8 q;   x = q * d
//   Q4_0: 32 values, 18 bytes = f16 d + 16 bytes of nibbles;  x = (q - 8) * d
//   Q4_1: 32 values, 20 bytes = f16 d + f16 m + 16 bytes;     x = q * d + m
//   Q5_0: 32 values, 22 bytes = f16 d + 4 bytes high bits + 16 bytes nibbles
//   Q5_1: 32 values, 24 bytes = f16 d + f16 m + 4 bytes high bits + 16 bytes
//   Q4_K: 256 values, 144 bytes; Q6_K: 256 values, 210 bytes (super-blocks)
// In the 4-bit formats byte j holds element j (low nibble) and j + 16 (high).
#pragma once
#include "tensor_source.h"
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lightllm {

int64_t file_dtype_block_elems(FileDType t);  // 0 for Unknown
size_t file_dtype_block_bytes(FileDType t);   // 0 for Unknown

// Bytes taken by `n` elements; `n` must be a multiple of the block size
// (returns 0 for Unknown, SIZE_MAX when `n` is not a whole number of blocks).
size_t file_dtype_nbytes(FileDType t, int64_t n);

}  // namespace lightllm

namespace lightllm {

// IEEE half <-> float, bfloat16 <-> float (round to nearest even).
inline float f16_bits_to_f32(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalize
            int e = -1;
            do { ++e; mant <<= 1; } while ((mant & 0x400) == 0);
            bits = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t f32_to_f16_bits(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t exp = (x >> 23) & 0xff;
    uint32_t mant = x & 0x7fffff;
    if (exp == 0xff) return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));  // inf / nan
    int e = int(exp) - 127 + 15;
    if (e >= 0x1f) return uint16_t(sign | 0x7c00);  // overflow -> inf
    if (e <= 0) {  // subnormal half or zero
        if (e < -10) return uint16_t(sign);
        mant |= 0x800000;
        int shift = 14 - e;
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) ++half;
        return uint16_t(sign | half);
    }
    uint32_t half = (uint32_t(e) << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // may carry into exp: still correct
    return uint16_t(sign | half);
}

inline float bf16_bits_to_f32(uint16_t h) {
    uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t f32_to_bf16_bits(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 0x40);  // quiet nan
    x += 0x7fff + ((x >> 16) & 1);
    return uint16_t(x >> 16);
}

}  // namespace lightllm
