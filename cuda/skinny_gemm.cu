// Skinny linear layers on tensor cores (decode batches of up to 64 rows):
// out [n, m] = x [n, k] @ w [m, k]^T (+ bias [m]), f16/bf16 in, fp32 sums.
// A pure weight stream like gemv.cu: every lane loads 16 bytes of a weight
// row straight into registers (ld.global.nc.L1::no_allocate, 8 / MT k steps
// in flight, the first ones before pdl_wait: weights depend on nothing earlier
// in the step), and the weights never pass through shared memory (staging
// them there, with cp.async or TMA, streamed at 2.0-2.8 TB/s: bench/NOTES.md
// run 8). The weights are the A operand of mma.sync m16n8k16 (16 weight rows x
// 16 k), x the B operand (16 k x 8 activation rows), C = out^T tiles in fp32.
//
// The k permutation (skinny_gemm_layout.h): a dot product does not care about
// the order of k, so lane (g, t) loads k 8t..8t+7 of a 32-k step of weight
// rows g and g+8, and of activation row g of each 8-row n-tile; MMA 0 takes
// registers 0 and 1 of each load (k 8t..8t+3 as the logical 2t, 2t+1, 2t+8,
// 2t+9), MMA 1 registers 2 and 3 (k 8t+4..8t+7). A and B use the same map, so
// no shuffles or shared memory are needed to build fragments; 4 lanes cover
// 64 contiguous bytes of a row per load.
//
// Work: a block of kSkWarps warps owns 64 MT consecutive weight rows (each
// warp MT 16-row tiles, which share each x fragment; MT = 2 by default, and
// MT = 1 keeps 8 steps = 512 contiguous bytes of each row in flight) and one
// range of k (grid.y splits k when m alone gives too few blocks). x is read
// through L1 (the block's warps read the same k range of it). Rows past m
// read row m - 1 and rows past n read row n - 1 (results dropped); k past the
// end loads zeros. With one split each lane writes its accumulators (+ bias)
// to out. With several, every block writes its accumulators as fp32 partials
// in fragment order, and the last block of a row range to arrive (an atomic
// counter, reset by that block for the next launch) sums the partials of all
// splits in split order (deterministic) and writes out.
#include "common.cuh"
#include "kernels.h"
#include "launch.cuh"
#include "mma.cuh"
#include "skinny_gemm_layout.h"
#include <algorithm>

namespace lightllm::gpu {

constexpr int kSkWarps = 4;
constexpr int kSkLoadsInFlight = 8;  // k steps x row tiles in flight: 16 loads of 16 bytes per lane
constexpr int kSkMinSplitSteps = 8;  // a k split covers at least 8 steps (256 k)

template <typename T>
struct SkinnyArgs {
    const T* x;     // [n, k]
    const T* w;     // [m, k]
    const T* bias;  // [m] or null
    T* out;         // [n, m]
    float4* partials;  // splits > 1: [splits][row blocks][warps][MT][n tiles][32 lanes]
    int* counters;     // splits > 1: [row blocks], zero at launch
    int n, k, m;
    int k_split;       // k per split, a multiple of kSkinnyStepK
    int splits;
};

__device__ __forceinline__ uint32_t reg_of(const uint4& v, int r) {
    return r == 0 ? v.x : r == 1 ? v.y : r == 2 ? v.z : v.w;
}

// One k step of this lane's weights: rows g and g + 8 of each row tile.
template <int MT>
__device__ __forceinline__ void load_weights(uint4 (&wv)[MT][2], const uint4* const (&wp)[MT][2], int kk, int k_end,
                                             int t) {
    const bool in = kk + skinny_lane_k(t) < k_end;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) wv[mt][h] = in ? load_stream(wp[mt][h] + kk / 8) : make_uint4(0, 0, 0, 0);
}

