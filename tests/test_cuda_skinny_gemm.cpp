// The tensor-core skinny GEMM (cuda/skinny_gemm.cu): first its k permutation
// emulated on the host against the MMA fragment layouts of the PTX ISA (no GPU
// needed), then the kernel against the CPU backend's linear (the fp32
// oracle) for 1..64 rows, model-sized and odd shapes, with and without bias
// and k splits, and the dispatch of Backend::linear. Weights are drawn on the
// GPU (fill_random) and the CPU gets their exact 16-bit values.
#include "cuda_test_util.h"
#ifdef LIGHTLLM_WITH_CUDA
#include "cuda_check.h"
#include "kernels.h"
#include "skinny_gemm_layout.h"
#include <cuda_runtime.h>
#include <algorithm>
#include <array>
#include <cmath>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

const DType kDtypes[] = {DType::F16, DType::BF16};

// The fragment layouts of mma.m16n8k16 as the PTX ISA tables give them,
// written out independently of skinny_gemm_layout.h: register q (0..3) of A
// holds (row, k) pairs, register q (0..1) of B (k, col) pairs, element e
// (0, 1) in the low / high half; accumulator i (0..3) is (row, col).
int ptx_a_row(int g, int q) { return q % 2 == 0 ? g : g + 8; }
int ptx_a_k(int t, int q, int e) { return 2 * t + (q >= 2 ? 8 : 0) + e; }
int ptx_b_k(int t, int q, int e) { return 2 * t + 8 * q + e; }
int ptx_c_row(int g, int i) { return i < 2 ? g : g + 8; }
int ptx_c_col(int t, int i) { return 2 * t + (i & 1); }

}  // namespace

TEST_CASE("skinny gemm layout: the k permutation feeds each product of a step to the MMAs once (host emulation, no GPU)") {
    // One 32-k step of 16 weight rows and 8 activation rows, small integers so
    // every sum is exact in fp32.
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> ud(-8, 8);
    float w[16][gpu::kSkinnyStepK], x[8][gpu::kSkinnyStepK];
    for (auto& r : w)
        for (float& v : r) v = float(ud(rng));
    for (auto& r : x)
        for (float& v : r) v = float(ud(rng));
    float c[16][8] = {};
    for (int j = 0; j < 2; ++j) {  // the step's two MMAs
        float a[16][16] = {}, b[16][8] = {};
        int a_set[16][16] = {}, b_set[16][8] = {};
        for (int lane = 0; lane < 32; ++lane) {
            const int g = lane / 4, t = lane % 4;
            // What the lane loaded: 8 consecutive k of rows g, g + 8 (weights) and g (activations);
            // register r holds values 2r, 2r + 1 of them.
            const auto held = [&](const float* row, int r, int e) { return row[gpu::skinny_lane_k(t) + 2 * r + e]; };
            for (int q = 0; q < 4; ++q)
                for (int e = 0; e < 2; ++e) {
                    // The kernel's A register q: slot q / 2 of MMA j, from row g (q even) or g + 8.
                    const int r = gpu::skinny_reg(j, q / 2);
                    const int row = ptx_a_row(g, q), k = ptx_a_k(t, q, e);
                    a[row][k] = held(w[q % 2 == 0 ? g : g + 8], r, e);
                    ++a_set[row][k];
                }
            for (int q = 0; q < 2; ++q)
                for (int e = 0; e < 2; ++e) {
                    const int k = ptx_b_k(t, q, e);
                    b[k][g] = held(x[g], gpu::skinny_reg(j, q), e);
                    ++b_set[k][g];
                }
        }
        for (int i = 0; i < 16; ++i)
            for (int k = 0; k < 16; ++k) REQUIRE(a_set[i][k] == 1);
        for (int k = 0; k < 16; ++k)
            for (int n = 0; n < 8; ++n) REQUIRE(b_set[k][n] == 1);
        for (int i = 0; i < 16; ++i)
            for (int n = 0; n < 8; ++n)
                for (int k = 0; k < 16; ++k) c[i][n] += a[i][k] * b[k][n];
    }
    // Each lane's accumulators, stored where the kernel stores them, hold the plain dot products.
    int written[16][8] = {};
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane / 4, t = lane % 4;
        for (int i = 0; i < 4; ++i) {
            const int row = gpu::skinny_c_row(g, i), col = gpu::skinny_c_col(t, i);
            float want = 0.0f;
            for (int k = 0; k < gpu::kSkinnyStepK; ++k) want += w[row][k] * x[col][k];
            CHECK(c[ptx_c_row(g, i)][ptx_c_col(t, i)] == want);
            ++written[row][col];
        }
    }
    for (auto& r : written)
        for (int v : r) CHECK(v == 1);
}

