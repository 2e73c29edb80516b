// A slice of a file tensor, read without converting the rest of it: what a
// tensor-parallel rank keeps of a weight (models/tp_shard.h says which slice).
//
// A tensor is seen as rows of its first dimension ([n_out, n_in] for a
// weight; a 1-D vector is rows of one element). GGUF stores each row as whole
// quantization blocks (32 values, or 256 for the K-quants; plain types are
// blocks of one), so
//   - a block of whole rows is one contiguous byte range: a view into the
//     mapped file when it is the whole slice, else copied bytes, still in
//     the file's dtype;
//   - a column range that starts and ends on block boundaries is the same
//     byte range of every row: copied, still in the file's dtype;
//   - any other column range is dequantized to F32 from only the blocks that
//     cover it, row by row.
// Rows past the selected ones up to pad_rows are zeros (all-zero bytes are
// zeros in every block format: the scales are zero). Only the selected rows'
// bytes are read, so the host memory a slice takes is about its own size.
#pragma once
#include "tensor_source.h"
#include <cstdint>
#include <utility>
#include <vector>

namespace lightllm {

struct TensorSlice {
    std::vector<std::pair<int64_t, int64_t>> rows;  // (first row, count), concatenated in order
    int64_t col0 = 0, n_cols = -1;                   // n_cols -1: every column
    int64_t pad_rows = -1;                           // -1: no padding
    bool zero = false;                               // the slice's shape, all zeros
};

// The slice of `src` as a TensorInfo (same name and file; shape [rows, n_cols],
// or [rows] for a 1-D tensor); its data points into src's bytes or into
// `owned`, which must outlive it; with view == false always into `owned` (src
// may then go away). Throws Error naming the file and tensor when the rows or
// columns are out of range.
TensorInfo slice_tensor(const TensorInfo& src, const TensorSlice& slice, std::vector<uint8_t>& owned,
                        bool view = true);

}  // namespace lightllm
