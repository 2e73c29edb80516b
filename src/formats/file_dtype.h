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
#include "half_convert.h"
#include "tensor_source.h"
#include <cstddef>
#include <cstdint>

namespace lightllm {

int64_t file_dtype_block_elems(FileDType t);  // 0 for Unknown
size_t file_dtype_block_bytes(FileDType t);   // 0 for Unknown

// Bytes taken by `n` elements; `n` must be a multiple of the block size
// (returns 0 for Unknown, SIZE_MAX when `n` is not a whole number of blocks).
size_t file_dtype_nbytes(FileDType t, int64_t n);

}  // namespace lightllm

