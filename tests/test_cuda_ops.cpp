// Every CUDA op against the CPU backend's op (the fp32 oracle) on random
// inputs, over a grid of shapes and both 16-bit dtypes. Inputs are rounded to
// the CUDA dtype before both backends see them, so the only differences are
// the CUDA kernels' own rounding. Tolerances (relative L2 error):
//   one rounding to f16 / bf16 after fp32 math:   1e-3 / 6e-3
//   longer fp32 chains (GEMM, attention):         2.5e-3 / 1.5e-2
// Skipped, with a message, when no GPU is present.
#include "cuda_test_util.h"
#include <algorithm>
#include <cmath>
#include <numeric>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

const DType kDtypes[] = {DType::F16, DType::BF16};

}  // namespace

TEST_CASE("cuda: upload converts f32 to f16/bf16 exactly as the host rounding does") {
    LL_REQUIRE_GPU();
    for (DType dt : kDtypes) {
        Backends b(dt);
        Twin t = b.twin(3, 1000, 10.0f);
        std::vector<float> src(t.host.size());
        std::mt19937 rng(7);
        std::normal_distribution<float> nd(0.0f, 100.0f);
        for (float& x : src) x = nd(rng);
        b.gpu->upload(t.g, src.data(), DType::F32);
        std::vector<float> got = download_f32(*b.gpu, t.g);
        for (size_t i = 0; i < src.size(); ++i) REQUIRE(got[i] == round_to(dt, src[i]));
    }
}

TEST_CASE("cuda: fill_random matches the CPU backend's seeded normal") {
    LL_REQUIRE_GPU();
    Backends b(DType::F16);
    Tensor c = b.owned(b.cpu->alloc(DType::F32, {4, 4097}), false);
    Tensor g = b.owned(b.gpu->alloc(DType::F32, {4, 4097}), true);
    b.cpu->fill_random(c, 42, 0.02f);
    b.gpu->fill_random(g, 42, 0.02f);
    std::vector<float> want(static_cast<size_t>(c.numel()));
    b.cpu->download(c, want.data());
    LL_CHECK_CLOSE(download_f32(*b.gpu, g), want, 1e-5);
    double ss = 0;
    for (float x : want) ss += double(x) * x;
    CHECK(std::sqrt(ss / double(want.size())) == doctest::Approx(0.02).epsilon(0.05));
}

TEST_CASE("cuda: embedding") {
    LL_REQUIRE_GPU();
    for (DType dt : kDtypes) {
        for (int d : {64, 4096, 100}) {
            Backends b(dt);
            Twin table = b.twin(1000, d);
            std::vector<int32_t> ids = {0, 999, 5, 5, 123, 7, 500};
            Twin idt = b.ints(ids);
            Twin out = b.outputs(int64_t(ids.size()), d);
            b.cpu->embedding(idt.c, table.c, out.c);
            b.gpu->embedding(idt.g, table.g, out.g);
            CHECK(download_f32(*b.gpu, out.g) == download_f32(*b.cpu, out.c));
        }
    }
}

TEST_CASE("cuda: rms_norm, add_rms_norm, layer_norm") {
    LL_REQUIRE_GPU();
    for (DType dt : kDtypes) {
        for (auto [n, d] : {std::pair{1, 64}, {7, 4096}, {33, 5120}, {3, 8192}, {5, 1000}, {4, 1002}, {2, 40000}}) {
            CAPTURE(dt);
            CAPTURE(n);
            CAPTURE(d);
            Backends b(dt);
            Twin x = b.twin(n, d, 2.0f, 0.5f), w = b.twin(1, d, 0.3f, 1.0f), bias = b.twin(1, d, 0.1f);
            w.c = w.c.view({d});
            w.g = w.g.view({d});
            bias.c = bias.c.view({d});
            bias.g = bias.g.view({d});
            Twin out = b.outputs(n, d);
            b.cpu->rms_norm(x.c, w.c, out.c, 1e-5f);
            b.gpu->rms_norm(x.g, w.g, out.g, 1e-5f);
            LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), download_f32(*b.cpu, out.c), tol_elementwise(dt));

            b.cpu->layer_norm(x.c, w.c, bias.c, out.c, 1e-5f);
            b.gpu->layer_norm(x.g, w.g, bias.g, out.g, 1e-5f);
            LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), download_f32(*b.cpu, out.c), tol_elementwise(dt));

            Twin delta = b.twin(n, d);
            b.cpu->add_rms_norm(x.c, delta.c, w.c, out.c, 1e-6f);
            b.gpu->add_rms_norm(x.g, delta.g, w.g, out.g, 1e-6f);
            LL_CHECK_CLOSE(download_f32(*b.gpu, x.g), download_f32(*b.cpu, x.c), tol_elementwise(dt));
            LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), download_f32(*b.cpu, out.c), 2 * tol_elementwise(dt));
        }
    }
}

