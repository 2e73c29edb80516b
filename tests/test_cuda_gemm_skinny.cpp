// The skinny tensor-core linear (cuda/gemm_skinny.cu, batch 5..64):
//  - its fragment maps (cuda/gemm_skinny_layout.h) emulated on the CPU with
//    the PTX ISA's documented mma.m16n8k16 fragment layouts, against a plain
//    matmul (runs everywhere, no GPU needed);
//  - its launch plan on the real Llama shapes (CPU);
//  - on a GPU: against the CPU backend's linear over a grid of shapes, every
//    output element written (outputs start poisoned), the split-k workspace
//    left zero, CUDA-graph capture, and the LinearPlans dispatch.
#include "cuda_test_util.h"
#include "gemm_skinny_layout.h"
#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>
#ifdef LIGHTLLM_WITH_CUDA
#include "cuda_check.h"
#include "cuda_graph_cache.h"
#include "kernels.h"
#endif

using namespace lightllm;
using namespace lightllm::testing;
namespace sk = lightllm::gpu::skinny;

namespace {

// A 32-bit register of two 16-bit elements (low half first), kept as floats.
struct Pair {
    float lo = 0, hi = 0;
    bool set = false;
};

// mma.m16n8k16 .row.col with fp32 accumulation, from the PTX ISA fragment
// tables: lane = 4 g + q;
//   A: R0 = (g, 2q..2q+1), R1 = (g+8, 2q..2q+1), R2 = (g, 2q+8..2q+9), R3 = (g+8, 2q+8..2q+9)  [row, col]
//   B: R0 = (2q..2q+1, g), R1 = (2q+8..2q+9, g)                                            [row (k), col]
//   C: c0, c1 = (g, 2q), (g, 2q+1); c2, c3 = (g+8, 2q), (g+8, 2q+1)
void emulate_mma(const std::array<std::array<Pair, 4>, 32>& a, const std::array<std::array<Pair, 2>, 32>& b,
                 std::array<std::array<float, 4>, 32>& c) {
    float A[16][16] = {}, B[16][8] = {};
    int a_set[16][16] = {}, b_set[16][8] = {};
    for (int lane = 0; lane < 32; ++lane) {
        int g = lane / 4, q = lane % 4;
        const int a_row[4] = {g, g + 8, g, g + 8}, a_col[4] = {2 * q, 2 * q, 2 * q + 8, 2 * q + 8};
        for (int r = 0; r < 4; ++r) {
            REQUIRE(a[size_t(lane)][size_t(r)].set);
            A[a_row[r]][a_col[r]] = a[size_t(lane)][size_t(r)].lo;
            A[a_row[r]][a_col[r] + 1] = a[size_t(lane)][size_t(r)].hi;
            ++a_set[a_row[r]][a_col[r]];
            ++a_set[a_row[r]][a_col[r] + 1];
        }
        const int b_row[2] = {2 * q, 2 * q + 8};
        for (int r = 0; r < 2; ++r) {
            REQUIRE(b[size_t(lane)][size_t(r)].set);
            B[b_row[r]][g] = b[size_t(lane)][size_t(r)].lo;
            B[b_row[r] + 1][g] = b[size_t(lane)][size_t(r)].hi;
            ++b_set[b_row[r]][g];
            ++b_set[b_row[r] + 1][g];
        }
    }
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) REQUIRE(a_set[i][j] == 1);
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) REQUIRE(b_set[i][j] == 1);
    for (int lane = 0; lane < 32; ++lane) {
        int g = lane / 4, q = lane % 4;
        const int c_row[4] = {g, g, g + 8, g + 8}, c_col[4] = {2 * q, 2 * q + 1, 2 * q, 2 * q + 1};
        for (int r = 0; r < 4; ++r) {
            float s = 0;
            for (int kk = 0; kk < 16; ++kk) s += A[c_row[r]][kk] * B[kk][c_col[r]];
            c[size_t(lane)][size_t(r)] += s;
        }
    }
}

}  // namespace

