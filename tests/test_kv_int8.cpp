// The int8 KV cache: the quantization math (src/backend/kv_quant.h) against its
// definition, the pool's byte accounting, the CPU ops with an I8 cache against
// the same ops on an fp32 cache holding the dequantized values, and the CUDA
// ops with an I8 cache against the CPU ones (skipped without a GPU), and the
// engine option that turns it on.
#include "backend.h"
#include "kv_quant.h"
#include "model_runner.h"
#include "test_util.h"
#include "token_kv_pool.h"
#include <doctest/doctest.h>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

using namespace lightllm;

namespace {

std::vector<float> randn(size_t n, float stddev, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, stddev);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// Normalized mean squared error of `got` against `want`.
double nmse(const std::vector<float>& got, const std::vector<float>& want) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < want.size(); ++i) {
        num += double(got[i] - want[i]) * double(got[i] - want[i]);
        den += double(want[i]) * double(want[i]);
    }
    return den > 0.0 ? num / den : num;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

// Tensors allocated on one backend, freed together.
struct Arena {
    Backend& be;
    std::vector<Tensor> owned;
    explicit Arena(Backend& b) : be(b) {}
    ~Arena() {
        for (Tensor& t : owned) be.free(t);
    }
    Tensor make(DType dtype, std::initializer_list<int64_t> shape, const void* src = nullptr,
                DType src_dtype = DType::F32) {
        Tensor t = be.alloc(dtype, shape);
        owned.push_back(t);
        if (src) be.upload(t, src, src_dtype);
        return t;
    }
    Tensor make_i32(const std::vector<int32_t>& v) {
        return make(DType::I32, {int64_t(v.size())}, v.data(), DType::I32);
    }
    // Any float tensor back to host F32.
    std::vector<float> to_host(const Tensor& t) {
        std::vector<float> out(size_t(t.numel()));
        if (t.dtype == DType::F32) {
            be.download(t, out.data());
        } else {
            Tensor f = be.alloc(DType::F32, {t.numel()});
            be.to_f32(t.view({t.numel()}), f);
            be.download(f, out.data());
            be.free(f);
        }
        be.synchronize();
        return out;
    }
};

// Requests of one attention call: (tokens already cached, new tokens).
struct ReqSpec {
    int n_cached;
    int n_new;
};

// One attention call's batch over a shared cache: request r owns table row
// 2r + 1 (rows need not be dense) and its tokens sit in shuffled slots.
struct BatchHost {
    std::vector<int32_t> q_start{0}, kv_len, req_rows, table, slots_used;
    int n_tokens = 0, max_q = 0, max_kv = 0, max_context = 0, n_rows = 0;

    BatchHost(const std::vector<ReqSpec>& reqs, int capacity, uint32_t seed) {
        for (const ReqSpec& r : reqs) max_context = std::max(max_context, r.n_cached + r.n_new);
        n_rows = 2 * int(reqs.size()) + 1;
        table.assign(size_t(n_rows) * size_t(max_context), -1);
        std::vector<int32_t> perm(static_cast<size_t>(capacity));
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), std::mt19937(seed));
        size_t next = 0;
        for (size_t r = 0; r < reqs.size(); ++r) {
            const int len = reqs[r].n_cached + reqs[r].n_new;
            n_tokens += reqs[r].n_new;
            q_start.push_back(n_tokens);
            kv_len.push_back(len);
            req_rows.push_back(int32_t(2 * r + 1));
            max_q = std::max(max_q, reqs[r].n_new);
            max_kv = std::max(max_kv, len);
            for (int p = 0; p < len; ++p) {
                REQUIRE(next < perm.size());
                table[size_t(2 * r + 1) * size_t(max_context) + size_t(p)] = perm[next];
                slots_used.push_back(perm[next++]);
            }
        }
    }

    AttentionBatch upload(Arena& a) const {
        AttentionBatch b;
        b.q_start = a.make_i32(q_start);
        b.kv_len = a.make_i32(kv_len);
        b.req_rows = a.make_i32(req_rows);
        b.table = a.make(DType::I32, {n_rows, max_context}, table.data(), DType::I32);
        b.n_reqs = int(kv_len.size());
        b.n_tokens = n_tokens;
        b.max_q_len = max_q;
        b.max_kv_len = max_kv;
        return b;
    }
};