template <typename T, int NT, int MT>
static __global__ __launch_bounds__(kSkWarps * 32) void skinny_gemm_kernel(SkinnyArgs<T> a) {
    constexpr int kUnroll = kSkLoadsInFlight / MT;  // k steps of weights in flight per lane
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int rb = blockIdx.x, split = blockIdx.y;
    const int k_begin = split * a.k_split, k_end = min(a.k, k_begin + a.k_split);
    const int row0 = (rb * kSkWarps + warp) * MT * 16;
    const uint4* wp[MT][2];  // this lane's 16-byte column of each of its weight rows
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = min(row0 + mt * 16 + h * 8 + g, a.m - 1);
            wp[mt][h] = reinterpret_cast<const uint4*>(a.w + int64_t(row) * a.k + skinny_lane_k(t));
        }
    uint4 wv[kUnroll][MT][2];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) load_weights<MT>(wv[u], wp, k_begin + u * kSkinnyStepK, k_end, t);
    pdl_wait();
    pdl_launch_dependents();

    const uint4* xp[NT];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
        xp[nt] = reinterpret_cast<const uint4*>(a.x + int64_t(min(nt * 8 + g, a.n - 1)) * a.k + skinny_lane_k(t));
    float acc[MT][NT][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;

    for (int k0 = k_begin; k0 < k_end; k0 += kUnroll * kSkinnyStepK) {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const int kk = k0 + u * kSkinnyStepK;
            if (kk < k_end) {
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    const uint4 xv = kk + skinny_lane_k(t) < k_end ? __ldg(xp[nt] + kk / 8) : make_uint4(0, 0, 0, 0);
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                        for (int j = 0; j < 2; ++j) {
                            const uint32_t af[4] = {reg_of(wv[u][mt][0], skinny_reg(j, 0)),
                                                    reg_of(wv[u][mt][1], skinny_reg(j, 0)),
                                                    reg_of(wv[u][mt][0], skinny_reg(j, 1)),
                                                    reg_of(wv[u][mt][1], skinny_reg(j, 1))};
                            mma16816<T>(acc[mt][nt], af, reg_of(xv, skinny_reg(j, 0)), reg_of(xv, skinny_reg(j, 1)));
                        }
                }
            }
            // Refill this slot with the step kUnroll ahead (zeros past the end: no load).
            load_weights<MT>(wv[u], wp, kk + kUnroll * kSkinnyStepK, k_end, t);
        }
    }

    if (a.splits > 1) {
        __shared__ int last;
        const auto slot = [&](int s, int mt, int nt) {
            return skinny_partial_slot(s, gridDim.x, rb, kSkWarps, warp, MT, mt, NT, nt, lane);
        };
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int nt = 0; nt < NT; ++nt)
                a.partials[slot(split, mt, nt)] =
                    make_float4(acc[mt][nt][0], acc[mt][nt][1], acc[mt][nt][2], acc[mt][nt][3]);
        __threadfence();
        __syncthreads();
        if (threadIdx.x == 0) last = atomicAdd(a.counters + rb, 1) == a.splits - 1;
        __syncthreads();
        if (!last) return;
        __threadfence();
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int nt = 0; nt < NT; ++nt)
#pragma unroll
                for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;
        constexpr int kFixUnroll = NT <= 2 ? 8 : NT == 4 ? 4 : 2;  // several splits' L2 reads in flight
#pragma unroll kFixUnroll
        for (int s = 0; s < a.splits; ++s)
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    const float4 p = __ldcg(a.partials + slot(s, mt, nt));
                    acc[mt][nt][0] += p.x;
                    acc[mt][nt][1] += p.y;
                    acc[mt][nt][2] += p.z;
                    acc[mt][nt][3] += p.w;
                }
        if (threadIdx.x == 0) a.counters[rb] = 0;
    }

#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int row = row0 + mt * 16 + skinny_c_row(g, i);
            if (row >= a.m) continue;
            const float b = a.bias ? to_float(a.bias[row]) : 0.0f;
#pragma unroll
            for (int nt = 0; nt < NT; ++nt) {
                const int col = nt * 8 + skinny_c_col(t, i);
                if (col < a.n) a.out[int64_t(col) * a.m + row] = from_float<T>(acc[mt][nt][i] + b);
            }
        }
}

static bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

bool skinny_gemm_applies(const Tensor& x, const Tensor& w) {
    return (x.dtype == DType::F16 || x.dtype == DType::BF16) && w.dtype == x.dtype && w.ndim == 2 &&
           x.rows() >= 1 && x.rows() <= kSkinnyGemmMaxRows && x.dim(-1) == w.dim(1) && x.dim(-1) >= 8 && x.dim(-1) % 8 == 0 &&
           w.dim(0) >= 1 && aligned16(x.data) && aligned16(w.data);
}

static int n_tiles(int64_t n) { return n <= 8 ? 1 : n <= 16 ? 2 : n <= 32 ? 4 : 8; }
static int64_t row_blocks(int64_t m, int row_tiles) {
    const int64_t rows = int64_t(kSkWarps) * 16 * row_tiles;
    return (m + rows - 1) / rows;
}

