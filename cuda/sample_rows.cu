// Sampling on the device with the host sampler's semantics (src/engine/sampler.h);
// only ids, logprobs and the top logprobs leave the GPU.
//
// Three or four kernels over logits [n, vocab]; the first two cut each row into
// `splits` chunks, one block per chunk (many blocks per row at small batch,
// so that one row of 152k logits is spread over the GPU; one block per row at
// large batch):
//  1. row_stats: per chunk, the best processed key (the greedy answer and
//     the temperature's reference), the smallest finite processed logit, and
//     the raw logit's max and sum of exp (the reported logprobs). "Processed"
//     = raw logit with the repetition / presence / frequency penalties of the
//     row's CSR entries (token ids, with their output
//     counts; a shared-memory bitmap says which ids have one).
//  2. row_hist: every chunk histograms its tokens into kHistBins bins of the
//     processed logit (bin = floor((best - l) * (kHistBins - 1) / range),
//     range = min(best - smallest, 40 * T): bins are contiguous runs of the
//     sorted order, and every token beyond the range has a mass below the
//     fixed-point quantum), counting tokens and summing their fixed-point
//     masses into the row's histogram in the workspace, and lists the keys
//     of the tokens in the top kTopBins bins (few: the tail of the largest
//     logits, where the cuts almost always fall). A kernel of its own, light
//     on registers, so that many blocks share an SM at large batch.
//  3. row_prefetch (only when rows are cut into several chunks, i.e. at
//     small batch): from the histogram, every chunk predicts the bins the
//     finish will gather (sample_prefetch.cuh) and lists its tokens in them,
//     so the finish, one block alone on its row, reads a short list instead
//     of the whole row when a cut falls outside the top bins (flat rows).
//  4. row_finish, one block per row, makes every cut from the histogram:
//     top_k (a count), top_p and the draw (a fraction of the mass still in),
//     min_p (a value, whose worst qualifying key the histogram pass also
//     finds). A prefix scan of the bins says which bin holds the cut; only
//     that bin's tokens are then gathered (from the top-bin list or the
//     prefetch list when one holds the bin completely, else from the row) into shared memory,
//     sorted there (bitonic) and prefix-summed, and the cut is the first of
//     them whose cumulative weight reaches the target. The set still in is
//     always "every bin before sb, plus the tokens of bin sb whose key is >= slo".
// A row whose chosen bin holds more than kListCap tokens (near-constant
// logits) falls back to draw_token() (sample_select.cuh), the whole-row radix
// selection. Top logprobs: the same count search over the histogram when the
// row has no penalties (raw = processed order), else select_key over the raw row.
//
// Masses are e = exp(l / T - l_max / T) in double, as on the host, held as
// fixed point (e * 2^mass_shift, rounded; mass_shift leaves room for the
// whole vocabulary below ~2^62), so all sums are exact and order-independent:
// bins and tokens add up to the same integers. The host walks the same sums
// in double: the two agree except when the uniform draw (or top_p) falls
// within ~n_vocab * 2^-mass_shift of a CDF boundary, relative to the total.
#include "launch.cuh"
#include "sample_prefetch.cuh"
#include <algorithm>
#include <climits>

