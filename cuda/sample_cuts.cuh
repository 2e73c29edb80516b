// The cut sequence of sample_rows.cu's finishing block: over a row's
// histogram of kHistBins bins (exclusive prefix sums of counts and
// fixed-point masses), find() locates the bin holding a cut, gathers that
// bin's tokens from the row into shared memory, sorts them (bitonic) and
// prefix-sums their masses; draw() runs top_k, top_p, min_p and the draw.
// The set still in is always "every bin before sb, plus the tokens of bin sb
// whose key is >= slo".
#pragma once
#include "sample_select.cuh"
#include <climits>

namespace lightllm::gpu::sampling {

constexpr int kHistBins = 2048;
constexpr float kMassRange = 40.0f;  // e^-40: below every fixed-point quantum
constexpr int kTopBins = 256;   // the histogram pass lists the tokens of bins [0, kTopBins) ...
constexpr int kCandCap = 2048;  // ... up to this many per row; gathers of those bins read the list, not the row
constexpr int kLoadsInFlight = 4;    // 16-byte row loads a thread issues before it uses them

// Visits the logits [begin, end) of a row, each thread its own elements:
// f(j, raw logit j, true) for every j it owns. Rows whose [begin, end) starts
// 16-byte aligned are read with 16-byte loads (4 f32 or 8 f16/bf16 logits),
// kLoadsInFlight of them issued before any is used: the finishing block reads
// a whole row alone, so latency, not bandwidth, bounds a row pass unless many
// bytes are in flight. Uniform: every lane of the block makes the same number
// of calls, those past the end with (j, 0, false) (for warp collectives such
// as warp_append).
template <bool Uniform, typename T, typename F>
__device__ void visit_logits(const RowView<T>& row, int begin, int end, F f) {
    constexpr int V = 16 / int(sizeof(T));
    const int bd = int(blockDim.x), tid = int(threadIdx.x);
    int scalar_from = begin;
    if ((reinterpret_cast<uintptr_t>(row.x + begin) & 15) == 0) {
        const int n_vec = (end - begin) / V;
        const uint4* p = reinterpret_cast<const uint4*>(row.x + begin);
        const int step = kLoadsInFlight * bd;
        const int n_outer = (n_vec + step - 1) / step;
        for (int o = 0; o < n_outer; ++o) {
            const int c0 = o * step + tid;
            if (!Uniform && c0 >= n_vec) break;
            uint4 raw[kLoadsInFlight];
#pragma unroll
            for (int u = 0; u < kLoadsInFlight; ++u) {
                const int c = c0 + u * bd;
                raw[u] = c < n_vec ? __ldg(p + c) : make_uint4(0u, 0u, 0u, 0u);
            }
#pragma unroll
            for (int u = 0; u < kLoadsInFlight; ++u) {
                const int c = c0 + u * bd;
                if (!Uniform && c >= n_vec) break;
                const T* v = reinterpret_cast<const T*>(&raw[u]);
#pragma unroll
                for (int e = 0; e < V; ++e) f(begin + c * V + e, to_float(v[e]), c < n_vec);
            }
        }
        scalar_from = begin + n_vec * V;
    }
    const int n_rounds = (end - scalar_from + bd - 1) / bd;
    for (int o = 0; o < n_rounds; ++o) {
        const int j = scalar_from + o * bd + tid;
        if (!Uniform && j >= end) break;
        f(j, j < end ? row.raw(j) : 0.0f, j < end);
    }
}

// f(j, raw logit j) for this thread's logits of [begin, end).
template <typename T, typename F> __device__ void for_each_logit(const RowView<T>& row, int begin, int end, F f) {
    visit_logits<false>(row, begin, end, [&](int j, float x, bool) { f(j, x); });
}

// The histogram bin of a processed logit: non-decreasing as v decreases, so a
// bin is a contiguous run of the sorted order (NaN, -inf: the last bin).
struct Binner {
    float vbest, inv_w;
    __device__ int bin(float v) const {
        const float s = __fmul_rn(__fsub_rn(vbest, v), inv_w);
        return s < float(kHistBins - 1) ? int(s) : kHistBins - 1;
    }
};

// In place: a[i] := a[0] + ... + a[i-1] for i in [0, n). Each thread scans a
// contiguous segment, not the elements it may have written: hence the barrier.
template <typename V> __device__ void block_exclusive_scan(V* a, int n, V* warp_tot) {
    __syncthreads();
    const int per = (n + int(blockDim.x) - 1) / int(blockDim.x);
    const int b0 = int(threadIdx.x) * per, b1 = min(n, b0 + per);
    V sum = 0;
    for (int i = b0; i < b1; ++i) sum += a[i];
    const int lane = int(threadIdx.x & 31), warp = int(threadIdx.x >> 5);
    V incl = sum;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const V y = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += y;
    }
    __syncthreads();
    if (lane == 31) warp_tot[warp] = incl;
    __syncthreads();
    if (warp == 0) {
        V t = lane < int(blockDim.x >> 5) ? warp_tot[lane] : V(0);
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const V y = __shfl_up_sync(0xffffffffu, t, o);
            if (lane >= o) t += y;
        }
        warp_tot[lane] = t;
    }
    __syncthreads();
    V base = (warp > 0 ? warp_tot[warp - 1] : V(0)) + incl - sum;
    for (int i = b0; i < b1; ++i) {
        const V x = a[i];
        a[i] = base;
        base += x;
    }
    __syncthreads();
}