TEST_CASE("skinny gemm layout: k splits cover k once in whole steps; partial slots are one-to-one (no GPU)") {
    for (int k = 8; k <= 4096; k += 8)
        for (int asked = 1; asked <= 40; ++asked) {
            const gpu::SkinnySplitK sk = gpu::skinny_split_k(k, asked);
            CAPTURE(k);
            CAPTURE(asked);
            REQUIRE(sk.k_split % gpu::kSkinnyStepK == 0);
            REQUIRE(sk.splits >= 1);
            REQUIRE(sk.splits <= asked);
            REQUIRE(int64_t(sk.splits - 1) * sk.k_split < k);  // the last split is not empty
            REQUIRE(int64_t(sk.splits) * sk.k_split >= k);      // and together they reach k
        }
    // Every (split, row block, warp, row tile, n-tile, lane) its own float4, filling the partials exactly.
    const int splits = 3, row_blocks = 5, warps = 4;
    for (int row_tiles : {1, 2})
        for (int n_tiles : {1, 2, 4, 8}) {
            const int64_t n_slots = int64_t(splits) * row_blocks * warps * row_tiles * n_tiles * 32;
            std::vector<int> seen(size_t(n_slots), 0);
            for (int sp = 0; sp < splits; ++sp)
                for (int rb = 0; rb < row_blocks; ++rb)
                    for (int wp = 0; wp < warps; ++wp)
                        for (int mt = 0; mt < row_tiles; ++mt)
                            for (int nt = 0; nt < n_tiles; ++nt)
                                for (int lane = 0; lane < 32; ++lane) {
                                    const long long i =
                                        gpu::skinny_partial_slot(sp, row_blocks, rb, warps, wp, row_tiles, mt, n_tiles, nt, lane);
                                    REQUIRE(i >= 0);
                                    REQUIRE(i < n_slots);
                                    ++seen[size_t(i)];
                                }
            CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
            // skinny_gemm_partial_bytes holds them (m = 5 blocks of rows, n = 8 per n-tile).
            CHECK(gpu::skinny_gemm_partial_bytes(8 * n_tiles, row_blocks * 64 * row_tiles, splits, row_tiles) ==
                  size_t(n_slots) * 16);
        }
}

