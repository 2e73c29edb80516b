// RoPE (rotate_half / neox layout) fused with writing K and V into their
// token slots. One warp per (token, head): q heads, then k, then v heads of
// the packed qkv row, kHeadsPerBlock heads per block (a decode step of one
// token spreads over n_heads / 4 blocks instead of one block looping over all
// heads); lane e handles dims e, e+32, ...
// For dim e < rope_dim/2:        y[e] = x[e] cos - x[e + half] sin
//     half <= e < rope_dim:      y[e] = x[e] cos + x[e - half] sin
// with angle = position * inv_freq[e mod half]; dims >= rope_dim are copied.
// int8 KV: per (slot, kv head) symmetric scale, as in src/backend/kv_quant.h.
// 16-bit caches with rope_dim % 16 == 0 take the vector kernel instead: one
// thread per 16-byte chunk of a head, the thread of chunk c < rope_dim / 16
// rotating the chunk pair (c, c + rope_dim / 16) with one angle per dim.
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"
#include "kv_int8.cuh"
#include "kv_quant.h"

namespace lightllm::gpu {

constexpr int kMaxDimPerLane = 8;  // head_dim <= 256
constexpr int kHeadsPerBlock = 4;

// One launch's pointers and shape. Caches: k/v_cache for 16-bit / f32 caches,
// k/v_cache8 plus k/v_scale for int8 ones (the other pair null).
template <typename T>
struct RopeStoreArgs {
    const T* qkv;            // [n, (n_head + 2 n_kv_head) * head_dim]
    const int* positions;    // [n]
    const float* inv_freq;   // [rope_dim / 2]
    const int* slots;        // [n] KV slot of each token (-1: write no K/V)
    T* q_out;                // [n, n_head * head_dim]
    T* k_cache;              // [capacity, n_kv_head, head_dim]
    T* v_cache;
    int8_t* k_cache8;
    int8_t* v_cache8;
    float* k_scale;          // [capacity, n_kv_head]
    float* v_scale;
    int n_head, n_kv_head, head_dim, rope_dim;
    bool rotate;             // int8 keys (and queries) Hadamard-rotated
};

template <typename T>
static __global__ void rope_store_kv_kernel(RopeStoreArgs<T> a) {
    pdl_wait();
    pdl_launch_dependents();
    const T* qkv = a.qkv;
    const int n_head = a.n_head, n_kv_head = a.n_kv_head, head_dim = a.head_dim, rope_dim = a.rope_dim;
    int token = blockIdx.x;
    int lane = threadIdx.x & 31;
    int n_heads_total = n_head + 2 * n_kv_head;
    int h = blockIdx.y * kHeadsPerBlock + (threadIdx.x >> 5);
    if (h >= n_heads_total) return;
    const T* row = qkv + int64_t(token) * n_heads_total * head_dim;
    float pos = float(a.positions[token]);
    int slot = a.slots[token];
    int half = rope_dim / 2;
    {
        const T* src = row + h * head_dim;
        bool is_v = h >= n_head + n_kv_head;
        float y[kMaxDimPerLane];
        float amax = 0.0f;
#pragma unroll
        for (int i = 0; i < kMaxDimPerLane; ++i) {
            int e = lane + 32 * i;
            y[i] = 0.0f;
            if (e >= head_dim) continue;
            float x = to_float(src[e]);
            if (!is_v && e < rope_dim) {
                float sn, cs;
                int j = e < half ? e : e - half;
                sincosf(pos * a.inv_freq[j], &sn, &cs);
                x = e < half ? x * cs - to_float(src[e + half]) * sn : x * cs + to_float(src[e - half]) * sn;
            }
            y[i] = x;
            amax = fmaxf(amax, fabsf(x));
        }
        if (a.rotate && !is_v) {  // int8 keys are stored Hadamard-rotated, queries to match: see kv_quant.h
            kv_hadamard_warp(y, lane, head_dim);
            amax = 0.0f;
#pragma unroll
            for (int i = 0; i < kMaxDimPerLane; ++i) amax = fmaxf(amax, fabsf(y[i]));
        }
        if (h < n_head) {
            T* dst = a.q_out + (int64_t(token) * n_head + h) * head_dim;
#pragma unroll
            for (int i = 0; i < kMaxDimPerLane; ++i)
                if (lane + 32 * i < head_dim) dst[lane + 32 * i] = from_float<T>(y[i]);
            return;
        }
        if (slot < 0) return;
        int g = is_v ? h - n_head - n_kv_head : h - n_head;
        int64_t base = (int64_t(slot) * n_kv_head + g) * head_dim;
        if (a.k_cache8 != nullptr) {
            amax = warp_max(amax);
            float scale = kv_int8_scale(amax);
            int8_t* dst = (is_v ? a.v_cache8 : a.k_cache8) + base;
#pragma unroll
            for (int i = 0; i < kMaxDimPerLane; ++i)
                if (lane + 32 * i < head_dim)
                    dst[lane + 32 * i] = kv_int8_quantize(y[i], scale);
            if (lane == 0) (is_v ? a.v_scale : a.k_scale)[int64_t(slot) * n_kv_head + g] = scale;
        } else {
            T* dst = (is_v ? a.v_cache : a.k_cache) + base;
#pragma unroll
            for (int i = 0; i < kMaxDimPerLane; ++i)
                if (lane + 32 * i < head_dim) dst[lane + 32 * i] = from_float<T>(y[i]);
        }
    }
}

template <typename T>
static __global__ void rope_store_kv_vec_kernel(RopeStoreArgs<T> a) {
    pdl_wait();
    pdl_launch_dependents();
    const int n_head = a.n_head, n_kv_head = a.n_kv_head, head_dim = a.head_dim, rope_dim = a.rope_dim;
    const int token = blockIdx.x, chunks = head_dim / 8, pairs = rope_dim / 16;
    const int n_heads_total = n_head + 2 * n_kv_head;
    const int item = blockIdx.y * blockDim.x + threadIdx.x, h = item / chunks, c = item - h * chunks;
    if (h >= n_heads_total) return;
    const bool is_v = h >= n_head + n_kv_head, rotated = !is_v && c < 2 * pairs;
    if (rotated && c >= pairs) return;  // the partner chunk's thread writes it
    T* dst;
    if (h < n_head) {
        dst = a.q_out + (int64_t(token) * n_head + h) * head_dim;
    } else {
        int slot = a.slots[token];
        if (slot < 0) return;
        int g = is_v ? h - n_head - n_kv_head : h - n_head;
        dst = (is_v ? a.v_cache : a.k_cache) + (int64_t(slot) * n_kv_head + g) * head_dim;
    }
    const uint4* src = reinterpret_cast<const uint4*>(a.qkv + (int64_t(token) * n_heads_total + h) * head_dim);
    uint4* out = reinterpret_cast<uint4*>(dst);
    if (!rotated) {
        out[c] = src[c];
        return;
    }
    uint4 lo = src[c], hi = src[c + pairs], ylo, yhi;
    const T* xl = reinterpret_cast<const T*>(&lo);
    const T* xh = reinterpret_cast<const T*>(&hi);
    T* yl = reinterpret_cast<T*>(&ylo);
    T* yh = reinterpret_cast<T*>(&yhi);
    const float pos = float(a.positions[token]);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
        float sn, cs;
        sincosf(pos * a.inv_freq[c * 8 + e], &sn, &cs);
        float a = to_float(xl[e]), b = to_float(xh[e]);
        yl[e] = from_float<T>(a * cs - b * sn);
        yh[e] = from_float<T>(b * cs + a * sn);
    }
    out[c] = ylo;
    out[c + pairs] = yhi;
}