TEST_CASE("skinny gemm: k permutation is a bijection of each 32-wide chunk") {
    std::vector<int> seen(32, 0);
    for (int h = 0; h < 2; ++h)
        for (int slot = 0; slot < 16; ++slot) {
            int kk = sk::real_k(slot, h);
            REQUIRE(kk >= 0);
            REQUIRE(kk < 32);
            ++seen[size_t(kk)];
        }
    for (int v : seen) CHECK(v == 1);
}

TEST_CASE("skinny gemm: fragment maps emulated on the CPU equal a plain matmul") {
    // One warp's work: a 16-row W tile (two 8-row mma tiles) over 4 chunks
    // (128 k), tokens in token tiles of 16 (n not a multiple of 16: zero pad).
    for (int n : {29, 16, 5, 64}) {
        CAPTURE(n);
        const int tok_tiles = (n + 15) / 16, n_chunks = 4, K = n_chunks * sk::kChunk;
        std::mt19937 rng(static_cast<uint32_t>(n));
        std::uniform_int_distribution<int> d(-4, 4);
        std::vector<float> x(size_t(n) * K), W(size_t(16) * K);
        for (float& v : x) v = float(d(rng));  // small integers: every sum exact in fp32
        for (float& v : W) v = float(d(rng));

        // Shared memory image, filled the way the kernel's copy loop does
        // (fill_step), which must agree with the documented word map (xs_word).
        std::vector<Pair> xs(size_t(n_chunks) * tok_tiles * 2 * 32 * 4);
        for (int cm = 0; cm < tok_tiles * n_chunks; ++cm)
            for (int j = 0; j < 8; ++j) {
                std::vector<int> banks(32, 0);
                for (int lane = 0; lane < 32; ++lane) {  // one warp-wide 4-byte copy
                    sk::FillStep f = sk::fill_step(lane, cm, j, tok_tiles);
                    REQUIRE(f.k % 2 == 0);
                    REQUIRE(f.dst == sk::xs_word(f.c, f.token, f.k / 2, tok_tiles));
                    ++banks[size_t(f.dst % 32)];
                    size_t at = size_t(f.dst);
                    REQUIRE(at < xs.size());
                    REQUIRE(!xs[at].set);
                    Pair& p = xs[at];
                    p.set = true;
                    if (f.token < n) {
                        p.lo = x[size_t(f.token) * K + size_t(f.c * sk::kChunk + f.k)];
                        p.hi = x[size_t(f.token) * K + size_t(f.c * sk::kChunk + f.k + 1)];
                    }
                }
                for (int v : banks) CHECK(v == 1);  // no shared-memory bank conflicts
            }
        for (const Pair& p : xs) REQUIRE(p.set);

        // acc[mt][wt][lane][c0..c3]
        std::vector<std::array<std::array<std::array<float, 4>, 32>, 2>> acc(static_cast<size_t>(tok_tiles));
        for (auto& t : acc)
            for (auto& l : t)
                for (auto& r : l) r.fill(0.0f);
        for (int c = 0; c < n_chunks; ++c) {
            // W registers: lane loads 16 bytes (8 elements = 4 pairs) of row w_row(lane, wt).
            std::array<std::array<std::array<Pair, 4>, 32>, 2> wreg;
            for (int wt = 0; wt < 2; ++wt)
                for (int lane = 0; lane < 32; ++lane)
                    for (int i = 0; i < 4; ++i) {
                        size_t base = size_t(sk::w_row(lane, wt)) * K + size_t(c * sk::kChunk + sk::w_col(lane) + 2 * i);
                        wreg[size_t(wt)][size_t(lane)][size_t(i)] = Pair{W[base], W[base + 1], true};
                    }
            for (int mt = 0; mt < tok_tiles; ++mt)
                for (int h = 0; h < 2; ++h) {
                    std::array<std::array<Pair, 4>, 32> a;
                    for (int lane = 0; lane < 32; ++lane)
                        for (int r = 0; r < 4; ++r)
                            a[size_t(lane)][size_t(r)] = xs[size_t(sk::xs_quad(c, mt, h, lane, tok_tiles)) * 4 + size_t(r)];
                    for (int wt = 0; wt < 2; ++wt) {
                        std::array<std::array<Pair, 2>, 32> b;
                        for (int lane = 0; lane < 32; ++lane) {  // B R0 = p[2h], R1 = p[2h + 1]
                            b[size_t(lane)][0] = wreg[size_t(wt)][size_t(lane)][size_t(2 * h)];
                            b[size_t(lane)][1] = wreg[size_t(wt)][size_t(lane)][size_t(2 * h + 1)];
                        }
                        emulate_mma(a, b, acc[size_t(mt)][size_t(wt)]);
                    }
                }
        }
        // The kernel's epilogue: c0, c1 -> out[16 mt + g][8 wt + 2q (+1)], c2, c3 -> token + 8.
        std::vector<float> out(size_t(n) * 16, NAN);
        for (int mt = 0; mt < tok_tiles; ++mt)
            for (int wt = 0; wt < 2; ++wt)
                for (int lane = 0; lane < 32; ++lane) {
                    int g = lane / 4, q = lane % 4, tok = 16 * mt + g, row = 8 * wt + 2 * q;
                    const auto& cf = acc[size_t(mt)][size_t(wt)][size_t(lane)];
                    if (tok < n) {
                        out[size_t(tok) * 16 + size_t(row)] = cf[0];
                        out[size_t(tok) * 16 + size_t(row) + 1] = cf[1];
                    }
                    if (tok + 8 < n) {
                        out[size_t(tok + 8) * 16 + size_t(row)] = cf[2];
                        out[size_t(tok + 8) * 16 + size_t(row) + 1] = cf[3];
                    }
                }
        for (int tok = 0; tok < n; ++tok)
            for (int row = 0; row < 16; ++row) {
                float want = 0;
                for (int kk = 0; kk < K; ++kk) want += x[size_t(tok) * K + size_t(kk)] * W[size_t(row) * K + size_t(kk)];
                INFO("token " << tok << " row " << row);
                REQUIRE(out[size_t(tok) * 16 + size_t(row)] == want);
            }
    }
}

