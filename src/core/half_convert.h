// Scalar conversions between fp32 and the 16-bit float formats:
//   f16  (IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits)
//   bf16 (bfloat16: the top 16 bits of an fp32)
// fp32 -> 16-bit rounds to nearest, ties to even; NaN stays NaN, overflow of
// f16 becomes inf. Used by the CPU backend (upload / to_f32 / KV cache) and
// by loaders.
#pragma once
#include <cstdint>
#include <cstring>

namespace lightllm {

inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: shift until the implicit bit appears
            int e = 0;
            while ((mant & 0x400) == 0) {
                mant <<= 1;
                ++e;
            }
            bits = sign | (uint32_t(127 - 15 + 1 - e) << 23) | ((mant & 0x3ff) << 13);
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

inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t exp = (x >> 23) & 0xff;
    uint32_t mant = x & 0x7fffff;
    if (exp == 0xff) return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));
    const int e = int(exp) - 127 + 15;
    if (e >= 0x1f) return uint16_t(sign | 0x7c00);
    if (e <= 0) {  // f16 subnormal or zero
        if (e < -10) return uint16_t(sign);
        mant |= 0x800000;
        const int shift = 14 - e;
        uint32_t half = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1);
        const uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) ++half;
        return uint16_t(sign | half);
    }
    uint32_t half = (uint32_t(e) << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // a carry into the exponent is still right
    return uint16_t(sign | half);
}

inline float bf16_to_f32(uint16_t h) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 0x40);  // keep NaN quiet
    x += 0x7fff + ((x >> 16) & 1);
    return uint16_t(x >> 16);
}

}  // namespace lightllm
