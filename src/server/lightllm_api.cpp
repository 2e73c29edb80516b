#include "lightllm_api.h"
#include <memory>
#include <optional>

namespace lightllm {

namespace {

constexpr double kMaxPenalty = 1e4;

// LightLLM's finish reasons are OpenAI's words; a cancelled request is "abort".
const char* lightllm_finish_reason(FinishReason r) {
    return r == FinishReason::Cancelled ? "abort" : finish_reason_name(r);
}

json token_json(const TokenEvent& t, const std::string& text, const Tokenizer& tok) {
    return {{"id", t.id}, {"text", text}, {"logprob", t.logprob}, {"special", t.id >= 0 && tok.is_special(t.id)}};
}

}  // namespace

LightllmRequest parse_lightllm_request(const json& body, const RequestLimits& limits, uint64_t default_seed, bool stream) {
    LightllmRequest req;
    RequestInput& in = req.input;
    auto it = body.find("inputs");
    if (it == body.end() || it->is_null()) bad_request("inputs", "'inputs' is required: the prompt text (or a list of token ids)");
    if (it->is_string()) {
        in.prompt = it->get<std::string>();
        check_text(in.prompt, "inputs", limits.max_prompt_chars);
        if (in.prompt.empty()) bad_request("inputs", "'inputs' is empty; give a prompt");
    } else if (it->is_array()) {
        in.prompt_ids = token_id_list(*it, "inputs", limits.n_vocab);
        if (in.prompt_ids.empty()) bad_request("inputs", "'inputs' is an empty list; give a prompt");
    } else {
        bad_request("inputs", "'inputs' must be a string or a list of token ids");
    }

    json empty = json::object();
    const json* p = opt_object(body, "parameters");
    const json& params = p ? *p : empty;
    SamplingParams& sp = in.params;

    const int max_new_cap = limits.max_new_tokens_cap() > 0 ? limits.max_new_tokens_cap() : INT32_MAX;
    sp.max_new_tokens = static_cast<int>(opt_int(params, "max_new_tokens", 1, max_new_cap).value_or(std::min(16, max_new_cap)));
    sp.min_new_tokens = static_cast<int>(opt_int(params, "min_new_tokens", 0, sp.max_new_tokens).value_or(std::min(1, sp.max_new_tokens)));

    bool do_sample = opt_bool(params, "do_sample").value_or(false);
    double temperature = opt_number(params, "temperature", 0.0, 100.0).value_or(1.0);
    double top_p = opt_number(params, "top_p", 0.0, 1.0).value_or(1.0);
    if (top_p <= 0.0) bad_request("top_p", "'top_p' must be greater than 0 and at most 1");
    int64_t top_k = opt_int(params, "top_k", -1, INT32_MAX).value_or(-1);
    if (do_sample && temperature > 1e-5) {
        sp.temperature = static_cast<float>(temperature);
        sp.top_p = static_cast<float>(top_p);
        sp.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);
    } else {
        sp.temperature = 0.0f;  // greedy
    }
    sp.repetition_penalty = static_cast<float>(opt_number(params, "repetition_penalty", 1.0, kMaxPenalty).value_or(1.0));
    sp.presence_penalty = static_cast<float>(opt_number(params, "presence_penalty", 0.0, kMaxPenalty).value_or(0.0));
    sp.frequency_penalty = static_cast<float>(opt_number(params, "frequency_penalty", 0.0, kMaxPenalty).value_or(0.0));
    sp.ignore_eos = opt_bool(params, "ignore_eos").value_or(false);
    sp.skip_special_tokens = opt_bool(params, "skip_special_tokens").value_or(true);
    sp.stop = string_or_list(params, "stop_sequences", limits.max_stop, limits.max_stop_chars);
    sp.seed = static_cast<uint64_t>(opt_int(params, "seed", 0, INT64_MAX).value_or(static_cast<int64_t>(default_seed >> 1)));
    in.add_special_tokens = opt_bool(params, "add_special_tokens").value_or(true);