// Random K and V of a whole cache, the int8 codes and scales of them, and
// their dequantized values.
struct CacheData {
    std::vector<float> k, v;            // [capacity, n_kv_head, head_dim] originals
    std::vector<int8_t> k8, v8;         // codes
    std::vector<float> k_scale, v_scale;  // [capacity, n_kv_head]
    std::vector<float> k_deq, v_deq;    // codes * scale

    CacheData(int capacity, const HeadShape& hs, uint32_t seed) {
        const size_t n = size_t(capacity) * hs.n_kv_head * hs.head_dim;
        k = randn(n, 1.0f, seed);
        v = randn(n, 1.0f, seed + 1);
        // Outlier channels, as real keys have: they set the scale of their head.
        for (size_t i = 3; i < n; i += size_t(hs.head_dim)) k[i] *= 8.0f;
        quantize(k, k8, k_scale, k_deq, capacity, hs);
        quantize(v, v8, v_scale, v_deq, capacity, hs);
    }
    static void quantize(const std::vector<float>& x, std::vector<int8_t>& q, std::vector<float>& scale,
                         std::vector<float>& deq, int capacity, const HeadShape& hs) {
        q.resize(x.size());
        deq.resize(x.size());
        scale.resize(size_t(capacity) * hs.n_kv_head);
        for (size_t head = 0; head < scale.size(); ++head) {
            const size_t o = head * size_t(hs.head_dim);
            scale[head] = kv_int8_quantize_head(&x[o], hs.head_dim, &q[o]);
            kv_int8_dequantize_head(&q[o], scale[head], hs.head_dim, &deq[o]);
        }
    }
};

KvLayer make_int8_layer(Arena& a, const CacheData& c, int capacity, const HeadShape& hs) {
    KvLayer l;
    l.k = a.make(DType::I8, {capacity, hs.n_kv_head, hs.head_dim}, c.k8.data(), DType::I8);
    l.v = a.make(DType::I8, {capacity, hs.n_kv_head, hs.head_dim}, c.v8.data(), DType::I8);
    l.k_scale = a.make(DType::F32, {capacity, hs.n_kv_head}, c.k_scale.data());
    l.v_scale = a.make(DType::F32, {capacity, hs.n_kv_head}, c.v_scale.data());
    return l;
}

KvLayer make_float_layer(Arena& a, const std::vector<float>& k, const std::vector<float>& v, int capacity,
                         const HeadShape& hs, DType dtype) {
    KvLayer l;
    l.k = a.make(dtype, {capacity, hs.n_kv_head, hs.head_dim}, k.data());
    l.v = a.make(dtype, {capacity, hs.n_kv_head, hs.head_dim}, v.data());
    return l;
}

std::vector<float> run_attention(Backend& be, const std::vector<float>& q_host, const KvLayer& kv,
                                 const BatchHost& bh, const HeadShape& hs, const AttentionParams& p) {
    Arena a(be);
    const DType dt = be.compute_dtype();
    const int64_t width = int64_t(hs.n_head) * hs.head_dim;
    Tensor q = a.make(dt, {bh.n_tokens, width}, q_host.data());
    Tensor out = a.make(dt, {bh.n_tokens, width});
    AttentionBatch b = bh.upload(a);
    be.attention(q, kv, b, hs, p, out);
    return a.to_host(out);
}

std::vector<AttentionParams> attention_variants(int head_dim) {
    AttentionParams plain;
    plain.scale = 1.0f / std::sqrt(float(head_dim));
    AttentionParams window = plain;
    window.sliding_window = 5;
    AttentionParams alibi = plain;
    alibi.alibi = true;
    return {plain, window, alibi};
}

}  // namespace