TEST_CASE("cuda: silu_mul, gelu, add, to_f32") {
    LL_REQUIRE_GPU();
    for (DType dt : kDtypes) {
        for (auto [n, f] : {std::pair{1, 11008}, {17, 256}, {64, 1000}, {3, 1003}}) {
            Backends b(dt);
            Twin gu = b.twin(n, 2 * f, 3.0f), out = b.outputs(n, f);
            b.cpu->silu_mul(gu.c, out.c);
            b.gpu->silu_mul(gu.g, out.g);
            LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), download_f32(*b.cpu, out.c), tol_elementwise(dt));

            Twin x = b.twin(n, f, 3.0f), y = b.twin(n, f), o2 = b.outputs(n, f);
            b.cpu->gelu(x.c, o2.c);
            b.gpu->gelu(x.g, o2.g);
            LL_CHECK_CLOSE(download_f32(*b.gpu, o2.g), download_f32(*b.cpu, o2.c), tol_elementwise(dt));

            b.cpu->add(x.c, y.c, o2.c);
            b.gpu->add(x.g, y.g, o2.g);
            LL_CHECK_CLOSE(download_f32(*b.gpu, o2.g), download_f32(*b.cpu, o2.c), tol_elementwise(dt));

            Twin f32 = b.outputs(n, f, DType::F32);
            b.gpu->to_f32(x.g, f32.g);
            CHECK(download_f32(*b.gpu, f32.g) == x.host);
        }
    }
}

TEST_CASE("cuda: gather_rows and set_token_slots") {
    LL_REQUIRE_GPU();
    for (DType dt : kDtypes) {
        Backends b(dt);
        Twin x = b.twin(50, 4096);
        std::vector<int32_t> rows = {49, 0, 7, 7, 20};
        Twin r = b.ints(rows), out = b.outputs(5, 4096);
        b.cpu->gather_rows(x.c, r.c, out.c);
        b.gpu->gather_rows(x.g, r.g, out.g);
        CHECK(download_f32(*b.gpu, out.g) == download_f32(*b.cpu, out.c));

        Tensor tc = b.owned(b.cpu->alloc(DType::I32, {6, 100}), false);
        Tensor tg = b.owned(b.gpu->alloc(DType::I32, {6, 100}), true);
        std::vector<int32_t> zeros(600, -3);
        b.cpu->upload(tc, zeros.data(), DType::I32);
        b.gpu->upload(tg, zeros.data(), DType::I32);
        Twin tr = b.ints({0, 5, 5, 2, 3}), pos = b.ints({0, 99, 3, 50, 0}), sl = b.ints({11, 12, 13, 14, 15});
        b.cpu->set_token_slots(tc, tr.c, pos.c, sl.c);
        b.gpu->set_token_slots(tg, tr.g, pos.g, sl.g);
        CHECK(download_raw<int32_t>(*b.gpu, tg) == download_raw<int32_t>(*b.cpu, tc));
    }
}

