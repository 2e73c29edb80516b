// Micro-benchmark of cascade decode attention (lightllm_kernel_bench): one
// layer's decode attention in Llama-3-8B's shape (32 query heads over 8 KV
// heads of 128, bf16) for the shared-prefix workload's batch: G groups of P
// requests sharing a prefix of S slots, each with O keys of its own, with
// and without the groups (--no-cascade-attention). Median of 20 after
// warm-up, as kernel_bench.cpp's lines ("bench {json}", also appended to
// $LIGHTLLM_BENCH_OUT).
#include "cuda_test_util.h"
#include <fmt/format.h>
#include <algorithm>
#include <cstdio>
#include <functional>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

double median_ms(CudaBackend& be, const std::function<void()>& fn) {
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    for (int i = 0; i < 3; ++i) fn();
    std::vector<float> t;
    for (int i = 0; i < 20; ++i) {
        cudaEventRecord(a, be.stream());
        fn();
        cudaEventRecord(b, be.stream());
        cudaEventSynchronize(b);
        float ms = 0.0f;
        cudaEventElapsedTime(&ms, a, b);
        t.push_back(ms);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

void print_line(const std::string& line) {
    std::printf("bench %s\n", line.c_str());
    if (const char* path = std::getenv("LIGHTLLM_BENCH_OUT"))
        if (FILE* f = std::fopen(path, "a")) {
            std::fprintf(f, "%s\n", line.c_str());
            std::fclose(f);
        }
    std::fflush(stdout);
}

}  // namespace

TEST_CASE("cuda bench: cascade decode attention, Llama-3-8B shapes, shared-prefix batches") {
    LL_REQUIRE_GPU();
    auto gpu = make_cuda_backend(0, DType::BF16);
    auto& be = dynamic_cast<CudaBackend&>(*gpu);
    const int H = 32, KVH = 8, D = 128;
    for (auto [G, P, S, O] : {std::tuple{64, 16, 2048, 256}, {64, 16, 2048, 64}, {8, 16, 2048, 256}, {4, 256, 1024, 128}}) {
        const int n = G * P, ctx = S + O, cap = G * S + n * O;
        Tensor k = be.alloc(DType::BF16, {cap, KVH, D}), v = be.alloc(DType::BF16, {cap, KVH, D});
        Tensor q = be.alloc(DType::BF16, {n, H * D}), o = be.alloc(DType::BF16, {n, H * D});
        Tensor table = be.alloc(DType::I32, {n, ctx});
        be.fill_random(k, 3, 1.0f);
        be.fill_random(v, 4, 1.0f);
        be.fill_random(q, 5, 1.0f);
        std::vector<int32_t> tab(size_t(n) * ctx), qs{0}, kl, rr, gs{0}, mem, sl, req(size_t(n), S);
        for (int r = 0; r < n; ++r) {
            const int g = r % G;  // members of a group are spread over the batch, as a shuffled workload's are
            for (int p = 0; p < S; ++p) tab[size_t(r) * ctx + p] = g * S + p;
            for (int p = 0; p < O; ++p) tab[size_t(r) * ctx + S + p] = G * S + r * O + p;
            qs.push_back(r + 1);
            kl.push_back(ctx);
            rr.push_back(r);
        }
        for (int g = 0; g < G; ++g) {
            for (int r = g; r < n; r += G) mem.push_back(r);
            gs.push_back(int32_t(mem.size()));
            sl.push_back(S);
        }
        auto ints = [&](const std::vector<int32_t>& x) {
            Tensor t = be.alloc(DType::I32, {int64_t(x.size())});
            be.upload(t, x.data(), DType::I32);
            return t;
        };
        be.upload(table, tab.data(), DType::I32);
        Tensor tqs = ints(qs), tkl = ints(kl), trr = ints(rr), tgs = ints(gs), tmem = ints(mem), tsl = ints(sl),
               treq = ints(req);
        KvLayer kv{k, v, {}, {}};
        AttentionBatch plain{tqs, tkl, trr, table, n, n, 1, ctx};
        plain.n_decode_first = n;
        AttentionBatch casc = plain;
        casc.cascade = {tgs, tmem, tsl, treq, G, n, P, S};
        AttentionParams p;
        p.scale = 1.0f / std::sqrt(float(D));
        const HeadShape heads{H, KVH, D, D};
        const double ms_plain = median_ms(be, [&] { be.attention(q, kv, plain, heads, p, o); });
        const std::vector<float> want = download_f32(be, o);
        const double ms_casc = median_ms(be, [&] { be.attention(q, kv, casc, heads, p, o); });
        LL_CHECK_CLOSE(download_f32(be, o), want, tol_reduction(DType::BF16));
        const double kv_bytes = double(KVH) * D * 2 * 2;  // K and V of one token
        const double read_plain = double(n) * ctx * kv_bytes, read_casc = (double(G) * S + double(n) * O) * kv_bytes;
        print_line(fmt::format("{{\"name\": \"cascade_attn_bf16_g{}_p{}_shared{}_own{}\", \"ms_plain\": {:.4f}, "
                               "\"ms_cascade\": {:.4f}, \"speedup\": {:.2f}, \"GBps_plain\": {:.1f}, "
                               "\"GBps_cascade\": {:.1f}}}",
                               G, P, S, O, ms_plain, ms_casc, ms_plain / ms_casc, read_plain / ms_plain / 1e6,
                               read_casc / ms_casc / 1e6));
        for (Tensor* t : {&k, &v, &q, &o, &table, &tqs, &tkl, &trr, &tgs, &tmem, &tsl, &treq}) be.free(*t);
    }
}
