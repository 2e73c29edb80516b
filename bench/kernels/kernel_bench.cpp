// Micro-benchmarks of the CUDA ops and of a Llama-2-7B-shaped forward with
// random weights (decode at batch 1 and 64, eager and CUDA-graph, and a
// 512-token prefill): the binary lightllm_kernel_bench (doctest; kept out of
// the test binary). Results go to stdout and, as JSON lines, to the file
// named by $LIGHTLLM_BENCH_OUT (bench/device_run.sh sets it).
// Speed is never asserted; the case only checks that outputs are finite.
#include "cuda_test_util.h"
#ifdef LIGHTLLM_WITH_CUDA
#include "cuda_check.h"
#include "cuda_graph_cache.h"
#include "kernels.h"
#include <cuda_profiler_api.h>
#include <fmt/format.h>
#include <algorithm>
#include <cstdio>
#include <functional>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

void report(const std::string& name, double ms, const std::string& extra) {
    std::string line = fmt::format("{{\"name\": \"{}\", \"ms\": {:.4f}{}}}", name, ms, extra);
    fmt::print("bench {}\n", line);
    if (const char* path = std::getenv("LIGHTLLM_BENCH_OUT")) {
        if (FILE* f = std::fopen(path, "a")) {
            std::fprintf(f, "%s\n", line.c_str());
            std::fclose(f);
        }
    }
    std::fflush(stdout);
}

