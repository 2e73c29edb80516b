// TokenKvPool and ReqToTokenTable: slot / row accounting and tensor shapes.
#include "cpu_backend.h"
#include "req_to_token_table.h"
#include "token_kv_pool.h"
#include <algorithm>
#include <doctest/doctest.h>
#include <set>

using namespace lightllm;

TEST_CASE("kv pool: alloc and free keep free + used == capacity, slots unique") {
    TokenKvPool pool(10);
    std::vector<int32_t> a, b;
    CHECK(pool.alloc(4, a));
    CHECK(pool.alloc(6, b));
    CHECK(pool.n_free() == 0);
    CHECK(pool.n_used() == 10);
    std::set<int32_t> all(a.begin(), a.end());
    all.insert(b.begin(), b.end());
    CHECK(all.size() == 10);
    CHECK(*all.begin() == 0);
    CHECK(*all.rbegin() == 9);
    std::vector<int32_t> c;
    CHECK_FALSE(pool.alloc(1, c));  // full: takes nothing
    CHECK(c.empty());
    pool.free(a);
    CHECK(pool.n_free() == 4);
    CHECK(pool.alloc(3, c));
    CHECK(c.size() == 3);
    for (int32_t s : c) CHECK(std::find(a.begin(), a.end(), s) != a.end());  // reuses freed slots
    CHECK(pool.n_free() + pool.n_used() == pool.capacity());
    CHECK_FALSE(pool.alloc(2, c));
    CHECK(c.size() == 3);
    CHECK(pool.alloc(0, c));
}

TEST_CASE("kv pool: tensors per layer with the requested dtype and shapes") {
    CpuBackend be;
    const KvPoolShape shape{3, 2, 8};
    TokenKvPool pool(be, shape, DType::F16, 32);
    CHECK(pool.capacity() == 32);
    CHECK(pool.dtype() == DType::F16);
    for (int il = 0; il < 3; ++il) {
        CHECK(pool.layer(il).k.shape_str() == "[32, 2, 8]");
        CHECK(pool.layer(il).v.dtype == DType::F16);
        CHECK(pool.layer(il).k_scale.empty());
    }
    TokenKvPool q(be, shape, DType::I8, 16);
    CHECK(q.layer(2).k.dtype == DType::I8);
    CHECK(q.layer(2).v_scale.shape_str() == "[16, 2]");
    CHECK(kv_bytes_per_token(shape, DType::F16) == 3 * 2 * 2 * 8 * 2);
    CHECK(kv_bytes_per_token(shape, DType::I8) == 3 * 2 * (2 * 8 + 2 * 4));
    CHECK(kv_bytes_per_token(shape, DType::F32) == 3 * 2 * 2 * 8 * 4);
}

TEST_CASE("req_to_token table: rows handed out once, zeroed table of the right shape") {
    CpuBackend be;
    ReqToTokenTable t(be, 3, 16);
    CHECK(t.table().shape_str() == "[3, 16]");
    for (int i = 0; i < 3 * 16; ++i) CHECK(t.table().ptr<int32_t>()[i] == 0);
    const int r0 = t.alloc_row(), r1 = t.alloc_row(), r2 = t.alloc_row();
    CHECK(std::set<int>{r0, r1, r2} == std::set<int>{0, 1, 2});
    CHECK(t.alloc_row() == -1);
    CHECK(t.n_free_rows() == 0);
    t.free_row(r1);
    CHECK(t.n_free_rows() == 1);
    CHECK(t.alloc_row() == r1);
    ReqToTokenTable plain(2);
    CHECK(plain.max_requests() == 2);
    CHECK(plain.alloc_row() >= 0);
}