TEST_CASE("kv_int8: quantize/dequantize round trip") {
    for (int head_dim : {64, 128, 256}) {
        for (float stddev : {1e-3f, 1.0f, 300.0f}) {
            std::vector<float> x = randn(size_t(head_dim), stddev, uint32_t(head_dim) + uint32_t(stddev * 7));
            x[5] *= 10.0f;  // an outlier
            std::vector<int8_t> q(x.size());
            std::vector<float> back(x.size());
            const float scale = kv_int8_quantize_head(x.data(), head_dim, q.data());
            kv_int8_dequantize_head(q.data(), scale, head_dim, back.data());
            float absmax = 0.0f;
            for (float v : x) absmax = std::max(absmax, std::fabs(v));
            CHECK(scale == absmax / 127.0f);
            int qmax = 0;
            for (int d = 0; d < head_dim; ++d) {
                qmax = std::max(qmax, std::abs(int(q[d])));
                CHECK(int(q[d]) >= -127);
                CHECK(std::fabs(back[d] - x[d]) <= 0.5f * scale * (1.0f + 1e-5f));
                CHECK(int(q[d]) == int(std::nearbyint(x[d] / scale)));
            }
            CHECK(qmax == 127);  // the largest magnitude maps to +-127
            // Gaussian heads with one 10x outlier: error well under 1% of the energy.
            CHECK(nmse(back, x) < 1e-2);
        }
    }
}

TEST_CASE("kv_int8: zero heads, ties to even, clamping") {
    std::vector<float> zero(64, 0.0f), back(64, 1.0f);
    std::vector<int8_t> q(64, 5);
    const float s = kv_int8_quantize_head(zero.data(), 64, q.data());
    CHECK(s == 0.0f);
    kv_int8_dequantize_head(q.data(), s, 64, back.data());
    for (int d = 0; d < 64; ++d) {
        CHECK(q[d] == 0);
        CHECK(back[d] == 0.0f);
    }
    CHECK(kv_int8_quantize(2.5f, 1.0f) == 2);
    CHECK(kv_int8_quantize(3.5f, 1.0f) == 4);
    CHECK(kv_int8_quantize(-2.5f, 1.0f) == -2);
    CHECK(kv_int8_quantize(-0.4f, 1.0f) == 0);
    CHECK(kv_int8_quantize(500.0f, 1.0f) == 127);
    CHECK(kv_int8_quantize(-500.0f, 1.0f) == -127);
    CHECK(kv_int8_dequantize(int8_t(-127), 0.5f) == -63.5f);
}

TEST_CASE("kv_int8: a slot costs its real bytes, so a budget holds about twice the tokens of f16") {
    const KvPoolShape smol{30, 3, 64};  // SmolLM2-135M
    const size_t f16 = kv_bytes_per_token(smol, DType::F16);
    const size_t i8 = kv_bytes_per_token(smol, DType::I8);
    CHECK(f16 == size_t(30) * 2 * 3 * 64 * 2);
    CHECK(i8 == size_t(30) * 2 * (3 * 64 + 3 * 4));  // codes + one F32 scale per head
    const size_t budget = size_t(1) << 30;
    CHECK(double(budget / i8) / double(budget / f16) > 1.85);
    const KvPoolShape llama8b{32, 8, 128};
    CHECK(double(kv_bytes_per_token(llama8b, DType::F16)) / double(kv_bytes_per_token(llama8b, DType::I8)) > 1.9);

    auto cpu = make_cpu_backend();
    TokenKvPool pool(*cpu, smol, DType::I8, 100);
    CHECK(pool.dtype() == DType::I8);
    CHECK(pool.layer(0).k.dtype == DType::I8);
    CHECK(pool.layer(29).v_scale.dtype == DType::F32);
    CHECK(pool.layer(29).v_scale.shape_str() == "[100, 3]");
}