// Median milliseconds of `fn` over `reps` runs, timed with events on `s`.
double time_ms(cudaStream_t s, const std::function<void()>& fn, int reps = 20, int warmup = 3) {
    for (int i = 0; i < warmup; ++i) fn();
    cudaEvent_t a, b;
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
    std::vector<float> t;
    for (int i = 0; i < reps; ++i) {
        CUDA_CHECK(cudaEventRecord(a, s));
        fn();
        CUDA_CHECK(cudaEventRecord(b, s));
        CUDA_CHECK(cudaEventSynchronize(b));
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Llama-2-7B shapes, random weights, one KV pool; decode/prefill steps built
// straight from the op interface (the shape of models/llama.cpp's forward).
struct Llama7B {
    static constexpr int kEmbd = 4096, kHead = 32, kHd = 128, kFf = 11008, kLayer = 32, kVocab = 32000;
    CudaBackend& be;
    DType dt;
    int capacity, max_tokens, max_reqs, max_ctx;
    struct Layer { Tensor attn_norm, wqkv, wo, ffn_norm, w_gate_up, w_down; KvLayer kv; };
    std::vector<Layer> layers;
    Tensor tok_emb, out_norm, lm_head, inv_freq;
    Tensor x, h, qkv, q, attn, delta, gate_up, act, last, logits, ids_out;
    Tensor ids, pos, slots, rows, q_start, kv_len, req_rows, logit_rows, table;
    std::vector<Tensor> all;

    Tensor mk(DType t, std::initializer_list<int64_t> shape, float stddev, uint64_t seed) {
        Tensor x = be.alloc(t, shape);
        if (stddev > 0) be.fill_random(x, seed, stddev);
        all.push_back(x);
        return x;
    }
    Llama7B(CudaBackend& b, int cap, int max_tok, int max_r, int ctx)
        : be(b), dt(b.compute_dtype()), capacity(cap), max_tokens(max_tok), max_reqs(max_r), max_ctx(ctx) {
        uint64_t seed = 1;
        tok_emb = mk(dt, {kVocab, kEmbd}, 0.02f, seed++);
        out_norm = mk(dt, {kEmbd}, 0.1f, seed++);
        lm_head = mk(dt, {kVocab, kEmbd}, 0.02f, seed++);
        for (int il = 0; il < kLayer; ++il) {
            Layer l;
            l.attn_norm = mk(dt, {kEmbd}, 0.1f, seed++);
            l.ffn_norm = mk(dt, {kEmbd}, 0.1f, seed++);
            l.wqkv = mk(dt, {3 * kEmbd, kEmbd}, 0.02f, seed++);
            l.wo = mk(dt, {kEmbd, kEmbd}, 0.02f, seed++);
            l.w_gate_up = mk(dt, {2 * kFf, kEmbd}, 0.02f, seed++);
            l.w_down = mk(dt, {kEmbd, kFf}, 0.02f, seed++);
            l.kv.k = mk(dt, {cap, kHead, kHd}, 1.0f, seed++);
            l.kv.v = mk(dt, {cap, kHead, kHd}, 1.0f, seed++);
            layers.push_back(l);
        }
        std::vector<float> inv(kHd / 2);
        for (int j = 0; j < kHd / 2; ++j) inv[size_t(j)] = std::pow(10000.0f, -2.0f * j / kHd);
        inv_freq = mk(DType::F32, {kHd / 2}, 0, 0);
        be.upload(inv_freq, inv.data(), DType::F32);
        int T = max_tok;
        x = mk(dt, {T, kEmbd}, 0, 0);
        h = mk(dt, {T, kEmbd}, 0, 0);
        qkv = mk(dt, {T, 3 * kEmbd}, 0, 0);
        q = mk(dt, {T, kEmbd}, 0, 0);
        attn = mk(dt, {T, kEmbd}, 0, 0);
        delta = mk(dt, {T, kEmbd}, 0, 0);
        gate_up = mk(dt, {T, 2 * kFf}, 0, 0);
        act = mk(dt, {T, kFf}, 0, 0);
        last = mk(dt, {max_r, kEmbd}, 0, 0);
        logits = mk(dt, {max_r, kVocab}, 0, 0);
        ids_out = mk(DType::I32, {max_r}, 0, 0);
        for (Tensor* t : {&ids, &pos, &slots, &rows}) *t = mk(DType::I32, {T}, 0, 0);
        q_start = mk(DType::I32, {max_r + 1}, 0, 0);
        kv_len = mk(DType::I32, {max_r}, 0, 0);
        req_rows = mk(DType::I32, {max_r}, 0, 0);
        logit_rows = mk(DType::I32, {max_r}, 0, 0);
        table = mk(DType::I32, {max_r, ctx}, 0, 0);
        be.synchronize();
    }
    ~Llama7B() {
        for (Tensor& t : all) be.free(t);
    }

    // n_reqs requests, each with `ctx` tokens after this step of which `n_new`
    // are new; request r's token p sits in slot r * ctx + p.
    AttentionBatch setup(int n_reqs, int n_new, int ctx) {
        std::vector<int32_t> hid, hpos, hslot, hrow, hqs{0}, hkl, hrr, hlr, htab(size_t(max_reqs) * max_ctx);
        for (int r = 0; r < n_reqs; ++r) {
            for (int p = 0; p < ctx; ++p) htab[size_t(r) * max_ctx + p] = r * ctx + p;
            for (int j = 0; j < n_new; ++j) {
                hid.push_back((r * 131 + j * 7) % kVocab);
                hpos.push_back(ctx - n_new + j);
                hslot.push_back(r * ctx + ctx - n_new + j);
                hrow.push_back(r);
            }
            hqs.push_back(hqs.back() + n_new);
            hkl.push_back(ctx);
            hrr.push_back(r);
            hlr.push_back(hqs.back() - 1);
        }
        auto put = [&](Tensor& t, const std::vector<int32_t>& v) { be.upload(t, v.data(), DType::I32); };
        Tensor tab = table;
        put(tab, htab);
        Tensor t_ids = ids.slice_rows(0, int64_t(hid.size())), t_pos = pos.slice_rows(0, int64_t(hid.size()));
        Tensor t_sl = slots.slice_rows(0, int64_t(hid.size())), t_rows = rows.slice_rows(0, int64_t(hid.size()));
        put(t_ids, hid);
        put(t_pos, hpos);
        put(t_sl, hslot);
        put(t_rows, hrow);
        Tensor t_qs = q_start.slice_rows(0, n_reqs + 1), t_kl = kv_len.slice_rows(0, n_reqs);
        Tensor t_rr = req_rows.slice_rows(0, n_reqs), t_lr = logit_rows.slice_rows(0, n_reqs);
        put(t_qs, hqs);
        put(t_kl, hkl);
        put(t_rr, hrr);
        put(t_lr, hlr);
        return AttentionBatch{t_qs, t_kl, t_rr, table, n_reqs, int(hid.size()), n_new, ctx};
    }

    void forward(const AttentionBatch& ab) {
        int T = ab.n_tokens, R = ab.n_reqs;
        HeadShape heads{kHead, kHead, kHd, kHd};
        AttentionParams params;
        params.scale = 1.0f / std::sqrt(float(kHd));
        Tensor tx = x.slice_rows(0, T), th = h.slice_rows(0, T), tqkv = qkv.slice_rows(0, T), tq = q.slice_rows(0, T);
        Tensor ta = attn.slice_rows(0, T), td = delta.slice_rows(0, T), tgu = gate_up.slice_rows(0, T);
        Tensor tact = act.slice_rows(0, T), tlast = last.slice_rows(0, R), tlog = logits.slice_rows(0, R);
        Tensor tids = ids.slice_rows(0, T), tpos = pos.slice_rows(0, T), tsl = slots.slice_rows(0, T);
        Tensor trows = rows.slice_rows(0, T), tout = ids_out.slice_rows(0, R), tlr = logit_rows.slice_rows(0, R);
        Tensor none;
        be.set_token_slots(table, trows, tpos, tsl);
        be.embedding(tids, tok_emb, tx);
        for (int il = 0; il < kLayer; ++il) {
            Layer& l = layers[size_t(il)];
            if (il == 0) be.rms_norm(tx, l.attn_norm, th, 1e-5f);
            else be.add_rms_norm(tx, td, l.attn_norm, th, 1e-5f);
            be.linear(th, l.wqkv, none, tqkv);
            be.rope_store_kv(tqkv, tpos, inv_freq, heads, tsl, l.kv, tq);
            be.attention(tq, l.kv, ab, heads, params, ta);
            be.linear(ta, l.wo, none, td);
            be.add_rms_norm(tx, td, l.ffn_norm, th, 1e-5f);
            be.linear(th, l.w_gate_up, none, tgu);
            be.silu_mul(tgu, tact);
            be.linear(tact, l.w_down, none, td);
        }
        be.add_rms_norm(tx, td, out_norm, th, 1e-5f);
        be.gather_rows(th, tlr, tlast);
        be.linear(tlast, lm_head, none, tlog);
        be.argmax_rows(tlog, tout);
    }
};

void bench_attention(CudaBackend& be, DType dt, bool gqa);

void bench_kernels(CudaBackend& be, DType dt) {
    cudaStream_t s = be.stream();
    std::string tag = dtype_name(dt);
    {  // device-to-device copy: the bandwidth ceiling
        size_t bytes = size_t(1) << 30;
        void *a, *b;
        CUDA_CHECK(cudaMalloc(&a, bytes));
        CUDA_CHECK(cudaMalloc(&b, bytes));
        CUDA_CHECK(cudaMemsetAsync(a, 1, bytes, s));
        double ms = time_ms(s, [&] { CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s)); });
        report("memcpy_d2d_1GiB", ms, fmt::format(", \"GBps\": {:.1f}", 2.0 * double(bytes) / ms / 1e6));
        cudaFree(a);
        cudaFree(b);
    }
    Tensor none;
    for (auto [n, k, m] : {std::tuple{1, 4096, 12288}, {1, 4096, 22016}, {1, 11008, 4096}, {64, 4096, 12288},
                           {64, 4096, 22016}, {512, 4096, 12288}, {512, 4096, 22016}, {512, 11008, 4096}}) {
        Tensor xx = be.alloc(dt, {n, k}), w = be.alloc(dt, {m, k}), o = be.alloc(dt, {n, m});
        be.fill_random(xx, 1, 1.0f);
        be.fill_random(w, 2, 0.02f);
        double ms = time_ms(s, [&] { be.linear(xx, w, none, o); });
        double bytes = 2.0 * (double(n) * k + double(m) * k + double(n) * m);
        report(fmt::format("linear_{}_n{}_k{}_m{}", tag, n, k, m), ms,
               fmt::format(", \"GBps\": {:.1f}, \"TFLOPs\": {:.1f}", bytes / ms / 1e6, 2.0 * n * k * m / ms / 1e9));
        for (Tensor* t : {&xx, &w, &o}) be.free(*t);
    }
    bench_attention(be, dt, false);
}

