// Skinny linear layers on tensor cores (decode at batch 5..64):
// out [n, m] = x [n, k] @ w [m, k]^T (+ bias), f16/bf16, fp32 accumulation.
// At n <= 64 the layer is bound by reading w (64 FLOP per weight byte, far
// below the tensor-core ridge), so the kernel is a weight stream: each warp
// owns 16 rows of w and reads them straight from global memory into mma B
// fragments with 16-byte loads (the k permutation of gemm_skinny_layout.h), 8
// chunks (8 KB per warp) in flight; x is copied once per CTA into shared
// memory (cp.async) as ready-made A fragments, read by all 16 warps.
//
// Work split (skinny::make_plan): a CTA of 16 warps covers 256 rows at a time
// over one k range (split); CTAs of a split walk the row blocks with a stride
// of grid.x. L2 traffic per weight byte: x is read once per CTA per row block
// round, n_pad * k_split * 2 bytes against 256 * k_split * 2 bytes of w, i.e.
// n_pad / 256 (<= 0.25), and with splits > 1 the fp32 partials add
// 4 * n bytes per row per split against 2 * k_split bytes of w, i.e.
// 2 * n / k_split (0.25 at n = 64, k_split = 512), written once and read
// once. Each split stores its partials in its own slot of a workspace
// [splits][n][m]; a second kernel, spread over the whole GPU, sums the slots
// in split order (runs are bit-reproducible), adds the bias and writes out.
// (Finishing in the last-arriving warp of a tile instead costs a fence, an
// atomic and then S x the tile's partials read by one warp: a latency-bound
// tail of several microseconds.) The grid depends only on
// (m, n, k) and the device, and nothing is allocated or synchronized: the
// launch is CUDA-graph safe (the workspace must not be used by two launches
// at once: one stream per LinearPlans). Weights are loaded with an L2
// evict-first policy, so streaming them does not push x and the partials out.
#include "common.cuh"
#include "gemm_skinny_layout.h"
#include "kernels.h"

namespace lightllm::gpu {

namespace {

using skinny::kChunk;
using skinny::kWarps;
constexpr int kThreads = kWarps * 32;
constexpr int kUnroll = 8;  // chunks per load group: 16 rows x 256 k = 8 KB per warp in flight

// 16 bytes of w: read once, kept out of L1 and first to leave L2.
__device__ __forceinline__ uint64_t evict_first_policy() {
    uint64_t p;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(p));
    return p;
}
__device__ __forceinline__ uint4 ld_stream(const void* ptr, uint64_t policy) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0,%1,%2,%3}, [%4], %5;\n"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(ptr), "l"(policy));
    return v;
}

// 4 bytes global -> shared; src_bytes 0 writes zeros.
__device__ __forceinline__ void cp_async4(void* smem, const void* gmem, int src_bytes) {
    unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes) : "memory");
}

template <typename T> __device__ __forceinline__ void store2(T* p, float a, float b);
template <> __device__ __forceinline__ void store2<__half>(__half* p, float a, float b) {
    *reinterpret_cast<__half2*>(p) = __floats2half2_rn(a, b);
}
template <> __device__ __forceinline__ void store2<__nv_bfloat16>(__nv_bfloat16* p, float a, float b) {
    *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(a, b);
}

