// Parsing of OpenAI request bodies into pipeline inputs (see openai_api.h).
#include "openai_request.h"

namespace lightllm {

namespace {

constexpr double kMaxPenalty = 1e4;

// Fields both endpoints share: sampling, stop, n, stream.
void parse_common(const json& body, const RequestLimits& limits, const OpenAiContext& ctx, OpenAiRequest& req,
                  int default_max_tokens, const char* max_tokens_field) {
    if (auto model = opt_string(body, "model"); model) req.model = *model;
    SamplingParams& sp = req.params;
    const int cap = limits.max_new_tokens_cap() > 0 ? limits.max_new_tokens_cap() : INT32_MAX;
    auto max_tokens = opt_int(body, max_tokens_field, 1, cap);
    if (!max_tokens && std::string(max_tokens_field) != "max_tokens") max_tokens = opt_int(body, "max_tokens", 1, cap);
    sp.max_new_tokens = static_cast<int>(max_tokens.value_or(std::min(default_max_tokens, cap)));
    sp.min_new_tokens = static_cast<int>(opt_int(body, "min_tokens", 0, sp.max_new_tokens).value_or(0));
    sp.temperature = static_cast<float>(opt_number(body, "temperature", 0.0, 2.0).value_or(1.0));
    double top_p = opt_number(body, "top_p", 0.0, 1.0).value_or(1.0);
    if (top_p <= 0.0) bad_request("top_p", "'top_p' must be greater than 0 and at most 1");
    sp.top_p = static_cast<float>(top_p);
    int64_t top_k = opt_int(body, "top_k", -1, INT32_MAX).value_or(0);
    sp.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);
    sp.min_p = static_cast<float>(opt_number(body, "min_p", 0.0, 1.0).value_or(0.0));
    sp.presence_penalty = static_cast<float>(opt_number(body, "presence_penalty", -2.0, 2.0).value_or(0.0));
    sp.frequency_penalty = static_cast<float>(opt_number(body, "frequency_penalty", -2.0, 2.0).value_or(0.0));
    sp.repetition_penalty = static_cast<float>(opt_number(body, "repetition_penalty", 1e-2, kMaxPenalty).value_or(1.0));
    sp.ignore_eos = opt_bool(body, "ignore_eos").value_or(false);
    sp.skip_special_tokens = opt_bool(body, "skip_special_tokens").value_or(true);
    sp.stop = string_or_list(body, "stop", limits.max_stop, limits.max_stop_chars);
    sp.seed = static_cast<uint64_t>(opt_int(body, "seed", INT64_MIN, INT64_MAX).value_or(static_cast<int64_t>(ctx.seed >> 1)));
    req.n = static_cast<int>(opt_int(body, "n", 1, limits.max_n).value_or(1));
    req.stream = opt_bool(body, "stream").value_or(false);
    if (const json* so = opt_object(body, "stream_options"); so) req.include_usage = opt_bool(*so, "include_usage").value_or(false);
    reject_unsupported(body, "logit_bias", json::object());
}

std::string message_content(const json& m, size_t index, size_t max_chars) {
    std::string where = fmt::format("messages[{}].content", index);
    auto it = m.find("content");
    if (it == m.end() || it->is_null()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (!it->is_array()) bad_request(where, fmt::format("'{}' must be a string or a list of content parts", where));
    std::string text;
    for (const json& part : *it) {
        if (!part.is_object()) bad_request(where, fmt::format("each part of '{}' must be an object", where));
        auto type = opt_string(part, "type");
        if (type.value_or("") != "text")
            bad_request(where, fmt::format("content parts of type '{}' in '{}' are not supported (text only)", type.value_or("?"), where));
        auto t = opt_string(part, "text");
        if (!t) bad_request(where, fmt::format("a text part of '{}' has no 'text'", where));
        text += *t;
        if (text.size() > max_chars) break;
    }
    return text;
}

// The fields of a message the chat template sees besides role and content:
// tool_calls (with string arguments parsed into objects, as vLLM hands them
// to templates), tool_call_id, name.
std::string message_fields(const json& m, const std::string& where) {
    json extra = json::object();
    if (auto tc = m.find("tool_calls"); tc != m.end() && !tc->is_null()) {
        if (!tc->is_array()) bad_request(where + ".tool_calls", fmt::format("'{}.tool_calls' must be a list", where));
        json calls = *tc;
        for (json& call : calls) {
            if (!call.is_object()) bad_request(where + ".tool_calls", fmt::format("each of '{}.tool_calls' must be an object", where));
            json* fn = call.contains("function") && call["function"].is_object() ? &call["function"] : nullptr;
            if (fn && fn->contains("arguments") && (*fn)["arguments"].is_string()) {
                json args = json::parse((*fn)["arguments"].get<std::string>(), nullptr, false);
                if (!args.is_discarded()) (*fn)["arguments"] = args;
            }
        }
        extra["tool_calls"] = calls;
        if (m.find("content") == m.end() || m["content"].is_null()) extra["content"] = nullptr;
    }
    for (const char* key : {"tool_call_id", "name"})
        if (auto v = m.find(key); v != m.end() && v->is_string()) extra[key] = *v;
    return extra.empty() ? "" : extra.dump();
}

// tools, documents and chat_template_kwargs, handed to the chat template.
ChatTemplateArgs chat_template_args(const json& body) {
    ChatTemplateArgs a;
    if (auto t = body.find("tools"); t != body.end() && !t->is_null()) {
        if (!t->is_array()) bad_request("tools", "'tools' must be a list of tool definitions");
        if (!t->empty()) a.tools_json = t->dump();
    }
    if (auto d = body.find("documents"); d != body.end() && !d->is_null()) {
        if (!d->is_array()) bad_request("documents", "'documents' must be a list");
        a.documents_json = d->dump();
    }
    if (auto k = body.find("chat_template_kwargs"); k != body.end() && !k->is_null()) {
        if (!k->is_object()) bad_request("chat_template_kwargs", "'chat_template_kwargs' must be an object");
        for (const char* reserved : {"messages", "tools", "documents"})
            if (k->contains(reserved))
                bad_request("chat_template_kwargs", fmt::format("'chat_template_kwargs' may not set '{}'", reserved));
        a.kwargs_json = k->dump();
    }
    return a;
}

}  // namespace

OpenAiRequest parse_completion_request(const json& body, const RequestLimits& limits, const OpenAiContext& ctx) {
    OpenAiRequest req;
    parse_common(body, limits, ctx, req, 16, "max_tokens");
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null()) bad_request("prompt", "'prompt' is required");
    auto add_text = [&](const json& p) {
        RequestInput in;
        in.prompt = p.get<std::string>();
        check_text(in.prompt, "prompt", limits.max_prompt_chars);
        if (in.prompt.empty()) bad_request("prompt", "'prompt' is empty; give a prompt");
        req.prompts.push_back(std::move(in));
    };
    auto add_ids = [&](const json& p) {
        RequestInput in;
        in.prompt_ids = token_id_list(p, "prompt", limits.n_vocab);
        if (in.prompt_ids.empty()) bad_request("prompt", "'prompt' is an empty list of token ids");
        req.prompts.push_back(std::move(in));
    };
    if (it->is_string()) {
        add_text(*it);
    } else if (it->is_array() && !it->empty() && (*it)[0].is_number()) {
        add_ids(*it);
    } else if (it->is_array() && !it->empty()) {
        if (static_cast<int64_t>(it->size()) * req.n > limits.max_n)
            bad_request("prompt", fmt::format("{} prompts x n={} is more than the {} choices a request may ask for", it->size(), req.n, limits.max_n));
        for (const json& p : *it) {
            if (p.is_string()) add_text(p);
            else if (p.is_array()) add_ids(p);
            else bad_request("prompt", "'prompt' must be a string, a list of strings, or (lists of) token ids");
        }
    } else {
        bad_request("prompt", it->is_array() ? "'prompt' is an empty list; give a prompt"
                                             : "'prompt' must be a string, a list of strings, or (lists of) token ids");
    }
    req.params.n_logprobs = static_cast<int>(opt_int(body, "logprobs", 0, std::min(5, limits.max_logprobs)).value_or(-1));
    auto best_of = opt_int(body, "best_of", 1, limits.max_n);
    if (best_of && *best_of != req.n) bad_request("best_of", "'best_of' other than 'n' is not supported by this server");
    reject_unsupported(body, "echo", false);
    reject_unsupported(body, "suffix", "");
    return req;
}