    int64_t best_of = opt_int(params, "best_of", 1, limits.max_n).value_or(1);
    int64_t n = opt_int(params, "n", 1, limits.max_n).value_or(best_of);
    if (n != best_of) bad_request("n", fmt::format("'n' ({}) must equal 'best_of' ({})", n, best_of));
    if (stream && n != 1) bad_request("n", "/generate_stream returns one sequence; 'n' and 'best_of' must be 1");
    req.n = static_cast<int>(n);
    req.return_details = opt_bool(params, "return_details").value_or(false);
    sp.n_logprobs = 0;  // each token's logprob is part of details and of every stream line
    for (const char* unsupported : {"regular_constraint", "guided_grammar", "guided_json", "allowed_token_ids"})
        reject_unsupported(params, unsupported, "");
    reject_unsupported(body, "multimodal_params", json::object());
    return req;
}

json lightllm_response(const std::vector<ChoiceOutput>& outs, bool details, const Tokenizer& tok) {
    json texts = json::array(), counts = json::array(), reasons = json::array(), tokens = json::array();
    int prompt_tokens = 0;
    for (const ChoiceOutput& o : outs) {
        texts.push_back(o.result.text);
        counts.push_back(static_cast<int>(o.result.output_ids.size()));
        reasons.push_back(lightllm_finish_reason(o.result.finish_reason));
        prompt_tokens = o.result.n_prompt_tokens;
        if (details) {
            json list = json::array();
            for (const TokenEvent& t : o.tokens) list.push_back(token_json(t, t.text, tok));
            tokens.push_back(std::move(list));
        }
    }
    bool one = outs.size() == 1;
    json ret = {{"generated_text", texts},
                {"count_output_tokens", one ? counts[0] : counts},
                {"finish_reason", one ? reasons[0] : reasons},
                {"prompt_tokens", prompt_tokens}};
    if (details) ret["tokens"] = one ? tokens[0] : tokens;
    return ret;
}

json lightllm_error(const std::string& message) { return {{"error", message}, {"message", message}}; }

GenerationCall lightllm_call(const json& body, const RequestLimits& limits, uint64_t default_seed, bool stream,
                             const Tokenizer& tok) {
    LightllmRequest req = parse_lightllm_request(body, limits, default_seed, stream);
    GenerationCall call;
    call.stream = stream;
    for (int i = 0; i < req.n; ++i) {
        call.inputs.push_back(req.input);
        call.inputs.back().params.seed += static_cast<uint64_t>(i);
    }
    if (!stream) {
        bool details = req.return_details;
        call.on_complete = [details, &tok](const std::vector<ChoiceOutput>& outs) { return lightllm_response(outs, details, tok); };
        return call;
    }
    // A token's line goes out when the next token (or the finish) shows
    // whether it is the last one.
    struct Pending {
        TokenEvent token;
        int count = 0;
    };
    auto pending = std::make_shared<std::optional<Pending>>();
    auto line = [&tok](const Pending& p, int prompt_tokens, const std::string& extra_text, const RequestResult* fin) {
        json t = token_json(p.token, p.token.text + extra_text, tok);
        t["count_output_tokens"] = p.count;
        t["prompt_tokens"] = prompt_tokens;
        json j = {{"token", t},
                  {"generated_text", fin ? json(fin->text) : json(nullptr)},
                  {"finished", fin != nullptr},
                  {"finish_reason", fin ? json(lightllm_finish_reason(fin->finish_reason)) : json(nullptr)},
                  {"details", nullptr}};
        return "data:" + json_text(j) + "\n\n";
    };
    call.content_type = "text/event-stream";
    call.on_token = [pending, line](int, const TokenEvent& t, const ChoiceOutput& so_far) {
        std::string out = pending->has_value() ? line(**pending, 0, "", nullptr) : std::string();
        *pending = Pending{t, static_cast<int>(so_far.tokens.size())};
        return out;
    };
    call.on_finish = [pending, line](int, const ChoiceOutput& o) {
        Pending last = pending->has_value() ? **pending : Pending{TokenEvent{}, 0};
        if (!pending->has_value()) last.token.id = -1;
        pending->reset();
        return line(last, o.result.n_prompt_tokens, o.unstreamed_tail(), &o.result);
    };
    call.on_end = [](const std::vector<ChoiceOutput>&) { return std::string(); };
    return call;
}

}  // namespace lightllm