TEST_CASE("skinny gemm: launch plans for the Llama shapes fill the GPU and fit shared memory") {
    const int sms = 132;
    const size_t smem = 232448;  // H100 opt-in shared memory per block
    const int64_t ws_floats = int64_t(16) << 20;
    struct KM { int64_t k, m; };
    for (KM s : {KM{4096, 12288}, {4096, 4096}, {4096, 22016}, {11008, 4096}, {4096, 6144}, {4096, 28672},
                 {14336, 4096}, {4096, 1024}, {32, 16}, {96, 48}}) {
        for (int64_t n : {5, 8, 9, 16, 33, 64}) {
            CAPTURE(s.k);
            CAPTURE(s.m);
            CAPTURE(n);
            sk::Plan p = sk::make_plan(s.m, n, s.k, sms, smem, ws_floats);
            REQUIRE(p.ok);
            int64_t chunks = s.k / sk::kChunk, blocks = (s.m / 16 + sk::kWarps - 1) / sk::kWarps;
            CHECK(p.tok_tiles == (n + 15) / 16);
            CHECK(p.splits >= 1);
            CHECK(p.splits <= chunks);
            CHECK(p.max_chunks == (chunks + p.splits - 1) / p.splits);
            CHECK(p.smem <= smem);
            CHECK(p.smem == size_t(p.max_chunks) * size_t(p.tok_tiles) * 1024);
            CHECK(p.cta_rows >= 1);
            CHECK(p.cta_rows <= blocks);
            CHECK(int64_t(p.cta_rows) * p.splits <= sms);
            if (p.splits > 1) CHECK(p.splits * n * s.m <= ws_floats);
            CHECK(sk::make_plan(s.m, n, s.k, sms, smem, 0).splits == 1);  // no workspace: unsplit (if it fits)
            if (s.m >= 4096 && n == 64) {
                // The busiest warp's share is within 15 % of a perfect spread over all SMs' warps.
                double rounds = double((blocks + p.cta_rows - 1) / p.cta_rows);
                double ideal = double(blocks) * double(chunks) / double(sms);
                MESSAGE("k=" << s.k << " m=" << s.m << " n=" << n << ": splits " << p.splits << ", grid.x "
                             << p.cta_rows << ", smem " << p.smem << ", busiest/ideal "
                             << rounds * p.max_chunks / ideal);
                CHECK(rounds * p.max_chunks <= 1.15 * ideal);
            }
        }
    }
    // Splits whose partials outgrow the workspace are not planned; x of a
    // split must fit shared memory, so a vocabulary-sized m at n = 64 does not
    // run here (cuBLAS takes it), while at n = 8 it does.
    CHECK(!sk::make_plan(131072, 64, 4096, sms, smem, ws_floats).ok);
    sk::Plan big_small_n = sk::make_plan(131072, 8, 4096, sms, smem, ws_floats);
    REQUIRE(big_small_n.ok);
    CHECK(big_small_n.splits * 8 * 131072 <= ws_floats);
    // Shapes the kernel does not take.
    CHECK(!sk::make_plan(4096, 64, 4008, sms, smem, ws_floats).ok);  // k % 32
    CHECK(!sk::make_plan(4104, 64, 4096, sms, smem, ws_floats).ok);  // m % 16
    CHECK(!sk::make_plan(4096, 65, 4096, sms, smem, ws_floats).ok);  // n > 64
}

