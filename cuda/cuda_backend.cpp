// CudaBackend: memory, transfers and the dispatch of each op to its launcher
// (cuda/kernels.h). Also make_cuda_backend and cuda_device_available (backend.h).
#include "cuda_backend.h"
#include "decode_accelerator.h"
#include "cuda_check.h"
#include "cuda_op_profile.h"
#include "kernels.h"
#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace lightllm {

namespace {
constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;
constexpr size_t kStagingBytes = size_t(64) << 20;
}  // namespace

CudaBackend::CudaBackend(int device_index, DType compute_dtype, const CudaOptions& options)
    : device_(device_index), compute_dtype_(compute_dtype), options_(options) {
    LL_CHECK(compute_dtype == DType::F16 || compute_dtype == DType::BF16 || compute_dtype == DType::F32,
             "cuda backend: compute dtype {}", dtype_name(compute_dtype));
    int n_devices = 0;
    if (cudaGetDeviceCount(&n_devices) != cudaSuccess || device_index < 0 || device_index >= n_devices)
        fail("cuda device {} not found ({} visible)", device_index, n_devices);
    CUDA_CHECK(cudaSetDevice(device_));
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
    sm_count_ = prop.multiProcessorCount;
    pdl_ = options.pdl && prop.major >= 9;  // programmatic dependent launch needs sm_90
    device_name_ = prop.name;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaMalloc(&cublas_workspace_, kCublasWorkspaceBytes));
    linear_ = std::make_unique<gpu::LinearPlans>(cublas_workspace_, kCublasWorkspaceBytes, options.gemm_tune);
}

CudaBackend::~CudaBackend() {
    cudaStreamSynchronize(stream_);
    if (profile_) {
        fmt::print(stderr, "lightllm: GPU time per op (--profile-ops; decode steps ran without CUDA graphs)\n{}",
                   profile_->report());
        profile_.reset();
    }
    for (void* p : retired_) cudaFree(p);
    cudaFree(decode_ws_);
    cudaFree(staging_);
    linear_.reset();
    cudaFree(cublas_workspace_);
    cudaStreamDestroy(stream_);
}

std::string CudaBackend::name() const { return "cuda:" + std::to_string(device_) + " (" + device_name_ + ")"; }

// ---- memory ----