// Attention alone: decode (batch, ctx) and prefill (one prompt), 32 query
// heads of 128 over 32 KV heads (Llama-2-7B) or, with gqa, 8 (Llama-3-8B) at
// the batches and contexts of serving (ShareGPT, multi-turn chat).
void bench_attention(CudaBackend& be, DType dt, bool gqa) {
    cudaStream_t s = be.stream();
    std::string tag = dtype_name(dt);
    using Shape = std::tuple<int, int, int>;
    const std::vector<Shape> mha{{1, 4096, 1}, {1, 512, 1}, {64, 256, 1}, {64, 1024, 1},
                                 {1, 512, 512}, {1, 4096, 4096}, {8, 1024, 1024}};
    const std::vector<Shape> serving{{1, 4096, 1}, {64, 1024, 1}, {256, 1024, 1}, {512, 384, 1}, {1024, 256, 1},
                                     {64, 2400, 1}};
    for (auto [n_reqs, ctx, n_new] : gqa ? serving : mha) {
        const int H = 32, D = 128, Hkv = gqa ? 8 : 32;
        int cap = n_reqs * ctx, T = n_reqs * n_new;
        Tensor k = be.alloc(dt, {cap, Hkv, D}), v = be.alloc(dt, {cap, Hkv, D}), q = be.alloc(dt, {T, H * D});
        Tensor o = be.alloc(dt, {T, H * D}), table = be.alloc(DType::I32, {n_reqs, ctx});
        be.fill_random(k, 3, 1.0f);
        be.fill_random(v, 4, 1.0f);
        be.fill_random(q, 5, 1.0f);
        std::vector<int32_t> tab(static_cast<size_t>(cap)), qs{0}, kl, rr;
        for (int i = 0; i < cap; ++i) tab[size_t(i)] = int32_t((int64_t(i) * 7919) % cap);  // scattered slots
        for (int r = 0; r < n_reqs; ++r) {
            qs.push_back(qs.back() + n_new);
            kl.push_back(ctx);
            rr.push_back(r);
        }
        be.upload(table, tab.data(), DType::I32);
        Tensor tqs = be.alloc(DType::I32, {n_reqs + 1}), tkl = be.alloc(DType::I32, {n_reqs});
        Tensor trr = be.alloc(DType::I32, {n_reqs});
        be.upload(tqs, qs.data(), DType::I32);
        be.upload(tkl, kl.data(), DType::I32);
        be.upload(trr, rr.data(), DType::I32);
        KvLayer kv{k, v, {}, {}};
        AttentionBatch ab{tqs, tkl, trr, table, n_reqs, T, n_new, ctx};
        AttentionParams p;
        p.scale = 1.0f / std::sqrt(float(D));
        HeadShape heads{H, Hkv, D, D};
        double ms = time_ms(s, [&] { be.attention(q, kv, ab, heads, p, o); });
        if (n_new == 1) {
            double bytes = 2.0 * double(cap) * Hkv * D * 2;
            report(fmt::format("decode_attn_{}{}_b{}_ctx{}", gqa ? "gqa_" : "", tag, n_reqs, ctx), ms,
                   fmt::format(", \"GBps\": {:.1f}", bytes / ms / 1e6));
        } else {
            double flops = 4.0 * n_reqs * H * D * (double(n_new) * (n_new + 1) / 2);
            report(fmt::format("prefill_attn_{}_b{}_len{}", tag, n_reqs, n_new), ms,
                   fmt::format(", \"TFLOPs\": {:.1f}", flops / ms / 1e9));
        }
        std::vector<float> out = download_f32(be, o);
        CHECK(std::all_of(out.begin(), out.end(), [](float f) { return std::isfinite(f); }));
        for (Tensor* t : {&k, &v, &q, &o, &table, &tqs, &tkl, &trr}) be.free(*t);
    }
}