#ifdef LIGHTLLM_WITH_CUDA

namespace {

const DType kDtypes[] = {DType::F16, DType::BF16};

// The device description the kernel plans with, and a workspace of its own.
struct SkinnyFixture {
    gpu::SkinnyDevice dev;
    void* ws = nullptr;
    size_t ws_bytes = 0;
    SkinnyFixture() {
        int d = 0, smem = 0;
        CUDA_CHECK(cudaGetDevice(&d));
        CUDA_CHECK(cudaDeviceGetAttribute(&dev.sm_count, cudaDevAttrMultiProcessorCount, d));
        CUDA_CHECK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, d));
        dev.smem_limit = size_t(smem);
        ws_bytes = gpu::skinny_workspace_bytes();
        CUDA_CHECK(cudaMalloc(&ws, ws_bytes));
        dev.ws = gpu::skinny_workspace(ws);
        REQUIRE(gpu::skinny_prepare(dev));
    }
    ~SkinnyFixture() { cudaFree(ws); }
};

struct Shape {
    int64_t m, k;
    std::vector<int> ns;
};

}  // namespace

TEST_CASE("cuda: skinny linear against the CPU backend (f16/bf16, n 5..64, with and without bias)") {
    LL_REQUIRE_GPU();
    const std::vector<int> all_n = {5, 7, 8, 9, 16, 31, 32, 33, 63, 64};
    const std::vector<int> few_n = {5, 33, 64};
    const std::vector<Shape> shapes = {
        {16, 32, all_n},     {48, 96, all_n},     {272, 288, all_n},   {16, 4096, all_n},   {4096, 4096, all_n},
        {12288, 4096, few_n}, {22016, 4096, few_n}, {4096, 11008, few_n}, {6144, 4096, few_n}, {28672, 4096, few_n},
        {4096, 14336, few_n}, {33024, 1024, {5, 16}}};
    SkinnyFixture fx;
    for (DType dt : kDtypes) {
        for (const Shape& s : shapes) {
            Backends b(dt, uint32_t(s.m + s.k));
            cudaStream_t stream = as_cuda_backend(*b.gpu)->stream();
            Twin w = b.twin(s.m, s.k, 1.0f / std::sqrt(float(s.k)));
            Twin bias = b.twin(1, s.m, 0.5f, 0.25f);
            for (size_t i = 0; i < s.ns.size(); ++i) {
                int n = s.ns[i];
                for (bool with_bias : {false, true}) {
                    if (s.m * s.k > 4096 * 4096 && with_bias != (i % 2 == 1)) continue;  // big shapes: one of the two
                    CAPTURE(dt);
                    CAPTURE(s.m);
                    CAPTURE(s.k);
                    CAPTURE(n);
                    CAPTURE(with_bias);
                    Twin x = b.twin(n, s.k, 1.0f, 0.1f);
                    Tensor bc = with_bias ? bias.c.view({s.m}) : Tensor{}, bg = with_bias ? bias.g.view({s.m}) : Tensor{};
                    REQUIRE(gpu::skinny_applies(x.g, w.g, fx.dev));
                    Twin out = b.outputs(n, s.m);  // poisoned: NaN wherever the kernel writes nothing
                    b.cpu->linear(x.c, w.c, bc, out.c);
                    gpu::skinny_linear(x.g, w.g, bg, out.g, fx.dev, stream);
                    LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), download_f32(*b.cpu, out.c), tol_reduction(dt));
                    for (Tensor* t : {&x.c, &out.c}) b.cpu->free(*t);
                    for (Tensor* t : {&x.g, &out.g}) b.gpu->free(*t);
                    b.owned_c.resize(b.owned_c.size() - 2);
                    b.owned_g.resize(b.owned_g.size() - 2);
                }
            }
        }
    }
}

