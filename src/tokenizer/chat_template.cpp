#include "chat_template.h"
#include "check.h"
#include "unicode.h"
#include <ctime>

namespace lightllm {

namespace {

bool has(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// Python str.strip() / Jinja's trim: Unicode whitespace at both ends.
std::string strip(const std::string& s) {
    auto space = [](uint32_t cp) { return unicode_is_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F); };
    size_t b = 0, e = s.size();
    while (b < e) {
        size_t len;
        uint32_t cp = utf8_decode(s.data() + b, e - b, &len);
        if (!space(cp)) break;
        b += len;
    }
    while (e > b) {
        size_t k = e - 1;
        while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;  // start of the last character
        size_t len;
        uint32_t cp = utf8_decode(s.data() + k, e - k, &len);
        if (!space(cp)) break;
        e = k;
    }
    return s.substr(b, e - b);
}

// Jinja string-literal escapes (\n, \', \", \\) in a piece of template text.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            char c = s[++i];
            out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
        } else {
            out += s[i];
        }
    }
    return out;
}

// The literal default system message of a ChatML template:
// '<|im_start|>system\nYou are ...<|im_end|>' written as one string.
std::string chatml_default_system(const std::string& t) {
    for (const char* head : {"<|im_start|>system\\n", "<|im_start|>system\n"}) {
        for (size_t p = t.find(head); p != std::string::npos; p = t.find(head, p + 1)) {
            size_t b = p + std::string(head).size();
            size_t e = t.find("<|im_end|>", b);
            if (e == std::string::npos) continue;
            std::string body = t.substr(b, e - b);
            if (body.empty() || body.find_first_of("'\"+{}") != std::string::npos) continue;
            return unescape(body);
        }
    }
    return {};
}

// Text of the first "set date_string = "..."" default in the template.
std::string llama3_date(const std::string& t) {
    if (has(t, "strftime_now")) {
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%d %b %Y", &tm);
        return buf;
    }
    size_t p = t.find("set date_string = \"");
    if (p == std::string::npos) return "26 Jul 2024";
    p += std::string("set date_string = \"").size();
    size_t e = t.find('"', p);
    return e == std::string::npos ? "26 Jul 2024" : t.substr(p, e - p);
}

void check_roles(const std::vector<ChatMessage>& msgs, bool system_ok, const char* family) {
    for (const auto& m : msgs) {
        if (m.role == "system" && !system_ok) fail("chat template ({}): system messages are not supported by this template", family);
        if (m.role != "system" && m.role != "user" && m.role != "assistant")
            fail("chat template ({}): unknown role '{}' (expected system, user or assistant)", family, m.role);
    }
}

// user/assistant/user/... after an optional leading system message.
void check_alternation(const std::vector<ChatMessage>& loop, const char* family) {
    for (size_t i = 0; i < loop.size(); ++i)
        if ((loop[i].role == "user") != (i % 2 == 0))
            fail("chat template ({}): conversation roles must alternate user/assistant/user/... (message {} is '{}')", family, i,
                 loop[i].role);
}

// Splits off a leading system message.
std::vector<ChatMessage> split_system(const std::vector<ChatMessage>& msgs, std::string* system, bool* has_system) {
    *has_system = !msgs.empty() && msgs[0].role == "system";
    if (!*has_system) return msgs;
    *system = msgs[0].content;
    return {msgs.begin() + 1, msgs.end()};
}

std::string format_chatml(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, bool gen, const std::string& bos) {
    std::string out = t.bos_prefix ? bos : "";
    if (!msgs.empty() && msgs[0].role != "system" && !t.default_system.empty())
        out += "<|im_start|>system\n" + t.default_system + "<|im_end|>\n";
    for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (gen || t.gen_always) out += "<|im_start|>assistant\n";
    return out;
}

std::string format_llama2(const std::vector<ChatMessage>& msgs, const std::string& bos, const std::string& eos) {
    check_roles(msgs, true, "llama2");
    std::string sys;
    bool has_sys;
    auto loop = split_system(msgs, &sys, &has_sys);
    check_alternation(loop, "llama2");
    std::string out;
    for (size_t i = 0; i < loop.size(); ++i) {
        std::string content = loop[i].content;
        if (i == 0 && has_sys) content = "<<SYS>>\n" + sys + "\n<</SYS>>\n\n" + content;
        if (loop[i].role == "user") out += bos + "[INST] " + strip(content) + " [/INST]";
        else out += " " + strip(content) + " " + eos;
    }
    return out;
}

