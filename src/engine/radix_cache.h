// RadixCache: the prefix cache over the token-wise KV pool (LightLLM's
// "dynamic prompt cache", SGLang's RadixAttention).
//
// A radix tree over token ids. Each node holds an edge of one or more tokens
// and, for each of them, the KV slot of the pool that holds that token's K/V
// computed after exactly the tokens on the path from the root. The tree owns
// those slots: they go back to the pool only when the node is evicted.
//
//   match:  walks a new request's tokens down the tree and returns the longest
//           cached prefix (exact to the token: a match ending inside an edge
//           splits the node there) and its slots;
//   lock:   a running request that uses a prefix locks its deepest node; the
//           lock counts on every node up to the root, and a node with a lock
//           is never evicted;
//   insert: a request's computed tokens and their slots go in; the part the
//           tree already had keeps the tree's slots (the caller frees its own
//           copies), the rest becomes the tree's;
//   evict:  least-recently-used unlocked leaves are freed until enough slots
//           are back in the pool (a parent left without children becomes a
//           leaf and a candidate in turn).
// Every slot is owned exactly once: by the pool's free list, by one node, or
// by one request. Token counts are kept up to date: total = locked +
// evictable. The unlocked leaves are kept ordered by last use, so eviction
// never walks the tree.
#pragma once
#include "token_kv_pool.h"
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lightllm {

struct RadixNode {
    RadixNode* parent = nullptr;
    std::vector<int32_t> tokens;  // the edge from the parent (empty only at the root)
    std::vector<int32_t> slots;   // [tokens.size()] KV slot of each edge token
    std::map<int32_t, std::unique_ptr<RadixNode>> children;  // by the first token of their edge
    int lock_ref = 0;             // locks held on this node or below it
    uint64_t last_used = 0;       // logical time of the last match or insert through it
};

struct PrefixMatch {
    RadixNode* node = nullptr;  // deepest node of the match (the root when nothing matched)
    int n = 0;                  // tokens matched
};

class RadixCache {
public:
    explicit RadixCache(TokenKvPool& pool);
    ~RadixCache();  // every slot back to the pool
    RadixCache(const RadixCache&) = delete;
    RadixCache& operator=(const RadixCache&) = delete;

    // Longest cached prefix of tokens[0..n); its slots are appended to `slots`.
    PrefixMatch match(const int32_t* tokens, int n, std::vector<int32_t>& slots);
    // Length of the longest cached prefix of tokens[0..n), changing nothing.
    int cached_prefix(const int32_t* tokens, int n) const;
    // Inserts tokens[0..n) whose K/V are in slots[0..n). Returns the deepest
    // node (covering all n tokens; the root when n == 0) and, in `n_existing`,
    // how many leading tokens were cached already: slots[0..n_existing) stay
    // the caller's, the rest now belong to the tree.
    RadixNode* insert(const int32_t* tokens, const int32_t* slots, int n, int& n_existing);

    void lock(RadixNode* node);
    void unlock(RadixNode* node);

    // Frees least-recently-used unlocked leaves until at least n slots have
    // gone back to the pool or nothing more can go. Returns the slots freed.
    int64_t evict(int64_t n);
    // Frees every node; no lock may be held.
    void flush();

    int64_t n_tokens() const { return n_locked_ + n_evictable_; }
    int64_t n_locked() const { return n_locked_; }
    int64_t n_evictable() const { return n_evictable_; }
    const RadixNode& root() const { return root_; }

    // For tests: the structure is consistent, the counts add up, every slot
    // is distinct and in use in the pool, the LRU set holds exactly the
    // unlocked leaves, and each node's lock_ref equals the locks of `holders`
    // (one entry per lock) on it or below. Empty when all hold, else what is
    // wrong.
    std::string check(const std::vector<const RadixNode*>& holders) const;

private:
    using LruKey = std::pair<uint64_t, RadixNode*>;

    bool is_evictable_leaf(const RadixNode* n) const {
        return n != &root_ && n->children.empty() && n->lock_ref == 0;
    }
    void touch(RadixNode* node, uint64_t now);
    RadixNode* split(RadixNode* node, int at);
    void remove_leaf(RadixNode* leaf);

    TokenKvPool& pool_;
    RadixNode root_;
    int64_t n_locked_ = 0, n_evictable_ = 0;
    uint64_t clock_ = 0;
    std::set<LruKey> lru_;  // unlocked leaves, least recently used first
};

}  // namespace lightllm