TEST_CASE("cuda: skinny linear replays from a CUDA graph and goes through LinearPlans") {
    LL_REQUIRE_GPU();
    SkinnyFixture fx;
    for (DType dt : kDtypes) {
        CAPTURE(dt);
        Backends b(dt, 99);
        cudaStream_t stream = as_cuda_backend(*b.gpu)->stream();
        const int64_t m = 4096, k = 4096, n = 37;  // split k (small m): partials summed by the second kernel
        Twin w = b.twin(m, k, 1.0f / std::sqrt(float(k))), bias = b.twin(1, m, 0.5f);
        Twin x = b.twin(n, k, 1.0f, -0.2f), out = b.outputs(n, m);
        Tensor bc = bias.c.view({m}), bg = bias.g.view({m});
        b.cpu->linear(x.c, w.c, bc, out.c);
        std::vector<float> want = download_f32(*b.cpu, out.c);

        b.gpu->synchronize();
        cudaGraph_t graph = nullptr;
        cudaGraphExec_t exec = nullptr;
        CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
        gpu::skinny_linear(x.g, w.g, bg, out.g, fx.dev, stream);
        CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
        CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
        std::vector<uint16_t> first;
        for (int rep = 0; rep < 3; ++rep) {
            std::vector<uint8_t> poison(out.g.nbytes(), 0xFF);
            b.gpu->upload(out.g, poison.data(), dt);
            CUDA_CHECK(cudaGraphLaunch(exec, stream));
            LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), want, tol_reduction(dt));
            std::vector<uint16_t> bits = download_raw<uint16_t>(*b.gpu, out.g);
            if (rep == 0) first = bits;
            CHECK(bits == first);  // split partials summed in a fixed order: bit-reproducible
        }
        cudaGraphExecDestroy(exec);
        cudaGraphDestroy(graph);
        gpu::skinny_linear(x.g, w.g, bg, out.g, fx.dev, stream);  // eager == replayed, bit for bit
        CHECK(download_raw<uint16_t>(*b.gpu, out.g) == first);

        // LinearPlans takes this shape to the skinny kernel unless told not to; both agree with the CPU.
        for (bool on : {true, false}) {
            CAPTURE(on);
            gpu::LinearPlans plans(nullptr, 0);
            plans.set_skinny(on);
            Twin o2 = b.outputs(n, m);
            plans.run(x.g, w.g, bg, o2.g, stream);
            LL_CHECK_CLOSE(download_f32(*b.gpu, o2.g), want, tol_reduction(dt));
        }
    }
}

#endif
