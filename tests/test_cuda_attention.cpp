// CUDA attention (decode split kernel, tensor-core prefill, reference kernel)
// against the CPU backend's attention, which reads the same KV cache through
// the same request->token table. Grid: ragged batches with cached prefixes
// (chunked prefill), lengths 1..8192, GQA ratios 1/2/4/7/8, head dims
// 64/80/96/128 (+256 and F32 on the reference kernel), f16/bf16, sliding
// window, ALiBi, int8 KV. Tolerance: relative L2 2.5e-3 (f16), 1.5e-2 (bf16).
// Skipped, with a message, when no GPU is present.
#include "cuda_test_util.h"
#include <algorithm>
#include <numeric>

using namespace lightllm;
using namespace lightllm::testing;

namespace {

struct AttnCase {
    int n_head = 4, n_kv = 1, hd = 128;
    std::vector<std::pair<int, int>> reqs;  // (n_cached, n_new)
    int window = 0;
    bool alibi = false;
    bool int8 = false;
    bool mark_decodes = false;  // set n_decode_first: leading one-token requests go to the decode kernel
};

// Runs one case on both backends; returns (gpu, cpu) outputs.
void check_attention(DType dt, const AttnCase& c, uint32_t seed) {
    Backends b(dt, seed);
    int n_reqs = int(c.reqs.size()), n_tokens = 0, max_q = 0, max_kv = 0, total = 0;
    for (auto [cached, fresh] : c.reqs) {
        n_tokens += fresh;
        max_q = std::max(max_q, fresh);
        max_kv = std::max(max_kv, cached + fresh);
        total += cached + fresh;
    }
    const int capacity = total + 17, n_rows = n_reqs + 3, max_context = max_kv + 5;
    std::vector<int32_t> slot_of(static_cast<size_t>(capacity));
    std::iota(slot_of.begin(), slot_of.end(), 0);
    std::shuffle(slot_of.begin(), slot_of.end(), b.rng);
    std::vector<int32_t> row_of(static_cast<size_t>(n_rows));
    std::iota(row_of.begin(), row_of.end(), 0);
    std::shuffle(row_of.begin(), row_of.end(), b.rng);

    std::vector<int32_t> table(size_t(n_rows) * max_context, 0), q_start{0}, kv_len, req_rows;
    size_t next = 0;
    for (int r = 0; r < n_reqs; ++r) {
        int L = c.reqs[size_t(r)].first + c.reqs[size_t(r)].second;
        for (int p = 0; p < L; ++p) table[size_t(row_of[size_t(r)]) * max_context + p] = slot_of[next++];
        q_start.push_back(q_start.back() + c.reqs[size_t(r)].second);
        kv_len.push_back(L);
        req_rows.push_back(row_of[size_t(r)]);
    }
    Twin tt = b.ints(table), qs = b.ints(q_start), kl = b.ints(kv_len), rr = b.ints(req_rows);
    tt.c = tt.c.view({n_rows, max_context});
    tt.g = tt.g.view({n_rows, max_context});

    const int64_t kv_width = int64_t(c.n_kv) * c.hd;
    KvLayer kc, kg;
    if (c.int8) {
        std::vector<int8_t> kq(static_cast<size_t>(capacity * kv_width)), vq(kq.size());
        std::vector<float> ks(size_t(capacity) * c.n_kv), vs(ks.size());
        std::uniform_int_distribution<int> qd(-127, 127);
        std::uniform_real_distribution<float> sd(0.004f, 0.012f);
        for (auto* v : {&kq, &vq})
            for (int8_t& x : *v) x = int8_t(qd(b.rng));
        for (auto* v : {&ks, &vs})
            for (float& x : *v) x = sd(b.rng);
        auto put = [&](Backend& be, bool gpu, const void* data, DType t, int64_t cols) {
            Tensor x = b.owned(be.alloc(t, {capacity, c.n_kv, cols}), gpu);
            be.upload(x, data, t);
            return x;
        };
        for (bool gpu : {false, true}) {
            Backend& be = gpu ? *b.gpu : *b.cpu;
            KvLayer& kv = gpu ? kg : kc;
            kv.k = put(be, gpu, kq.data(), DType::I8, c.hd);
            kv.v = put(be, gpu, vq.data(), DType::I8, c.hd);
            kv.k_scale = put(be, gpu, ks.data(), DType::F32, 1).view({capacity, c.n_kv});
            kv.v_scale = put(be, gpu, vs.data(), DType::F32, 1).view({capacity, c.n_kv});
        }
    } else {
        Twin k = b.twin(capacity, kv_width), v = b.twin(capacity, kv_width);
        kc.k = k.c.view({capacity, c.n_kv, c.hd});
        kc.v = v.c.view({capacity, c.n_kv, c.hd});
        kg.k = k.g.view({capacity, c.n_kv, c.hd});
        kg.v = v.g.view({capacity, c.n_kv, c.hd});
    }
    Twin q = b.twin(n_tokens, int64_t(c.n_head) * c.hd), out = b.outputs(n_tokens, int64_t(c.n_head) * c.hd);

    HeadShape heads{c.n_head, c.n_kv, c.hd, c.hd};
    AttentionParams params;
    params.scale = 1.0f / std::sqrt(float(c.hd));
    params.sliding_window = c.window;
    params.alibi = c.alibi;
    AttentionBatch bc{qs.c, kl.c, rr.c, tt.c, n_reqs, n_tokens, max_q, max_kv};
    AttentionBatch bg{qs.g, kl.g, rr.g, tt.g, n_reqs, n_tokens, max_q, max_kv};
    if (c.mark_decodes)
        while (bg.n_decode_first < n_reqs && c.reqs[size_t(bg.n_decode_first)].second == 1) ++bg.n_decode_first;
    b.cpu->attention(q.c, kc, bc, heads, params, out.c);
    b.gpu->attention(q.g, kg, bg, heads, params, out.g);
    double tol = dt == DType::F32 ? 1e-5 : tol_reduction(dt);
    LL_CHECK_CLOSE(download_f32(*b.gpu, out.g), download_f32(*b.cpu, out.c), tol);
}

std::vector<std::pair<int, int>> decode_reqs(std::vector<int> lens) {
    std::vector<std::pair<int, int>> r;
    for (int L : lens) r.push_back({L - 1, 1});
    return r;
}

const std::vector<std::pair<int, int>> kRagged = {{0, 1}, {0, 7}, {0, 64}, {0, 200}, {37, 90}, {500, 129}, {0, 333}};

}  // namespace