void bench_llama7b(CudaBackend& be) {
    cudaStream_t s = be.stream();
    Llama7B m(be, 64 * 640, 4096, 64, 2048);
    CudaGraphCache graphs(be);
    for (auto [n_reqs, ctx] : {std::pair{1, 128}, {1, 512}, {64, 192}, {64, 256}}) {
        AttentionBatch ab = m.setup(n_reqs, 1, ctx);
        double eager = time_ms(s, [&] { m.forward(ab); }, 10, 2);
        std::vector<int32_t> ids = download_raw<int32_t>(be, m.ids_out.slice_rows(0, n_reqs));
        double graph = time_ms(s, [&] { graphs.run(n_reqs, [&] { m.forward(ab); }); }, 20, 2);
        CHECK(download_raw<int32_t>(be, m.ids_out.slice_rows(0, n_reqs)) == ids);  // replay == eager
        CHECK(ids[0] >= 0);
        CHECK(ids[0] < Llama7B::kVocab);
        report(fmt::format("llama7b_decode_b{}_ctx{}", n_reqs, ctx), graph,
               fmt::format(", \"eager_ms\": {:.3f}, \"tok_per_s\": {:.1f}, \"eager_tok_per_s\": {:.1f}", eager,
                           1000.0 * n_reqs / graph, 1000.0 * n_reqs / eager));
    }
    for (auto [n_reqs, len] : {std::pair{1, 512}, {1, 2048}, {8, 512}}) {
        AttentionBatch ab = m.setup(n_reqs, len, len);
        double ms = time_ms(s, [&] { m.forward(ab); }, 5, 1);
        report(fmt::format("llama7b_prefill_b{}_len{}", n_reqs, len), ms,
               fmt::format(", \"tok_per_s\": {:.1f}", 1000.0 * n_reqs * len / ms));
    }
}

}  // namespace