namespace lightllm::gpu {

using namespace sampling;

namespace {

constexpr int kThreads = 512;
constexpr int kMaxSplits = 128;  // blocks per row at most
constexpr int kSplitRows = 128;  // batches above this run one block per row
constexpr int kMinChunk = 2048;  // tokens per block at least

struct RowStats {
    u64 best;     // best processed key
    float vmin;   // smallest finite processed logit (+inf: none)
    float rmax;   // raw max
    double rsum;  // sum of exp(raw - rmax)
};

// Global scratch (sample_rows_workspace_bytes lays it out).
struct Workspace {
    RowStats* stats;       // [n_rows * splits]
    u64* hist_mass;        // [n_rows, kHistBins + 1]
    unsigned* hist_count;  // [n_rows, kHistBins + 1]
    u64* worst;            // [n_rows] min_p: the worst key with enough mass
    u64* cand;             // [n_rows, kCandCap] keys of the tokens in the top kTopBins bins (any order)
    unsigned* n_cand;      // [n_rows] how many there are (more than kCandCap: the list is incomplete)
    // Only when the prefetch pass runs (n_rows <= kSplitRows):
    uint32_t* pre_bits;    // [n_rows, kBinWords] the bins it lists
    u64* pre;              // [n_rows, kPrefetchCap] their tokens' keys (any order)
    unsigned* n_pre;       // [n_rows] how many (more than kPrefetchCap: incomplete)
};

template <typename T> struct KernelArgs {
    const T* logits;
    int vocab, splits, chunk;
    const SampleRowParams* params;
    const int32_t* pen_ids;
    const int32_t* pen_counts;
    double mass_scale;
    int32_t* ids;
    float* logprobs;
    int32_t* top_ids;
    float* top_logprobs;
    Workspace ws;
    bool prefetch;  // row_prefetch_kernel runs between the histogram and the finish
};

// Row r's view; builds the penalty bitmap in `bits` (all threads call it).
template <typename T>
__device__ RowView<T> make_row(const KernelArgs<T>& a, int r, const SampleRowParams& p, uint32_t* bits) {
    RowView<T> row{a.logits + int64_t(r) * a.vocab, a.vocab, nullptr, a.pen_ids + p.pen_begin,
                   a.pen_counts + p.pen_begin, p.pen_end - p.pen_begin, p.repetition_penalty,
                   p.presence_penalty, p.frequency_penalty};
    if (row.pen_n > 0) {
        const int n_words = (a.vocab + 31) / 32;
        for (int w = threadIdx.x; w < n_words; w += blockDim.x) bits[w] = 0u;
        __syncthreads();
        for (int i = threadIdx.x; i < row.pen_n; i += blockDim.x) {
            const int id = row.pen_ids[i];
            if (unsigned(id) < unsigned(a.vocab)) atomicOr(&bits[id >> 5], 1u << (id & 31));  // ids from outside are ignored
        }
        __syncthreads();
        row.bits = bits;
    }
    return row;
}

// Does row r need the histogram: a sampled row, or top logprobs over raw = processed logits.
__device__ bool needs_hist(const SampleRowParams& p, float vbest) {
    if (!isfinite(vbest)) return false;
    return !p.greedy || (p.n_top > 0 && p.pen_end == p.pen_begin);
}

template <typename T> static __global__ void __launch_bounds__(kThreads) row_stats_kernel(KernelArgs<T> a) {
    pdl_wait();  // launched with launch_pdl: the previous kernel may still run
    pdl_launch_dependents();
    extern __shared__ uint32_t penalty_bits[];
    __shared__ u64 part64[32];
    __shared__ float partf[32];
    __shared__ double partd[32];
    const int r = blockIdx.y, sp = blockIdx.x;
    const SampleRowParams p = a.params[r];
    if (a.splits > 1) {  // this call's histogram of the row starts empty
        const int nb = kHistBins + 1;
        for (int b = sp * blockDim.x + threadIdx.x; b < nb; b += a.splits * blockDim.x) {
            a.ws.hist_mass[int64_t(r) * nb + b] = 0;
            a.ws.hist_count[int64_t(r) * nb + b] = 0;
        }
        if (sp == 0 && threadIdx.x == 0) a.ws.worst[r] = ~0ull;
    }
    if (sp == 0 && threadIdx.x == 0) {
        a.ws.n_cand[r] = 0;
        if (a.prefetch) a.ws.n_pre[r] = 0;
    }
    const RowView<T> row = make_row(a, r, p, penalty_bits);
    const int begin = sp * a.chunk, end = min(a.vocab, begin + a.chunk);
    // Online: each thread's sum of exp(x - m) rescaled when its max m grows
    // (double: a thread sums up to ~300 terms in sequence).
    float m = -INFINITY, vmin = INFINITY;
    double s = 0.0;
    u64 best = 0;
    for_each_logit(row, begin, end, [&](int j, float x) {
        const float v = row.penalized(x, j);
        best = max(best, key_of(v, j));
        if (isfinite(v)) vmin = fminf(vmin, v);
        if (x > m) {
            s = (m > -INFINITY ? s * double(expf(m - x)) : 0.0) + 1.0;
            m = x;
        } else if (x > -INFINITY) {
            s += double(expf(x - m));
        }
    });
    const float m_blk = block_reduce(m, MaxOp{}, partf);
    best = block_reduce(best, MaxOp{}, part64);
    vmin = block_reduce(vmin, MinOp{}, partf);
    s = block_reduce(m > -INFINITY ? s * double(expf(m - m_blk)) : 0.0, SumOp{}, partd);
    if (threadIdx.x == 0) a.ws.stats[int64_t(r) * a.splits + sp] = RowStats{best, vmin, m_blk, s};
}

// Writes the n_top best raw logits of the row (keys >= lo), best first.
template <typename T>
__device__ void write_top(const KernelArgs<T>& a, const RowView<T>& row, int r, int n_top, u64 lo, float lse,
                          u64* top_keys, int* n_found) {
    if (threadIdx.x == 0) *n_found = 0;
    __syncthreads();
    for (int j = threadIdx.x; j < row.vocab; j += blockDim.x) {
        const u64 k = row.key(j, true);
        if (k >= lo) top_keys[atomicAdd(n_found, 1)] = k;  // exactly n_top keys pass
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int i = 1; i < n_top; ++i)
            for (int j = i; j > 0 && top_keys[j] > top_keys[j - 1]; --j) {
                const u64 t = top_keys[j];
                top_keys[j] = top_keys[j - 1];
                top_keys[j - 1] = t;
            }
        for (int i = 0; i < n_top; ++i) {
            const int tid = id_of(top_keys[i]);
            a.top_ids[int64_t(r) * kSampleMaxTop + i] = tid;
            a.top_logprobs[int64_t(r) * kSampleMaxTop + i] = row.raw(tid) - lse;
        }
    }
}

// A row's statistics, merged from its chunks' (every block of the row merges them alike).
struct RowSummary {
    u64 best;    // best processed key
    float vmin;  // smallest finite processed logit
    float lse;   // raw logsumexp (the reported logprobs)
};

template <typename T>
__device__ RowSummary merge_row_stats(const KernelArgs<T>& a, int r, u64* part64, float* partf, double* partd) {
    u64 best = 0;
    float vmin = INFINITY, m = -INFINITY;
    double s = 0.0;
    for (int i = threadIdx.x; i < a.splits; i += blockDim.x) {
        const RowStats st = a.ws.stats[int64_t(r) * a.splits + i];
        best = max(best, st.best);
        vmin = fminf(vmin, st.vmin);
        if (st.rmax > m) {
            s = (m > -INFINITY ? s * exp(double(m) - double(st.rmax)) : 0.0) + st.rsum;
            m = st.rmax;
        } else if (st.rmax > -INFINITY) {
            s += st.rsum * exp(double(st.rmax) - double(m));
        }
    }
    const float m_row = block_reduce(m, MaxOp{}, partf);
    best = block_reduce(best, MaxOp{}, part64);
    vmin = block_reduce(vmin, MinOp{}, partf);
    s = block_reduce(m > -INFINITY ? s * exp(double(m) - double(m_row)) : 0.0, SumOp{}, partd);
    return RowSummary{best, vmin, float(double(m_row) + log(s))};
}

// How row r's histogram bins and weighs its tokens.
struct HistSetup {
    Binner bins;
    Mass mass;
    bool by_mass;  // sampled rows sum masses; greedy rows (top logprobs) only count tokens
    double cut;    // min_p: the mass a token needs (inf: no min_p)
};

__device__ HistSetup hist_setup(const SampleRowParams& p, const RowSummary& sum, double mass_scale) {
    const float vbest = value_of(sum.best);
    const float t_bins = p.greedy ? 1.0f : p.temperature;
    const float range = isfinite(sum.vmin) ? fminf(__fsub_rn(vbest, sum.vmin), kMassRange * t_bins) : 0.0f;
    const Binner bins{vbest, range > 0.0f ? fminf(float(kHistBins - 1) / range, 1e30f) : 0.0f};
    const Mass mass{1.0 / double(t_bins), double(__fdiv_rn(vbest, t_bins)), mass_scale};
    const bool by_mass = !p.greedy;
    const double cut = p.min_p > 0.0f && by_mass ? double(p.min_p) * mass.e(vbest) : INFINITY;
    return HistSetup{bins, mass, by_mass, cut};
}

// 2. Every chunk of a row that needs one histograms its tokens (shared-memory
// atomics) and adds the result to the row's histogram in the workspace (plain
// stores when the row is one chunk). A lean kernel: many blocks fit on an SM.
template <typename T> static __global__ void __launch_bounds__(kThreads) row_hist_kernel(KernelArgs<T> a) {
    pdl_wait();  // launched with launch_pdl: the previous kernel may still run
    pdl_launch_dependents();
    extern __shared__ u64 dyn[];  // hist mass [kHistBins + 1], hist count [kHistBins + 1], penalty bitmap
    u64* hmass = dyn;
    unsigned* hcount = reinterpret_cast<unsigned*>(dyn + kHistBins + 1);
    uint32_t* penalty_bits = hcount + kHistBins + 2;
    __shared__ u64 part64[32];
    __shared__ float partf[32];
    __shared__ double partd[32];
    const int r = blockIdx.y, sp = blockIdx.x;
    const SampleRowParams p = a.params[r];
    const RowSummary sum = merge_row_stats(a, r, part64, partf, partd);
    if (!needs_hist(p, value_of(sum.best))) return;  // the same for the whole block
    const RowView<T> row = make_row(a, r, p, penalty_bits);
    const HistSetup h = hist_setup(p, sum, a.mass_scale);
    for (int b = threadIdx.x; b <= kHistBins; b += blockDim.x) {
        hmass[b] = 0;
        hcount[b] = 0;
    }
    __syncthreads();
    u64 worst = ~0ull;
    {
        // Plain shared atomics (a warp's tokens mostly fall in distinct
        // bins); a mass is added as two 32-bit words with the carry, so the
        // bin's u64 is exact. The last bin (the tail beyond the mass range)
        // is counted per thread.
        const int begin = sp * a.chunk, end = min(a.vocab, begin + a.chunk);
        unsigned tail = 0;
        for_each_logit(row, begin, end, [&](int j, float raw) {
            const float v = row.penalized(raw, j);
            const int b = h.bins.bin(v);
            if (b < kTopBins) {  // few tokens: where the cuts almost always fall
                const unsigned at = atomicAdd(&a.ws.n_cand[r], 1u);
                if (at < unsigned(kCandCap)) a.ws.cand[int64_t(r) * kCandCap + at] = key_of(v, j);
            }
            if (b == kHistBins - 1) ++tail;
            else atomicAdd(&hcount[b], 1u);
            if (!h.by_mass) return;
            const double x = h.mass.e(v);
            const u64 w = h.mass.quant(x);
            if (x >= h.cut) worst = min(worst, key_of(v, j));
            if (w == 0) return;
            unsigned* w32 = reinterpret_cast<unsigned*>(&hmass[b]);
            const unsigned lo = unsigned(w);
            unsigned hi = unsigned(w >> 32);
            if (lo) {
                const unsigned old = atomicAdd(&w32[0], lo);
                if (old + lo < old) ++hi;
            }
            if (hi) atomicAdd(&w32[1], hi);
        });
        if (tail) atomicAdd(&hcount[kHistBins - 1], tail);
    }
    worst = block_reduce(worst, MinOp{}, part64);
    const int64_t base = int64_t(r) * (kHistBins + 1);
    if (a.splits == 1) {
        for (int b = threadIdx.x; b < kHistBins; b += blockDim.x) {
            a.ws.hist_count[base + b] = hcount[b];
            a.ws.hist_mass[base + b] = hmass[b];
        }
        if (threadIdx.x == 0) a.ws.worst[r] = worst;
        return;
    }
    for (int b = threadIdx.x; b < kHistBins; b += blockDim.x) {  // row_stats_kernel zeroed the row's
        if (hcount[b]) atomicAdd(&a.ws.hist_count[base + b], hcount[b]);
        if (hmass[b]) atomicAdd(&a.ws.hist_mass[base + b], hmass[b]);
    }
    if (threadIdx.x == 0 && worst != ~0ull) atomicMin(&a.ws.worst[r], worst);
}

// Row r's histogram from the workspace into shared memory, as exclusive
// prefix sums over kHistBins + 1 entries (the last: the row's totals).
template <typename T>
__device__ void load_row_hist(const KernelArgs<T>& a, int r, u64* hmass, unsigned* hcount, u64* part64, unsigned* part32) {
    const int64_t base = int64_t(r) * (kHistBins + 1);
    for (int b = threadIdx.x; b <= kHistBins; b += blockDim.x) {
        hcount[b] = b < kHistBins ? __ldcg(&a.ws.hist_count[base + b]) : 0u;
        hmass[b] = b < kHistBins ? __ldcg(&a.ws.hist_mass[base + b]) : 0ull;
    }
    block_exclusive_scan(hcount, kHistBins + 1, part32);
    block_exclusive_scan(hmass, kHistBins + 1, part64);
}

// 3. (Rows spread over several blocks only.) Every chunk of a row lists the
// keys of its tokens in the bins the finish is predicted to gather
// (sample_prefetch.cuh), so the finishing block filters that list instead of
// reading the whole row alone.
template <typename T> static __global__ void __launch_bounds__(kThreads) row_prefetch_kernel(KernelArgs<T> a) {
    pdl_wait();  // launched with launch_pdl: the previous kernel may still run
    pdl_launch_dependents();
    extern __shared__ u64 dyn[];  // hist mass [kHistBins + 1], hist count [kHistBins + 1], penalty bitmap
    u64* hmass = dyn;
    unsigned* hcount = reinterpret_cast<unsigned*>(dyn + kHistBins + 1);
    uint32_t* penalty_bits = hcount + kHistBins + 2;
    __shared__ u64 part64[32];
    __shared__ float partf[32];
    __shared__ double partd[32];
    __shared__ uint32_t bits[kBinWords];
    __shared__ int n_marked;
    const int r = blockIdx.y, sp = blockIdx.x;
    const SampleRowParams p = a.params[r];
    const RowSummary sum = merge_row_stats(a, r, part64, partf, partd);
    if (!needs_hist(p, value_of(sum.best))) return;  // the same for the whole block
    const HistSetup h = hist_setup(p, sum, a.mass_scale);
    load_row_hist(a, r, hmass, hcount, part64, reinterpret_cast<unsigned*>(partf));
    for (int w = threadIdx.x; w < kBinWords; w += blockDim.x) bits[w] = 0u;
    __syncthreads();
    if (threadIdx.x == 0) {
        BinPrediction pred{hmass, hcount, bits, __ldcg(&a.ws.n_cand[r]) <= unsigned(kCandCap)};
        pred.predict(p, a.vocab, h.bins, sum.best, __ldcg(&a.ws.worst[r]));
        n_marked = pred.n_marked;
    }
    __syncthreads();
    if (sp == 0)
        for (int w = threadIdx.x; w < kBinWords; w += blockDim.x) a.ws.pre_bits[int64_t(r) * kBinWords + w] = bits[w];
    if (n_marked == 0) return;
    const RowView<T> row = make_row(a, r, p, penalty_bits);
    const int begin = sp * a.chunk, end = min(a.vocab, begin + a.chunk);
    for_each_logit(row, begin, end, [&](int j, float raw) {
        const float v = row.penalized(raw, j);
        const int b = h.bins.bin(v);
        if ((bits[b >> 5] >> (b & 31)) & 1u) {
            const unsigned at = atomicAdd(&a.ws.n_pre[r], 1u);
            if (at < unsigned(kPrefetchCap)) a.ws.pre[int64_t(r) * kPrefetchCap + at] = key_of(v, j);
        }
    });
}

// 4. One block per row: the token (and top logprobs) from the row's
// histogram, gathering only the bins that hold a cut.
template <typename T> static __global__ void __launch_bounds__(kThreads) row_finish_kernel(KernelArgs<T> a) {
    pdl_wait();  // launched with launch_pdl: the previous kernel may still run
    pdl_launch_dependents();
    extern __shared__ u64 dyn[];  // hist mass [kHistBins + 1], hist count [kHistBins + 1], penalty bitmap
    u64* hmass = dyn;
    unsigned* hcount = reinterpret_cast<unsigned*>(dyn + kHistBins + 1);
    uint32_t* penalty_bits = hcount + kHistBins + 2;
    __shared__ SelectShared sh;
    __shared__ u64 part64[32];
    __shared__ float partf[32];
    __shared__ double partd[32];
    __shared__ u64 top_keys[kSampleMaxTop];
    __shared__ int n_top_found, n_list;
    __shared__ u64 list[kListCap];
    __shared__ u64 cum[kListCap + 1];
    __shared__ CutState cs;
    __shared__ uint32_t pre_bits[kBinWords];

    const int r = blockIdx.y;
    const SampleRowParams p = a.params[r];
    const RowSummary sum = merge_row_stats(a, r, part64, partf, partd);
    const u64 best = sum.best;
    const float lse = sum.lse, vbest = value_of(best);
    const int n_top = min(p.n_top, a.vocab);
    const RowView<T> row = make_row(a, r, p, penalty_bits);

    if (!needs_hist(p, vbest)) {  // greedy (or a degenerate row): no histogram
        u64 chosen = best;
        if (!p.greedy) {
            const Mass mass{1.0 / double(p.temperature), double(__fdiv_rn(vbest, p.temperature)), a.mass_scale};
            chosen = draw_token(row, p, mass, best, sh, part64, list, &n_list);
        }
        if (threadIdx.x == 0) {
            a.ids[r] = id_of(chosen);
            a.logprobs[r] = row.raw(id_of(chosen)) - lse;
        }
        if (n_top <= 0) return;
        const u64 lo = select_key(RowKeys<T>{row, true}, 0, nullptr, Target{Target::kWeight, u64(n_top), 0.0}, sh);
        write_top(a, row, r, n_top, lo, lse, top_keys, &n_top_found);
        return;
    }

    const HistSetup h = hist_setup(p, sum, a.mass_scale);
    load_row_hist(a, r, hmass, hcount, part64, reinterpret_cast<unsigned*>(partf));
    const u64 worst = __ldcg(&a.ws.worst[r]);
    if (a.prefetch)
        for (int w = threadIdx.x; w < kBinWords; w += blockDim.x) pre_bits[w] = __ldcg(&a.ws.pre_bits[int64_t(r) * kBinWords + w]);
    if (threadIdx.x == 0) {
        cs.sb = kHistBins;
        cs.slo = 0;
        cs.pcnt = cs.pmass = 0;
        cs.list_bin = -1;
        cs.list_lo = 0;
        cs.n_listed = 0;
    }
    __syncthreads();
    const unsigned n_cand = __ldcg(&a.ws.n_cand[r]);
    RowFinish<T> fin{row, h.bins, h.mass, hmass, hcount, cs, list, cum, &n_list, part64,
                     n_cand <= unsigned(kCandCap) ? a.ws.cand + int64_t(r) * kCandCap : nullptr, int(n_cand)};
    if (a.prefetch) {
        const unsigned n_pre = __ldcg(&a.ws.n_pre[r]);
        if (n_pre <= unsigned(kPrefetchCap)) {
            fin.pre = a.ws.pre + int64_t(r) * kPrefetchCap;
            fin.n_pre = int(n_pre);
            fin.pre_bits = pre_bits;
        }
    }

    u64 chosen = best;
    if (!p.greedy && !fin.draw(p, best, worst, &chosen)) {
        if (threadIdx.x == 0) cs.list_bin = -1;
        __syncthreads();
        chosen = draw_token(row, p, h.mass, best, sh, part64, list, &n_list);
    }
    if (threadIdx.x == 0) {
        a.ids[r] = id_of(chosen);
        a.logprobs[r] = row.raw(id_of(chosen)) - lse;
    }
    if (n_top <= 0) return;
    u64 lo;
    if (p.pen_end != p.pen_begin || !fin.top_floor(n_top, &lo))
        lo = select_key(RowKeys<T>{row, true}, 0, nullptr, Target{Target::kWeight, u64(n_top), 0.0}, sh);
    write_top(a, row, r, n_top, lo, lse, top_keys, &n_top_found);
}

// The workspace's parts, in order, 256-byte aligned.
struct Layout {
    size_t stats, hist_mass, hist_count, worst, cand, n_cand, pre_bits, pre, n_pre, total;
    explicit Layout(int max_rows) {
        auto up = [](size_t x) { return (x + 255) / 256 * 256; };
        const size_t n_stats = size_t(std::max(max_rows, kSplitRows * kMaxSplits));
        const size_t nb = size_t(std::max(max_rows, 1)) * (kHistBins + 1);
        stats = 0;
        hist_mass = stats + up(n_stats * sizeof(RowStats));
        hist_count = hist_mass + up(nb * sizeof(u64));
        worst = hist_count + up(nb * sizeof(unsigned));
        const size_t rows = size_t(std::max(max_rows, 1));
        cand = worst + up(rows * sizeof(u64));
        n_cand = cand + up(rows * kCandCap * sizeof(u64));
        pre_bits = n_cand + up(rows * sizeof(unsigned));
        const size_t pre_rows = size_t(std::min(std::max(max_rows, 1), kSplitRows));
        pre = pre_bits + up(pre_rows * kBinWords * sizeof(uint32_t));
        n_pre = pre + up(pre_rows * kPrefetchCap * sizeof(u64));
        total = n_pre + up(pre_rows * sizeof(unsigned));
    }
};

}  // namespace