TEST_CASE("kv_int8: hadamard rotation is orthonormal and spreads outlier channels") {
    for (int n : {2, 16, 32, 64, 128, 256}) {
        std::vector<float> a = randn(size_t(n), 1.0f, uint32_t(n)), b = randn(size_t(n), 1.0f, uint32_t(n) + 1);
        std::vector<float> ra = a, rb = b;
        kv_hadamard(ra.data(), n);
        kv_hadamard(rb.data(), n);
        double dot = 0.0, rdot = 0.0;
        for (int i = 0; i < n; ++i) {
            dot += double(a[size_t(i)]) * b[size_t(i)];
            rdot += double(ra[size_t(i)]) * rb[size_t(i)];
        }
        CHECK(rdot == doctest::Approx(dot).epsilon(1e-5));
        kv_hadamard(ra.data(), n);  // H is its own inverse
        CHECK(max_abs_diff(ra, a) < 1e-5);
    }
    CHECK(kv_int8_rotates(64));
    CHECK(kv_int8_rotates(128));
    CHECK_FALSE(kv_int8_rotates(80));
    CHECK_FALSE(kv_int8_rotates(512));
    // A key with two outlier channels: the error of q.k through the int8 cache
    // is several times smaller when the key is stored rotated.
    const int n = 64;
    double err_plain = 0.0, err_rot = 0.0;
    for (uint32_t t = 0; t < 200; ++t) {
        std::vector<float> q = randn(n, 1.0f, 1000 + t), k = randn(n, 1.0f, 5000 + t);
        k[7] = 40.0f;
        k[40] = -25.0f;
        std::vector<int8_t> codes(n);
        std::vector<float> kd(n), qr = q, kr = k;
        const float s = kv_int8_quantize_head(k.data(), n, codes.data());
        kv_int8_dequantize_head(codes.data(), s, n, kd.data());
        kv_hadamard(qr.data(), n);
        kv_hadamard(kr.data(), n);
        std::vector<float> krd(n);
        const float sr = kv_int8_quantize_head(kr.data(), n, codes.data());
        kv_int8_dequantize_head(codes.data(), sr, n, krd.data());
        double exact = 0.0, plain = 0.0, rot = 0.0;
        for (int i = 0; i < n; ++i) {
            exact += double(q[size_t(i)]) * k[size_t(i)];
            plain += double(q[size_t(i)]) * kd[size_t(i)];
            rot += double(qr[size_t(i)]) * krd[size_t(i)];
        }
        err_plain += (plain - exact) * (plain - exact);
        err_rot += (rot - exact) * (rot - exact);
    }
    CHECK(err_rot * 4.0 < err_plain);
}

