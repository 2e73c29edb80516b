// The CPU reference backend, op by op, against direct computations written
// differently (double precision, dense masks, complex rotation), plus the
// properties the engine relies on: GQA, ragged batches, reading K/V through
// the table, chunked (cached-prefix) attention == one full prefill.
// Tolerance: 1e-5 absolute on O(1) values (fp32 vs double).
#include "counter_rng.h"
#include "cpu_backend.h"
#include "half_convert.h"
#include <cmath>
#include <complex>
#include <doctest/doctest.h>
#include <cstring>
#include <numeric>
#include <random>

using namespace lightllm;

namespace {

struct Owned {
    CpuBackend be;
    std::vector<Tensor> ts;
    ~Owned() {
        for (Tensor& t : ts) be.free(t);
    }
    Tensor f32(std::initializer_list<int64_t> shape, const std::vector<float>& v) {
        Tensor t = be.alloc(DType::F32, shape);
        REQUIRE(size_t(t.numel()) == v.size());
        be.upload(t, v.data(), DType::F32);
        ts.push_back(t);
        return t;
    }
    Tensor i32(std::initializer_list<int64_t> shape, const std::vector<int32_t>& v) {
        Tensor t = be.alloc(DType::I32, shape);
        REQUIRE(size_t(t.numel()) == v.size());
        if (!v.empty()) be.upload(t, v.data(), DType::I32);
        ts.push_back(t);
        return t;
    }
    Tensor zeros(DType dt, std::initializer_list<int64_t> shape) {
        ts.push_back(be.alloc(dt, shape));
        return ts.back();
    }
};

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = scale * normal01(seed, i);
    return v;
}

