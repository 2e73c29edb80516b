// The CPU reference backend: each op is the formula in backend.h written as
// plain fp32 loops. See cpu_backend.h for the int8 KV format.
#include "cpu_backend.h"
#include "cpu_cascade_attention.h"
#include "counter_rng.h"
#include "half_convert.h"
#include "kv_quant.h"
#include "kv_quant.h"
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace lightllm {

namespace {

// Element i of an array that may not be aligned to T (a safetensors file's
// data section starts right after a header of any length).
template <typename T>
T load_unaligned(const void* p, int64_t i) {
    T v;
    std::memcpy(&v, static_cast<const char*>(p) + i * int64_t(sizeof(T)), sizeof(T));
    return v;
}

float load_elem(const void* p, DType t, int64_t i) {
    switch (t) {
        case DType::F32: return load_unaligned<float>(p, i);
        case DType::F16: return f16_to_f32(load_unaligned<uint16_t>(p, i));
        case DType::BF16: return bf16_to_f32(load_unaligned<uint16_t>(p, i));
        case DType::I32: return float(load_unaligned<int32_t>(p, i));
        case DType::I8: return float(static_cast<const int8_t*>(p)[i]);
    }
    return 0.0f;
}

void store_elem(void* p, DType t, int64_t i, float v) {
    switch (t) {
        case DType::F32: static_cast<float*>(p)[i] = v; return;
        case DType::F16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); return;
        case DType::BF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); return;
        case DType::I32: static_cast<int32_t*>(p)[i] = int32_t(std::nearbyint(v)); return;
        case DType::I8: static_cast<int8_t*>(p)[i] = int8_t(std::clamp(std::nearbyint(v), -128.0f, 127.0f)); return;
    }
}

void check_f32(const Tensor& t, const char* what) {
    LL_CHECK(t.device == Device::CPU && t.dtype == DType::F32 && t.data, "{}: expected a CPU f32 tensor, got {} {}",
             what, dtype_name(t.dtype), device_name(t.device));
}

void check_i32(const Tensor& t, const char* what) {
    LL_CHECK(t.device == Device::CPU && t.dtype == DType::I32 && (t.data || t.numel() == 0),
             "{}: expected a CPU i32 tensor, got {}", what, dtype_name(t.dtype));
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

// One token's K or V for all KV heads, written to / read from the cache.
void store_kv_row(const float* x, const Tensor& cache, const Tensor& scale, int64_t slot, int n_kv_head,
                  int head_dim) {
    const int64_t base = slot * int64_t(n_kv_head) * head_dim;
    if (cache.dtype != DType::I8) {
        for (int64_t i = 0; i < int64_t(n_kv_head) * head_dim; ++i) store_elem(cache.data, cache.dtype, base + i, x[i]);
        return;
    }
    int8_t* q = cache.ptr<int8_t>() + base;
    for (int h = 0; h < n_kv_head; ++h)
        scale.ptr<float>()[slot * n_kv_head + h] =
            kv_int8_quantize_head(x + int64_t(h) * head_dim, head_dim, q + int64_t(h) * head_dim);
}

}  // namespace

void load_kv_head(const Tensor& cache, const Tensor& scale, int64_t slot, int kv_head, int n_kv_head, int head_dim,
                  float* out) {
    const int64_t base = (slot * n_kv_head + kv_head) * int64_t(head_dim);
    if (cache.dtype == DType::I8) {
        kv_int8_dequantize_head(cache.ptr<int8_t>() + base, scale.ptr<float>()[slot * n_kv_head + kv_head], head_dim,
                                out);
        return;
    }
    for (int d = 0; d < head_dim; ++d) out[d] = load_elem(cache.data, cache.dtype, base + d);
}

float alibi_slope(int h, int n_head) {
    int pow2 = 1;
    while (pow2 * 2 <= n_head) pow2 *= 2;
    if (h < pow2) return float(std::pow(2.0, -8.0 * (h + 1) / pow2));
    const int extra = h - pow2;  // odd powers of 2^(-4/pow2)
    return float(std::pow(2.0, -4.0 * (2 * extra + 1) / pow2));
}

// ---- memory ----

Tensor CpuBackend::alloc(DType dtype, std::initializer_list<int64_t> shape) {
    Tensor t(nullptr, dtype, Device::CPU, shape);
    const size_t n = std::max<size_t>(t.nbytes(), 1);
    t.data = std::calloc(n, 1);
    if (!t.data) fail("cpu backend: out of memory allocating {} bytes for a {} tensor", n, t.shape_str());
    return t;
}