TEST_CASE("cuda: linear (cuBLAS) with and without bias") {
    LL_REQUIRE_GPU();
    struct Shape { int n, k, m; bool bias; };
    for (DType dt : kDtypes) {
        for (Shape s : {Shape{1, 4096, 512, false}, {7, 256, 384, true}, {64, 1024, 512, false}, {300, 512, 1000, true},
                        {1, 80, 8, true}, {2, 4096, 1000, true}, {3, 11008, 256, false}, {4, 512, 4096, false}}) {
            CAPTURE(dt);
            CAPTURE(s.n);
            CAPTURE(s.k);
            CAPTURE(s.m);
            Backends b(dt);
            Twin x = b.twin(s.n, s.k), w = b.twin(s.m, s.k, 1.0f / std::sqrt(float(s.k)));
            Twin bias = b.twin(1, s.m);
            Tensor bc = s.bias ? bias.c.view({s.m}) : Tensor{}, bg = s.bias ? bias.g.view({s.m}) : Tensor{};
            Twin out = b.outputs(s.n, s.m);
            b.cpu->linear(x.c, w.c, bc, out.c);
            b.gpu->linear(x.g, w.g, bg, out.g);
            LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), download_f32(*b.cpu, out.c), tol_reduction(dt));
        }
    }
}

TEST_CASE("cuda: rope_store_kv (full and partial rotary, f16/bf16 and int8 KV)") {
    LL_REQUIRE_GPU();
    struct Case { int n_head, n_kv, hd, rope_dim; bool int8; };
    for (DType dt : kDtypes) {
        for (Case c : {Case{8, 2, 128, 128, false}, {4, 4, 64, 32, false}, {6, 2, 80, 80, false}, {4, 1, 96, 96, false},
                       {8, 2, 128, 128, true}, {4, 4, 64, 64, true}}) {
            CAPTURE(dt);
            CAPTURE(c.hd);
            CAPTURE(c.rope_dim);
            CAPTURE(c.int8);
            Backends b(dt);
            const int n = 37, capacity = 64;
            HeadShape heads{c.n_head, c.n_kv, c.hd, c.rope_dim};
            Twin qkv = b.twin(n, int64_t(c.n_head + 2 * c.n_kv) * c.hd);
            std::vector<int32_t> pos(n), slots(capacity);
            for (int i = 0; i < n; ++i) pos[size_t(i)] = int32_t(b.rng() % 8192);
            std::iota(slots.begin(), slots.end(), 0);
            std::shuffle(slots.begin(), slots.end(), b.rng);
            slots.resize(n);
            Twin pt = b.ints(pos), st = b.ints(slots);
            std::vector<float> inv(static_cast<size_t>(c.rope_dim / 2));
            for (int j = 0; j < c.rope_dim / 2; ++j) inv[size_t(j)] = std::pow(10000.0f, -2.0f * j / float(c.rope_dim));
            Tensor ic = b.owned(b.cpu->alloc(DType::F32, {int64_t(inv.size())}), false);
            Tensor ig = b.owned(b.gpu->alloc(DType::F32, {int64_t(inv.size())}), true);
            b.cpu->upload(ic, inv.data(), DType::F32);
            b.gpu->upload(ig, inv.data(), DType::F32);
            KvLayer kc, kg;
            DType kvc = c.int8 ? DType::I8 : DType::F32, kvg = c.int8 ? DType::I8 : dt;
            kc.k = b.owned(b.cpu->alloc(kvc, {capacity, c.n_kv, c.hd}), false);
            kc.v = b.owned(b.cpu->alloc(kvc, {capacity, c.n_kv, c.hd}), false);
            kg.k = b.owned(b.gpu->alloc(kvg, {capacity, c.n_kv, c.hd}), true);
            kg.v = b.owned(b.gpu->alloc(kvg, {capacity, c.n_kv, c.hd}), true);
            if (c.int8) {
                kc.k_scale = b.owned(b.cpu->alloc(DType::F32, {capacity, c.n_kv}), false);
                kc.v_scale = b.owned(b.cpu->alloc(DType::F32, {capacity, c.n_kv}), false);
                kg.k_scale = b.owned(b.gpu->alloc(DType::F32, {capacity, c.n_kv}), true);
                kg.v_scale = b.owned(b.gpu->alloc(DType::F32, {capacity, c.n_kv}), true);
            }
            Twin q = b.outputs(n, int64_t(c.n_head) * c.hd);
            b.cpu->rope_store_kv(qkv.c, pt.c, ic, heads, st.c, kc, q.c);
            b.gpu->rope_store_kv(qkv.g, pt.g, ig, heads, st.g, kg, q.g);
            LL_CHECK_CLOSE(download_f32(*b.gpu, q.g), download_f32(*b.cpu, q.c), tol_elementwise(dt));
            for (int side = 0; side < 2; ++side) {
                const Tensor& tc = side ? kc.v : kc.k;
                const Tensor& tg = side ? kg.v : kg.k;
                if (!c.int8) {
                    LL_CHECK_CLOSE(download_f32(*b.gpu, tg), download_f32(*b.cpu, tc), tol_elementwise(dt));
                    continue;
                }
                // int8: dequantized values agree to one quantization step.
                std::vector<int8_t> qc = download_raw<int8_t>(*b.cpu, tc), qg = download_raw<int8_t>(*b.gpu, tg);
                std::vector<float> sc = download_raw<float>(*b.cpu, side ? kc.v_scale : kc.k_scale);
                std::vector<float> sg = download_raw<float>(*b.gpu, side ? kg.v_scale : kg.k_scale);
                std::vector<float> dc(qc.size()), dg(qg.size());
                for (size_t i = 0; i < qc.size(); ++i) {
                    dc[i] = float(qc[i]) * sc[i / size_t(c.hd)];
                    dg[i] = float(qg[i]) * sg[i / size_t(c.hd)];
                }
                LL_CHECK_CLOSE(sg, sc, tol_elementwise(dt));
                LL_CHECK_CLOSE(dg, dc, 1.5e-2);
            }
        }
    }
}

