// Device helpers of sample_rows.cu: the sort key of a token, a row's
// penalized logits, fixed-point probability masses, block reductions, and
// select_key(), the block-wide radix selection over 64-bit keys (8 bits per
// pass over the row or a shared-memory list), with draw_token(), the
// whole-row cut sequence built on it (sample_rows' fallback for rows whose
// histogram bins are too crowded for the shared-memory list).
//
// Sorted order is that of the 64-bit key  ord(value) << 32 | ~id  (ord: an
// order-preserving map of the float), so larger key = better token and ties
// go to the lower id, exactly the host's order_desc.
#pragma once
#include "common.cuh"
#include "kernels.h"

namespace lightllm::gpu::sampling {

constexpr int kBins = 256;
constexpr int kListCap = 2048;  // candidates kept in shared memory (16 KiB of keys)
using u64 = unsigned long long;  // the type of the 64-bit atomics and shuffles

// counter_rng.h's mix64 / uniform01, bit for bit.
__device__ __forceinline__ u64 mix64_dev(u64 x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
__device__ __forceinline__ float uniform01_dev(u64 seed, u64 counter) {
    return __ull2float_rn(mix64_dev(mix64_dev(seed) + counter) >> 40) * (1.0f / 16777216.0f);
}

// Order-preserving map float -> uint32 (larger float, larger key); -0 is +0
// (the host sees them tied); NaN ranks below everything.
__device__ __forceinline__ uint32_t ord_of(float v) {
    if (isnan(v)) return 0u;
    if (v == 0.0f) v = 0.0f;
    uint32_t b = __float_as_uint(v);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ float value_of_ord(uint32_t o) {
    return __uint_as_float((o & 0x80000000u) ? (o & 0x7fffffffu) : ~o);
}
__device__ __forceinline__ u64 key_of(float v, int id) {
    return (u64(ord_of(v)) << 32) | u64(0xffffffffu - uint32_t(id));
}
__device__ __forceinline__ int id_of(u64 key) { return int(0xffffffffu - uint32_t(key)); }

// Appends `key` to list[] (up to kListCap entries) for the lanes of a full
// warp with `keep` set; *n_list counts every key offered, kept or not.
__device__ __forceinline__ void warp_append(bool keep, u64 key, int* n_list, u64* list, int lane) {
    const unsigned ballot = __ballot_sync(0xffffffffu, keep);
    int base = 0;
    if (lane == 0 && ballot) base = atomicAdd(n_list, __popc(ballot));
    base = __shfl_sync(0xffffffffu, base, 0);
    const int at = base + __popc(ballot & ((1u << lane) - 1u));
    if (keep && at < kListCap) list[at] = key;
}
__device__ __forceinline__ float value_of(u64 key) { return value_of_ord(uint32_t(key >> 32)); }

// One row's logits and penalties.
template <typename T> struct RowView {
    const T* x;                // [vocab]
    int vocab;
    const uint32_t* bits;      // ids with a penalty entry (shared memory), or nullptr
    const int32_t* pen_ids;    // [pen_n] ids (distinct and sorted when presence / frequency apply)
    const int32_t* pen_counts; // [pen_n] their counts among the output tokens
    int pen_n;
    float rep, presence, frequency;

    __device__ float raw(int j) const { return to_float(x[j]); }

    // The host's apply_penalties for one token (same float operations, no
    // contraction into fma).
    __device__ float penalized(float v, int j) const {
        if (!bits || !((bits[j >> 5] >> (j & 31)) & 1u)) return v;
        const bool counted = presence != 0.0f || frequency != 0.0f;  // else the entries need no order
        int lo = 0, hi = counted ? pen_n - 1 : -1, c = 0;
        while (lo <= hi) {
            int mid = (lo + hi) >> 1;
            if (pen_ids[mid] == j) {
                c = pen_counts[mid];
                break;
            }
            if (pen_ids[mid] < j) lo = mid + 1;
            else hi = mid - 1;
        }
        if (rep != 1.0f) v = v > 0.0f ? __fdiv_rn(v, rep) : __fmul_rn(v, rep);
        if (counted && c > 0)
            v = __fsub_rn(v, __fadd_rn(presence, __fmul_rn(frequency, __int2float_rn(c))));
        return v;
    }
    // Key of token j: of the raw logit (top logprobs) or the processed one.
    __device__ u64 key(int j, bool raw_only) const {
        float v = raw(j);
        return key_of(raw_only ? v : penalized(v, j), j);
    }
};

// The keys select_key() runs over: a whole row (raw or processed logits), or
// a list of keys in shared memory.
template <typename T> struct RowKeys {
    const RowView<T>& row;
    bool raw_only;
    __device__ int size() const { return row.vocab; }
    __device__ u64 key(int j) const { return row.key(j, raw_only); }
};
struct ListKeys {
    const u64* keys;
    int n;
    __device__ int size() const { return n; }
    __device__ u64 key(int j) const { return keys[j]; }
};

// Probability mass of a processed logit as fixed point (see sample_rows.cu).
struct Mass {
    double inv_t;  // 1 / temperature
    double top;    // l_max / temperature, a float quotient as on the host
    double scale;  // 2^mass_shift
    __device__ double e(float v) const { return exp(__fma_rn(double(v), inv_t, -top)); }
    // e <= ~1 (the best token's is 1 up to the float rounding of `top`); the
    // clamp keeps sums below 2^63 even for absurdly small temperatures.
    __device__ u64 quant(double x) const { return x > 0.0 ? __double2ull_rn(fmin(x, 2.0) * scale) : 0ull; }  // NaN: 0
    __device__ u64 q(float v) const { return quant(e(v)); }
};

struct SelectShared {
    u64 weight[kBins];
    u64 best[kBins];  // largest key in the bin
    unsigned int count[kBins];
    u64 prefix, above, result, target;
    unsigned int above_n;  // tokens of the set above the group
    int done, rank;
};

// The cumulative weight select_key() looks for: a count, or a fraction of the
// set's total mass (known after its first pass, which sees the whole set).
struct Target {
    enum Kind { kWeight, kTopP, kDraw } kind;
    u64 weight;   // kWeight: this cumulative weight
    double frac;  // kTopP: ceil(frac * total); kDraw: floor(frac * total) + 1 (first above frac * total)
};

template <typename V, typename Op> __device__ V block_reduce(V x, Op op, V* part) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = op(x, __shfl_xor_sync(0xffffffffu, x, o));
    __syncthreads();  // `part` may still be read by a previous call
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = x;
    __syncthreads();
    x = part[0];
    for (int w = 1; w < int(blockDim.x >> 5); ++w) x = op(x, part[w]);
    return x;
}
struct MaxOp {
    template <typename V> __device__ V operator()(V a, V b) const { return a > b ? a : b; }
};
struct SumOp {
    template <typename V> __device__ V operator()(V a, V b) const { return a + b; }
};
struct MinOp {
    template <typename V> __device__ V operator()(V a, V b) const { return a < b ? a : b; }
};

// Adds (key k, weight w) to bin b (b < 0: nothing), called by all 32 lanes
// of a warp together. Lanes of one bin combine first (most tokens share a few
// bins in the first passes) and one of them updates shared memory. Weights
// are below 2^62: summed as three 21-bit parts, exact over 32 lanes.
__device__ __forceinline__ void add_to_bin(SelectShared& sh, int b, u64 k, u64 w) {
    const unsigned peers = __match_any_sync(0xffffffffu, b);
    if (b < 0) return;
    constexpr u64 kPart = (1ull << 21) - 1;
    const u64 w0 = __reduce_add_sync(peers, unsigned(w & kPart));
    const u64 w1 = __reduce_add_sync(peers, unsigned((w >> 21) & kPart));
    const u64 w2 = __reduce_add_sync(peers, unsigned(w >> 42));
    const unsigned hi = __reduce_max_sync(peers, unsigned(k >> 32));
    const unsigned lo = __reduce_max_sync(peers, unsigned(k >> 32) == hi ? unsigned(k) : 0u);
    if (int(threadIdx.x & 31) == __ffs(peers) - 1) {
        atomicAdd(&sh.weight[b], w0 + (w1 << 21) + (w2 << 42));
        atomicAdd(&sh.count[b], unsigned(__popc(peers)));
        atomicMax(&sh.best[b], (u64(hi) << 32) | lo);
    }
}

// Among the tokens with key >= lo, in sorted order, the key of the first
// whose inclusive cumulative weight reaches the target (weight: 1 when !mass,
// else its fixed-point mass); the last token when none does. The set must not
// be empty. rank (optional): the 1-based position of that token in the set.
template <typename Keys>
__device__ u64 select_key(const Keys& src, u64 lo, const Mass* mass, Target target, SelectShared& sh,
                          int* rank = nullptr) {
    if (threadIdx.x == 0) {
        sh.prefix = 0;
        sh.above = 0;
        sh.above_n = 0;
        sh.rank = 0;
        sh.done = 0;
        sh.result = lo;
        sh.target = target.weight;
    }
    for (int shift = 56; shift >= 0; shift -= 8) {
        const u64 fixed = shift == 56 ? 0ull : ~((1ull << (shift + 8)) - 1ull);  // digits already chosen
        for (int b = threadIdx.x; b < kBins; b += blockDim.x) {
            sh.weight[b] = 0;
            sh.best[b] = 0;
            sh.count[b] = 0;
        }
        __syncthreads();
        const u64 prefix = sh.prefix;
        const int n = src.size();
        const int n_iter = (n + int(blockDim.x) - 1) / int(blockDim.x);  // the same for every lane
        for (int it = 0; it < n_iter; ++it) {
            const int j = it * int(blockDim.x) + int(threadIdx.x);
            int b = -1;
            u64 k = 0, w = 0;
            if (j < n) {
                k = src.key(j);
                if (k >= lo && (k & fixed) == prefix) {
                    b = int((k >> shift) & 0xffu);
                    w = mass ? mass->q(value_of(k)) : 1ull;
                }
            }
            add_to_bin(sh, b, k, w);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            if (shift == 56 && target.kind != Target::kWeight) {
                u64 total = 0;
                for (int b = 0; b < kBins; ++b) total += sh.weight[b];
                const double x = target.frac * double(total);
                sh.target = target.kind == Target::kTopP ? (x > 0.0 ? u64(ceil(x)) : 0ull) : u64(floor(x)) + 1ull;
            }
            const u64 t = sh.target;
            u64 acc = sh.above;
            unsigned int acc_n = sh.above_n;
            int chosen = -1, last = -1;
            for (int b = kBins - 1; b >= 0; --b) {
                if (sh.count[b] == 0) continue;
                last = b;
                if (acc + sh.weight[b] >= t) {
                    chosen = b;
                    break;
                }
                acc += sh.weight[b];
                acc_n += sh.count[b];
            }
            if (chosen < 0 && last >= 0) {  // t is out of reach: the last token of the set
                chosen = last;
                acc -= sh.weight[last];
                acc_n -= sh.count[last];
            }
            if (chosen < 0) {
                sh.done = 1;  // empty group: cannot happen for a non-empty set
            } else if (sh.count[chosen] == 1 || shift == 0) {
                sh.done = 1;
                sh.result = sh.best[chosen];
                sh.rank = int(acc_n) + 1;
            } else {
                sh.prefix |= u64(chosen) << shift;
                sh.above = acc;
                sh.above_n = acc_n;
            }
        }
        __syncthreads();
        if (sh.done) break;
    }
    const u64 r = sh.result;
    if (rank) *rank = sh.rank;
    __syncthreads();  // everyone has read `result` before the next call resets it
    return r;
}

// Gathers the keys >= lo of the row into list[] (any order) and returns how
// many there are; there must be at most kListCap of them.
template <typename T> __device__ int gather_keys(const RowView<T>& row, u64 lo, u64* list, int* n_list) {
    if (threadIdx.x == 0) *n_list = 0;
    __syncthreads();
    const int lane = int(threadIdx.x & 31);
    const int n_iter = (row.vocab + int(blockDim.x) - 1) / int(blockDim.x);  // the same for every lane
    for (int it = 0; it < n_iter; ++it) {
        const int j = it * int(blockDim.x) + int(threadIdx.x);
        u64 k = 0;
        if (j < row.vocab) k = row.key(j, false);
        const bool keep = j < row.vocab && k >= lo;
        warp_append(keep, k, n_list, list, lane);
    }
    __syncthreads();
    const int n = min(*n_list, kListCap);
    __syncthreads();  // everyone has read n_list
    return n;
}

// The token a sampled row draws. The cuts run over the whole row until the
// tokens still in (key >= lo) are known to be at most kListCap (after top_k,
// or after a top_p cut that kept few, as for most rows of a language model);
// then those are gathered into shared memory and the rest runs there.
template <typename T>
__device__ u64 draw_token(const RowView<T>& row, const SampleRowParams& p, const Mass& mass, u64 best,
                          SelectShared& sh, u64* part64, u64* list, int* n_list) {
    const RowKeys<T> all{row, false};
    u64 lo = 0;             // the tokens still in: key >= lo
    int n_in = row.vocab;   // how many
    bool listed = false;    // list[] holds them (and maybe tokens cut later: keys < lo)
    int n_listed = 0;
    auto narrow = [&] {
        if (!listed && n_in <= kListCap) {
            n_listed = gather_keys(row, lo, list, n_list);
            listed = true;
        }
    };
    if (p.top_k > 0 && p.top_k < row.vocab) {
        lo = select_key(all, 0, nullptr, Target{Target::kWeight, u64(p.top_k), 0.0}, sh);
        n_in = p.top_k;
    }
    narrow();
    if (p.top_p < 1.0f) {
        const Target t{Target::kTopP, 0, double(p.top_p)};
        lo = listed ? select_key(ListKeys{list, n_listed}, lo, &mass, t, sh, &n_in)
                    : select_key(all, lo, &mass, t, sh, &n_in);
        narrow();
    }
    if (p.min_p > 0.0f) {  // the worst token with e >= min_p * e_best (the best token always stays)
        const double cut = double(p.min_p) * mass.e(value_of(best));
        const int n = listed ? n_listed : row.vocab;
        u64 worst = ~0ull;
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            const u64 k = listed ? list[j] : all.key(j);
            if (k >= lo && mass.e(value_of(k)) >= cut) worst = min(worst, k);
        }
        worst = block_reduce(worst, MinOp{}, part64);
        lo = max(lo, min(worst, best));
    }
    const Target t{Target::kDraw, 0, double(uniform01_dev(p.seed, p.counter))};
    return listed ? select_key(ListKeys{list, n_listed}, lo, &mass, t, sh) : select_key(all, lo, &mass, t, sh);
}

}  // namespace lightllm::gpu::sampling
