// RadixCache: match / insert / lock / evict over a tree of token edges.
// Splitting a node keeps the node object as the lower part (so a lock held on
// it stays where it was) and puts a new node above it for the shared part.
#include "radix_cache.h"
#include "check.h"
#include <algorithm>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

namespace lightllm {

namespace {

int common_prefix(const std::vector<int32_t>& edge, const int32_t* tokens, int n) {
    const int m = std::min(int(edge.size()), n);
    int k = 0;
    while (k < m && edge[size_t(k)] == tokens[k]) ++k;
    return k;
}

}  // namespace

RadixCache::RadixCache(TokenKvPool& pool) : pool_(pool) {}

RadixCache::~RadixCache() {
    root_.lock_ref = 0;
    std::vector<RadixNode*> stack{&root_};
    while (!stack.empty()) {
        RadixNode* n = stack.back();
        stack.pop_back();
        if (!n->slots.empty()) pool_.free(n->slots);
        for (auto& [t, c] : n->children) stack.push_back(c.get());
    }
}

void RadixCache::touch(RadixNode* node, uint64_t now) {
    if (is_evictable_leaf(node)) {
        lru_.erase({node->last_used, node});
        lru_.insert({now, node});
    }
    node->last_used = now;
}

RadixNode* RadixCache::split(RadixNode* node, int at) {
    LL_CHECK(at > 0 && at < int(node->tokens.size()), "radix split at {} of {}", at, node->tokens.size());
    RadixNode* parent = node->parent;
    std::unique_ptr<RadixNode>& link = parent->children.at(node->tokens[0]);
    std::unique_ptr<RadixNode> lower = std::move(link);
    auto upper = std::make_unique<RadixNode>();
    upper->parent = parent;
    upper->tokens.assign(node->tokens.begin(), node->tokens.begin() + at);
    upper->slots.assign(node->slots.begin(), node->slots.begin() + at);
    upper->lock_ref = node->lock_ref;
    upper->last_used = node->last_used;
    node->tokens.erase(node->tokens.begin(), node->tokens.begin() + at);
    node->slots.erase(node->slots.begin(), node->slots.begin() + at);
    node->parent = upper.get();
    upper->children.emplace(node->tokens[0], std::move(lower));
    link = std::move(upper);
    return link.get();
}

PrefixMatch RadixCache::match(const int32_t* tokens, int n, std::vector<int32_t>& slots) {
    const uint64_t now = ++clock_;
    RadixNode* node = &root_;
    node->last_used = now;
    int pos = 0;
    while (pos < n) {
        auto it = node->children.find(tokens[pos]);
        if (it == node->children.end()) break;
        RadixNode* child = it->second.get();
        const int k = common_prefix(child->tokens, tokens + pos, n - pos);
        const bool partial = k < int(child->tokens.size());
        if (partial) child = split(child, k);
        touch(child, now);
        slots.insert(slots.end(), child->slots.begin(), child->slots.end());
        pos += k;
        node = child;
        if (partial) break;
    }
    return {node, pos};
}

int RadixCache::cached_prefix(const int32_t* tokens, int n) const {
    const RadixNode* node = &root_;
    int pos = 0;
    while (pos < n) {
        auto it = node->children.find(tokens[pos]);
        if (it == node->children.end()) break;
        const RadixNode* child = it->second.get();
        const int k = common_prefix(child->tokens, tokens + pos, n - pos);
        pos += k;
        if (k < int(child->tokens.size())) break;
        node = child;
    }
    return pos;
}

RadixNode* RadixCache::insert(const int32_t* tokens, const int32_t* slots, int n, int& n_existing) {
    const uint64_t now = ++clock_;
    RadixNode* node = &root_;
    node->last_used = now;
    int pos = 0;
    while (pos < n) {
        auto it = node->children.find(tokens[pos]);
        if (it == node->children.end()) {
            if (is_evictable_leaf(node)) lru_.erase({node->last_used, node});
            auto leaf = std::make_unique<RadixNode>();
            leaf->parent = node;
            leaf->tokens.assign(tokens + pos, tokens + n);
            leaf->slots.assign(slots + pos, slots + n);
            leaf->last_used = now;
            RadixNode* raw = leaf.get();
            node->children.emplace(tokens[pos], std::move(leaf));
            n_evictable_ += n - pos;
            lru_.insert({now, raw});
            n_existing = pos;
            return raw;
        }
        RadixNode* child = it->second.get();
        const int k = common_prefix(child->tokens, tokens + pos, n - pos);
        if (k < int(child->tokens.size())) child = split(child, k);
        touch(child, now);
        pos += k;
        node = child;
    }
    n_existing = n;
    return node;
}

void RadixCache::lock(RadixNode* node) {
    for (RadixNode* x = node; x; x = x->parent) {
        if (x->lock_ref++ == 0 && x != &root_) {
            if (x->children.empty()) lru_.erase({x->last_used, x});
            n_evictable_ -= int64_t(x->tokens.size());
            n_locked_ += int64_t(x->tokens.size());
        }
    }
}

void RadixCache::unlock(RadixNode* node) {
    for (RadixNode* x = node; x; x = x->parent) {
        LL_CHECK(x->lock_ref > 0, "radix cache: unlocking a node that holds no lock");
        if (--x->lock_ref == 0 && x != &root_) {
            if (x->children.empty()) lru_.insert({x->last_used, x});
            n_evictable_ += int64_t(x->tokens.size());
            n_locked_ -= int64_t(x->tokens.size());
        }
    }
}

void RadixCache::remove_leaf(RadixNode* leaf) {
    lru_.erase({leaf->last_used, leaf});
    pool_.free(leaf->slots);
    n_evictable_ -= int64_t(leaf->tokens.size());
    RadixNode* parent = leaf->parent;
    parent->children.erase(leaf->tokens[0]);  // destroys leaf
    if (is_evictable_leaf(parent)) lru_.insert({parent->last_used, parent});
}

int64_t RadixCache::evict(int64_t n) {
    int64_t freed = 0;
    while (freed < n && !lru_.empty()) {
        RadixNode* leaf = lru_.begin()->second;
        freed += int64_t(leaf->slots.size());
        remove_leaf(leaf);
    }
    return freed;
}

void RadixCache::flush() {
    LL_CHECK(n_locked_ == 0 && root_.lock_ref == 0, "radix cache: flush while {} tokens are locked", n_locked_);
    evict(n_evictable_);
    LL_CHECK(root_.children.empty() && n_evictable_ == 0, "radix cache: flush left nodes behind");
}

std::string RadixCache::check(const std::vector<const RadixNode*>& holders) const {
    std::unordered_map<const RadixNode*, int> want_ref;
    for (const RadixNode* h : holders)
        for (const RadixNode* x = h; x; x = x->parent) ++want_ref[x];
    std::unordered_set<int32_t> seen;
    int64_t locked = 0, evictable = 0;
    size_t n_leaves = 0;
    std::vector<const RadixNode*> stack{&root_};
    while (!stack.empty()) {
        const RadixNode* n = stack.back();
        stack.pop_back();
        const int want = want_ref.count(n) ? want_ref.at(n) : 0;
        if (n->lock_ref != want) return fmt::format("a node has lock_ref {}, its holders say {}", n->lock_ref, want);
        if (n->tokens.size() != n->slots.size()) return "a node has a different number of tokens and slots";
        if (n != &root_ && n->tokens.empty()) return "a node other than the root has an empty edge";
        if (n != &root_ && n->parent->last_used < n->last_used) return "a node was used after its parent";
        for (int32_t s : n->slots) {
            if (!seen.insert(s).second) return fmt::format("slot {} is owned by two nodes", s);
            if (!pool_.is_used(s)) return fmt::format("slot {} is free in the pool", s);
        }
        (n->lock_ref > 0 ? locked : evictable) += int64_t(n->tokens.size());
        if (is_evictable_leaf(n)) {
            ++n_leaves;
            if (!lru_.count({n->last_used, const_cast<RadixNode*>(n)})) return "an unlocked leaf is not in the LRU set";
        }
        for (const auto& [t, c] : n->children) {
            if (c->parent != n) return "a child's parent pointer is wrong";
            if (c->tokens.empty() || c->tokens[0] != t) return "a child is filed under the wrong token";
            if (c->lock_ref > n->lock_ref) return "a child holds more locks than its parent";
            stack.push_back(c.get());
        }
    }
    if (n_leaves != lru_.size()) return fmt::format("LRU set has {} entries for {} unlocked leaves", lru_.size(), n_leaves);
    if (locked != n_locked_ || evictable != n_evictable_)
        return fmt::format("counts say {} locked + {} evictable, the tree holds {} + {}", n_locked_, n_evictable_,
                           locked, evictable);
    return "";
}

}  // namespace lightllm