template <typename T>
__device__ __forceinline__ void mma16816(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                         uint32_t b0, uint32_t b1);
template <>
__device__ __forceinline__ void mma16816<__half>(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                                 uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2,
                                                        uint32_t a3, uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// p[0] = a, p[1] = b, kept in L2 only (p 8-byte aligned).
__device__ __forceinline__ void store_partial(float* p, float a, float b) { __stcg(reinterpret_cast<float2*>(p), make_float2(a, b)); }

struct SkinnyArgs {
    const void* x;
    const void* w;
    const void* bias;  // null: none
    void* out;
    float* partial;    // [splits][n][m] fp32 (splits > 1)
    int n, k, m, splits;
};

// MT: 16-token tiles (n_pad = 16 MT).
template <typename T, int MT>
__global__ __launch_bounds__(kThreads, 1) void skinny_kernel(SkinnyArgs a) {
    extern __shared__ uint4 xs[];
    const T* __restrict__ x = static_cast<const T*>(a.x);
    const T* __restrict__ w = static_cast<const T*>(a.w);
    const T* __restrict__ bias = static_cast<const T*>(a.bias);
    T* out = static_cast<T*>(a.out);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, q = lane & 3;
    const int k = a.k, m = a.m, n = a.n;
    const int n_chunks = k / kChunk;
    const int c_begin = int(int64_t(blockIdx.y) * n_chunks / a.splits);
    const int n_kc = int(int64_t(blockIdx.y + 1) * n_chunks / a.splits) - c_begin;
    const int w_tiles = m / skinny::kTileRows;
    const int n_blocks = (w_tiles + kWarps - 1) / kWarps;

    // This lane's 16 bytes of row g of a tile at chunk 0 of the split (W tile 0);
    // W tile 1 (row g + 8) is 8 rows further.
    auto w_lane = [&](int tile) {
        return w + (int64_t(tile) * skinny::kTileRows + skinny::w_row(lane, 0)) * k + int64_t(c_begin) * kChunk +
               skinny::w_col(lane);
    };
    const int64_t hi_off = int64_t(8) * k;
    const uint64_t policy = evict_first_policy();
    uint4 lo[kUnroll], hi[kUnroll];  // W tiles 0 and 1, kUnroll chunks
    auto load_group = [&](const T* p, int c0) {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            if (c0 + u < n_kc) {
                lo[u] = ld_stream(p + (c0 + u) * kChunk, policy);
                hi[u] = ld_stream(p + (c0 + u) * kChunk + hi_off, policy);
            }
        }
    };

    // First weights in flight before the x copy.
    int tile = blockIdx.x * kWarps + warp;
    if (tile < w_tiles) load_group(w_lane(tile), 0);

    // x [n, k range] -> shared as A quads (skinny::fill_step), tokens >= n
    // zero-filled; element offsets into x fit 32 bits (n * k < 2^31).
    {
        uint32_t* xw = reinterpret_cast<uint32_t*>(xs);
        const int units = MT * n_kc;
        for (int cm = warp; cm < units; cm += kWarps) {
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                skinny::FillStep f = skinny::fill_step(lane, cm, j, MT);
                bool real = f.token < n;
                int off = real ? f.token * k + (c_begin + f.c) * kChunk + f.k : 0;
                cp_async4(xw + f.dst, x + off, real ? 4 : 0);
            }
        }
        asm volatile("cp.async.commit_group;\n" ::: "memory");
        asm volatile("cp.async.wait_group 0;\n" ::: "memory");
        __syncthreads();
    }

    for (int blk = blockIdx.x; blk < n_blocks; blk += gridDim.x) {
        tile = blk * kWarps + warp;
        if (tile >= w_tiles) break;  // the last row block may be partial
        const T* wp = w_lane(tile);
        float acc[MT][2][4];  // [token tile][W tile][c0..c3]
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int wt = 0; wt < 2; ++wt)
#pragma unroll
                for (int i = 0; i < 4; ++i) acc[mt][wt][i] = 0.0f;
        for (int c0 = 0; c0 < n_kc; c0 += kUnroll) {
            if (c0 > 0 || blk != int(blockIdx.x)) load_group(wp, c0);
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) {
                if (c0 + u >= n_kc) break;
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    uint4 a0 = xs[skinny::xs_quad(c0 + u, mt, 0, lane, MT)];
                    uint4 a1 = xs[skinny::xs_quad(c0 + u, mt, 1, lane, MT)];
                    mma16816<T>(acc[mt][0], a0.x, a0.y, a0.z, a0.w, lo[u].x, lo[u].y);  // h = 0
                    mma16816<T>(acc[mt][1], a0.x, a0.y, a0.z, a0.w, hi[u].x, hi[u].y);
                    mma16816<T>(acc[mt][0], a1.x, a1.y, a1.z, a1.w, lo[u].z, lo[u].w);  // h = 1
                    mma16816<T>(acc[mt][1], a1.x, a1.y, a1.z, a1.w, hi[u].z, hi[u].w);
                }
            }
        }

        // acc[mt][wt] = {C[g][2q], C[g][2q+1], C[g+8][2q], C[g+8][2q+1]}: rows = tokens
        // 16 mt + g (+ 8), columns = W rows tile * 16 + 8 wt + 2q (+ 1).
        if (a.splits == 1) {
#pragma unroll
            for (int wt = 0; wt < 2; ++wt) {
                int row = tile * skinny::kTileRows + 8 * wt + 2 * q;
                float b0 = bias ? to_float(bias[row]) : 0.0f, b1 = bias ? to_float(bias[row + 1]) : 0.0f;
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    int tok = 16 * mt + g;
                    if (tok < n) store2<T>(out + int64_t(tok) * m + row, acc[mt][wt][0] + b0, acc[mt][wt][1] + b1);
                    if (tok + 8 < n)
                        store2<T>(out + int64_t(tok + 8) * m + row, acc[mt][wt][2] + b0, acc[mt][wt][3] + b1);
                }
            }
            continue;
        }
        float* slot = a.partial + int64_t(blockIdx.y) * n * m;
#pragma unroll
        for (int wt = 0; wt < 2; ++wt) {
            int row = tile * skinny::kTileRows + 8 * wt + 2 * q;
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                int tok = 16 * mt + g;
                if (tok < n) store_partial(slot + int64_t(tok) * m + row, acc[mt][wt][0], acc[mt][wt][1]);
                if (tok + 8 < n) store_partial(slot + int64_t(tok + 8) * m + row, acc[mt][wt][2], acc[mt][wt][3]);
            }
        }
    }
}

