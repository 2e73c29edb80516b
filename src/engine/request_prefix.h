// A request's share of the prefix cache: the router's three moves between an
// EngineRequest and the RadixCache.
//
//   attach:  at admission, the longest cached prefix of prompt ++ output (at
//            most all but the last token: the last one must be fed to get the
//            next token's logits) becomes slots[0..n_shared) and is locked;
//   share:   after a prefill chunk, the request's computed tokens go into the
//            tree so that requests admitted later can use them, and the lock
//            moves down to cover them. When another request has cached the
//            same tokens first, the request keeps its own copies (private)
//            until it ends: moving to the tree's slots would rewrite its
//            table row mid-flight;
//   detach:  when the request leaves (finish, cancel, pause), its computed
//            tokens go into the tree (keep = true; copies of tokens the tree
//            had already go back to the pool) or its own slots go back to the
//            pool (keep = false: after an engine failure their K/V may be
//            unwritten); the lock is released.
// The tree keeps what it was given until the pool needs room (evict).
#pragma once
#include "radix_cache.h"
#include "request_state.h"

namespace lightllm {

class RequestPrefixCache {
public:
    RequestPrefixCache(TokenKvPool& pool) : pool_(pool), tree_(pool) {}

    // Returns the tokens matched (slots appended, node locked).
    int attach(EngineRequest& req);
    void share(EngineRequest& req);
    void detach(EngineRequest& req, bool keep);

    RadixCache& tree() { return tree_; }
    const RadixCache& tree() const { return tree_; }

private:
    const int32_t* tokens_of(const EngineRequest& req, int n);

    TokenKvPool& pool_;
    RadixCache tree_;
    std::vector<int32_t> scratch_;  // prompt ++ output, when output is not empty
};

}  // namespace lightllm