TEST_CASE("skinny gemm layout: the kernel takes f16/bf16, 1..64 rows, k a multiple of 8, 16-byte aligned (no GPU)") {
    alignas(16) static unsigned char buf[64];
    auto t = [&](DType dt, int64_t rows, int64_t cols, size_t offset) {
        return Tensor(buf + offset, dt, Device::CUDA, {rows, cols});
    };
    const Tensor w = t(DType::BF16, 300, 4096, 0);
    CHECK(gpu::skinny_gemm_applies(t(DType::BF16, 3, 4096, 0), w));
    CHECK(gpu::skinny_gemm_applies(t(DType::BF16, 1, 4096, 0), w));
    CHECK(gpu::skinny_gemm_applies(t(DType::BF16, 64, 4096, 0), w));
    CHECK(gpu::skinny_gemm_applies(t(DType::F16, 17, 8, 16), t(DType::F16, 5, 8, 32)));
    CHECK_FALSE(gpu::skinny_gemm_applies(t(DType::BF16, 65, 4096, 0), w));             // too many rows
    CHECK_FALSE(gpu::skinny_gemm_applies(t(DType::F16, 3, 4096, 0), w));              // dtypes differ
    CHECK_FALSE(gpu::skinny_gemm_applies(t(DType::F32, 3, 4096, 0), t(DType::F32, 300, 4096, 0)));
    CHECK_FALSE(gpu::skinny_gemm_applies(t(DType::BF16, 3, 4092, 0), t(DType::BF16, 300, 4092, 0)));  // k % 8
    CHECK_FALSE(gpu::skinny_gemm_applies(t(DType::BF16, 3, 4096, 8), w));              // x not 16-byte aligned
    CHECK_FALSE(gpu::skinny_gemm_applies(t(DType::BF16, 3, 4096, 0), t(DType::BF16, 300, 4096, 2)));
    CHECK_FALSE(gpu::skinny_gemm_applies(t(DType::BF16, 3, 2048, 0), w));              // k differs
}

TEST_CASE("skinny gemm layout: k splits fill the GPU, stay within the partial-sum budget and the scratch (no GPU)") {
    // 132 multiprocessors (H100/H200): a 4096-row weight at 3 rows splits k;
    // the 128256-row LM head has blocks enough; 64 rows split less.
    const int s3 = gpu::skinny_gemm_splits(3, 4096, 4096, 132);
    CHECK(s3 > 1);
    CHECK(s3 <= 4096 / 256);  // each split at least 8 steps of 32 k
    CHECK(gpu::skinny_gemm_splits(3, 4096, 128256, 132) == 1);
    const int s64 = gpu::skinny_gemm_splits(64, 4096, 4096, 132);
    CHECK(s64 >= 1);
    CHECK(s64 < s3);
    CHECK(gpu::skinny_gemm_splits(64, 4096, 4096, 132, 1) >= 1);
    CHECK(gpu::skinny_gemm_splits(5, 64, 1000, 132) == 1);  // 2 steps of k: nothing to split
    // Partials: splits x rows rounded up to blocks of 128 (64 with one row tile) x n rounded up to 8 x 4 bytes.
    CHECK(gpu::skinny_gemm_partial_bytes(3, 4096, 16) == size_t(16) * 4096 * 8 * 4);
    CHECK(gpu::skinny_gemm_partial_bytes(33, 1000, 3) == size_t(3) * 1024 * 64 * 4);
    CHECK(gpu::skinny_gemm_partial_bytes(17, 1000, 2, 1) == size_t(2) * 1024 * 32 * 4);
    CHECK(gpu::skinny_gemm_counters(1000) == 8);
    CHECK(gpu::skinny_gemm_counters(1000, 1) == 16);
    // The heuristic's split-K scratch for Llama-3-8B's decode shapes fits the 32 MiB cuBLAS workspace LinearPlans lends it.
    for (int64_t n : {3, 8, 16, 17, 32, 33, 64})
        for (auto [k, m] : {std::pair<int64_t, int64_t>{4096, 6144}, {4096, 4096}, {4096, 28672}, {14336, 4096}, {4096, 128256}})
            for (int rt : {1, 2}) {
                CAPTURE(n);
                CAPTURE(k);
                CAPTURE(m);
                const int s = gpu::skinny_gemm_splits(n, k, m, 132, rt);
                CHECK(gpu::skinny_gemm_partial_bytes(n, m, s, rt) <= size_t(32) << 20);
                CHECK(gpu::skinny_gemm_counters(m, rt) <= 4096);
            }
}