// out [n, m] = sum over splits of partial [s][n][m] (in split order) + bias; 4 elements a thread.
template <typename T>
__global__ __launch_bounds__(256) void skinny_finish_kernel(const float* __restrict__ partial,
                                                            const T* __restrict__ bias, T* out, int n, int m,
                                                            int splits) {
    int64_t i = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    const int64_t total = int64_t(n) * m;
    if (i >= total) return;
    float4 v = __ldcg(reinterpret_cast<const float4*>(partial + i));
    for (int sp = 1; sp < splits; ++sp) {
        float4 p = __ldcg(reinterpret_cast<const float4*>(partial + sp * total + i));
        v.x += p.x;
        v.y += p.y;
        v.z += p.z;
        v.w += p.w;
    }
    if (bias) {
        int row = int(i % m);
        v.x += to_float(bias[row]);
        v.y += to_float(bias[row + 1]);
        v.z += to_float(bias[row + 2]);
        v.w += to_float(bias[row + 3]);
    }
    store2<T>(out + i, v.x, v.y);
    store2<T>(out + i + 2, v.z, v.w);
}

template <typename T, int MT>
void launch_mt(const SkinnyArgs& args, const skinny::Plan& plan, cudaStream_t s) {
    dim3 grid(unsigned(plan.cta_rows), unsigned(plan.splits));
    skinny_kernel<T, MT><<<grid, kThreads, plan.smem, s>>>(args);
    CUDA_CHECK_LAUNCH();
    if (plan.splits == 1) return;
    int64_t quads = int64_t(args.n) * args.m / 4;
    skinny_finish_kernel<T><<<unsigned((quads + 255) / 256), 256, 0, s>>>(
        args.partial, static_cast<const T*>(args.bias), static_cast<T*>(args.out), args.n, args.m, plan.splits);
    CUDA_CHECK_LAUNCH();
}

template <typename T>
bool allow_smem(int bytes) {
    auto set = [&](auto kernel) {
        return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes) == cudaSuccess;
    };
    return set(skinny_kernel<T, 1>) && set(skinny_kernel<T, 2>) && set(skinny_kernel<T, 3>) && set(skinny_kernel<T, 4>);
}

template <typename T>
void launch(const SkinnyArgs& args, const skinny::Plan& plan, cudaStream_t s) {
    switch (plan.tok_tiles) {
        case 1: launch_mt<T, 1>(args, plan, s); break;
        case 2: launch_mt<T, 2>(args, plan, s); break;
        case 3: launch_mt<T, 3>(args, plan, s); break;
        default: launch_mt<T, 4>(args, plan, s); break;
    }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

skinny::Plan skinny_plan(const Tensor& x, const Tensor& w, const SkinnyDevice& dev) {
    return skinny::make_plan(w.dim(0), x.rows(), x.dim(-1), dev.sm_count, dev.smem_limit,
                             dev.ws.partial ? kSkinnyPartialFloats : 0);
}

}  // namespace

size_t skinny_workspace_bytes() { return size_t(kSkinnyPartialFloats) * sizeof(float); }

SkinnyWorkspace skinny_workspace(void* base) { return SkinnyWorkspace{static_cast<float*>(base)}; }

bool skinny_prepare(const SkinnyDevice& dev) {
    bool ok = allow_smem<__half>(int(dev.smem_limit)) && allow_smem<__nv_bfloat16>(int(dev.smem_limit));
    if (!ok) cudaGetLastError();  // e.g. no kernel image for this GPU: leave the error state clean
    return ok;
}

bool skinny_applies(const Tensor& x, const Tensor& w, const SkinnyDevice& dev) {
    if (!(x.dtype == DType::F16 || x.dtype == DType::BF16) || w.dtype != x.dtype || w.ndim != 2) return false;
    int64_t n = x.rows();
    if (n < 5 || n > skinny::kMaxTokens || !aligned16(x.data) || !aligned16(w.data)) return false;
    return skinny_plan(x, w, dev).ok;
}

void skinny_linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, const SkinnyDevice& dev,
                   cudaStream_t s) {
    skinny::Plan plan = skinny_plan(x, w, dev);
    LL_CHECK(skinny_applies(x, w, dev) && w.dim(1) == x.dim(-1) && out.rows() == x.rows() &&
                 out.dim(-1) == w.dim(0) && out.dtype == x.dtype &&
                 (bias.empty() || (bias.numel() == w.dim(0) && bias.dtype == x.dtype)),
             "skinny linear: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    SkinnyArgs args{x.data, w.data, bias.empty() ? nullptr : bias.data, out.data, dev.ws.partial,
                    int(x.rows()), int(x.dim(-1)), int(w.dim(0)), plan.splits};
    LL_CHECK(reinterpret_cast<uintptr_t>(out.data) % 4 == 0, "skinny linear: out not 4-byte aligned");
    if (x.dtype == DType::F16) launch<__half>(args, plan, s);
    else launch<__nv_bfloat16>(args, plan, s);
}

}  // namespace lightllm::gpu