TEST_CASE("cuda attention: decode over head dims, GQA ratios and lengths") {
    LL_REQUIRE_GPU();
    for (DType dt : {DType::F16, DType::BF16}) {
        for (int hd : {64, 80, 96, 128}) {
            for (int ratio : {1, 2, 4, 7, 8, 16}) {  // 2..16: the tensor-core GQA kernel (decode_attention_gqa.cu)
                CAPTURE(dt);
                CAPTURE(hd);
                CAPTURE(ratio);
                AttnCase c;
                c.n_kv = 2;
                c.n_head = 2 * ratio;
                c.hd = hd;
                c.reqs = decode_reqs({1, 2, 17, 64, 65, 300, 1025, 2900});
                check_attention(dt, c, 11u * hd + ratio);
            }
        }
    }
}

// Enough requests (80 x 2 KV heads) that the launcher groups query heads
// sharing a KV head into one block (2 for ratio 2, 4 for ratios 4 and 8; a
// ratio of 7 stays one head per block), with int8 KV, ALiBi and a window.
TEST_CASE("cuda attention: decode with query heads grouped per KV head") {
    LL_REQUIRE_GPU();
    std::mt19937 rng(9);
    std::vector<int> lens{1, 2, 3000, 2100};
    while (lens.size() < 80) lens.push_back(1 + int(rng() % 700));
    for (DType dt : {DType::F16, DType::BF16}) {
        for (int hd : {64, 128}) {
            for (int ratio : {2, 4, 7, 8}) {
                CAPTURE(dt);
                CAPTURE(hd);
                CAPTURE(ratio);
                AttnCase c;
                c.n_kv = 2;
                c.n_head = 2 * ratio;
                c.hd = hd;
                c.reqs = decode_reqs(lens);
                check_attention(dt, c, 50u * hd + ratio);
            }
        }
        AttnCase c;
        c.n_kv = 2;
        c.n_head = 8;
        c.reqs = decode_reqs(lens);
        c.int8 = true;
        check_attention(dt, c, 60);
        c.int8 = false;
        c.alibi = true;
        c.window = 300;
        check_attention(dt, c, 61);
        c.alibi = false;  // a window on the tensor-core GQA kernel (Mistral)
        check_attention(dt, c, 62);
    }
}

TEST_CASE("cuda attention: decode, big batch and long context") {
    LL_REQUIRE_GPU();
    for (DType dt : {DType::F16, DType::BF16}) {
        CAPTURE(dt);
        AttnCase big;
        big.n_head = 8;
        big.n_kv = 8;
        std::mt19937 rng(5);
        std::vector<int> lens;
        for (int i = 0; i < 70; ++i) lens.push_back(1 + int(rng() % 700));
        big.reqs = decode_reqs(lens);
        check_attention(dt, big, 3);
        AttnCase longc;
        longc.n_head = 4;
        longc.n_kv = 1;
        longc.reqs = decode_reqs({8192, 5000});
        check_attention(dt, longc, 4);
    }
}

