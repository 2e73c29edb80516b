#include "cpu_cascade_attention.h"
#include "check.h"
#include "cpu_backend.h"
#include <algorithm>
#include <cmath>

namespace lightllm {

SoftmaxPartial attention_partial(const KvLayer& kv, const HeadShape& heads, float scale, const PartialQuery& pq) {
    const int hd = heads.head_dim, nkv = heads.n_kv_head;
    SoftmaxPartial p;
    p.acc.assign(size_t(hd), 0.0);
    if (pq.k1 <= pq.k0) return p;
    std::vector<float> scores(static_cast<size_t>(pq.k1 - pq.k0)), row(static_cast<size_t>(hd));
    for (int t = pq.k0; t < pq.k1; ++t) {
        load_kv_head(kv.k, kv.k_scale, pq.table_row[t], pq.kv_head, nkv, hd, row.data());
        float dot = 0.0f;
        for (int d = 0; d < hd; ++d) dot += pq.q[d] * row[size_t(d)];
        scores[size_t(t - pq.k0)] = dot * scale;
        p.m = std::max(p.m, dot * scale);
    }
    for (int t = pq.k0; t < pq.k1; ++t) {
        const double w = std::exp(double(scores[size_t(t - pq.k0)]) - double(p.m));
        p.l += w;
        load_kv_head(kv.v, kv.v_scale, pq.table_row[t], pq.kv_head, nkv, hd, row.data());
        for (int d = 0; d < hd; ++d) p.acc[size_t(d)] += w * row[size_t(d)];
    }
    return p;
}

void merge_partial(SoftmaxPartial& a, const SoftmaxPartial& b) {
    if (b.m == -INFINITY) return;
    if (a.m == -INFINITY) {
        a = b;
        return;
    }
    const float m = std::max(a.m, b.m);
    const double wa = std::exp(double(a.m) - m), wb = std::exp(double(b.m) - m);
    a.l = a.l * wa + b.l * wb;
    for (size_t d = 0; d < a.acc.size(); ++d) a.acc[d] = a.acc[d] * wa + b.acc[d] * wb;
    a.m = m;
}

void finish_partial(const SoftmaxPartial& p, int head_dim, float* out) {
    for (int d = 0; d < head_dim; ++d) out[d] = p.l > 0.0 ? float(p.acc[size_t(d)] / p.l) : 0.0f;
}

void cascade_decode_attention_cpu(const Tensor& q, const KvLayer& kv, const AttentionBatch& batch,
                                  const HeadShape& heads, float scale, Tensor& out) {
    const CascadeGroups& c = batch.cascade;
    if (c.n_groups == 0) return;
    LL_CHECK(q.device == Device::CPU && q.dtype == DType::F32 && out.dtype == DType::F32,
             "cascade attention (cpu): F32 host tensors only");
    const int nh = heads.n_head, hd = heads.head_dim, ratio = heads.n_head / heads.n_kv_head;
    const int32_t* group_start = c.group_start.ptr<int32_t>();
    const int32_t* members = c.members.ptr<int32_t>();
    const int32_t* shared_len = c.shared_len.ptr<int32_t>();
    const int32_t* q_start = batch.q_start.ptr<int32_t>();
    const int32_t* kv_len = batch.kv_len.ptr<int32_t>();
    const int32_t* req_rows = batch.req_rows.ptr<int32_t>();
    const int64_t stride = batch.table.dim(1);
    auto row_of = [&](int r) { return batch.table.ptr<int32_t>() + int64_t(req_rows[r]) * stride; };
    for (int g = 0; g < c.n_groups; ++g) {
        const int L = shared_len[g];
        const int32_t* anchor = row_of(members[group_start[g]]);
        for (int i = group_start[g]; i < group_start[g + 1]; ++i) {
            const int r = members[i];
            LL_CHECK(r >= 0 && r < batch.n_decode_first && q_start[r + 1] - q_start[r] == 1 && L < kv_len[r],
                     "cascade attention: member {} of group {} (shared {} of {} keys) is not a decode", r, g, L,
                     kv_len[r]);
            const int64_t token = q_start[r];
#pragma omp parallel for if (int64_t(nh) * kv_len[r] > 4096)
            for (int h = 0; h < nh; ++h) {
                const float* qh = q.ptr<float>() + (token * nh + h) * hd;
                SoftmaxPartial p = attention_partial(kv, heads, scale, {qh, anchor, 0, L, h / ratio});
                merge_partial(p, attention_partial(kv, heads, scale, {qh, row_of(r), L, kv_len[r], h / ratio}));
                finish_partial(p, hd, out.ptr<float>() + (token * nh + h) * hd);
            }
        }
    }
}

}  // namespace lightllm