TEST_CASE("kv_int8: cpu rope_store_kv stores what kv_quant computes from the fp32 cache") {
    auto cpu = make_cpu_backend();
    // head_dim 64 is stored rotated, 48 is not (not a power of two).
    for (const HeadShape& hs : {HeadShape{6, 2, 64, 64}, HeadShape{4, 2, 48, 32}}) {
        CAPTURE(hs.head_dim);
        const bool rotated = kv_int8_rotates(hs.head_dim);
        const int n = 9, capacity = 32;
        Arena a(*cpu);
        const int64_t width = int64_t(hs.n_head + 2 * hs.n_kv_head) * hs.head_dim;
        std::vector<float> qkv_h = randn(size_t(n * width), 2.0f, 11);
        std::vector<int32_t> pos_h(n), slots_h(n);
        for (int i = 0; i < n; ++i) {
            pos_h[size_t(i)] = 3 * i + 1;
            slots_h[size_t(i)] = (7 * i + 5) % capacity;
        }
        std::vector<float> inv_freq_h(size_t(hs.rope_dim / 2));
        for (int j = 0; j < hs.rope_dim / 2; ++j) inv_freq_h[size_t(j)] = std::pow(10000.0f, -2.0f * j / hs.rope_dim);
        Tensor qkv = a.make(DType::F32, {n, width}, qkv_h.data());
        Tensor pos = a.make_i32(pos_h), slots = a.make_i32(slots_h);
        Tensor inv_freq = a.make(DType::F32, {hs.rope_dim / 2}, inv_freq_h.data());
        Tensor q32 = a.make(DType::F32, {n, int64_t(hs.n_head) * hs.head_dim});
        Tensor q8 = a.make(DType::F32, {n, int64_t(hs.n_head) * hs.head_dim});

        TokenKvPool pool32(*cpu, {1, hs.n_kv_head, hs.head_dim}, DType::F32, capacity);
        TokenKvPool pool8(*cpu, {1, hs.n_kv_head, hs.head_dim}, DType::I8, capacity);
        cpu->rope_store_kv(qkv, pos, inv_freq, hs, slots, pool32.layer(0), q32);
        cpu->rope_store_kv(qkv, pos, inv_freq, hs, slots, pool8.layer(0), q8);
        std::vector<float> want_q = a.to_host(q32);
        if (rotated)
            for (size_t o = 0; o < want_q.size(); o += size_t(hs.head_dim)) kv_hadamard(&want_q[o], hs.head_dim);
        CHECK(max_abs_diff(a.to_host(q8), want_q) == 0.0);

        const KvLayer& l32 = pool32.layer(0);
        const KvLayer& l8 = pool8.layer(0);
        for (int32_t s : slots_h) {
            for (int h = 0; h < hs.n_kv_head; ++h) {
                const int64_t head = int64_t(s) * hs.n_kv_head + h;
                for (int side = 0; side < 2; ++side) {
                    const float* x = (side ? l32.v : l32.k).ptr<float>() + head * hs.head_dim;
                    std::vector<float> xr(x, x + hs.head_dim);
                    if (rotated && side == 0) kv_hadamard(xr.data(), hs.head_dim);  // keys only
                    const int8_t* got = (side ? l8.v : l8.k).ptr<int8_t>() + head * hs.head_dim;
                    const float got_scale = (side ? l8.v_scale : l8.k_scale).ptr<float>()[head];
                    std::vector<int8_t> want(size_t(hs.head_dim));
                    const float want_scale = kv_int8_quantize_head(xr.data(), hs.head_dim, want.data());
                    CHECK(got_scale == want_scale);
                    CHECK(std::equal(want.begin(), want.end(), got));
                }
            }
        }
    }
}

TEST_CASE("kv_int8: cpu attention over an int8 cache equals attention over its dequantized values") {
    auto cpu = make_cpu_backend();
    const int capacity = 64;
    const std::vector<ReqSpec> reqs = {{0, 5}, {7, 3}, {12, 1}, {20, 1}};  // prefill, cached prefix, decodes
    for (const HeadShape& hs : {HeadShape{4, 2, 64, 64}, HeadShape{3, 3, 128, 128}, HeadShape{4, 1, 32, 32}}) {
        CAPTURE(hs.n_head);
        CAPTURE(hs.head_dim);
        Arena a(*cpu);
        CacheData c(capacity, hs, 21);
        KvLayer l8 = make_int8_layer(a, c, capacity, hs);
        KvLayer ldeq = make_float_layer(a, c.k_deq, c.v_deq, capacity, hs, DType::F32);
        KvLayer lorig = make_float_layer(a, c.k, c.v, capacity, hs, DType::F32);
        BatchHost bh(reqs, capacity, 3);
        std::vector<float> q = randn(size_t(bh.n_tokens) * hs.n_head * hs.head_dim, 1.0f, 5);
        for (const AttentionParams& p : attention_variants(hs.head_dim)) {
            std::vector<float> got = run_attention(*cpu, q, l8, bh, hs, p);
            CHECK(max_abs_diff(got, run_attention(*cpu, q, ldeq, bh, hs, p)) < 1e-5);
            // Against the unquantized cache: only quantization noise.
            CHECK(nmse(got, run_attention(*cpu, q, lorig, bh, hs, p)) < 2e-3);
        }
    }
}