void CpuBackend::free(Tensor& t) {
    std::free(t.data);
    t.data = nullptr;
}

void CpuBackend::upload(Tensor& dst, const void* src, DType src_dtype) {
    LL_CHECK(dst.device == Device::CPU && dst.data, "upload into a non-CPU or empty tensor");
    if (src_dtype == dst.dtype) {
        if (dst.nbytes() > 0) std::memcpy(dst.data, src, dst.nbytes());
        return;
    }
    const int64_t n = dst.numel();
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) store_elem(dst.data, dst.dtype, i, load_elem(src, src_dtype, i));
}

void CpuBackend::download(const Tensor& src, void* dst) {
    LL_CHECK(src.device == Device::CPU, "download from a non-CPU tensor");
    if (src.nbytes() > 0) std::memcpy(dst, src.data, src.nbytes());
}

void CpuBackend::fill_random(Tensor& t, uint64_t seed, float stddev) {
    const int64_t n = t.numel();
#pragma omp parallel for if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) store_elem(t.data, t.dtype, i, stddev * normal01(seed, uint64_t(i)));
}

size_t CpuBackend::free_memory() const {
    std::ifstream f("/proc/meminfo");
    std::string key, unit;
    size_t kb = 0;
    while (f >> key >> kb >> unit)
        if (key == "MemAvailable:") return kb * 1024;
    return size_t(8) << 30;  // no /proc: assume 8 GiB
}

// ---- ops ----

void CpuBackend::embedding(const Tensor& ids, const Tensor& table, Tensor& out) {
    check_i32(ids, "embedding ids");
    check_f32(table, "embedding table");
    check_f32(out, "embedding out");
    const int64_t n = ids.numel(), d = table.dim(1);
    LL_CHECK(out.rows() == n && out.dim(-1) == d, "embedding: out {} for {} ids of width {}", out.shape_str(), n, d);
    for (int64_t i = 0; i < n; ++i) {
        const int32_t id = ids.ptr<int32_t>()[i];
        LL_CHECK(id >= 0 && id < table.dim(0), "embedding: id {} outside vocab {}", id, table.dim(0));
        std::memcpy(out.ptr<float>() + i * d, table.ptr<float>() + int64_t(id) * d, size_t(d) * 4);
    }
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& w, Tensor& out, float eps) {
    check_f32(x, "rms_norm x");
    check_f32(w, "rms_norm w");
    check_f32(out, "rms_norm out");
    const int64_t n = x.rows(), d = x.dim(-1);
    LL_CHECK(w.numel() == d && out.rows() == n && out.dim(-1) == d, "rms_norm shapes");
#pragma omp parallel for if (n > 1)
    for (int64_t i = 0; i < n; ++i) {
        const float* xi = x.ptr<float>() + i * d;
        double ss = 0.0;
        for (int64_t j = 0; j < d; ++j) ss += double(xi[j]) * xi[j];
        const float r = float(1.0 / std::sqrt(ss / double(d) + double(eps)));
        for (int64_t j = 0; j < d; ++j) out.ptr<float>()[i * d + j] = xi[j] * r * w.ptr<float>()[j];
    }
}

void CpuBackend::add_rms_norm(Tensor& residual, const Tensor& delta, const Tensor& w, Tensor& out, float eps) {
    check_f32(residual, "add_rms_norm residual");
    check_f32(delta, "add_rms_norm delta");
    LL_CHECK(delta.numel() == residual.numel(), "add_rms_norm: delta {} vs residual {}", delta.shape_str(),
             residual.shape_str());
    const int64_t n = residual.numel();
    for (int64_t i = 0; i < n; ++i) residual.ptr<float>()[i] += delta.ptr<float>()[i];
    rms_norm(residual, w, out, eps);
}