namespace {

// A weight [m, k] drawn on the GPU (stddev 1/sqrt(k)), and the same values in F32 on the CPU.
Twin gpu_weight(Backends& b, int64_t m, int64_t k, uint64_t seed) {
    Twin t;
    t.g = b.owned(b.gpu->alloc(b.dt, {m, k}), true);
    b.gpu->fill_random(t.g, seed, 1.0f / std::sqrt(float(k)));
    std::vector<uint8_t> raw(t.g.nbytes());
    b.gpu->download(t.g, raw.data());
    t.c = b.owned(b.cpu->alloc(DType::F32, {m, k}), false);
    b.cpu->upload(t.c, raw.data(), b.dt);
    return t;
}

int sm_count() {
    int dev = 0, n = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return n;
}

// Split-K scratch as LinearPlans gives it: partials and zeroed counters.
struct Scratch {
    Tensor partials, counters;
    gpu::SkinnyGemmPlan plan;
    Scratch(Backends& b, int64_t partial_floats, int n_counters) {
        partials = b.owned(b.gpu->alloc(DType::F32, {std::max<int64_t>(partial_floats, 1)}), true);
        counters = b.owned(b.gpu->alloc(DType::I32, {n_counters}), true);  // alloc zeroes
        plan.partials = partials.data;
        plan.partial_bytes = partials.nbytes();
        plan.counters = counters.ptr<int>();
        plan.n_counters = n_counters;
    }
};

struct Variant {
    int row_tiles;
    int splits;  // 0: the heuristic's
};

// skinny_gemm of n random rows against w (+ bias) on the GPU, in each
// variant, vs the CPU's linear.
void check_skinny(Backends& b, const Twin& w, int n, bool with_bias, const std::vector<Variant>& variants) {
    const int64_t m = w.g.dim(0), k = w.g.dim(1);
    CAPTURE(n);
    CAPTURE(m);
    CAPTURE(k);
    CAPTURE(with_bias);
    Twin x = b.twin(n, k), bias = b.twin(1, m);
    Tensor bc = with_bias ? bias.c.view({m}) : Tensor{}, bg = with_bias ? bias.g.view({m}) : Tensor{};
    Twin out = b.outputs(n, m);
    b.cpu->linear(x.c, w.c, bc, out.c);
    const std::vector<float> want = download_f32(*b.cpu, out.c);
    auto& cb = dynamic_cast<CudaBackend&>(*b.gpu);
    REQUIRE(gpu::skinny_gemm_applies(x.g, w.g));
    const std::vector<uint8_t> poison(out.g.nbytes(), 0xFF);  // NaN: an output the kernel misses shows
    for (Variant v : variants) {
        const int s = v.splits > 0 ? v.splits : gpu::skinny_gemm_splits(n, k, m, sm_count(), v.row_tiles);
        CAPTURE(v.row_tiles);
        CAPTURE(s);
        const int n_counters = gpu::skinny_gemm_counters(m, v.row_tiles);
        Scratch scratch(b, int64_t(gpu::skinny_gemm_partial_bytes(n, m, s, v.row_tiles) / sizeof(float)), n_counters);
        scratch.plan.row_tiles = v.row_tiles;
        scratch.plan.splits = s;
        b.gpu->upload(out.g, poison.data(), b.dt);
        gpu::skinny_gemm(x.g, w.g, bg, out.g, scratch.plan, cb.launch_stream());
        const std::vector<float> got = download_f32(*b.gpu, out.g);
        LL_CHECK_CLOSE(got, want, tol_reduction(b.dt));
        // Every launch leaves the split-K counters at zero for the next one.
        const std::vector<int32_t> left = download_raw<int32_t>(*b.gpu, scratch.counters);
        CHECK(std::all_of(left.begin(), left.end(), [](int32_t c) { return c == 0; }));
        if (s > 1) {  // the fix-up adds the splits in a fixed order: a second run is bit-identical
            b.gpu->upload(out.g, poison.data(), b.dt);
            gpu::skinny_gemm(x.g, w.g, bg, out.g, scratch.plan, cb.launch_stream());
            CHECK(download_f32(*b.gpu, out.g) == got);
        }
    }
}

}  // namespace

