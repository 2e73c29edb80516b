// The prefix cache's radix tree on its own (match, insert, lock, LRU
// eviction) and a fuzz test of random admit / prefill / finish / cancel /
// evict sequences through RequestPrefixCache: every slot owned exactly once,
// lock counts equal to the requests holding them, every matched slot holding
// the K/V of exactly the prefix it was matched for, and the pool empty after
// all requests end and the cache is flushed.
#include "request_prefix.h"
#include <doctest/doctest.h>
#include <map>
#include <memory>
#include <random>
#include <set>

using namespace lightllm;

namespace {

std::vector<int32_t> alloc(TokenKvPool& pool, int n) {
    std::vector<int32_t> s;
    REQUIRE(pool.alloc(n, s));
    return s;
}

}  // namespace

TEST_CASE("radix cache: exact longest prefix, splits mid-edge, duplicates stay the caller's") {
    TokenKvPool pool(64);
    RadixCache tree(pool);
    const std::vector<int32_t> a{1, 2, 3, 4, 5};
    const std::vector<int32_t> sa = alloc(pool, 5);
    int n_existing = -1;
    tree.insert(a.data(), sa.data(), 5, n_existing);
    CHECK(n_existing == 0);
    CHECK(tree.n_tokens() == 5);
    CHECK(tree.n_evictable() == 5);

    std::vector<int32_t> got;
    const std::vector<int32_t> b{1, 2, 3, 9, 9};
    PrefixMatch m = tree.match(b.data(), 5, got);
    CHECK(m.n == 3);
    CHECK(got == std::vector<int32_t>(sa.begin(), sa.begin() + 3));
    CHECK(tree.root().children.size() == 1);
    CHECK(tree.root().children.at(1)->tokens == std::vector<int32_t>{1, 2, 3});  // split at the match's end
    CHECK(tree.cached_prefix(b.data(), 5) == 3);
    CHECK(tree.cached_prefix(a.data(), 4) == 4);
    CHECK(tree.check({}) == "");

    // b's own K/V for 1,2,3 are copies: the tree keeps its slots, b frees its.
    const std::vector<int32_t> sb = alloc(pool, 5);
    tree.insert(b.data(), sb.data(), 5, n_existing);
    CHECK(n_existing == 3);
    pool.free(sb.data(), 3);
    CHECK(tree.n_tokens() == 7);
    CHECK(pool.n_used() == 7);
    got.clear();
    CHECK(tree.match(b.data(), 5, got).n == 5);
    CHECK(got == std::vector<int32_t>{sa[0], sa[1], sa[2], sb[3], sb[4]});
    CHECK(tree.check({}) == "");
    got.clear();
    const std::vector<int32_t> c{7, 7};
    m = tree.match(c.data(), 2, got);
    CHECK(m.n == 0);
    CHECK(m.node == &tree.root());
    CHECK(got.empty());
}

TEST_CASE("radix cache: locked paths survive eviction, the least recently used leaf goes first") {
    TokenKvPool pool(64);
    RadixCache tree(pool);
    const std::vector<int32_t> sys{5, 6, 7, 8};
    std::vector<std::vector<int32_t>> seqs;
    for (int32_t q = 0; q < 3; ++q) {
        std::vector<int32_t> t = sys;
        t.insert(t.end(), {10 + q, 20 + q});
        seqs.push_back(t);
        std::vector<int32_t> slots = alloc(pool, 6);
        int n_existing = 0;
        tree.insert(t.data(), slots.data(), 6, n_existing);
        pool.free(slots.data(), size_t(n_existing));
    }
    CHECK(tree.n_tokens() == 4 + 3 * 2);
    std::vector<int32_t> got;
    PrefixMatch m = tree.match(seqs[0].data(), 6, got);  // seqs[0] is now the most recent
    CHECK(m.n == 6);
    tree.lock(m.node);
    CHECK(tree.n_locked() == 6);
    CHECK(tree.n_evictable() == 4);
    CHECK(tree.check({m.node}) == "");
    CHECK(tree.check({}) != "");  // the lock is seen

    CHECK(tree.evict(1) == 2);  // seqs[1]'s leaf: the least recently used
    got.clear();
    CHECK(tree.match(seqs[1].data(), 6, got).n == 4);
    CHECK(tree.match(seqs[2].data(), 6, got).n == 6);
    CHECK(tree.evict(100) == 2);  // seqs[1]'s leaf was removed already; seqs[2]'s goes; the locked path stays
    CHECK(tree.n_tokens() == 6);
    CHECK(pool.n_used() == 6);
    CHECK(tree.check({m.node}) == "");
    tree.unlock(m.node);
    CHECK(tree.n_evictable() == 6);
    tree.flush();
    CHECK(pool.n_used() == 0);
    CHECK(tree.check({}) == "");
}