Tensor CudaBackend::alloc(DType dtype, std::initializer_list<int64_t> shape) {
    Tensor t(nullptr, dtype, Device::CUDA, shape);
    size_t n = std::max<size_t>(t.nbytes(), 1);
    if (cudaMalloc(&t.data, n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky-free error state of a failed allocation
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        fail("cuda backend: out of device memory allocating {} bytes for a {} {} tensor ({} bytes free)", n,
             dtype_name(dtype), t.shape_str(), free_b);
    }
    CUDA_CHECK(cudaMemsetAsync(t.data, 0, n, stream_));
    return t;
}

void CudaBackend::free(Tensor& t) {
    if (t.data) CUDA_CHECK(cudaFree(t.data));
    t.data = nullptr;
}

void CudaBackend::upload(Tensor& dst, const void* src, DType src_dtype) {
    LL_CHECK(dst.device == Device::CUDA && dst.data, "upload into a non-CUDA or empty tensor");
    int64_t n = dst.numel();
    if (src_dtype == dst.dtype) {
        // `src` is pageable memory (this process allocates no pinned memory):
        // the copy returns once `src` sits in the driver's staging buffer, so
        // the caller may reuse it at once, and no stream sync is needed (a
        // decode step's inputs no longer wait on one before its graph starts).
        timed("upload", [&] {
            CUDA_CHECK(cudaMemcpyAsync(dst.data, src, dst.nbytes(), cudaMemcpyHostToDevice, stream_));
        });
        return;
    }
    auto is_float = [](DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; };
    LL_CHECK(is_float(src_dtype) && is_float(dst.dtype), "upload: {} into {}", dtype_name(src_dtype),
             dtype_name(dst.dtype));
    if (!staging_) {
        CUDA_CHECK(cudaMalloc(&staging_, kStagingBytes));
        staging_bytes_ = kStagingBytes;
    }
    size_t src_size = dtype_size(src_dtype), dst_size = dtype_size(dst.dtype);
    int64_t chunk = int64_t(staging_bytes_ / src_size);
    for (int64_t off = 0; off < n; off += chunk) {
        int64_t m = std::min(chunk, n - off);
        // Same stream: this copy waits for the previous chunk's conversion.
        CUDA_CHECK(cudaMemcpyAsync(staging_, static_cast<const char*>(src) + off * src_size, size_t(m) * src_size,
                                   cudaMemcpyHostToDevice, stream_));
        gpu::convert(staging_, src_dtype, static_cast<char*>(dst.data) + off * dst_size, dst.dtype, m, launch_stream());
    }
    CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::upload_async(Tensor& dst, const void* src) {
    timed("upload", [&] { CUDA_CHECK(cudaMemcpyAsync(dst.data, src, dst.nbytes(), cudaMemcpyHostToDevice, stream_)); });
}

void CudaBackend::download(const Tensor& src, void* dst) {
    LL_CHECK(src.device == Device::CUDA, "download from a non-CUDA tensor");
    timed("download", [&] { CUDA_CHECK(cudaMemcpyAsync(dst, src.data, src.nbytes(), cudaMemcpyDeviceToHost, stream_)); });
    synchronize();
}

void CudaBackend::fill_random(Tensor& t, uint64_t seed, float stddev) { gpu::fill_random(t, seed, stddev, launch_stream()); }

size_t CudaBackend::free_memory() const {
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    return free_b;
}

void CudaBackend::synchronize() {
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (profile_) profile_->collect();
}

void CudaBackend::set_gemm_tuning(bool on) { linear_->set_tuning(on); }

bool CudaBackend::enable_op_profile() {
    if (!profile_) profile_ = std::make_unique<CudaOpProfile>(stream_);
    return true;
}

std::string CudaBackend::op_profile_report() { return profile_ ? profile_->report() : std::string(); }

template <typename F>
void CudaBackend::timed(const char* kind, F&& queue_op) {
    if (!profile_) {
        queue_op();
        return;
    }
    profile_->begin(kind);
    queue_op();
    profile_->end();
}

void* CudaBackend::decode_workspace(size_t bytes) {
    if (bytes <= decode_ws_bytes_) return decode_ws_;
    if (decode_ws_) retired_.push_back(decode_ws_);
    size_t n = std::max(bytes, decode_ws_bytes_ * 2);
    CUDA_CHECK(cudaMalloc(&decode_ws_, n));
    decode_ws_bytes_ = n;
    return decode_ws_;
}

// ---- ops ----

void CudaBackend::embedding(const Tensor& ids, const Tensor& table, Tensor& out) {
    timed("embedding", [&] { gpu::embedding(ids, table, out, launch_stream()); });
}
void CudaBackend::rms_norm(const Tensor& x, const Tensor& w, Tensor& out, float eps) {
    timed("rms_norm", [&] { gpu::rms_norm(x, w, out, eps, launch_stream()); });
}
void CudaBackend::add_rms_norm(Tensor& residual, const Tensor& delta, const Tensor& w, Tensor& out, float eps) {
    timed("add_rms_norm", [&] { gpu::add_rms_norm(residual, delta, w, out, eps, launch_stream()); });
}
void CudaBackend::layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& out, float eps) {
    timed("layer_norm", [&] { gpu::layer_norm(x, w, b, out, eps, launch_stream()); });
}
void CudaBackend::linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) {
    timed(linear_kind(x.rows()), [&] { linear_->run(x, w, bias, out, launch_stream()); });
}
void CudaBackend::rope_store_kv(const Tensor& qkv, const Tensor& positions, const Tensor& inv_freq,
                                const HeadShape& heads, const Tensor& slots, KvLayer& kv, Tensor& q_out) {
    timed("rope_store_kv", [&] { gpu::rope_store_kv(qkv, positions, inv_freq, heads, slots, kv, q_out, launch_stream()); });
}