void CpuBackend::layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& out, float eps) {
    check_f32(x, "layer_norm x");
    check_f32(w, "layer_norm w");
    check_f32(out, "layer_norm out");
    const int64_t n = x.rows(), d = x.dim(-1);
    LL_CHECK(w.numel() == d && (b.empty() || b.numel() == d) && out.rows() == n && out.dim(-1) == d,
             "layer_norm shapes");
#pragma omp parallel for if (n > 1)
    for (int64_t i = 0; i < n; ++i) {
        const float* xi = x.ptr<float>() + i * d;
        double mean = 0.0, var = 0.0;
        for (int64_t j = 0; j < d; ++j) mean += xi[j];
        mean /= double(d);
        for (int64_t j = 0; j < d; ++j) var += (xi[j] - mean) * (xi[j] - mean);
        var /= double(d);
        const double r = 1.0 / std::sqrt(var + double(eps));
        for (int64_t j = 0; j < d; ++j) {
            const float bias = b.empty() ? 0.0f : b.ptr<float>()[j];
            out.ptr<float>()[i * d + j] = float((xi[j] - mean) * r) * w.ptr<float>()[j] + bias;
        }
    }
}

void CpuBackend::linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) {
    check_f32(x, "linear x");
    check_f32(w, "linear w");
    check_f32(out, "linear out");
    const int64_t n = x.rows(), k = x.dim(-1), m = w.dim(0);
    LL_CHECK(w.ndim == 2 && w.dim(1) == k, "linear: x {} vs w {}", x.shape_str(), w.shape_str());
    LL_CHECK(out.rows() == n && out.dim(-1) == m, "linear: out {} for x {} w {}", out.shape_str(), x.shape_str(),
             w.shape_str());
    LL_CHECK(bias.empty() || bias.numel() == m, "linear: bias {} for {} outputs", bias.shape_str(), m);
    const float* xp = x.ptr<float>();
    const float* wp = w.ptr<float>();
    float* op = out.ptr<float>();
#pragma omp parallel for collapse(2) if (n * m * k > (1 << 15))
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t o = 0; o < m; ++o) {
            const float* xi = xp + i * k;
            const float* wo = wp + o * k;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (int64_t j = 0; j < k; ++j) acc += xi[j] * wo[j];
            op[i * m + o] = acc + (bias.empty() ? 0.0f : bias.ptr<float>()[o]);
        }
    }
}

void CpuBackend::rope_store_kv(const Tensor& qkv, const Tensor& positions, const Tensor& inv_freq,
                               const HeadShape& heads, const Tensor& slots, KvLayer& kv, Tensor& q_out) {
    check_f32(qkv, "rope_store_kv qkv");
    check_f32(q_out, "rope_store_kv q_out");
    check_i32(positions, "rope_store_kv positions");
    check_i32(slots, "rope_store_kv slots");
    const int nh = heads.n_head, nkv = heads.n_kv_head, hd = heads.head_dim, rd = heads.rope_dim;
    const int64_t n = qkv.rows(), width = int64_t(nh + 2 * nkv) * hd;
    LL_CHECK(qkv.dim(-1) == width, "rope_store_kv: qkv {} for {} + 2x{} heads of {}", qkv.shape_str(), nh, nkv, hd);
    LL_CHECK(q_out.rows() == n && q_out.dim(-1) == int64_t(nh) * hd, "rope_store_kv: q_out {}", q_out.shape_str());
    LL_CHECK(positions.numel() == n && slots.numel() == n, "rope_store_kv: {} positions, {} slots for {} tokens",
             positions.numel(), slots.numel(), n);
    LL_CHECK(rd % 2 == 0 && rd <= hd, "rope_store_kv: rope_dim {} for head_dim {}", rd, hd);
    LL_CHECK(rd == 0 || (inv_freq.dtype == DType::F32 && inv_freq.numel() == rd / 2), "rope_store_kv: inv_freq {}",
             inv_freq.shape_str());
    const int64_t capacity = kv.k.dim(0);
#pragma omp parallel for if (n > 1)
    for (int64_t i = 0; i < n; ++i) {
        const float* src = qkv.ptr<float>() + i * width;
        std::vector<float> row(src, src + width);  // [q heads | k heads | v heads]
        const float pos = float(positions.ptr<int32_t>()[i]);
        for (int j = 0; j < rd / 2; ++j) {
            const float angle = pos * inv_freq.ptr<float>()[j];
            const float c = float(std::cos(double(angle))), s = float(std::sin(double(angle)));
            for (int h = 0; h < nh + nkv; ++h) {  // q and k heads; v is not rotated
                float* x = row.data() + int64_t(h) * hd;
                const float x1 = x[j], x2 = x[j + rd / 2];
                x[j] = x1 * c - x2 * s;
                x[j + rd / 2] = x2 * c + x1 * s;
            }
        }
        if (kv.k.dtype == DType::I8 && kv_int8_rotates(hd))  // int8 keys are stored rotated: see kv_quant.h
            for (int h = 0; h < nh + nkv; ++h) kv_hadamard(row.data() + int64_t(h) * hd, hd);
        std::memcpy(q_out.ptr<float>() + i * nh * hd, row.data(), size_t(nh) * hd * 4);
        const int64_t slot = slots.ptr<int32_t>()[i];
        LL_CHECK(slot >= 0 && slot < capacity, "rope_store_kv: slot {} outside capacity {}", slot, capacity);
        store_kv_row(row.data() + int64_t(nh) * hd, kv.k, kv.k_scale, slot, nkv, hd);
        store_kv_row(row.data() + int64_t(nh + nkv) * hd, kv.v, kv.v_scale, slot, nkv, hd);
    }
}