TEST_CASE("kv_int8: cuda rope_store_kv and attention with an int8 cache match the cpu reference") {
    if (!cuda_device_available()) {
        MESSAGE("skipped: no CUDA device");
        return;
    }
    auto cpu = make_cpu_backend();
    for (DType dt : {DType::F16, DType::BF16}) {
        CAPTURE(dtype_name(dt));
        auto gpu = make_cuda_backend(0, dt);
        REQUIRE(gpu);
        const double tol = dt == DType::F16 ? 2e-5 : 4e-4;  // NMSE: one rounding of q/out to the compute dtype

        SUBCASE("rope_store_kv") {
            const HeadShape hs{9, 3, 64, 64};
            const int n = 17, capacity = 40;
            const int64_t width = int64_t(hs.n_head + 2 * hs.n_kv_head) * hs.head_dim;
            // The input rounded to the compute dtype on the GPU first, so both see the same values.
            Arena g(*gpu), c(*cpu);
            std::vector<float> raw = randn(size_t(n * width), 2.0f, 31);
            Tensor qkv_g = g.make(dt, {n, width}, raw.data());
            std::vector<float> qkv_h = g.to_host(qkv_g);
            std::vector<int32_t> pos_h(n), slots_h(n);
            for (int i = 0; i < n; ++i) {
                pos_h[size_t(i)] = 11 * i + 2;
                slots_h[size_t(i)] = (3 * i + 7) % capacity;
            }
            std::vector<float> inv_freq_h(size_t(hs.rope_dim / 2));
            for (int j = 0; j < hs.rope_dim / 2; ++j) inv_freq_h[size_t(j)] = std::pow(10000.0f, -2.0f * j / hs.rope_dim);
            TokenKvPool pool_g(*gpu, {1, hs.n_kv_head, hs.head_dim}, DType::I8, capacity);
            TokenKvPool pool_c(*cpu, {1, hs.n_kv_head, hs.head_dim}, DType::I8, capacity);
            Tensor q_g = g.make(dt, {n, int64_t(hs.n_head) * hs.head_dim});
            Tensor q_c = c.make(DType::F32, {n, int64_t(hs.n_head) * hs.head_dim});
            gpu->rope_store_kv(qkv_g, g.make_i32(pos_h), g.make(DType::F32, {hs.rope_dim / 2}, inv_freq_h.data()), hs,
                               g.make_i32(slots_h), pool_g.layer(0), q_g);
            cpu->rope_store_kv(c.make(DType::F32, {n, width}, qkv_h.data()), c.make_i32(pos_h),
                               c.make(DType::F32, {hs.rope_dim / 2}, inv_freq_h.data()), hs, c.make_i32(slots_h),
                               pool_c.layer(0), q_c);
            CHECK(nmse(g.to_host(q_g), c.to_host(q_c)) < tol);
            const int64_t n_codes = int64_t(capacity) * hs.n_kv_head * hs.head_dim;
            for (int side = 0; side < 2; ++side) {
                const KvLayer& lg = pool_g.layer(0);
                const KvLayer& lc = pool_c.layer(0);
                std::vector<int8_t> codes(static_cast<size_t>(n_codes));
                std::vector<float> scales(size_t(capacity) * hs.n_kv_head);
                gpu->download(side ? lg.v : lg.k, codes.data());
                gpu->download(side ? lg.v_scale : lg.k_scale, scales.data());
                gpu->synchronize();
                const int8_t* want = (side ? lc.v : lc.k).ptr<int8_t>();
                const float* want_scale = (side ? lc.v_scale : lc.k_scale).ptr<float>();
                int n_off_by_one = 0;
                for (int32_t s : slots_h) {
                    for (int h = 0; h < hs.n_kv_head; ++h) {
                        const int64_t head = int64_t(s) * hs.n_kv_head + h;
                        CHECK(std::fabs(scales[size_t(head)] - want_scale[head]) <= 1e-5f * want_scale[head]);
                        for (int d = 0; d < hs.head_dim; ++d) {
                            const int diff = std::abs(int(codes[size_t(head * hs.head_dim + d)]) -
                                                      int(want[head * hs.head_dim + d]));
                            CHECK(diff <= 1);
                            n_off_by_one += diff;
                        }
                    }
                }
                // Codes differ only where x / scale sits within rounding of a half.
                CHECK(n_off_by_one <= n * hs.n_kv_head * hs.head_dim / 100);
            }
        }

        SUBCASE("attention: prefill, cached-prefix prefill, decode, long decode") {
            const int capacity = 3000;
            const std::vector<std::vector<ReqSpec>> batches = {
                {{0, 37}, {0, 5}},                // prefill
                {{40, 24}, {3, 70}},              // prefill over a cached prefix (chunked)
                {{1, 1}, {63, 1}, {200, 1}},      // decode
                {{2500, 1}, {100, 1}},            // long decode (split along the sequence)
                {{30, 9}, {75, 1}},               // mixed
            };
            for (const HeadShape& hs : {HeadShape{9, 3, 64, 64}, HeadShape{8, 2, 128, 128}}) {
                CAPTURE(hs.head_dim);
                Arena g(*gpu), c(*cpu);
                CacheData cd(capacity, hs, 41);
                KvLayer lg = make_int8_layer(g, cd, capacity, hs);
                KvLayer lc = make_int8_layer(c, cd, capacity, hs);
                for (size_t bi = 0; bi < batches.size(); ++bi) {
                    CAPTURE(bi);
                    BatchHost bh(batches[bi], capacity, uint32_t(bi) + 1);
                    std::vector<float> raw = randn(size_t(bh.n_tokens) * hs.n_head * hs.head_dim, 1.0f, 50 + bi);
                    Tensor q_round = g.make(dt, {bh.n_tokens, int64_t(hs.n_head) * hs.head_dim}, raw.data());
                    std::vector<float> q = g.to_host(q_round);
                    for (const AttentionParams& p : attention_variants(hs.head_dim)) {
                        CAPTURE(p.sliding_window);
                        CAPTURE(p.alibi);
                        CHECK(nmse(run_attention(*gpu, q, lg, bh, hs, p), run_attention(*cpu, q, lc, bh, hs, p)) < tol);
                    }
                }
            }
        }
    }
}

