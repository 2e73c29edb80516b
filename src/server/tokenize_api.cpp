#include "tokenize_api.h"

namespace lightllm {

json tokenize_response(const json& body, const Tokenizer& tok, const RequestLimits& limits) {
    auto text = opt_string(body, "text");
    if (!text) text = opt_string(body, "prompt");
    if (!text) bad_request("text", "'text' is required: the string to tokenize");
    check_text(*text, "text", limits.max_prompt_chars);
    bool add_special = opt_bool(body, "add_special_tokens").value_or(true);
    std::vector<int32_t> ids = tok.encode(*text, add_special && tok.add_bos());
    json r = {{"tokens", ids}, {"count", ids.size()}};
    if (limits.max_context > 0) r["max_model_len"] = limits.max_context;
    return r;
}

json detokenize_response(const json& body, const Tokenizer& tok, const RequestLimits& limits) {
    auto it = body.find("tokens");
    if (it == body.end() || it->is_null()) bad_request("tokens", "'tokens' is required: a list of token ids");
    std::vector<int32_t> ids = token_id_list(*it, "tokens", limits.n_vocab > 0 ? limits.n_vocab : tok.n_vocab());
    bool skip = opt_bool(body, "skip_special_tokens").value_or(true);
    return {{"text", tok.decode(ids, skip)}};
}

}  // namespace lightllm