TEST_CASE("cuda bench: kernels and a Llama-2-7B-shaped forward") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> be = make_cuda_backend(0, DType::F16);
    be->set_gemm_tuning(true);  // as the runner's start-up warm-up does
    CudaBackend& cb = *as_cuda_backend(*be);
    MESSAGE("bench on " << cb.name());
    bench_kernels(cb, DType::F16);
    bench_llama7b(cb);
}

TEST_CASE("cuda bench: decode attention at serving batches, Llama-3-8B heads (32 over 8 KV heads)") {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> be = make_cuda_backend(0, DType::BF16);
    bench_attention(*as_cuda_backend(*be), DType::BF16, true);
}

// One eager Llama-2-7B decode step at batch 64 (context 192) between
// cudaProfilerStart/Stop, for a kernel profiler started with the profiling
// off (`ncu --profile-from-start off`): each kernel's own time, without the
// warm-up and GEMM tuning around it. Skipped unless asked for by name:
// lightllm_kernel_bench --no-skip -tc='cuda bench: one*'.
TEST_CASE("cuda bench: one decode step at batch 64 for a profiler" * doctest::skip()) {
    LL_REQUIRE_GPU();
    std::unique_ptr<Backend> be = make_cuda_backend(0, DType::F16);
    be->set_gemm_tuning(true);
    CudaBackend& cb = *as_cuda_backend(*be);
    Llama7B m(cb, 64 * 256, 64, 64, 256);
    AttentionBatch ab = m.setup(64, 1, 192);
    for (int i = 0; i < 3; ++i) m.forward(ab);
    cb.synchronize();
    CUDA_CHECK(cudaProfilerStart());
    m.forward(ab);
    cb.synchronize();
    CUDA_CHECK(cudaProfilerStop());
    std::vector<int32_t> ids = download_raw<int32_t>(cb, m.ids_out.slice_rows(0, 64));
    CHECK(ids[0] >= 0);
    CHECK(ids[0] < Llama7B::kVocab);
}
#endif