void CudaBackend::attention(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch, const HeadShape& heads,
                            const AttentionParams& params, Tensor& out) {
    auto decode = [&](const AttentionBatch& b) {
        int n_splits = gpu::decode_attention_splits(b.n_reqs, heads.n_head, heads.n_kv_head, sm_count_);
        // Cascade groups (backend.h): not with a sliding window or ALiBi.
        const bool cascade = b.cascade.n_groups > 0 && params.sliding_window <= 0 && !params.alibi;
        const int n_chunks = cascade ? gpu::cascade_attention_chunks(b.cascade, heads, sm_count_) : 0;
        size_t bytes =
            gpu::decode_attention_workspace_bytes(b.n_reqs, heads.n_head, heads.head_dim, n_splits + n_chunks);
        void* ws = bytes > 0 ? decode_workspace(bytes) : nullptr;
        timed(cascade ? "attention decode cascade" : "attention decode", [&] {
            gpu::decode_attention(q, kv, b, heads, params, out, {ws, n_splits, sm_count_, n_chunks}, launch_stream());
        });
    };
    auto prefill = [&](const AttentionBatch& b) {
        timed("attention prefill", [&] { gpu::prefill_attention(q, kv, b, heads, params, out, launch_stream()); });
    };
    const int nd = batch.n_decode_first;
    if (!gpu::attention_fast_path(q.dtype, heads.head_dim)) {
        timed("attention reference", [&] { gpu::reference_attention(q, kv, batch, heads, params, out, launch_stream()); });
    } else if (batch.max_q_len <= 1) {
        decode(batch);
    } else if (nd > 0 && nd < batch.n_reqs) {
        // A mixed step: the decodes read each KV head once for its query
        // group (decode kernel); the prefill kernel takes the rest. Token
        // indices in q_start are absolute, so both write into the same `out`.
        AttentionBatch dec = batch, pre = batch;
        dec.n_reqs = nd;
        dec.max_q_len = 1;
        dec.q_start = batch.q_start.slice_rows(0, nd + 1);
        dec.kv_len = batch.kv_len.slice_rows(0, nd);
        dec.req_rows = batch.req_rows.slice_rows(0, nd);
        if (batch.cascade.n_groups > 0) dec.cascade.req_shared = batch.cascade.req_shared.slice_rows(0, nd);
        pre.cascade = CascadeGroups{};
        pre.n_reqs = batch.n_reqs - nd;
        pre.n_decode_first = 0;
        pre.q_start = batch.q_start.slice_rows(nd, pre.n_reqs + 1);
        pre.kv_len = batch.kv_len.slice_rows(nd, pre.n_reqs);
        pre.req_rows = batch.req_rows.slice_rows(nd, pre.n_reqs);
        decode(dec);
        prefill(pre);
    } else {
        prefill(batch);
    }
}

void CudaBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
    timed("silu_mul", [&] { gpu::silu_mul(gate_up, out, launch_stream()); });
}
void CudaBackend::gelu(const Tensor& x, Tensor& out) {
    timed("gelu", [&] { gpu::gelu(x, out, launch_stream()); });
}
void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& out) {
    timed("add", [&] { gpu::add(a, b, out, launch_stream()); });
}
void CudaBackend::gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) {
    timed("gather_rows", [&] { gpu::gather_rows(x, rows, out, launch_stream()); });
}
void CudaBackend::set_token_slots(Tensor& table, const Tensor& token_rows, const Tensor& positions,
                                  const Tensor& slots) {
    timed("set_token_slots", [&] { gpu::set_token_slots(table, token_rows, positions, slots, launch_stream()); });
}
void CudaBackend::to_f32(const Tensor& x, Tensor& out) {
    LL_CHECK(out.dtype == DType::F32 && out.numel() == x.numel(), "to_f32: x {} out {} {}", x.shape_str(),
             dtype_name(out.dtype), out.shape_str());
    timed("to_f32", [&] { gpu::convert(x.data, x.dtype, out.data, DType::F32, x.numel(), launch_stream()); });
}
void CudaBackend::argmax_rows(const Tensor& logits, Tensor& ids, Tensor* logprobs) {
    timed("argmax_rows", [&] { gpu::argmax_rows(logits, ids, logprobs, launch_stream()); });
}

// ---- factory hooks ----

std::unique_ptr<DecodeAccelerator> CudaBackend::make_decode_accelerator(int max_batch) {
    return make_cuda_decode_accelerator(*this, max_batch, options_.graphs);
}

std::unique_ptr<Backend> make_cuda_backend(int device_index, DType compute_dtype, const CudaOptions& options) {
    if (!cuda_device_available()) return nullptr;
    return std::make_unique<CudaBackend>(device_index, compute_dtype, options);
}

bool cuda_device_available() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    return n > 0;
}

}  // namespace lightllm