std::vector<float> host(const Tensor& t) {
    std::vector<float> v(size_t(t.numel()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = t.ptr<float>()[i];
    return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
    return m;
}

}  // namespace

TEST_CASE("half_convert: every f16 round-trips, bf16 rounds to nearest even") {
    int mismatches = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = f16_to_f32(uint16_t(h));
        if (std::isnan(f)) continue;
        if (f32_to_f16(f) != h) ++mismatches;
    }
    CHECK(mismatches == 0);
    CHECK(f16_to_f32(0x3c00) == 1.0f);
    CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
    CHECK(f16_to_f32(0x7bff) == 65504.0f);
    CHECK(f32_to_f16(1e6f) == 0x7c00);                    // overflow -> inf
    CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie -> even
    CHECK(bf16_to_f32(f32_to_bf16(1.0f)) == 1.0f);
    CHECK(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);  // tie -> even (down)
    CHECK(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie -> even (up)
    CHECK(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST_CASE("cpu upload converts f16 / bf16 / i8 / i32 sources; fill_random is seeded normal") {
    Owned o;
    Tensor t = o.zeros(DType::F32, {4});
    const uint16_t h[4] = {f32_to_f16(1.5f), f32_to_f16(-2.0f), f32_to_f16(0.0f), f32_to_f16(65504.0f)};
    o.be.upload(t, h, DType::F16);
    CHECK(host(t) == std::vector<float>{1.5f, -2.0f, 0.0f, 65504.0f});
    const uint16_t b[4] = {f32_to_bf16(3.0f), f32_to_bf16(-0.5f), f32_to_bf16(7.0f), f32_to_bf16(1e30f)};
    o.be.upload(t, b, DType::BF16);
    CHECK(host(t)[0] == 3.0f);
    CHECK(host(t)[3] == bf16_to_f32(f32_to_bf16(1e30f)));
    const int8_t q[4] = {-128, -1, 0, 127};
    o.be.upload(t, q, DType::I8);
    CHECK(host(t) == std::vector<float>{-128.0f, -1.0f, 0.0f, 127.0f});
    Tensor i = o.zeros(DType::I32, {3});
    const int32_t iv[3] = {7, -3, 2000000000};
    o.be.upload(i, iv, DType::I32);
    CHECK(i.ptr<int32_t>()[2] == 2000000000);
    Tensor h16 = o.zeros(DType::F16, {2});
    const float fv[2] = {0.1f, -3.0f};
    o.be.upload(h16, fv, DType::F32);
    CHECK(h16.ptr<uint16_t>()[0] == f32_to_f16(0.1f));
    uint16_t back[2];
    o.be.download(h16, back);
    CHECK(back[1] == f32_to_f16(-3.0f));
    // A file's data may start at an odd address (a safetensors header of odd length).
    alignas(8) unsigned char odd[1 + sizeof b];
    std::memcpy(odd + 1, b, sizeof b);
    o.be.upload(t, odd + 1, DType::BF16);
    CHECK(host(t)[0] == 3.0f);
    CHECK(host(t)[1] == -0.5f);

    Tensor r = o.zeros(DType::F32, {20000});
    o.be.fill_random(r, 42, 0.5f);
    double mean = 0.0, sq = 0.0;
    for (float x : host(r)) {
        mean += x;
        sq += double(x) * x;
    }
    mean /= 20000.0;
    const double sd = std::sqrt(sq / 20000.0 - mean * mean);
    CHECK(std::fabs(mean) < 0.02);
    CHECK(sd == doctest::Approx(0.5).epsilon(0.03));
    Tensor r2 = o.zeros(DType::F32, {20000});
    o.be.fill_random(r2, 42, 0.5f);
    CHECK(host(r) == host(r2));
    o.be.fill_random(r2, 43, 0.5f);
    CHECK(host(r) != host(r2));
}

TEST_CASE("cpu embedding, rms_norm, add_rms_norm, layer_norm, gather_rows, to_f32") {
    Owned o;
    const int V = 7, D = 12, N = 5;
    const std::vector<float> table_v = randn(V * D, 1), w_v = randn(D, 2), b_v = randn(D, 3);
    Tensor table = o.f32({V, D}, table_v), w = o.f32({D}, w_v), b = o.f32({D}, b_v);
    const std::vector<int32_t> ids_v = {3, 0, 6, 3, 1};
    Tensor ids = o.i32({N}, ids_v);
    Tensor x = o.zeros(DType::F32, {N, D});
    o.be.embedding(ids, table, x);
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < D; ++j) CHECK(x.ptr<float>()[i * D + j] == table_v[size_t(ids_v[size_t(i)] * D + j)]);

    const std::vector<float> xv = host(x);
    Tensor y = o.zeros(DType::F32, {N, D});
    o.be.rms_norm(x, w, y, 1e-5f);
    std::vector<double> want(size_t(N * D));
    for (int i = 0; i < N; ++i) {
        double ms = 0.0;
        for (int j = 0; j < D; ++j) ms += double(xv[size_t(i * D + j)]) * xv[size_t(i * D + j)] / D;
        for (int j = 0; j < D; ++j) want[size_t(i * D + j)] = xv[size_t(i * D + j)] / std::sqrt(ms + 1e-5) * w_v[size_t(j)];
    }
    CHECK(max_abs_diff(host(y), want) < 1e-5);

    const std::vector<float> dv = randn(N * D, 4);
    Tensor delta = o.f32({N, D}, dv);
    o.be.add_rms_norm(x, delta, w, y, 1e-5f);
    std::vector<double> sum(size_t(N * D));
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = double(xv[i]) + dv[i];
    CHECK(max_abs_diff(host(x), sum) < 1e-6);  // residual updated in place
    for (int i = 0; i < N; ++i) {
        double ms = 0.0;
        for (int j = 0; j < D; ++j) ms += sum[size_t(i * D + j)] * sum[size_t(i * D + j)] / D;
        for (int j = 0; j < D; ++j) want[size_t(i * D + j)] = sum[size_t(i * D + j)] / std::sqrt(ms + 1e-5) * w_v[size_t(j)];
    }
    CHECK(max_abs_diff(host(y), want) < 1e-5);

    const std::vector<float> x2 = host(x);
    o.be.layer_norm(x, w, b, y, 1e-5f);
    for (int i = 0; i < N; ++i) {
        double mean = 0.0, var = 0.0;
        for (int j = 0; j < D; ++j) mean += x2[size_t(i * D + j)] / double(D);
        for (int j = 0; j < D; ++j) var += std::pow(x2[size_t(i * D + j)] - mean, 2) / D;
        for (int j = 0; j < D; ++j)
            want[size_t(i * D + j)] = (x2[size_t(i * D + j)] - mean) / std::sqrt(var + 1e-5) * w_v[size_t(j)] + b_v[size_t(j)];
    }
    CHECK(max_abs_diff(host(y), want) < 1e-5);

    Tensor rows = o.i32({3}, {4, 0, 4});
    Tensor g = o.zeros(DType::F32, {3, D});
    o.be.gather_rows(x, rows, g);
    for (int j = 0; j < D; ++j) {
        CHECK(g.ptr<float>()[j] == x2[size_t(4 * D + j)]);
        CHECK(g.ptr<float>()[D + j] == x2[size_t(j)]);
        CHECK(g.ptr<float>()[2 * D + j] == x2[size_t(4 * D + j)]);
    }
    Tensor h = o.zeros(DType::BF16, {N, D}), f = o.zeros(DType::F32, {N, D});
    o.be.upload(h, x2.data(), DType::F32);
    o.be.to_f32(h, f);
    for (size_t i = 0; i < x2.size(); ++i) CHECK(f.ptr<float>()[i] == bf16_to_f32(f32_to_bf16(x2[i])));
}

TEST_CASE("cpu linear (with and without bias), silu_mul, gelu, add") {
    Owned o;
    const int N = 3, K = 37, M = 11;
    const std::vector<float> xv = randn(N * K, 5), wv = randn(M * K, 6), bv = randn(M, 7);
    Tensor x = o.f32({N, K}, xv), w = o.f32({M, K}, wv), b = o.f32({M}, bv), none;
    Tensor y = o.zeros(DType::F32, {N, M});
    std::vector<double> want(size_t(N * M));
    for (int with_bias = 0; with_bias < 2; ++with_bias) {
        o.be.linear(x, w, with_bias ? b : none, y);
        for (int i = 0; i < N; ++i)
            for (int m = 0; m < M; ++m) {
                double acc = with_bias ? bv[size_t(m)] : 0.0;
                for (int k = 0; k < K; ++k) acc += double(xv[size_t(i * K + k)]) * wv[size_t(m * K + k)];
                want[size_t(i * M + m)] = acc;
            }
        CHECK(max_abs_diff(host(y), want) < 1e-4);
    }

    const int F = 9;
    const std::vector<float> gu = randn(N * 2 * F, 8, 3.0f);
    Tensor gate_up = o.f32({N, 2 * F}, gu), act = o.zeros(DType::F32, {N, F});
    o.be.silu_mul(gate_up, act);
    std::vector<double> sw(size_t(N * F));
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < F; ++j) {
            const double g = gu[size_t(i * 2 * F + j)], u = gu[size_t(i * 2 * F + F + j)];
            sw[size_t(i * F + j)] = g / (1.0 + std::exp(-g)) * u;
        }
    CHECK(max_abs_diff(host(act), sw) < 1e-5);

    Tensor gl = o.zeros(DType::F32, {N, 2 * F});
    o.be.gelu(gate_up, gl);
    std::vector<double> gw(gu.size());
    for (size_t i = 0; i < gu.size(); ++i) {
        const double v = gu[i];
        gw[i] = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    }
    CHECK(max_abs_diff(host(gl), gw) < 1e-5);

    Tensor s = o.zeros(DType::F32, {N, 2 * F});
    o.be.add(gate_up, gl, s);
    std::vector<double> aw(gu.size());
    for (size_t i = 0; i < gu.size(); ++i) aw[i] = double(gu[i]) + double(gl.ptr<float>()[i]);
    CHECK(max_abs_diff(host(s), aw) < 1e-6);
}

namespace {

// A ragged batch of requests for rope_store_kv + attention tests.
struct AttnCase {
    int nh, nkv, hd, rd;
    std::vector<int> n_cached, n_new;
    int window = 0;
    bool alibi = false;
};

// Dense reference: per request, q/k/v of all its tokens (positions 0..len-1)
// from one generator; causal softmax in double over explicitly rotated
// vectors; GQA by mapping head h to kv head h / (nh / nkv).
struct DenseRef {
    std::vector<std::vector<float>> qkv;  // per request: [len, (nh + 2 nkv) hd]
};

std::vector<float> rotate(const float* x, int hd, int rd, int pos, const std::vector<float>& inv_freq) {
    std::vector<float> y(x, x + hd);
    for (int j = 0; j < rd / 2; ++j) {
        const std::complex<double> z(x[j], x[j + rd / 2]);
        const std::complex<double> r = z * std::polar(1.0, double(float(pos) * inv_freq[size_t(j)]));
        y[size_t(j)] = float(r.real());
        y[size_t(j + rd / 2)] = float(r.imag());
    }
    return y;
}

// Runs the backend: for each "phase" (list of n_new per request), writes the
// new tokens' K/V and attends; returns attention outputs of every token of
// every request in request order, position order.
std::vector<std::vector<float>> run_backend(Owned& o, const AttnCase& c, const DenseRef& ref,
                                            const std::vector<std::vector<int>>& phases, DType kv_dtype,
                                            const std::vector<float>& inv_freq) {
    const int n_req = int(c.n_new.size()), width = (c.nh + 2 * c.nkv) * c.hd, qd = c.nh * c.hd;
    const int max_ctx = 64, capacity = 256;
    KvLayer kv;
    kv.k = o.zeros(kv_dtype, {capacity, c.nkv, c.hd});
    kv.v = o.zeros(kv_dtype, {capacity, c.nkv, c.hd});
    if (kv_dtype == DType::I8) {
        kv.k_scale = o.zeros(DType::F32, {capacity, c.nkv});
        kv.v_scale = o.zeros(DType::F32, {capacity, c.nkv});
    }
    // Slots scattered: request r token p -> (r * 37 + p * 11) % capacity, all distinct here.
    auto slot_of = [&](int r, int p) { return (r * 97 + p * 13 + 5) % capacity; };
    std::vector<int32_t> rows_of(static_cast<size_t>(n_req));
    for (int r = 0; r < n_req; ++r) rows_of[size_t(r)] = (r * 2 + 1) % 8;  // not 0..n-1
    Tensor table = o.zeros(DType::I32, {8, max_ctx});
    Tensor inv = o.f32({int64_t(inv_freq.size())}, inv_freq);
    HeadShape heads{c.nh, c.nkv, c.hd, c.rd};
    AttentionParams params;
    params.scale = 1.0f / std::sqrt(float(c.hd));
    params.sliding_window = c.window;
    params.alibi = c.alibi;
    std::vector<std::vector<float>> out(static_cast<size_t>(n_req));
    std::vector<int> done(size_t(n_req), 0);
    for (const std::vector<int>& phase : phases) {
        std::vector<float> qkv;
        std::vector<int32_t> pos, slots, trow, q_start{0}, kv_len, req_rows;
        for (int r = 0; r < n_req; ++r) {
            for (int j = 0; j < phase[size_t(r)]; ++j) {
                const int p = done[size_t(r)] + j;
                qkv.insert(qkv.end(), ref.qkv[size_t(r)].begin() + p * width, ref.qkv[size_t(r)].begin() + (p + 1) * width);
                pos.push_back(p);
                slots.push_back(slot_of(r, p));
                trow.push_back(rows_of[size_t(r)]);
            }
            if (phase[size_t(r)] == 0) continue;
            q_start.push_back(int32_t(pos.size()));
            kv_len.push_back(done[size_t(r)] + phase[size_t(r)]);
            req_rows.push_back(rows_of[size_t(r)]);
        }
        const int n = int(pos.size());
        Tensor tqkv = o.f32({n, width}, qkv), tpos = o.i32({n}, pos), tslots = o.i32({n}, slots);
        o.be.set_token_slots(table, o.i32({n}, trow), tpos, tslots);
        Tensor q = o.zeros(DType::F32, {n, qd}), att = o.zeros(DType::F32, {n, qd});
        o.be.rope_store_kv(tqkv, tpos, inv, heads, tslots, kv, q);
        AttentionBatch b;
        b.q_start = o.i32({int64_t(q_start.size())}, q_start);
        b.kv_len = o.i32({int64_t(kv_len.size())}, kv_len);
        b.req_rows = o.i32({int64_t(req_rows.size())}, req_rows);
        b.table = table;
        b.n_reqs = int(req_rows.size());
        b.n_tokens = n;
        o.be.attention(q, kv, b, heads, params, att);
        int row = 0;
        for (int r = 0; r < n_req; ++r) {
            for (int j = 0; j < phase[size_t(r)]; ++j, ++row)
                out[size_t(r)].insert(out[size_t(r)].end(), att.ptr<float>() + row * qd, att.ptr<float>() + (row + 1) * qd);
            done[size_t(r)] += phase[size_t(r)];
        }
    }
    return out;
}

std::vector<double> dense_attention(const AttnCase& c, const DenseRef& ref, int r, const std::vector<float>& inv_freq) {
    const int len = c.n_cached[size_t(r)] + c.n_new[size_t(r)], width = (c.nh + 2 * c.nkv) * c.hd;
    const std::vector<float>& x = ref.qkv[size_t(r)];
    std::vector<double> out;
    for (int p = 0; p < len; ++p) {
        for (int h = 0; h < c.nh; ++h) {
            const int g = h / (c.nh / c.nkv);
            const std::vector<float> q = rotate(&x[size_t(p * width + h * c.hd)], c.hd, c.rd, p, inv_freq);
            std::vector<double> w(size_t(len), 0.0);
            double mx = -1e300;
            for (int t = 0; t < len; ++t) {
                const bool visible = t <= p && (c.window == 0 || p - t < c.window);
                if (!visible) continue;
                const std::vector<float> k =
                    rotate(&x[size_t(t * width + (c.nh + g) * c.hd)], c.hd, c.rd, t, inv_freq);
                double dot = 0.0;
                for (int d = 0; d < c.hd; ++d) dot += double(q[size_t(d)]) * k[size_t(d)];
                w[size_t(t)] = dot / std::sqrt(double(c.hd)) + (c.alibi ? alibi_slope(h, c.nh) * double(t - p) : 0.0);
                mx = std::max(mx, w[size_t(t)]);
            }
            double z = 0.0;
            for (int t = 0; t <= p; ++t) {
                const bool visible = c.window == 0 || p - t < c.window;
                w[size_t(t)] = visible ? std::exp(w[size_t(t)] - mx) : 0.0;
                z += w[size_t(t)];
            }
            for (int d = 0; d < c.hd; ++d) {
                double acc = 0.0;
                for (int t = 0; t <= p; ++t) acc += w[size_t(t)] / z * x[size_t(t * width + (c.nh + c.nkv + g) * c.hd + d)];
                out.push_back(acc);
            }
        }
    }
    return out;
}

void check_case(const AttnCase& c, DType kv_dtype, double tol) {
    Owned o;
    const int width = (c.nh + 2 * c.nkv) * c.hd;
    DenseRef ref;
    for (size_t r = 0; r < c.n_new.size(); ++r)
        ref.qkv.push_back(randn(size_t((c.n_cached[r] + c.n_new[r]) * width), 100 + r));
    std::vector<float> inv_freq(size_t(c.rd / 2));
    for (int j = 0; j < c.rd / 2; ++j) inv_freq[size_t(j)] = float(std::pow(10000.0, -2.0 * j / c.rd));
    // Phase 1 writes the cached prefixes (with their own attention), phase 2
    // the new tokens as one ragged batch.
    const std::vector<std::vector<int>> phases = {c.n_cached, c.n_new};
    const auto got = run_backend(o, c, ref, phases, kv_dtype, inv_freq);
    for (size_t r = 0; r < c.n_new.size(); ++r) {
        CAPTURE(r);
        const std::vector<double> want = dense_attention(c, ref, int(r), inv_freq);
        CHECK(max_abs_diff(got[r], want) < tol);
    }
}

}  // namespace

TEST_CASE("cpu rope_store_kv: q rotated, k rotated into its slot, v copied, partial rotary") {
    Owned o;
    const int nh = 2, nkv = 1, hd = 8, rd = 4, n = 3, width = (nh + 2 * nkv) * hd;
    const std::vector<float> x = randn(size_t(n * width), 9);
    const std::vector<float> inv_freq = {1.0f, 0.1f};
    const std::vector<int32_t> pos = {0, 5, 17}, slots = {6, 2, 4};
    KvLayer kv;
    kv.k = o.zeros(DType::F32, {8, nkv, hd});
    kv.v = o.zeros(DType::F32, {8, nkv, hd});
    Tensor q = o.zeros(DType::F32, {n, nh * hd});
    o.be.rope_store_kv(o.f32({n, width}, x), o.i32({n}, pos), o.f32({2}, inv_freq), HeadShape{nh, nkv, hd, rd},
                       o.i32({n}, slots), kv, q);
    for (int i = 0; i < n; ++i) {
        for (int h = 0; h < nh; ++h) {
            const std::vector<float> want = rotate(&x[size_t(i * width + h * hd)], hd, rd, pos[size_t(i)], inv_freq);
            for (int d = 0; d < hd; ++d) CHECK(q.ptr<float>()[i * nh * hd + h * hd + d] == doctest::Approx(want[size_t(d)]).epsilon(1e-5));
        }
        const std::vector<float> k = rotate(&x[size_t(i * width + nh * hd)], hd, rd, pos[size_t(i)], inv_freq);
        for (int d = 0; d < hd; ++d) {
            CHECK(kv.k.ptr<float>()[slots[size_t(i)] * hd + d] == doctest::Approx(k[size_t(d)]).epsilon(1e-5));
            CHECK(kv.v.ptr<float>()[slots[size_t(i)] * hd + d] == x[size_t(i * width + (nh + nkv) * hd + d)]);
        }
        for (int d = rd; d < hd; ++d) CHECK(q.ptr<float>()[i * nh * hd + d] == x[size_t(i * width + d)]);  // not rotated
    }
}

TEST_CASE("cpu attention: ragged batch with cached prefixes equals dense causal attention") {
    SUBCASE("MHA") { check_case({4, 4, 16, 16, {0, 3, 7}, {5, 1, 4}}, DType::F32, 1e-5); }
    SUBCASE("GQA 8/2") { check_case({8, 2, 8, 8, {2, 0, 9, 1}, {3, 6, 1, 1}}, DType::F32, 1e-5); }
    SUBCASE("MQA, partial rotary") { check_case({4, 1, 16, 8, {4, 0}, {2, 5}}, DType::F32, 1e-5); }
    SUBCASE("sliding window 4") { check_case({4, 2, 8, 8, {6, 0}, {5, 12}, 4}, DType::F32, 1e-5); }
    SUBCASE("ALiBi, no rope") { check_case({4, 4, 8, 0, {3, 0}, {4, 6}, 0, true}, DType::F32, 1e-5); }
    SUBCASE("ALiBi, 6 heads (not a power of two)") { check_case({6, 6, 8, 0, {0}, {7}, 0, true}, DType::F32, 1e-5); }
    SUBCASE("f16 KV cache") { check_case({4, 2, 16, 16, {3, 1}, {4, 2}}, DType::F16, 5e-3); }
    SUBCASE("bf16 KV cache") { check_case({4, 2, 16, 16, {3, 1}, {4, 2}}, DType::BF16, 3e-2); }
    SUBCASE("int8 KV cache") { check_case({4, 2, 16, 16, {3, 1}, {4, 2}}, DType::I8, 5e-2); }
}

TEST_CASE("cpu attention: chunked prefill and one-by-one decode equal a full prefill") {
    Owned o;
    const AttnCase c{4, 2, 8, 8, {0}, {11}};
    const int width = (c.nh + 2 * c.nkv) * c.hd;
    DenseRef ref;
    ref.qkv.push_back(randn(size_t(11 * width), 77));
    std::vector<float> inv_freq(4);
    for (int j = 0; j < 4; ++j) inv_freq[size_t(j)] = float(std::pow(10000.0, -2.0 * j / 8));
    const auto full = run_backend(o, c, ref, {{11}}, DType::F32, inv_freq)[0];
    const auto chunked = run_backend(o, c, ref, {{4}, {3}, {4}}, DType::F32, inv_freq)[0];
    std::vector<std::vector<int>> ones(11, std::vector<int>{1});
    const auto decode = run_backend(o, c, ref, ones, DType::F32, inv_freq)[0];
    REQUIRE(full.size() == chunked.size());
    REQUIRE(full.size() == decode.size());
    double d1 = 0.0, d2 = 0.0;
    for (size_t i = 0; i < full.size(); ++i) {
        d1 = std::max(d1, double(std::fabs(full[i] - chunked[i])));
        d2 = std::max(d2, double(std::fabs(full[i] - decode[i])));
    }
    CHECK(d1 < 1e-6);
    CHECK(d2 < 1e-6);
}

TEST_CASE("cpu set_token_slots writes table[row, pos]") {
    Owned o;
    Tensor table = o.zeros(DType::I32, {3, 5});
    o.be.set_token_slots(table, o.i32({3}, {2, 0, 2}), o.i32({3}, {4, 0, 1}), o.i32({3}, {11, 12, 13}));
    CHECK(table.ptr<int32_t>()[2 * 5 + 4] == 11);
    CHECK(table.ptr<int32_t>()[0] == 12);
    CHECK(table.ptr<int32_t>()[2 * 5 + 1] == 13);
    CHECK(table.ptr<int32_t>()[1] == 0);
}

TEST_CASE("alibi slopes follow BLOOM's rule") {
    CHECK(alibi_slope(0, 8) == doctest::Approx(0.5));
    CHECK(alibi_slope(7, 8) == doctest::Approx(std::pow(2.0, -8.0)));
    // 12 heads: 8 from 2^(-8/8 * k), then 4 from odd powers of 2^(-4/8)
    CHECK(alibi_slope(8, 12) == doctest::Approx(std::pow(2.0, -0.5)));
    CHECK(alibi_slope(9, 12) == doctest::Approx(std::pow(2.0, -1.5)));
}