// A fuzz test: requests over a 3-token alphabet (much sharing) are admitted
// (cached prefix + own slots for the rest, evicting when short), prefilled in
// chunks (each chunk shared into the tree), finished or cancelled, while the
// pool is tight. A slot "holds the K/V" of the prefix whose hash it was
// written with; every match must hand out slots written for exactly the
// matched prefix.
TEST_CASE("radix cache: random admit / prefill / finish / cancel / evict keep every invariant") {
    std::mt19937 rng(2024);
    auto uni = [&](int lo, int hi) { return lo + int(rng() % uint32_t(hi - lo + 1)); };
    int64_t total_hits = 0, total_evicted = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const int64_t capacity = uni(40, 300);
        TokenKvPool pool(capacity);
        std::vector<uint64_t> written(size_t(capacity), 0);  // prefix hash each slot's K/V was computed for
        auto prefix_hash = [](const EngineRequest& r, int p) {
            uint64_t h = 1469598103934665603ull;
            for (int i = 0; i <= p; ++i) h = (h ^ uint64_t(r.token_at(i) + 1)) * 1099511628211ull;
            return h;
        };
        {
            RequestPrefixCache cache(pool);
            std::map<int, std::unique_ptr<EngineRequest>> live;
            int next_id = 0;
            for (int op = 0; op < 400; ++op) {
                const int kind = uni(0, 9);
                if (kind <= 3 || live.empty()) {  // admit a new request
                    auto r = std::make_unique<EngineRequest>();
                    r->id = uint64_t(next_id++);
                    const int n = uni(1, 40);
                    for (int i = 0; i < n; ++i) r->prompt.push_back(int32_t(uni(0, 2)));
                    const int hit = cache.attach(*r);
                    CHECK(hit <= n - 1);
                    REQUIRE(r->n_cached() == hit);
                    for (int p = 0; p < hit; ++p) REQUIRE(written[size_t(r->slots[size_t(p)])] == prefix_hash(*r, p));
                    total_hits += hit;
                    live[int(r->id)] = std::move(r);
                } else {
                    auto it = live.begin();
                    std::advance(it, uni(0, int(live.size()) - 1));
                    EngineRequest& r = *it->second;
                    if (kind <= 6 && r.n_pending() > 0) {  // prefill a chunk (evicting when the pool is short)
                        const int n_new = std::min(r.n_pending(), uni(1, 16));
                        if (pool.n_free() < n_new) total_evicted += cache.tree().evict(n_new - pool.n_free());
                        if (!pool.alloc(n_new, r.slots)) {  // no room: cancel it, nothing cached
                            cache.detach(r, false);
                            live.erase(it);
                        } else {
                            for (int p = r.n_cached() - n_new; p < r.n_cached(); ++p)
                                written[size_t(r.slots[size_t(p)])] = prefix_hash(r, p);
                            if (uni(0, 1)) r.output.push_back(int32_t(uni(0, 2)));  // it sampled a token
                            cache.share(r);
                        }
                    } else if (kind <= 8) {  // finish or cancel, keeping what was computed
                        cache.detach(r, true);
                        live.erase(it);
                    } else {
                        total_evicted += cache.tree().evict(uni(1, 30));
                    }
                }
                // Ownership: the tree's slots and the requests' own slots are disjoint and
                // are exactly the pool's used ones; shared slots are the tree's path.
                std::set<int32_t> owned;
                std::vector<const RadixNode*> stack{&cache.tree().root()}, holders;
                while (!stack.empty()) {
                    const RadixNode* n = stack.back();
                    stack.pop_back();
                    for (int32_t s : n->slots) REQUIRE(owned.insert(s).second);
                    for (const auto& kv : n->children) stack.push_back(kv.second.get());
                }
                for (const auto& [id, r] : live) {
                    for (int p = r->n_shared; p < r->n_cached(); ++p) REQUIRE(owned.insert(r->slots[size_t(p)]).second);
                    holders.push_back(r->cache_node);
                    std::vector<int32_t> path;
                    for (const RadixNode* n = r->cache_node; n; n = n->parent)
                        path.insert(path.begin(), n->slots.begin(), n->slots.end());
                    REQUIRE(path == std::vector<int32_t>(r->slots.begin(), r->slots.begin() + r->n_shared));
                }
                REQUIRE(int64_t(owned.size()) == pool.n_used());
                REQUIRE(cache.tree().check(holders) == "");
            }
            for (auto& [id, r] : live) cache.detach(*r, uni(0, 1) == 1);
            REQUIRE(cache.tree().n_locked() == 0);
            REQUIRE(cache.tree().check({}) == "");
            cache.tree().flush();
            REQUIRE(pool.n_used() == 0);
            // Refill and let the destructor give everything back.
            std::vector<int32_t> s = alloc(pool, 3);
            const std::vector<int32_t> t{0, 1, 2};
            int n_existing = 0;
            cache.tree().insert(t.data(), s.data(), 3, n_existing);
        }
        REQUIRE(pool.n_used() == 0);
    }
    CHECK(total_hits > 0);
    CHECK(total_evicted > 0);
}