void CpuBackend::attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                           const AttentionParams& params, Tensor& out) {
    check_f32(q, "attention q");
    check_f32(out, "attention out");
    check_i32(batch.q_start, "attention q_start");
    check_i32(batch.kv_len, "attention kv_len");
    check_i32(batch.req_rows, "attention req_rows");
    check_i32(batch.table, "attention table");
    const int nh = heads.n_head, nkv = heads.n_kv_head, hd = heads.head_dim;
    LL_CHECK(nkv > 0 && nh % nkv == 0, "attention: {} heads over {} kv heads", nh, nkv);
    LL_CHECK(q.dim(-1) == int64_t(nh) * hd && out.dim(-1) == int64_t(nh) * hd && q.rows() == out.rows(),
             "attention: q {} out {}", q.shape_str(), out.shape_str());
    const int32_t* q_start = batch.q_start.ptr<int32_t>();
    const int32_t* kv_len = batch.kv_len.ptr<int32_t>();
    const int32_t* req_rows = batch.req_rows.ptr<int32_t>();
    const int64_t max_context = batch.table.dim(1);
    const int group = nh / nkv;
    LL_CHECK(q_start[batch.n_reqs] <= q.rows(), "attention: q_start ends at {} but q has {} rows", q_start[batch.n_reqs],
             q.rows());
    // Cascade groups (backend.h) take the split-and-merge path of
    // cpu_cascade_attention.h: the same attention, re-associated.
    const bool cascade = batch.cascade.n_groups > 0 && params.sliding_window <= 0 && !params.alibi;
    if (cascade) cascade_decode_attention_cpu(q, kv, batch, heads, params.scale, out);
    for (int r = 0; r < batch.n_reqs; ++r) {
        if (cascade && batch.cascade.req_shared.ptr<int32_t>()[r] > 0) continue;
        const int n_new = q_start[r + 1] - q_start[r];
        const int32_t* table_row = batch.table.ptr<int32_t>() + int64_t(req_rows[r]) * max_context;
        LL_CHECK(n_new >= 0 && n_new <= kv_len[r] && kv_len[r] <= max_context, "attention: request {} has {} new of {}",
                 r, n_new, kv_len[r]);
#pragma omp parallel for collapse(2) if (int64_t(n_new) * nh * kv_len[r] > 4096)
        for (int j = 0; j < n_new; ++j) {
            for (int h = 0; h < nh; ++h) {
                const int64_t row = q_start[r] + j;
                const int pos = kv_len[r] - n_new + j;
                const int first = params.sliding_window > 0 ? std::max(0, pos - params.sliding_window + 1) : 0;
                const float slope = params.alibi ? alibi_slope(params.alibi_head_offset + h,
                                                               params.alibi_n_head > 0 ? params.alibi_n_head : nh)
                                                 : 0.0f;
                const float* qh = q.ptr<float>() + row * nh * hd + int64_t(h) * hd;
                std::vector<float> scores(static_cast<size_t>(pos + 1 - first)), kvrow(static_cast<size_t>(hd));
                float max_score = -INFINITY;
                for (int t = first; t <= pos; ++t) {
                    load_kv_head(kv.k, kv.k_scale, table_row[t], h / group, nkv, hd, kvrow.data());
                    float dot = 0.0f;
                    for (int d = 0; d < hd; ++d) dot += qh[d] * kvrow[d];
                    const float sc = dot * params.scale + slope * float(t - pos);
                    scores[t - first] = sc;
                    max_score = std::max(max_score, sc);
                }
                double denom = 0.0;
                for (float& sc : scores) {
                    sc = std::exp(sc - max_score);
                    denom += sc;
                }
                float* oh = out.ptr<float>() + row * nh * hd + int64_t(h) * hd;
                std::vector<double> acc(size_t(hd), 0.0);
                for (int t = first; t <= pos; ++t) {
                    load_kv_head(kv.v, kv.v_scale, table_row[t], h / group, nkv, hd, kvrow.data());
                    const double p = scores[t - first] / denom;
                    for (int d = 0; d < hd; ++d) acc[d] += p * kvrow[d];
                }
                for (int d = 0; d < hd; ++d) oh[d] = float(acc[d]);
            }
        }
    }
}

void CpuBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
    check_f32(gate_up, "silu_mul gate_up");
    check_f32(out, "silu_mul out");
    const int64_t n = gate_up.rows(), f = out.dim(-1);
    LL_CHECK(gate_up.dim(-1) == 2 * f && out.rows() == n, "silu_mul: gate_up {} out {}", gate_up.shape_str(),
             out.shape_str());
#pragma omp parallel for if (n * f > (1 << 14))
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < f; ++j)
            out.ptr<float>()[i * f + j] =
                silu(gate_up.ptr<float>()[i * 2 * f + j]) * gate_up.ptr<float>()[i * 2 * f + f + j];
}

void CpuBackend::gelu(const Tensor& x, Tensor& out) {
    check_f32(x, "gelu x");
    check_f32(out, "gelu out");
    LL_CHECK(x.numel() == out.numel(), "gelu: x {} out {}", x.shape_str(), out.shape_str());
    const float k = 0.7978845608028654f;  // sqrt(2 / pi)
    for (int64_t i = 0; i < x.numel(); ++i) {
        const float v = x.ptr<float>()[i];
        out.ptr<float>()[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
    }
}

void CpuBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
    check_f32(a, "add a");
    check_f32(b, "add b");
    check_f32(out, "add out");
    LL_CHECK(a.numel() == b.numel() && a.numel() == out.numel(), "add: {} + {} -> {}", a.shape_str(), b.shape_str(),
             out.shape_str());
    for (int64_t i = 0; i < a.numel(); ++i) out.ptr<float>()[i] = a.ptr<float>()[i] + b.ptr<float>()[i];
}

void CpuBackend::gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) {
    check_f32(x, "gather_rows x");
    check_f32(out, "gather_rows out");
    check_i32(rows, "gather_rows rows");
    const int64_t d = x.dim(-1);
    LL_CHECK(out.rows() == rows.numel() && out.dim(-1) == d, "gather_rows: out {}", out.shape_str());
    for (int64_t i = 0; i < rows.numel(); ++i) {
        const int32_t r = rows.ptr<int32_t>()[i];
        LL_CHECK(r >= 0 && r < x.rows(), "gather_rows: row {} of {}", r, x.rows());
        std::memcpy(out.ptr<float>() + i * d, x.ptr<float>() + int64_t(r) * d, size_t(d) * 4);
    }
}

void CpuBackend::set_token_slots(Tensor& table, const Tensor& token_rows, const Tensor& positions,
                                 const Tensor& slots) {
    check_i32(table, "set_token_slots table");
    check_i32(token_rows, "set_token_slots token_rows");
    check_i32(positions, "set_token_slots positions");
    check_i32(slots, "set_token_slots slots");
    const int64_t n = slots.numel();
    LL_CHECK(token_rows.numel() == n && positions.numel() == n, "set_token_slots: sizes");
    for (int64_t i = 0; i < n; ++i) {
        const int32_t r = token_rows.ptr<int32_t>()[i], p = positions.ptr<int32_t>()[i];
        LL_CHECK(r >= 0 && r < table.dim(0) && p >= 0 && p < table.dim(1), "set_token_slots: ({}, {}) outside {}", r, p,
                 table.shape_str());
        table.ptr<int32_t>()[int64_t(r) * table.dim(1) + p] = slots.ptr<int32_t>()[i];
    }
}

void CpuBackend::to_f32(const Tensor& x, Tensor& out) {
    check_f32(out, "to_f32 out");
    LL_CHECK(x.numel() == out.numel(), "to_f32: x {} out {}", x.shape_str(), out.shape_str());
    for (int64_t i = 0; i < x.numel(); ++i) out.ptr<float>()[i] = load_elem(x.data, x.dtype, i);
}

}  // namespace lightllm