// a[0, n) in descending order (bitonic; n a power of two).
__device__ void sort_desc(u64* a, int n) {
    for (int k = 2; k <= n; k <<= 1)
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = threadIdx.x; i < n; i += blockDim.x) {
                const int ixj = i ^ j;
                if (ixj <= i) continue;
                const u64 x = a[i], y = a[ixj];
                if ((i & k) == 0 ? x < y : x > y) {
                    a[i] = y;
                    a[ixj] = x;
                }
            }
            __syncthreads();
        }
}

// Shared state of the cut sequence of one row (see the header).
struct CutState {
    int sb;            // bins before sb are in whole; kHistBins: all of them
    u64 slo;           // bin sb: its tokens with key >= slo are in
    u64 pcnt, pmass;   // count / mass of those
    int list_bin;      // list[] holds bin list_bin's tokens with key >= list_lo, best first (-1: none)
    u64 list_lo;
    int n_listed;
    int bstar, pick;
    u64 lo, resid;
};

// Everything the finishing block of a row works with.
template <typename T> struct RowFinish {
    const RowView<T>& row;
    const Binner& bins;
    const Mass& mass;
    u64* hmass;          // [kHistBins + 1] exclusive prefix sums of the bins' masses
    unsigned* hcount;    // [kHistBins + 1] and counts
    CutState& cs;
    u64* list;           // [kListCap] keys of one bin, best first (0: padding)
    u64* cum;            // [kListCap + 1] cum[i + 1]: the mass of list[0..i]
    int* n_list;
    u64* part64;
    const u64* cand;  // the row's tokens of bins [0, kTopBins), complete (null: incomplete)
    int n_cand;
    // The row's tokens of the bins set in pre_bits (sample_prefetch.cuh),
    // complete (null: none listed, or incomplete).
    const u64* pre = nullptr;
    int n_pre = 0;
    const uint32_t* pre_bits = nullptr;

    __device__ u64 excl(int b, bool by_mass) const { return by_mass ? hmass[b] : u64(hcount[b]); }
    // Weight of list[0..i] (count or mass).
    __device__ u64 upto(int i, bool by_mass) const { return by_mass ? cum[i + 1] : u64(i + 1); }

    // The key of the first token of the set, in sorted order, whose inclusive
    // cumulative weight (1, or its mass when by_mass) reaches t; the set's
    // last token when none does. False when that token's bin is too crowded
    // for the list. cs.bstar / cs.pick: its bin and its index in list[].
    __device__ bool find(bool by_mass, u64 t, u64* out) {
        const int sb = cs.sb;
        int found = INT_MAX, last = -1;
        for (int b = threadIdx.x; b < sb; b += blockDim.x) {
            if (hcount[b + 1] == hcount[b]) continue;
            if (found == INT_MAX && excl(b + 1, by_mass) >= t) found = b;
            last = b;
        }
        found = int(block_reduce(u64(found), MinOp{}, part64));
        last = int(block_reduce(u64(last + 1), MaxOp{}, part64)) - 1;
        if (threadIdx.x == 0) {
            const bool partial = sb < kHistBins && cs.pcnt > 0;
            const u64 pw = by_mass ? cs.pmass : cs.pcnt;
            if (found != INT_MAX) {
                cs.bstar = found;
                cs.lo = 0;
                const u64 before = excl(found, by_mass);
                cs.resid = t > before ? t - before : 0;
            } else if (partial && excl(sb, by_mass) + pw >= t) {
                cs.bstar = sb;
                cs.lo = cs.slo;
                const u64 before = excl(sb, by_mass);
                cs.resid = t > before ? t - before : 0;
            } else {  // out of reach: the last token of the set
                cs.bstar = partial ? sb : max(last, 0);
                cs.lo = partial ? cs.slo : 0;
                cs.resid = ~0ull;
            }
            cs.pick = -1;
        }
        __syncthreads();
        const u64 lo = cs.lo, resid = cs.resid;
        if (!gather(cs.bstar, lo)) return false;
        // In list[] (best first) the set is the prefix of keys >= lo: the first
        // index whose inclusive weight reaches resid, else the prefix's last.
        const int n = cs.n_listed;
        int n_in = 0;
        for (int i = threadIdx.x; i < n; i += blockDim.x) n_in += list[i] >= lo ? 1 : 0;
        n_in = int(block_reduce(u64(n_in), SumOp{}, part64));
        for (int i = threadIdx.x; i < n_in; i += blockDim.x)
            if (upto(i, by_mass) >= resid && (i == 0 || upto(i - 1, by_mass) < resid)) cs.pick = i;
        __syncthreads();
        if (threadIdx.x == 0 && cs.pick < 0) cs.pick = max(n_in - 1, 0);
        __syncthreads();
        *out = list[cs.pick];
        return true;
    }

    // list[] := the tokens of bin b with key >= lo, best first, with their
    // cumulative masses (kept when it already holds them).
    __device__ bool gather(int b, u64 lo) {
        if (cs.list_bin == b && cs.list_lo <= lo) return true;
        __syncthreads();
        if (threadIdx.x == 0) *n_list = 0;
        __syncthreads();
        const int lane = int(threadIdx.x & 31);
        // A list that holds all of bin b's tokens (among others): keep those.
        auto filter = [&](const u64* keys, int n_keys) {
            const int bd = int(blockDim.x), n_rounds = (n_keys + bd - 1) / bd;  // the same for every lane
            for (int o = 0; o < n_rounds; ++o) {
                const int i = o * bd + int(threadIdx.x);
                const u64 k = i < n_keys ? keys[i] : 0ull;
                warp_append(i < n_keys && bins.bin(value_of(k)) == b && k >= lo, k, n_list, list, lane);
            }
        };
        if (b < kTopBins && cand) {  // the histogram pass listed these bins' tokens
            filter(cand, n_cand);
        } else if (pre && ((pre_bits[b >> 5] >> (b & 31)) & 1u)) {  // the prefetch pass listed them
            filter(pre, n_pre);
        } else {
            visit_logits<true>(row, 0, row.vocab, [&](int j, float x, bool valid) {
                u64 k = 0;
                bool keep = false;
                if (valid) {
                    const float v = row.penalized(x, j);
                    if (bins.bin(v) == b) {
                        k = key_of(v, j);
                        keep = k >= lo;
                    }
                }
                warp_append(keep, k, n_list, list, lane);
            });
        }
        __syncthreads();
        const int n = *n_list;
        if (n > kListCap) {
            if (threadIdx.x == 0) cs.list_bin = -1;
            __syncthreads();
            return false;
        }
        int n_pad = 32;
        while (n_pad < n) n_pad <<= 1;
        for (int i = n + int(threadIdx.x); i < n_pad; i += blockDim.x) list[i] = 0;  // keys are > 0
        __syncthreads();
        sort_desc(list, n_pad);
        for (int i = threadIdx.x; i <= n; i += blockDim.x) cum[i] = i < n ? mass.q(value_of(list[i])) : 0ull;
        block_exclusive_scan(cum, n + 1, part64);  // cum[i + 1] = mass of list[0..i]
        if (threadIdx.x == 0) {
            cs.n_listed = n;
            cs.list_bin = b;
            cs.list_lo = lo;
        }
        __syncthreads();
        return true;
    }

    // The set becomes: bins before cs.bstar, plus that bin's tokens down to
    // list[cs.pick] (the token find() returned).
    __device__ void cut_at_pick(u64 k) {
        if (threadIdx.x == 0) {
            cs.sb = cs.bstar;
            cs.slo = k;
            cs.pcnt = u64(cs.pick + 1);
            cs.pmass = cum[cs.pick + 1];
        }
        __syncthreads();
    }

    __device__ u64 total_mass() const { return hmass[cs.sb] + (cs.sb < kHistBins ? cs.pmass : 0ull); }

    // The sampled token's key, or false (fall back to draw_token).
    __device__ bool draw(const SampleRowParams& p, u64 best, u64 worst_min_p, u64* out) {
        u64 k;
        if (p.top_k > 0 && p.top_k < row.vocab) {
            if (!find(false, u64(p.top_k), &k)) return false;
            cut_at_pick(k);
        }
        if (p.top_p < 1.0f) {
            const double x = double(p.top_p) * double(total_mass());
            if (!find(true, x > 0.0 ? u64(ceil(x)) : 0ull, &k)) return false;
            cut_at_pick(k);
        }
        if (p.min_p > 0.0f) {  // the best token always stays
            const u64 km = min(worst_min_p, best);
            const int bm = bins.bin(value_of(km));
            if (bm < cs.sb || (bm == cs.sb && km > cs.slo)) {
                if (!gather(bm, bm == cs.sb ? cs.slo : 0ull)) return false;
                // km's index in the list: the keys above it.
                int above = 0;
                for (int i = threadIdx.x; i < cs.n_listed; i += blockDim.x) above += list[i] > km ? 1 : 0;
                above = int(block_reduce(u64(above), SumOp{}, part64));
                if (threadIdx.x == 0) {
                    cs.bstar = bm;
                    cs.pick = above;
                }
                __syncthreads();
                cut_at_pick(km);
            }
        }
        const double x = double(uniform01_dev(p.seed, p.counter)) * double(total_mass());
        return find(true, u64(floor(x)) + 1ull, out);
    }

    // The smallest key of the row's n_top best (raw = processed here), or false.
    __device__ bool top_floor(int n_top, u64* out) {
        if (threadIdx.x == 0) {
            cs.sb = kHistBins;
            cs.pcnt = cs.pmass = 0;
        }
        __syncthreads();
        return find(false, u64(n_top), out);
    }
};

}  // namespace lightllm::gpu::sampling