std::string format_llama3(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, bool gen, const std::string& bos) {
    check_roles(msgs, true, "llama3");
    auto block = [](const std::string& role, const std::string& content) {
        return "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + strip(content) + "<|eot_id|>";
    };
    std::string out = bos;
    if (t.variant == "3.1") {
        std::string sys;
        bool has_sys;
        auto rest = split_system(msgs, &sys, &has_sys);
        out += "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " + t.date +
               "\n\n" + strip(sys) + "<|eot_id|>";
        for (const auto& m : rest) out += block(m.role, m.content);
    } else {
        for (const auto& m : msgs) out += block(m.role, m.content);
    }
    if (gen || t.gen_always) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

std::string format_mistral(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, const std::string& bos,
                           const std::string& eos) {
    const std::string& v = t.variant;
    check_roles(msgs, v != "v0.2", "mistral");
    std::string sys;
    bool has_sys;
    auto loop = split_system(msgs, &sys, &has_sys);
    check_alternation(loop, "mistral");
    std::string out = bos;
    for (size_t i = 0; i < loop.size(); ++i) {
        const std::string& c = loop[i].content;
        if (loop[i].role == "user") {
            bool with_sys = has_sys && (v == "v1" ? i == 0 : i + 1 == loop.size());
            std::string body = with_sys ? sys + "\n\n" + c : c;
            if (v == "v0.2") out += "[INST] " + c + " [/INST]";
            else if (v == "v1") out += " [INST] " + body + " [/INST]";
            else if (v == "v3") out += "[INST] " + body + "[/INST]";
            else out += "[INST]" + body + "[/INST]";
        } else {
            if (v == "v0.2" || v == "v3-tekken") out += c + eos;
            else if (v == "v1") out += " " + c + eos;
            else out += " " + strip(c) + eos;
        }
    }
    return out;
}

std::string format_phi3(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, bool gen, const std::string& bos,
                        const std::string& eos) {
    check_roles(msgs, true, "phi3");
    std::string out = t.bos_prefix ? bos : "";
    if (t.variant == "mini") {
        for (const auto& m : msgs) {
            if (m.role == "user") out += "<|user|>\n" + m.content + "<|end|>\n<|assistant|>\n";
            else if (m.role == "assistant") out += m.content + "<|end|>\n";
        }
        return out;
    }
    for (const auto& m : msgs) {
        if (m.role == "system" && m.content.empty() && t.skip_empty_system) continue;
        out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
    }
    if (t.variant == "roles-vision") {
        if (gen && !msgs.empty() && msgs.back().role != "assistant") out += "<|assistant|>\n";
    } else if (gen) {
        out += "<|assistant|>\n";
    } else if (t.eos_if_no_gen) {
        out += eos;
    }
    return out;
}

std::string format_zephyr(const std::vector<ChatMessage>& msgs, bool gen, const std::string& eos) {
    check_roles(msgs, true, "zephyr");
    std::string out;
    for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + eos + "\n";
    if (gen && !msgs.empty()) out += "<|assistant|>\n";
    return out;
}

}  // namespace

const char* chat_format_name(ChatFormat f) {
    switch (f) {
        case ChatFormat::ChatML: return "chatml";
        case ChatFormat::Llama2: return "llama2";
        case ChatFormat::Llama3: return "llama3";
        case ChatFormat::Mistral: return "mistral";
        case ChatFormat::Phi3: return "phi3";
        case ChatFormat::Zephyr: return "zephyr";
    }
    return "?";
}