OpenAiRequest parse_chat_request(const json& body, const RequestLimits& limits, const OpenAiContext& ctx) {
    OpenAiRequest req;
    int default_max = limits.max_new_tokens_cap() > 0 ? limits.max_new_tokens_cap() : 256;
    parse_common(body, limits, ctx, req, default_max, "max_completion_tokens");
    auto it = body.find("messages");
    if (it == body.end() || it->is_null()) bad_request("messages", "'messages' is required");
    if (!it->is_array()) bad_request("messages", "'messages' must be a list of {\"role\", \"content\"} objects");
    if (it->empty()) bad_request("messages", "'messages' is empty; give at least one message");
    RequestInput in;
    size_t total = 0;
    for (size_t i = 0; i < it->size(); ++i) {
        const json& m = (*it)[i];
        std::string where = fmt::format("messages[{}]", i);
        if (!m.is_object()) bad_request(where, fmt::format("'{}' must be an object with 'role' and 'content'", where));
        auto role = opt_string(m, "role");
        if (!role) bad_request(where + ".role", fmt::format("'{}.role' is required", where));
        if (*role == "developer") *role = "system";
        if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool")
            bad_request(where + ".role", fmt::format("'{}.role' must be system, user, assistant or tool, got '{}'", where, *role));
        ChatMessage cm{*role, message_content(m, i, limits.max_prompt_chars), message_fields(m, where)};
        total += cm.content.size();
        if (total > limits.max_prompt_chars)
            bad_request("messages", fmt::format("'messages' hold more than the limit of {} bytes (--max-prompt-bytes)", limits.max_prompt_chars));
        check_text(cm.content, (where + ".content").c_str(), limits.max_prompt_chars);
        in.messages.push_back(std::move(cm));
    }
    bool logprobs = opt_bool(body, "logprobs").value_or(false);
    auto top = opt_int(body, "top_logprobs", 0, limits.max_logprobs);
    if (top && !logprobs) bad_request("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    req.params.n_logprobs = logprobs ? static_cast<int>(top.value_or(0)) : -1;
    req.prompts.push_back(std::move(in));
    req.prompts.back().chat_args = chat_template_args(body);
    reject_unsupported(body, "functions", json::array());
    if (auto choice = body.find("tool_choice"); choice != body.end() && !choice->is_null() &&
                                                  !(choice->is_string() && (*choice == "none" || *choice == "auto")))
        bad_request("tool_choice", "'tool_choice' other than \"auto\" or \"none\" is not supported by this server");
    reject_unsupported(body, "function_call", "none");
    if (const json* rf = opt_object(body, "response_format"); rf && opt_string(*rf, "type").value_or("text") != "text")
        bad_request("response_format", "'response_format' other than {\"type\": \"text\"} is not supported by this server");
    return req;
}

std::vector<RequestInput> OpenAiRequest::inputs() const {
    std::vector<RequestInput> out;
    for (const RequestInput& p : prompts) {
        for (int j = 0; j < n; ++j) {
            RequestInput in = p;
            in.params = params;
            in.params.seed += static_cast<uint64_t>(j);
            out.push_back(std::move(in));
        }
    }
    return out;
}

}  // namespace lightllm
