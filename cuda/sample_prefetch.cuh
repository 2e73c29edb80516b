// Which histogram bins the finishing block of sample_rows.cu will gather,
// predicted from the row's histogram before it runs, so that a pass of many
// blocks per row (row_prefetch_kernel) can list those bins' tokens instead of
// the one finishing block reading the whole row for each cut. That matters
// when the cuts fall outside the top bins the histogram pass already lists:
// flat rows (high temperature, a small or untrained model), where top_p keeps
// a large part of the vocabulary and the draw lands far from the best token.
//
// The prediction follows RowFinish::draw (sample_cuts.cuh) at bin granularity:
// each cut's target weight is known only within bounds (the set's mass after
// a cut lies between its whole bins and its whole bins plus the cut bin), so
// each cut yields a short range of bins, widened by one on each side against
// rounding. It needs to be a superset of what the finishing block gathers to
// help, never to be exact: a bin it misses is gathered from the row as before.
#pragma once
#include "sample_cuts.cuh"

namespace lightllm::gpu::sampling {

constexpr int kPrefetchBins = 16;      // bins listed per row at most
constexpr int kPrefetchRange = 6;      // a cut whose bounds span more bins is left to the row scan
constexpr int kPrefetchCap = 4096;     // keys listed per row (more: the list is incomplete)
constexpr int kBinWords = kHistBins / 32;

struct BinPrediction {
    const u64* hmass;       // [kHistBins + 1] exclusive prefix sums of the bins' masses
    const unsigned* hcount; // and counts
    uint32_t* bits;         // [kBinWords] out: the bins to list
    bool skip_top;          // bins below kTopBins are listed already (complete candidate list)
    int n_marked = 0;

    // The first bin b <= last whose inclusive prefix reaches t (last when none does).
    __device__ int reach(bool by_mass, u64 t, int last) const {
        int lo = 0, hi = last;
        while (lo < hi) {
            const int mid = (lo + hi) / 2;
            const u64 incl = by_mass ? hmass[mid + 1] : u64(hcount[mid + 1]);
            if (incl >= t) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }
    __device__ void mark(int b0, int b1) {
        if (b1 - b0 > kPrefetchRange) return;
        for (int b = max(b0 - 1, 0); b <= min(b1 + 1, kHistBins - 1); ++b) {
            if ((skip_top && b < kTopBins) || n_marked >= kPrefetchBins) continue;
            if (hcount[b + 1] == hcount[b]) continue;  // empty
            const uint32_t m = 1u << (b & 31);
            if (bits[b >> 5] & m) continue;
            bits[b >> 5] |= m;
            ++n_marked;
        }
    }

    // Marks the bins of p's cuts (one thread). best: the row's best key;
    // worst: its worst key with enough mass for min_p; bins: the row's binner.
    __device__ void predict(const SampleRowParams& p, int vocab, const Binner& bins, u64 best, u64 worst) {
        int hb = kHistBins - 1;  // the set lies in bins <= hb
        u64 mlo = hmass[kHistBins], mhi = mlo;  // bounds of the set's mass
        if (p.greedy) {
            if (p.n_top > 0) {
                const int b = reach(false, u64(min(p.n_top, vocab)), hb);
                mark(b, b);
            }
            return;
        }
        if (p.top_k > 0 && p.top_k < vocab) {
            const int b = reach(false, u64(p.top_k), hb);
            mark(b, b);
            hb = b;
            mlo = hmass[b];
            mhi = hmass[b + 1];
        }
        if (p.top_p < 1.0f) {
            const double xl = double(p.top_p) * double(mlo), xh = double(p.top_p) * double(mhi);
            const int b0 = reach(true, xl > 0.0 ? u64(ceil(xl)) : 0ull, hb);
            const int b1 = reach(true, xh > 0.0 ? u64(ceil(xh)) : 0ull, hb);
            mark(b0, b1);
            hb = b1;
            mlo = min(mlo, hmass[b0]);
            mhi = min(mhi, hmass[b1 + 1]);
        }
        if (p.min_p > 0.0f) {
            const int bm = bins.bin(value_of(min(worst, best)));
            if (bm <= hb) {
                mark(bm, bm);
                hb = bm;
                mlo = min(mlo, hmass[bm]);
                mhi = min(mhi, hmass[bm + 1]);
            }
        }
        const double u = double(uniform01_dev(p.seed, p.counter));
        const int b0 = reach(true, u64(floor(u * double(mlo))) + 1ull, hb);
        const int b1 = reach(true, u64(floor(u * double(mhi))) + 1ull, hb);
        mark(b0, b1);
        if (p.n_top > 0 && p.pen_end == p.pen_begin) {  // top logprobs over the raw counts
            const int b = reach(false, u64(min(p.n_top, vocab)), kHistBins - 1);
            mark(b, b);
        }
    }
};

}  // namespace lightllm::gpu::sampling
