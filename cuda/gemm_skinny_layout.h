// Index maps and launch plan of the skinny tensor-core linear (gemm_skinny.cu),
// plain C++ so that the CPU tests can check them without a GPU.
//
// The kernel computes out [n, m] = x [n, k] . W [m, k]^T with mma.sync
// m16n8k16: A = 16 tokens of x, B = 8 rows of W (".col": k contiguous per W
// row, W's own layout), fp32 C = 16 tokens x 8 W rows. PTX fragment layouts
// (lane = 4 g + q, g = groupID, q = threadID_in_group; the lower-indexed
// element of each pair in the low 16 bits):
//   A regs R0..R3 = {a0,a1} {a2,a3} {a4,a5} {a6,a7}:
//     R0: row g,   cols 2q, 2q+1     R1: row g+8, cols 2q, 2q+1
//     R2: row g,   cols 2q+8, 2q+9   R3: row g+8, cols 2q+8, 2q+9
//   B regs R0, R1 = {b0,b1} {b2,b3}: R0 rows (k) 2q, 2q+1, R1 rows 2q+8, 2q+9; col g
//   C c0..c3: c0, c1 row g, cols 2q, 2q+1; c2, c3 row g+8, cols 2q, 2q+1
// (A rows = tokens, B cols = C cols = W rows, A cols = B rows = k slots.)
// A dot product ignores the order of k, so each mma's 16 "logical" k slots
// may stand for any 16 real k, as long as A and B use the same map. Per
// 32-wide k chunk (base kb) lane (g, q) loads 16 bytes of W row g of an 8-row
// W tile, W[row g][kb + 8q .. kb + 8q + 7] = uint4 {p0, p1, p2, p3} (p_i holds
// elements 2i, 2i+1): that is B of two mmas h = 0, 1 as they are,
//   B R0 = p[2h] (slots 2q, 2q+1), B R1 = p[2h+1] (slots 2q+8, 2q+9), so
//   logical slot 2q+e   -> real k = kb + 8q + 4h + e        (e = 0, 1)
//   logical slot 2q+8+e -> real k = kb + 8q + 4h + 2 + e
// and over q = 0..3, h = 0..1 the real k cover kb .. kb+31 once each. The A
// quad of mma h for tokens t0 = 16 mt + g, t1 = t0 + 8 and k0 = kb + 8q + 4h is
//   { x[t0][k0, k0+1], x[t1][k0, k0+1], x[t0][k0+2, k0+3], x[t1][k0+2, k0+3] }.
//
// x in shared memory: a CTA holds the x rows of its k range, tokens padded to
// 16 * tok_tiles with zeros, as ready-made A quads: the quad of lane l for
// chunk c, token tile mt and h sits at uint4 index ((c * tok_tiles + mt) * 2 + h) * 32 + l,
// so a warp's fragment load reads 512 contiguous bytes (no bank conflicts).
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define LL_HD __host__ __device__ __forceinline__
#else
#define LL_HD inline
#endif