TEST_CASE("kv_int8: --kv-cache-dtype int8 sizes the pool by real bytes (about twice the f16 tokens)") {
    EngineOptions opts;
    opts.model_path = test_data("kv_tiny_byte_llama");
    opts.device = DeviceChoice::Cpu;
    // About 64 MiB of the host's free memory: ~260k f16 tokens, below the
    // addressable cap (max_running_requests x max_context = 1M).
    opts.mem_fraction = float(double(64 << 20) / double(make_cpu_backend()->free_memory()));
    opts.max_running_requests = 1024;
    auto capacity_of = [&](const std::string& kv) {
        opts.kv_cache_dtype = parse_kv_cache_dtype(kv);
        ModelRunner runner(opts);
        return std::make_pair(runner.kv_pool().capacity(), runner.kv_pool().dtype());
    };
    const auto f16 = capacity_of("f16");
    const auto i8 = capacity_of("int8");
    CHECK(f16.second == DType::F16);
    CHECK(i8.second == DType::I8);
    // 2 layers x K,V x 1 head: 32 x 2 bytes in f16, 32 + 4 (scale) bytes in int8.
    const double ratio = double(i8.first) / double(f16.first);
    CHECK(ratio == doctest::Approx(64.0 / 36.0).epsilon(0.05));  // free memory moves a little between the two
    CHECK_THROWS_WITH_AS(parse_kv_cache_dtype("int4"), doctest::Contains("--kv-cache-dtype"), Error);
}