TEST_CASE("cuda: argmax_rows picks the first maximum and gives its log-softmax") {
    LL_REQUIRE_GPU();
    for (auto [dt, vocab] : {std::pair{DType::F16, 32003}, {DType::BF16, 32003}, {DType::F32, 32003},
                             {DType::F16, 32000}, {DType::BF16, 152064}, {DType::F32, 32000}}) {  // 16-byte rows: vector loads
        CAPTURE(vocab);
        Backends b(dt == DType::F32 ? DType::F16 : dt);
        const int n = 6;
        std::vector<float> host(size_t(n) * vocab);
        std::normal_distribution<float> nd(0.0f, 3.0f);
        for (float& x : host) x = round_to(dt, nd(b.rng));
        host[size_t(2) * vocab + 17] = host[size_t(2) * vocab + 30000] = 100.0f;  // a tie: 17 wins
        host[size_t(4) * vocab + vocab - 1] = 100.0f;
        Tensor lg = b.owned(b.gpu->alloc(dt, {n, vocab}), true);
        b.gpu->upload(lg, host.data(), DType::F32);
        Twin ids = b.ints(std::vector<int32_t>(n, -1));
        Tensor lp = b.owned(b.gpu->alloc(DType::F32, {n}), true);
        REQUIRE(gpu_argmax(*b.gpu, lg, ids.g, lp));
        std::vector<int32_t> got = download_raw<int32_t>(*b.gpu, ids.g);
        std::vector<float> got_lp = download_raw<float>(*b.gpu, lp);
        for (int i = 0; i < n; ++i) {
            const float* row = host.data() + size_t(i) * vocab;
            const float* mx = std::max_element(row, row + vocab);
            CHECK(got[size_t(i)] == int32_t(mx - row));
            double sum = 0;
            for (int j = 0; j < vocab; ++j) sum += std::exp(double(row[j]) - double(*mx));
            CHECK(got_lp[size_t(i)] == doctest::Approx(-std::log(sum)).epsilon(1e-4).scale(1.0));
        }
        CHECK(got[2] == 17);
        CHECK(got[4] == vocab - 1);
    }
}