int skinny_gemm_splits(int64_t n, int64_t k, int64_t m, int n_sm, int row_tiles) {
    // Warps per multiprocessor aimed at: fewer as the accumulators (and the
    // fp32 partial sums per split) grow with n.
    const int nt = n_tiles(n);
    const int64_t warps_per_sm = nt <= 2 ? 16 : nt == 4 ? 12 : 8;
    const int64_t blocks = int64_t(n_sm) * warps_per_sm / kSkWarps;
    const int64_t rb = row_blocks(m, row_tiles), steps = (k + kSkinnyStepK - 1) / kSkinnyStepK;
    int64_t s = (blocks + rb - 1) / rb;
    s = std::min(s, steps / kSkMinSplitSteps);
    // Partials are written and read back in fp32 (through L2): keep them under ~1/2 of the weight bytes.
    s = std::min(s, k / (8 * 8 * int64_t(nt)));
    return int(std::max<int64_t>(1, s));
}

size_t skinny_gemm_partial_bytes(int64_t n, int64_t m, int splits, int row_tiles) {
    return size_t(splits) * size_t(row_blocks(m, row_tiles)) * size_t(kSkWarps * 16 * row_tiles) *
           size_t(n_tiles(n)) * 8 * sizeof(float);
}

int skinny_gemm_counters(int64_t m, int row_tiles) { return int(row_blocks(m, row_tiles)); }

template <typename T, int NT>
static void launch_nt(const SkinnyArgs<T>& a, dim3 grid, int row_tiles, Stream s) {
    if (row_tiles == 1) launch_pdl(skinny_gemm_kernel<T, NT, 1>, grid, kSkWarps * 32, 0, s, a);
    else launch_pdl(skinny_gemm_kernel<T, NT, 2>, grid, kSkWarps * 32, 0, s, a);
}

template <typename T>
static void launch_skinny_gemm(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out,
                               const SkinnyGemmPlan& plan, Stream s) {
    SkinnyArgs<T> a{};
    a.x = x.ptr<T>();
    a.w = w.ptr<T>();
    a.bias = bias.empty() ? nullptr : bias.ptr<T>();
    a.out = out.ptr<T>();
    a.n = int(x.rows());
    a.k = int(x.dim(-1));
    a.m = int(w.dim(0));
    const int row_tiles = plan.row_tiles == 1 ? 1 : 2;
    const int64_t rb = row_blocks(a.m, row_tiles), steps = (a.k + kSkinnyStepK - 1) / kSkinnyStepK;
    // Fewer splits when the scratch cannot hold their partial sums or counters.
    int splits = std::max(1, std::min<int>(plan.splits, int(steps)));
    while (splits > 1 && (plan.partials == nullptr || rb > plan.n_counters ||
                          skinny_gemm_partial_bytes(a.n, a.m, splits, row_tiles) > plan.partial_bytes))
        --splits;
    const SkinnySplitK sk = skinny_split_k(a.k, splits);
    a.k_split = sk.k_split;
    a.splits = sk.splits;
    a.partials = static_cast<float4*>(plan.partials);
    a.counters = plan.counters;
    const dim3 grid(unsigned(rb), unsigned(a.splits));
    switch (n_tiles(a.n)) {
        case 1: launch_nt<T, 1>(a, grid, row_tiles, s); break;
        case 2: launch_nt<T, 2>(a, grid, row_tiles, s); break;
        case 4: launch_nt<T, 4>(a, grid, row_tiles, s); break;
        default: launch_nt<T, 8>(a, grid, row_tiles, s); break;
    }
    CUDA_CHECK_LAUNCH();
}

void skinny_gemm(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out, const SkinnyGemmPlan& plan,
                 Stream s) {
    LL_CHECK(skinny_gemm_applies(x, w) && out.rows() == x.rows() && out.dim(-1) == w.dim(0) && out.dtype == x.dtype,
             "skinny_gemm: x {} w {} out {}", x.shape_str(), w.shape_str(), out.shape_str());
    LL_CHECK(bias.empty() || (bias.numel() == w.dim(0) && bias.dtype == x.dtype), "skinny_gemm: bias {} for {} outputs",
             bias.shape_str(), w.dim(0));
    if (x.dtype == DType::F16) launch_skinny_gemm<__half>(x, w, bias, out, plan, s);
    else launch_skinny_gemm<__nv_bfloat16>(x, w, bias, out, plan, s);
}

}  // namespace lightllm::gpu
