// Response shaping for the OpenAI API (see openai_api.h); parsing is in
// openai_request.cpp.
#include "openai_api.h"
#include "openai_request.h"
#include <memory>

namespace lightllm {

namespace {

// cached_tokens: prompt tokens whose KV came from the prefix cache.
json usage_json(const std::vector<ChoiceOutput>& outs, int n) {
    int64_t prompt = 0, completion = 0, cached = 0;
    for (size_t i = 0; i < outs.size(); ++i) {
        if (i % static_cast<size_t>(n) == 0) {
            prompt += outs[i].result.n_prompt_tokens;
            cached += outs[i].result.n_cached_tokens;
        }
        completion += static_cast<int64_t>(outs[i].result.output_ids.size());
    }
    return {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", prompt + completion},
            {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

json finish_json(const ChoiceOutput& o) { return o.finished ? json(openai_finish_reason(o.result.finish_reason)) : json(nullptr); }

// Chat logprobs: {"token", "logprob", "bytes", "top_logprobs": [...]} per token.
json chat_logprob_entry(const TokenEvent& t, const Tokenizer& tok) {
    auto piece = [&tok](int32_t id, float lp) {
        std::string b = tok.token_bytes(id);
        json bytes = json::array();
        for (unsigned char c : b) bytes.push_back(static_cast<int>(c));
        return json{{"token", b}, {"logprob", lp}, {"bytes", bytes}};
    };
    json e = piece(t.id, t.logprob);
    json top = json::array();
    for (const TokenLogprob& tl : t.top) top.push_back(piece(tl.id, tl.logprob));
    e["top_logprobs"] = top;
    return e;
}

// Legacy completions logprobs for tokens[from, to).
json completion_logprobs(const std::vector<TokenEvent>& tokens, size_t from, size_t to, size_t text_offset,
                         const Tokenizer& tok) {
    json pieces = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
    for (size_t i = from; i < to; ++i) {
        const TokenEvent& t = tokens[i];
        pieces.push_back(tok.token_bytes(t.id));
        lps.push_back(t.logprob);
        json top = json::object();
        for (const TokenLogprob& tl : t.top) top[tok.token_bytes(tl.id)] = tl.logprob;
        tops.push_back(top);
        offsets.push_back(text_offset);
        text_offset += t.text.size();
    }
    return {{"tokens", pieces}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

std::string sse(const json& j) { return "data: " + json_text(j) + "\n\n"; }

struct Shape {
    bool chat = false;
    bool logprobs = false;
    bool include_usage = false;
    int n = 1;
    std::string id, model;
    int64_t created = 0;

    json envelope(bool chunk) const {
        const char* object = chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
        return {{"id", id}, {"object", object}, {"created", created}, {"model", model}};
    }
};

GenerationCall make_call(const OpenAiRequest& req, Shape shape, const Tokenizer& tok) {
    GenerationCall call;
    call.inputs = req.inputs();
    call.stream = req.stream;
    if (!req.stream) {
        call.on_complete = [shape, &tok](const std::vector<ChoiceOutput>& outs) {
            json j = shape.envelope(false);
            json choices = json::array();
            for (size_t i = 0; i < outs.size(); ++i) {
                const ChoiceOutput& o = outs[i];
                json c = {{"index", i}, {"finish_reason", finish_json(o)}};
                json lp = nullptr;
                if (shape.chat) {
                    c["message"] = {{"role", "assistant"}, {"content", o.result.text}};
                    if (shape.logprobs) {
                        json content = json::array();
                        for (const TokenEvent& t : o.tokens) content.push_back(chat_logprob_entry(t, tok));
                        lp = {{"content", content}};
                    }
                } else {
                    c["text"] = o.result.text;
                    if (shape.logprobs) lp = completion_logprobs(o.tokens, 0, o.tokens.size(), 0, tok);
                }
                c["logprobs"] = lp;
                choices.push_back(std::move(c));
            }
            j["choices"] = choices;
            j["usage"] = usage_json(outs, shape.n);
            return j;
        };
        return call;
    }
    call.content_type = "text/event-stream";
    auto chunk = [shape](int choice, json delta_or_text, json logprobs, json finish) {
        json j = shape.envelope(true);
        json c = {{"index", choice}};
        if (shape.chat) c["delta"] = std::move(delta_or_text);
        else c["text"] = std::move(delta_or_text);
        c["logprobs"] = std::move(logprobs);
        c["finish_reason"] = std::move(finish);
        j["choices"] = json::array({c});
        if (shape.include_usage) j["usage"] = nullptr;
        return sse(j);
    };
    // Chat: the first chunk of each choice carries the role.
    auto role_sent = std::make_shared<std::vector<bool>>(call.inputs.size(), false);
    auto role_prefix = [shape, role_sent, chunk](int choice) {
        if (!shape.chat || (*role_sent)[choice]) return std::string();
        (*role_sent)[choice] = true;
        return chunk(choice, json{{"role", "assistant"}, {"content", ""}}, nullptr, nullptr);
    };
    call.on_token = [shape, chunk, role_prefix, &tok](int choice, const TokenEvent& t, const ChoiceOutput& so_far) {
        std::string out = role_prefix(choice);
        json lp = nullptr;
        if (shape.logprobs && shape.chat) lp = {{"content", json::array({chat_logprob_entry(t, tok)})}};
        if (shape.logprobs && !shape.chat) {
            size_t k = so_far.tokens.size() - 1;
            lp = completion_logprobs(so_far.tokens, k, k + 1, so_far.streamed_text.size() - t.text.size(), tok);
        }
        json text = shape.chat ? json{{"content", t.text}} : json(t.text);
        return out + chunk(choice, text, lp, nullptr);
    };
    call.on_finish = [shape, chunk, role_prefix](int choice, const ChoiceOutput& o) {
        std::string out = role_prefix(choice);
        if (o.result.finish_reason == FinishReason::Error) {
            json err = openai_error(500, o.result.error);
            return out + sse(err);
        }
        std::string tail = o.unstreamed_tail();
        json text = shape.chat ? (tail.empty() ? json::object() : json{{"content", tail}}) : json(tail);
        return out + chunk(choice, text, nullptr, finish_json(o));
    };
    call.on_end = [shape](const std::vector<ChoiceOutput>& outs) {
        std::string out;
        if (shape.include_usage) {
            json j = shape.envelope(true);
            j["choices"] = json::array();
            j["usage"] = usage_json(outs, shape.n);
            out += sse(j);
        }
        return out + "data: [DONE]\n\n";
    };
    return call;
}

// The response shape of a parsed request: chat or not, and its id prefix.
Shape shape_of(const OpenAiRequest& req, const OpenAiContext& ctx, bool chat) {
    Shape s;
    s.chat = chat;
    s.logprobs = req.params.n_logprobs >= 0;
    s.include_usage = req.stream && req.include_usage;
    s.n = req.n;
    s.id = (chat ? "chatcmpl-" : "cmpl-") + ctx.id;
    s.model = ctx.model;
    s.created = ctx.created;
    return s;
}

}  // namespace

const char* openai_finish_reason(FinishReason r) {
    switch (r) {
        case FinishReason::Stop: return "stop";
        case FinishReason::Length: return "length";
        case FinishReason::Cancelled: return "abort";
        case FinishReason::Error: return "error";
    }
    return "stop";
}

GenerationCall openai_completion_call(const json& body, const RequestLimits& limits, const OpenAiContext& ctx,
                                      const Tokenizer& tok) {
    OpenAiRequest req = parse_completion_request(body, limits, ctx);
    return make_call(req, shape_of(req, ctx, false), tok);
}

GenerationCall openai_chat_call(const json& body, const RequestLimits& limits, const OpenAiContext& ctx,
                                const Tokenizer& tok) {
    OpenAiRequest req = parse_chat_request(body, limits, ctx);
    return make_call(req, shape_of(req, ctx, true), tok);
}

json openai_models(const std::string& model, int64_t created, int max_context, int vocab_size) {
    json m = {{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "lightllm"}};
    if (max_context > 0) m["max_model_len"] = max_context;
    if (vocab_size > 0) m["vocab_size"] = vocab_size;
    return {{"object", "list"}, {"data", json::array({m})}};
}

json openai_error(int status, const std::string& message, const std::string& param, const std::string& code) {
    const char* type = status == 401 ? "authentication_error"
                     : status == 404 ? "not_found_error"
                     : status == 503 ? "overloaded_error"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
    return {{"error",
             {{"message", message},
              {"type", type},
              {"param", param.empty() ? json(nullptr) : json(param)},
              {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

}  // namespace lightllm
