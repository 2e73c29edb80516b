#include "request_prefix.h"
#include "check.h"

namespace lightllm {

const int32_t* RequestPrefixCache::tokens_of(const EngineRequest& req, int n) {
    LL_CHECK(n >= 0 && n <= req.n_tokens(), "prefix cache: {} tokens of a request with {}", n, req.n_tokens());
    if (n <= int(req.prompt.size())) return req.prompt.data();
    scratch_.assign(req.prompt.begin(), req.prompt.end());
    scratch_.insert(scratch_.end(), req.output.begin(), req.output.end());
    return scratch_.data();
}

int RequestPrefixCache::attach(EngineRequest& req) {
    LL_CHECK(req.slots.empty() && !req.cache_node, "prefix cache: request {} attached twice", req.id);
    const int n = req.n_tokens() - 1;
    PrefixMatch m = tree_.match(tokens_of(req, n), n, req.slots);
    tree_.lock(m.node);
    req.cache_node = m.node;
    req.n_shared = m.n;
    return m.n;
}

void RequestPrefixCache::share(EngineRequest& req) {
    const int n = req.n_cached();
    if (n <= req.n_shared) return;
    const int32_t* tokens = tokens_of(req, n);
    if (tree_.cached_prefix(tokens, n) != req.n_shared) return;
    int n_existing = 0;
    RadixNode* node = tree_.insert(tokens, req.slots.data(), n, n_existing);
    LL_CHECK(n_existing == req.n_shared, "prefix cache: request {} found {} of its {} shared tokens", req.id,
             n_existing, req.n_shared);
    tree_.lock(node);
    if (req.cache_node) tree_.unlock(req.cache_node);
    req.cache_node = node;
    req.n_shared = n;
}

void RequestPrefixCache::detach(EngineRequest& req, bool keep) {
    const int n = req.n_cached();
    if (keep && n > 0) {
        int n_existing = 0;
        tree_.insert(tokens_of(req, n), req.slots.data(), n, n_existing);
        LL_CHECK(n_existing >= req.n_shared, "prefix cache: request {} lost its shared prefix", req.id);
        pool_.free(req.slots.data() + req.n_shared, size_t(n_existing - req.n_shared));
    } else {
        pool_.free(req.slots.data() + req.n_shared, size_t(n - req.n_shared));
    }
    if (req.cache_node) tree_.unlock(req.cache_node);
    req.cache_node = nullptr;
    req.n_shared = 0;
    req.slots.clear();
}

}  // namespace lightllm
