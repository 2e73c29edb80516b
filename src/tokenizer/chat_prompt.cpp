#include "chat_prompt.h"
#include "chat_template.h"
#include "check.h"
#include "jinja_template.h"
#include <fstream>
#include <sstream>

namespace lightllm {

namespace {

using nlohmann::ordered_json;

ordered_json parse_arg(const std::string& text, const char* what, bool want_object) {
    if (text.empty()) return nullptr;
    ordered_json j;
    try {
        j = ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", what, e.what());
    }
    if (want_object && !j.is_object()) fail("'{}' must be an object", what);
    if (!want_object && !j.is_array() && !j.is_null()) fail("'{}' must be a list", what);
    return j;
}

// A message as transformers sees it: role, content and its other fields
// (tool_calls, name, tool_call_id; a null content stays null).
ordered_json message_json(const ChatMessage& m) {
    ordered_json j = {{"role", m.role}, {"content", m.content}};
    if (m.fields_json.empty()) return j;
    const ordered_json extra = parse_arg(m.fields_json, "messages", true);
    for (const auto& el : extra.items())
        if (el.key() != "role") j[el.key()] = el.value();
    return j;
}

std::string token_text(const Tokenizer& tok, int32_t id) { return id >= 0 ? tok.decode({id}, false) : ""; }

const std::string* named(const Tokenizer& tok, const std::string& name) {
    for (const auto& [n, source] : tok.named_chat_templates())
        if (n == name) return &source;
    return nullptr;
}

}  // namespace

std::string resolve_chat_template_option(const std::string& value, const Tokenizer& tok) {
    if (value.empty()) return "";
    if (const std::string* t = named(tok, value)) return *t;
    if (value == "default" && !tok.chat_template().empty()) return tok.chat_template();
    std::ifstream f(value, std::ios::binary);
    if (!f) {
        std::string names;
        for (const auto& nt : tok.named_chat_templates()) names += (names.empty() ? "" : ", ") + nt.first;
        if (!tok.chat_template().empty()) names = "default" + std::string(names.empty() ? "" : ", ") + names;
        fail("--chat-template: '{}' is neither a readable file nor a template of the model (the model has: {})", value,
             names.empty() ? "none" : names);
    }
    std::stringstream ss;
    ss << f.rdbuf();
    std::string source = ss.str();
    try {
        jinja::JinjaTemplate check(source);
    } catch (const Error& e) {
        fail("--chat-template {}: {}", value, e.what());
    }
    return source;
}

std::string render_chat_template(const std::string& source, const std::vector<ChatMessage>& messages,
                                 const ChatTemplateArgs& args, bool add_generation_prompt, const std::string& bos,
                                 const std::string& eos) {
    ordered_json vars = ordered_json::object();
    ordered_json kwargs = parse_arg(args.kwargs_json, "chat_template_kwargs", true);
    ordered_json msgs = ordered_json::array();
    for (const ChatMessage& m : messages) msgs.push_back(message_json(m));
    vars["messages"] = msgs;
    vars["tools"] = parse_arg(args.tools_json, "tools", false);
    vars["documents"] = parse_arg(args.documents_json, "documents", false);
    vars["add_generation_prompt"] = add_generation_prompt;
    vars["bos_token"] = bos;
    vars["eos_token"] = eos;
    for (const auto& el : kwargs.items()) {
        if (el.key() == "messages" || el.key() == "tools" || el.key() == "documents")
            fail("chat_template_kwargs: '{}' cannot be set here (it comes from the request itself)", el.key());
        vars[el.key()] = el.value();
    }
    try {
        return jinja::JinjaTemplate(source).render(vars);
    } catch (const Error& e) {
        fail("chat template {}", e.what());
    }
}

std::string build_chat_prompt(const Tokenizer& tok, const std::vector<ChatMessage>& messages, const ChatTemplateArgs& args,
                              bool add_generation_prompt, const std::string& template_override) {
    const std::string* source = &template_override;
    if (source->empty() && !args.tools_json.empty() && args.tools_json != "null")
        if (const std::string* t = named(tok, "tool_use")) source = t;
    if (source->empty()) source = &tok.chat_template();
    if (source->empty()) {
        if (!args.tools_json.empty() || !args.documents_json.empty() || !args.kwargs_json.empty())
            fail("this model has no chat template; tools, documents and chat_template_kwargs need one (--chat-template)");
        for (const ChatMessage& m : messages)
            if (!m.fields_json.empty()) fail("this model has no chat template; tool calls in messages need one (--chat-template)");
        return apply_chat_template(tok, messages, add_generation_prompt);
    }
    std::vector<int32_t> eos = tok.eos_ids();
    return render_chat_template(*source, messages, args, add_generation_prompt, token_text(tok, tok.bos_id()),
                                eos.empty() ? "" : token_text(tok, eos[0]));
}

}  // namespace lightllm