namespace lightllm::gpu::skinny {

constexpr int kChunk = 32;    // k per chunk (two mmas per 16 tokens x 8 W rows)
constexpr int kTileRows = 16; // W rows per warp tile (two 8-row mma tiles)
constexpr int kWarps = 16;    // warps per CTA: a CTA covers 16 tiles = 256 rows
constexpr int kMaxTokens = 64;

// Row (within the 16 rows of a warp) and k offset (within a chunk) of the
// 16 bytes of W lane `lane` loads for W tile `wt` (0, 1).
LL_HD int w_row(int lane, int wt) { return (lane >> 2) + 8 * wt; }
LL_HD int w_col(int lane) { return 8 * (lane & 3); }

// Real k (relative to the chunk base) of logical slot `slot` (0..15) in mma h.
LL_HD int real_k(int slot, int h) {
    int q = (slot & 7) >> 1, e = slot & 1, hi = slot >> 3;
    return 8 * q + 4 * h + 2 * hi + e;
}

// Shared-memory uint32 index where the pair x[token][kb + 2 j, kb + 2 j + 1]
// (j = 0..15, the j-th 32-bit word of chunk c) goes: word j = 4 q + i of the
// 16 bytes at 8 q holds real k 8q + 2i, i.e. mma h = i / 2, quad position
// (i & 1) * 2 + (token & 15) / 8.
LL_HD int xs_word(int c, int token, int j, int tok_tiles) {
    int q = j >> 2, i = j & 3, h = i >> 1;
    int lane = (token & 7) * 4 + q;
    int pos = (i & 1) * 2 + ((token & 15) >> 3);
    return ((((c * tok_tiles + (token >> 4)) * 2 + h) * 32 + lane) * 4) + pos;
}
// The copy of x into shared memory: in unit cm = c * tok_tiles + mt, thread
// `lane` fills its lane's two quads (h = 0, 1) of chunk c and token tile mt in
// 8 steps of 4 bytes; step j copies word `pos` of quad h = j % 2, pos rotated
// by lane / 8 so that the 32 threads of a warp write 32 different banks in
// each step. (The kernel runs unit cm in warp cm % 16 of the CTA's loop.)
struct FillStep {
    int c, token, k;  // source x[token][chunk c base + k]
    int dst;          // destination uint32 index
};
LL_HD FillStep fill_step(int lane, int cm, int j, int tok_tiles) {
    int mt = cm % tok_tiles, c = cm / tok_tiles;
    int h = j & 1, pos = ((j >> 1) + (lane >> 3)) & 3;
    int token = 16 * mt + (lane >> 2) + 8 * (pos & 1);
    int k = 8 * (lane & 3) + 4 * h + 2 * (pos >> 1);
    return FillStep{c, token, k, ((cm * 2 + h) * 32 + lane) * 4 + pos};
}

// The uint4 index of lane `lane`'s A quad for chunk c, token tile mt, mma h.
LL_HD int xs_quad(int c, int mt, int h, int lane, int tok_tiles) { return ((c * tok_tiles + mt) * 2 + h) * 32 + lane; }

// Launch plan: a grid of (cta_rows, splits) CTAs of kWarps warps. Split s
// covers chunks [s * n_chunks / splits, (s + 1) * n_chunks / splits); CTA
// (b, s) does row blocks b, b + cta_rows, ... (256 rows each) over its split,
// one 16-row tile per warp per row block. With splits > 1 each split stores
// its fp32 partials in its own workspace slot ([splits][n][m]) and a second
// kernel sums the slots in split order (results do not depend on timing),
// adds the bias and writes out.
struct Plan {
    bool ok = false;
    int tok_tiles = 0;    // 16-token tiles (mma M)
    int splits = 1;
    int cta_rows = 0;     // grid.x
    int max_chunks = 0;   // chunks of the longest split
    size_t smem = 0;      // dynamic shared memory bytes
};

// ws_floats: workspace floats for partials.
inline Plan make_plan(int64_t m, int64_t n, int64_t k, int sm_count, size_t smem_limit, int64_t ws_floats) {
    Plan best;
    if (n < 1 || n > kMaxTokens || k % kChunk != 0 || k <= 0 || m % kTileRows != 0 || m <= 0 || sm_count <= 0)
        return best;
    int tok_tiles = int((n + 15) / 16);
    int64_t n_chunks = k / kChunk, m_tiles = m / kTileRows;
    int64_t n_blocks = (m_tiles + kWarps - 1) / kWarps;
    double best_cost = 0;
    for (int splits = 1; splits <= 32 && splits <= n_chunks; ++splits) {
        if (splits > 1 && splits * n * m > ws_floats) break;
        int64_t max_chunks = (n_chunks + splits - 1) / splits;
        size_t smem = size_t(max_chunks) * size_t(tok_tiles) * 1024;
        if (smem > smem_limit) continue;
        int64_t cta_rows = sm_count / splits < n_blocks ? sm_count / splits : n_blocks;
        if (cta_rows < 1) break;
        // Chunks the busiest warp streams (all SMs share the memory bus, so
        // the busiest CTA sets the time); partial sums cost L2 traffic
        // 2 * n / k_split per weight byte each way (k_split = 32 max_chunks)
        // and a second kernel, weighed lightly.
        int64_t rounds = (n_blocks + cta_rows - 1) / cta_rows;
        double cost = double(rounds * max_chunks);
        if (splits > 1) cost *= 1.0 + 0.15 * double(n) / (16.0 * double(max_chunks));
        if (!best.ok || cost < best_cost) {
            best_cost = cost;
            best.ok = true;
            best.tok_tiles = tok_tiles;
            best.splits = splits;
            best.cta_rows = int(cta_rows);
            best.max_chunks = int(max_chunks);
            best.smem = smem;
        }
    }
    return best;
}

}  // namespace lightllm::gpu::skinny