TEST_CASE("cuda skinny gemm: 1..64 rows on odd shapes, with bias, k tails and forced k splits") {
    LL_REQUIRE_GPU();
    struct Shape { int64_t m, k; bool bias; };
    for (DType dt : kDtypes) {
        CAPTURE(dt);
        Backends b(dt);
        // m not a multiple of 16 or 128; k a multiple of 8 but not of 32; tiny m.
        for (Shape sh : {Shape{1000, 520, true}, {77, 64, false}, {300, 4096, true}, {5, 8, true}, {129, 1032, false}}) {
            Twin w = gpu_weight(b, sh.m, sh.k, 3);
            for (int n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64})
                check_skinny(b, w, n, sh.bias, {{2, 0}, {2, 1}, {2, 3}, {2, 7}, {1, 0}, {1, 1}, {1, 5}});
        }
    }
}

TEST_CASE("cuda skinny gemm: Llama-3-8B shapes (QKV, O, gate/up, down, lm_head) at decode batch sizes") {
    LL_REQUIRE_GPU();
    struct Shape { int64_t m, k; std::vector<int> ns; };
    const std::vector<Shape> shapes = {{4096, 4096, {3, 4, 5, 7, 8, 9, 16, 17, 33, 64}},
                                       {6144, 4096, {3, 8, 17, 64}},
                                       {14336, 4096, {3, 9, 33, 64}},
                                       {4096, 14336, {3, 16, 33, 64}},
                                       {128256, 4096, {3, 5}}};
    for (DType dt : kDtypes) {
        CAPTURE(dt);
        for (const Shape& sh : shapes) {
            Backends b(dt);
            Twin w = gpu_weight(b, sh.m, sh.k, 5);
            for (int n : sh.ns) check_skinny(b, w, n, false, {{2, 0}, {1, 0}});
        }
    }
}

TEST_CASE("cuda skinny gemm: Backend::linear matches the CPU with the kernel on (default) and off (max rows 0)") {
    LL_REQUIRE_GPU();
    for (DType dt : kDtypes) {
        CAPTURE(dt);
        Backends b(dt);
        CudaOptions off;
        off.skinny_gemm_max_rows = 0;
        std::unique_ptr<Backend> cublas = make_cuda_backend(0, dt, off);
        Twin w = gpu_weight(b, 4100, 4096, 9);
        Tensor w2 = cublas->alloc(dt, {4100, 4096});
        std::vector<uint8_t> raw(w.g.nbytes());
        b.gpu->download(w.g, raw.data());
        cublas->upload(w2, raw.data(), dt);
        for (int n : {1, 3, 8, 17, 40, 64, 65}) {
            CAPTURE(n);
            Twin x = b.twin(n, 4096), bias = b.twin(1, 4100);
            Twin out = b.outputs(n, 4100);
            b.cpu->linear(x.c, w.c, bias.c.view({4100}), out.c);
            const std::vector<float> want = download_f32(*b.cpu, out.c);
            b.gpu->linear(x.g, w.g, bias.g.view({4100}), out.g);
            LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), want, tol_reduction(dt));
            // The same through a backend that never takes the skinny kernel.
            Tensor x2 = cublas->alloc(dt, {n, 4096}), b2 = cublas->alloc(dt, {4100}), o2 = cublas->alloc(dt, {n, 4100});
            std::vector<uint8_t> xr(x.g.nbytes()), br(bias.g.nbytes());
            b.gpu->download(x.g, xr.data());
            b.gpu->download(bias.g, br.data());
            cublas->upload(x2, xr.data(), dt);
            cublas->upload(b2, br.data(), dt);
            cublas->linear(x2, w2, b2, o2);
            const std::vector<float> ref = download_f32(*cublas, o2);
            LL_CHECK_CLOSE(ref, want, tol_reduction(dt));
            for (Tensor* t : {&x2, &b2, &o2}) cublas->free(*t);
        }
        cublas->free(w2);
    }
}
#endif
