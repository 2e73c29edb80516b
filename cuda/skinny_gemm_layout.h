// Where the skinny GEMM's values sit in mma.sync m16n8k16 fragments
// (skinny_gemm.cu says why; mma.cuh has the PTX fragment layouts). Plain
// constexpr functions, used by the kernel and by the host emulation in
// tests/test_cuda_skinny_gemm.cpp, so both apply the same mapping.
//
// One k step is 32 consecutive k. Lane (g = lane / 4, t = lane % 4) loads 16
// bytes (4 registers r = 0..3, two values each, lower k in the low half) of
// each of its rows at k 8t .. 8t+7 of the step: register r holds k 8t + 2r
// and 8t + 2r + 1. Two MMAs consume the step; MMA j takes registers 2j and
// 2j + 1 as its fragment slots 0 (a0/a1, b0: logical k 2t, 2t+1) and 1 (a2/a3,
// b1: logical k 2t+8, 2t+9). So MMA j sees, as logical k 2t+8s+e, the physical
// k 8t + 4j + 2s + e: a bijection of its 16 logical k onto the 16 physical k
// of the step with k % 8 in [4j, 4j+4). A and B are read through the same
// map, so each MMA sums w[row][k] * x[col][k] over those 16 k exactly once.
#pragma once

namespace lightllm::gpu {

constexpr int kSkinnyStepK = 32;  // k per step: 4 lanes x 8 values of one row

// First k (within the step) of the 8 consecutive values lane t loads.
constexpr int skinny_lane_k(int t) { return 8 * t; }
// The register (0..3) of a lane's 16 loaded bytes that fills fragment slot s
// (0: a0/a1/b0, 1: a2/a3/b1) of MMA j (0, 1).
constexpr int skinny_reg(int j, int s) { return 2 * j + s; }
// Accumulator c_i (i = 0..3) of lane (g, t): weight row (within the 16-row
// tile) and activation row (within the 8-row tile) it sums.
constexpr int skinny_c_row(int g, int i) { return g + 8 * (i / 2); }
constexpr int skinny_c_col(int t, int i) { return 2 * t + (i % 2); }

// k split s of a launch covers [s * k_split, min(k, (s + 1) * k_split)):
// k_split a whole number of steps, no split empty (asked-for count lowered).
struct SkinnySplitK {
    int k_split;
    int splits;
};
constexpr SkinnySplitK skinny_split_k(int k, int splits) {
    const int steps = (k + kSkinnyStepK - 1) / kSkinnyStepK;
    const int s = splits < 1 ? 1 : splits > steps ? steps : splits;
    const int per = (steps + s - 1) / s;
    return {per * kSkinnyStepK, (steps + per - 1) / per};
}

// Index (in float4s) of lane `lane`'s accumulators of row tile mt and n-tile
// nt, in warp `warp` of row block rb, split s: the layout of the fp32 partials.
constexpr long long skinny_partial_slot(int s, int n_row_blocks, int rb, int warps, int warp, int row_tiles, int mt,
                                        int n_tiles, int nt, int lane) {
    return ((((static_cast<long long>(s) * n_row_blocks + rb) * warps + warp) * row_tiles + mt) * n_tiles + nt) * 32 +
           lane;
}

}  // namespace lightllm::gpu