TEST_CASE("cuda attention: prefill, ragged batches with cached prefixes") {
    LL_REQUIRE_GPU();
    for (DType dt : {DType::F16, DType::BF16}) {
        for (int hd : {64, 80, 96, 128}) {
            CAPTURE(dt);
            CAPTURE(hd);
            AttnCase c;
            c.n_head = 4;
            c.n_kv = 1;
            c.hd = hd;
            c.reqs = kRagged;
            check_attention(dt, c, 100u + hd);
        }
        for (int ratio : {1, 8}) {
            CAPTURE(ratio);
            AttnCase c;
            c.n_head = 8;
            c.n_kv = 8 / ratio;
            c.reqs = {{0, 65}, {3, 130}, {1000, 1}, {0, 1}};
            check_attention(dt, c, 200u + ratio);
        }
    }
}

TEST_CASE("cuda attention: mixed step, decodes first through the decode kernel, then prefill chunks") {
    LL_REQUIRE_GPU();
    for (DType dt : {DType::F16, DType::BF16}) {
        for (bool int8 : {false, true}) {
            for (int ratio : {1, 4}) {
                CAPTURE(dt);
                CAPTURE(int8);
                CAPTURE(ratio);
                AttnCase c;
                c.n_head = 8;
                c.n_kv = 8 / ratio;
                c.int8 = int8;
                c.mark_decodes = true;
                c.reqs = {{100, 1}, {7, 1}, {1300, 1}, {0, 1}, {0, 50}, {20, 129}, {0, 1}, {0, 7}};
                check_attention(dt, c, 300u + ratio + (int8 ? 10u : 0u));
            }
        }
    }
}

TEST_CASE("cuda attention: prefill of long prompts (2048, 8192)") {
    LL_REQUIRE_GPU();
    AttnCase c;
    c.n_head = 2;
    c.n_kv = 1;
    c.hd = 64;
    c.reqs = {{0, 2048}, {100, 600}};
    check_attention(DType::F16, c, 7);
    c.n_head = 1;
    c.reqs = {{0, 8192}};
    check_attention(DType::BF16, c, 8);
}

TEST_CASE("cuda attention: sliding window and ALiBi") {
    LL_REQUIRE_GPU();
    for (DType dt : {DType::F16, DType::BF16}) {
        CAPTURE(dt);
        AttnCase w;
        w.n_head = 8;
        w.n_kv = 2;
        w.window = 100;
        w.reqs = kRagged;
        check_attention(dt, w, 20);
        w.reqs = decode_reqs({1, 50, 100, 101, 1500});
        check_attention(dt, w, 21);
        AttnCase a;
        a.n_head = 12;  // not a power of two: exercises the extra slopes
        a.n_kv = 12;
        a.hd = 64;
        a.alibi = true;
        a.reqs = kRagged;
        check_attention(dt, a, 22);
        a.reqs = decode_reqs({1, 33, 800});
        check_attention(dt, a, 23);
    }
}

TEST_CASE("cuda attention: int8 KV cache") {
    LL_REQUIRE_GPU();
    for (DType dt : {DType::F16, DType::BF16}) {
        CAPTURE(dt);
        AttnCase c;
        c.n_head = 8;
        c.n_kv = 2;
        c.int8 = true;
        c.reqs = kRagged;
        check_attention(dt, c, 30);
        c.reqs = decode_reqs({1, 64, 3000});
        check_attention(dt, c, 31);
        for (int hd : {64, 80, 96}) {  // the GQA kernel's int8 stage at every head size
            CAPTURE(hd);
            c.hd = hd;
            c.reqs = decode_reqs({1, 2, 65, 700, 2500});
            check_attention(dt, c, 32u + unsigned(hd));
        }
        c.hd = 128;
        c.n_head = c.n_kv = 2;  // MHA: the CUDA-core kernel
        check_attention(dt, c, 33);
    }
}

TEST_CASE("cuda attention: reference kernel (F32 compute, head_dim 256)") {
    LL_REQUIRE_GPU();
    AttnCase c;
    c.n_head = 4;
    c.n_kv = 2;
    c.hd = 64;
    c.reqs = kRagged;
    check_attention(DType::F32, c, 40);
    c.hd = 256;
    check_attention(DType::F16, c, 41);
    c.reqs = decode_reqs({1, 40, 700});
    check_attention(DType::BF16, c, 42);
}