size_t sample_rows_workspace_bytes(int max_rows) { return Layout(max_rows).total; }

void sample_rows(const SampleRowsArgs& args, Stream s) {
    const Tensor& logits = *args.logits;
    const int n_rows = args.n_rows;
    const int64_t vocab = logits.dim(-1);
    LL_CHECK(logits.rows() == n_rows && args.ids->dtype == DType::I32 && args.ids->numel() == n_rows &&
                 args.logprobs->dtype == DType::F32 && args.logprobs->numel() == n_rows,
             "sample_rows: logits {} ids {} logprobs {} for {} rows", logits.shape_str(), args.ids->shape_str(),
             args.logprobs->shape_str(), n_rows);
    LL_CHECK(vocab > 0 && vocab < (int64_t(1) << 30), "sample_rows: vocabulary of {}", vocab);
    const Layout lay(n_rows);
    LL_CHECK(args.workspace && args.workspace_bytes >= lay.total, "sample_rows: workspace of {} bytes, {} needed",
             args.workspace_bytes, lay.total);
    if (n_rows == 0) return;
    int dev = 0, n_sm = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&n_sm, cudaDevAttrMultiProcessorCount, dev));
    int splits = 1;
    if (n_rows <= kSplitRows) {
        const int64_t most = std::min<int64_t>(kMaxSplits, (vocab + kMinChunk - 1) / kMinChunk);
        splits = int(std::clamp<int64_t>(2 * int64_t(n_sm) / n_rows, 1, std::max<int64_t>(most, 1)));  // one wave
    }
    const int chunk = int((vocab + splits - 1) / splits + 7) / 8 * 8;  // 16-byte aligned chunk starts (visit_logits)
    splits = int((vocab + chunk - 1) / chunk);
    int bits = 0;
    while ((int64_t(1) << bits) < vocab) ++bits;
    char* ws = static_cast<char*>(args.workspace);
    const Workspace w{reinterpret_cast<RowStats*>(ws + lay.stats), reinterpret_cast<u64*>(ws + lay.hist_mass),
                      reinterpret_cast<unsigned*>(ws + lay.hist_count), reinterpret_cast<u64*>(ws + lay.worst),
                      reinterpret_cast<u64*>(ws + lay.cand), reinterpret_cast<unsigned*>(ws + lay.n_cand),
                      reinterpret_cast<uint32_t*>(ws + lay.pre_bits), reinterpret_cast<u64*>(ws + lay.pre),
                      reinterpret_cast<unsigned*>(ws + lay.n_pre)};
    // A row cut into several chunks is finished by one block: the prefetch
    // pass lists the bins it will gather, spread over the chunks' blocks.
    const bool prefetch = splits > 1;
    const size_t bitmap = args.any_penalty ? size_t((vocab + 31) / 32) * sizeof(uint32_t) : 0;
    const size_t smem = size_t(kHistBins + 1) * (sizeof(u64) + sizeof(unsigned)) + sizeof(unsigned) + bitmap;
    LL_CHECK(smem <= 160 * 1024, "sample_rows: a penalty bitmap of a {}-token vocabulary does not fit", vocab);
    const dim3 grid{unsigned(splits), unsigned(n_rows), 1u};
    LL_DISPATCH_FLOAT(logits.dtype, {
        const KernelArgs<scalar_t> ka{logits.ptr<scalar_t>(), int(vocab), splits, chunk, args.params, args.pen_ids,
                                      args.pen_counts, ldexp(1.0, 62 - bits), args.ids->ptr<int32_t>(),
                                      args.logprobs->ptr<float>(), args.top_ids, args.top_logprobs, w, prefetch};
        auto stats_kernel = row_stats_kernel<scalar_t>;
        auto hist_kernel = row_hist_kernel<scalar_t>;
        auto prefetch_kernel = row_prefetch_kernel<scalar_t>;
        auto finish_kernel = row_finish_kernel<scalar_t>;
        // The default allows 48 KiB minus the static shared memory.
        CUDA_CHECK(cudaFuncSetAttribute(stats_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bitmap)));
        CUDA_CHECK(cudaFuncSetAttribute(hist_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
        CUDA_CHECK(cudaFuncSetAttribute(prefetch_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
        CUDA_CHECK(cudaFuncSetAttribute(finish_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
        // With PDL, each kernel's blocks are placed while the previous one
        // drains (they wait in pdl_wait before reading its results).
        launch_pdl(stats_kernel, grid, kThreads, bitmap, s, ka);
        launch_pdl(hist_kernel, grid, kThreads, smem, s, ka);
        if (prefetch) launch_pdl(prefetch_kernel, grid, kThreads, smem, s, ka);
        launch_pdl(finish_kernel, dim3{1u, unsigned(n_rows), 1u}, kThreads, smem, s, ka);
    });
    CUDA_CHECK_LAUNCH();
}

}  // namespace lightllm::gpu