void rope_store_kv(const Tensor& qkv, const Tensor& positions, const Tensor& inv_freq, const HeadShape& heads,
                   const Tensor& slots, KvLayer& kv, Tensor& q_out, Stream s) {
    int64_t n = qkv.rows();
    int d = heads.head_dim;
    LL_CHECK(d > 0 && d <= 32 * kMaxDimPerLane && heads.rope_dim % 2 == 0 && heads.rope_dim <= d,
             "rope_store_kv: head_dim {} rope_dim {}", d, heads.rope_dim);
    LL_CHECK(qkv.dim(-1) == int64_t(heads.n_head + 2 * heads.n_kv_head) * d && q_out.rows() == n &&
                 q_out.dim(-1) == int64_t(heads.n_head) * d && positions.numel() == n && slots.numel() == n &&
                 q_out.dtype == qkv.dtype,
             "rope_store_kv: qkv {} q_out {} positions {} slots {}", qkv.shape_str(), q_out.shape_str(),
             positions.shape_str(), slots.shape_str());
    bool int8 = kv.k.dtype == DType::I8;
    LL_CHECK(int8 ? !kv.k_scale.empty() && !kv.v_scale.empty() : kv.k.dtype == qkv.dtype,
             "rope_store_kv: kv cache dtype {} with compute dtype {}", dtype_name(kv.k.dtype), dtype_name(qkv.dtype));
    LL_CHECK(heads.rope_dim == 0 || inv_freq.numel() >= heads.rope_dim / 2, "rope_store_kv: inv_freq {}",
             inv_freq.shape_str());
    if (n == 0) return;
    int n_heads_total = heads.n_head + 2 * heads.n_kv_head;
    auto args = [&](auto tag) {
        using T = decltype(tag);
        RopeStoreArgs<T> a{};
        a.qkv = qkv.ptr<T>();
        a.positions = positions.ptr<int>();
        a.inv_freq = inv_freq.ptr<float>();
        a.slots = slots.ptr<int>();
        a.q_out = q_out.ptr<T>();
        if (int8) {
            a.k_cache8 = kv.k.ptr<int8_t>();
            a.v_cache8 = kv.v.ptr<int8_t>();
            a.k_scale = kv.k_scale.ptr<float>();
            a.v_scale = kv.v_scale.ptr<float>();
        } else {
            a.k_cache = kv.k.ptr<T>();
            a.v_cache = kv.v.ptr<T>();
        }
        a.n_head = heads.n_head;
        a.n_kv_head = heads.n_kv_head;
        a.head_dim = d;
        a.rope_dim = heads.rope_dim;
        a.rotate = int8 && kv_int8_rotates(d);
        return a;
    };
    if (!int8 && qkv.dtype != DType::F32 && d % 8 == 0 && heads.rope_dim % 16 == 0) {
        constexpr int kThreads = 128;
        int items = n_heads_total * (d / 8);
        dim3 grid(unsigned(n), unsigned((items + kThreads - 1) / kThreads));
        auto launch = [&](auto tag) {
            using T = decltype(tag);
            launch_pdl(rope_store_kv_vec_kernel<T>, grid, kThreads, 0, s, args(T{}));
        };
        if (qkv.dtype == DType::F16) launch(__half{});
        else launch(__nv_bfloat16{});
        CUDA_CHECK_LAUNCH();
        return;
    }
    dim3 grid(unsigned(n), unsigned((n_heads_total + kHeadsPerBlock - 1) / kHeadsPerBlock));
    LL_DISPATCH_FLOAT(qkv.dtype, launch_pdl(rope_store_kv_kernel<scalar_t>, grid, 32 * kHeadsPerBlock, 0, s,
                                            args(scalar_t{})));
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