ChatTemplate parse_chat_template(const std::string& jinja) {
    ChatTemplate t;
    if (strip(jinja).empty()) fail("chat template: the model has no chat template");
    // Newlines inside string literals may be escaped (JSON/GGUF text) or real
    // (templates embedded in source); compare against one spelling.
    std::string j;
    for (char c : jinja) j += c == '\n' ? std::string("\\n") : std::string(1, c);
    std::string head = strip(jinja).substr(0, 20);
    t.bos_prefix = head.rfind("{{ bos_token }}", 0) == 0 || head.rfind("{{bos_token}}", 0) == 0 || head.rfind("{{- bos_token }}", 0) == 0;
    t.gen_always = !has(j, "add_generation_prompt");
    if (has(j, "<|im_start|>")) {
        t.format = ChatFormat::ChatML;
        t.default_system = chatml_default_system(j);
    } else if (has(j, "<|start_header_id|>")) {
        t.format = ChatFormat::Llama3;
        t.variant = has(j, "Cutting Knowledge Date") ? "3.1" : "3.0";
        if (t.variant == "3.1") t.date = llama3_date(j);
        t.strip_content = true;
    } else if (has(j, "[INST]") && has(j, "<<SYS>>")) {
        t.format = ChatFormat::Llama2;
        t.strip_content = true;
    } else if (has(j, "[INST]")) {
        t.format = ChatFormat::Mistral;
        if (has(j, "' [INST] '")) t.variant = "v1";
        else if (has(j, "\"[INST] \"")) t.variant = "v3";
        else if (has(j, "\"[INST]\"")) t.variant = "v3-tekken";
        else if (has(j, "'[INST] '") && !has(j, "[SYSTEM_PROMPT]")) t.variant = "v0.2";
        else fail("chat template: unrecognised Mistral [INST] template variant");
    } else if (has(j, "<|end|>") && (has(j, "<|user|>") || has(j, "'<|' + message['role'] + '|>'"))) {
        t.format = ChatFormat::Phi3;
        if (has(j, "'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>'")) t.variant = "mini";
        else if (has(j, "messages[-1]['role'] != 'assistant'")) t.variant = "roles-vision";
        else t.variant = "roles";
        t.eos_if_no_gen = has(j, "eos_token");
        t.skip_empty_system = has(j, "message['role'] == 'system' and message['content']");
    } else if (has(j, "<|user|>") && has(j, "eos_token")) {
        t.format = ChatFormat::Zephyr;
    } else {
        fail("chat template: unrecognised template (known families: ChatML <|im_start|>, LLaMA-2 [INST]/<<SYS>>, "
             "LLaMA-3 <|start_header_id|>, Mistral [INST], Phi-3 <|user|>/<|end|>, Zephyr <|user|>)");
    }
    return t;
}

std::string apply_chat_template(const ChatTemplate& t, const std::vector<ChatMessage>& msgs, bool gen, const std::string& bos,
                                const std::string& eos) {
    switch (t.format) {
        case ChatFormat::ChatML: return format_chatml(t, msgs, gen, bos);
        case ChatFormat::Llama2: return format_llama2(msgs, bos, eos);
        case ChatFormat::Llama3: return format_llama3(t, msgs, gen, bos);
        case ChatFormat::Mistral: return format_mistral(t, msgs, bos, eos);
        case ChatFormat::Phi3: return format_phi3(t, msgs, gen, bos, eos);
        case ChatFormat::Zephyr: return format_zephyr(msgs, gen, eos);
    }
    return {};
}

std::string apply_chat_template(const std::string& jinja, const std::vector<ChatMessage>& msgs, bool gen, const std::string& bos,
                                const std::string& eos) {
    return apply_chat_template(parse_chat_template(jinja), msgs, gen, bos, eos);
}

std::string apply_chat_template(const Tokenizer& tok, const std::vector<ChatMessage>& msgs, bool gen) {
    std::string bos = tok.bos_id() >= 0 ? tok.decode({tok.bos_id()}, false) : "";
    std::vector<int32_t> eos_ids = tok.eos_ids();
    std::string eos = eos_ids.empty() ? "" : tok.decode({eos_ids[0]}, false);
    ChatTemplate t;
    try {
        t = parse_chat_template(tok.chat_template());
    } catch (const Error& e) {
        if (tok.token_id("<|im_start|>") < 0 || tok.token_id("<|im_end|>") < 0)
            fail("{} and the vocabulary has no <|im_start|> for a ChatML fallback", e.what());
        t = ChatTemplate{};
    }
    return apply_chat_template(t, msgs, gen, bos, eos);
}

}  // namespace lightllm
