// slice_tensor: rows and block-aligned columns as bytes, other columns
// dequantized from their covering blocks (tensor_slice.h).
#include "tensor_slice.h"
#include "check.h"
#include "file_dtype.h"
#include <algorithm>
#include <cstring>

namespace lightllm {

namespace {

// The slice of `src`, whose rows are whole blocks of row_bytes bytes each;
// a view into src's bytes only when `view_ok`.
TensorInfo slice_rows(const TensorInfo& src, const TensorSlice& s, int64_t cols, size_t row_bytes, bool view_ok,
                      TensorInfo out, std::vector<uint8_t>& owned) {
    const int64_t n_cols = out.shape.size() >= 2 ? out.shape[1] : cols, out_rows = out.shape[0];
    int64_t n_rows = 0;
    for (const auto& r : s.rows) n_rows += r.second;
    const int64_t B = file_dtype_block_elems(src.dtype);
    const size_t bb = file_dtype_block_bytes(src.dtype);
    if (view_ok && !s.zero && s.rows.size() == 1 && n_cols == cols && out_rows == n_rows) {
        out.data = src.data + size_t(s.rows[0].first) * row_bytes;  // whole rows: a view
        out.nbytes = size_t(n_rows) * row_bytes;
        return out;
    }
    if (s.col0 % B == 0 && n_cols % B == 0) {  // whole blocks of every row: bytes as stored
        const size_t out_row = size_t(n_cols / B) * bb, skip = size_t(s.col0 / B) * bb;
        owned.assign(out_row * size_t(out_rows), 0);
        int64_t o = 0;
        for (const auto& [first, count] : s.rows)
            for (int64_t i = 0; i < count && !s.zero; ++i, ++o)
                std::memcpy(owned.data() + size_t(o) * out_row, src.data + size_t(first + i) * row_bytes + skip,
                            out_row);
        out.data = owned.data();
        out.nbytes = owned.size();
        return out;
    }
    // Columns inside blocks: dequantize each row's covering blocks only.
    const int64_t b0 = s.col0 / B, b1 = (s.col0 + n_cols + B - 1) / B;
    TensorInfo part = src;
    part.shape = {(b1 - b0) * B};
    part.nbytes = size_t(b1 - b0) * bb;
    std::vector<float> tmp(size_t((b1 - b0) * B));
    owned.assign(size_t(out_rows * n_cols) * sizeof(float), 0);
    int64_t o = 0;
    for (const auto& [first, count] : s.rows)
        for (int64_t i = 0; i < count && !s.zero; ++i, ++o) {
            part.data = src.data + size_t(first + i) * row_bytes + size_t(b0) * bb;
            tensor_to_f32(part, tmp.data());
            std::memcpy(owned.data() + size_t(o * n_cols) * sizeof(float), tmp.data() + (s.col0 - b0 * B),
                        size_t(n_cols) * sizeof(float));
        }
    out.dtype = FileDType::F32;
    out.data = owned.data();
    out.nbytes = owned.size();
    return out;
}

}  // namespace

TensorInfo slice_tensor(const TensorInfo& src, const TensorSlice& s, std::vector<uint8_t>& owned, bool view) {
    const int64_t rows = src.shape.empty() ? 1 : src.shape[0];
    const int64_t cols = rows == 0 ? 0 : src.numel() / rows;
    const int64_t n_cols = s.n_cols < 0 ? cols : s.n_cols;
    int64_t n_rows = 0;
    for (const auto& [first, count] : s.rows) {
        if (first < 0 || count < 0 || first + count > rows)
            fail("{}: tensor '{}' has {} rows; this rank needs rows {}..{} (does the config match the file?)",
                 src.file, src.name, rows, first, first + count);
        n_rows += count;
    }
    if (s.col0 < 0 || n_cols < 0 || s.col0 + n_cols > cols)
        fail("{}: tensor '{}' has {} columns; this rank needs {}..{}", src.file, src.name, cols, s.col0,
             s.col0 + n_cols);
    TensorInfo out = src;
    const int64_t out_rows = std::max(n_rows, s.pad_rows);
    if (out.shape.empty()) out.shape = {out_rows};
    out.shape[0] = out_rows;
    if (out.shape.size() >= 2) {
        out.shape.resize(2);
        out.shape[1] = n_cols;
    }
    const size_t row_bytes = file_dtype_nbytes(src.dtype, cols);
    if (src.dtype == FileDType::Unknown)
        fail("{}: tensor '{}': cannot slice an unsupported dtype", src.file, src.name);
    if (row_bytes != SIZE_MAX) {
        if (src.nbytes < row_bytes * size_t(rows) || (rows > 0 && row_bytes > 0 && src.data == nullptr))
            fail("{}: tensor '{}': {} bytes for {} rows of {} {} values", src.file, src.name, src.nbytes, rows, cols,
                 file_dtype_name(src.dtype));
        return slice_rows(src, s, cols, row_bytes, view, out, owned);
    }
    // Rows that are not whole blocks (a quantized vector): the whole tensor in F32 first.
    std::vector<float> whole(size_t(src.numel()));
    if (!s.zero) tensor_to_f32(src, whole.data());
    TensorInfo f32 = src;
    f32.dtype = FileDType::F32;
    f32.data = reinterpret_cast<const uint8_t*>(whole.data());
    f32.nbytes = whole.size() * sizeof(float);
    out.dtype = FileDType::F32;
    return slice_rows(f32, s, cols, size_t(cols) * sizeof(float), false, out, owned);
}

}  // namespace lightllm
