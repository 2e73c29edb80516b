// TokenizerVocab from a Hugging Face directory: tokenizer.json (byte-level
// BPE), tokenizer_config.json, generation_config.json, config.json.
#include "bpe_pretokenizer.h"
#include "check.h"
#include "hf_normalizer.h"
#include "hf_pretokenizer.h"
#include "tokenizer_vocab.h"
#include <nlohmann/json.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace lightllm {

using json = nlohmann::json;

namespace {

// Split regexes of the pre-tokenizers we implement (bpe_pretokenizer.h), as
// written in tokenizer.json.
const char* kGpt2Regex = R"RE('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)RE";
const char* kLlama3Regex =
    R"RE((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)RE";
const char* kQwen2Regex =
    R"RE((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)RE";

bool file_exists(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

json read_json(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("{}: cannot open", path);
    std::stringstream ss;
    ss << f.rdbuf();
    try {
        return json::parse(ss.str());
    } catch (const json::exception& e) {
        fail("{}: malformed JSON: {}", path, e.what());
    }
}

// A token given as "text" or {"content": "text", ...}.
std::string token_text(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
    return {};
}

int32_t find_token(const TokenizerVocab& v, const std::string& text) {
    if (text.empty()) return -1;
    for (int32_t id = 0; id < v.n_vocab(); ++id)
        if (v.tokens[id] == text) return id;
    return -1;
}

// One step of the pre-tokenizer, as a short description used for matching.
std::string describe_step(const json& p, const std::string& path) {
    std::string type = p.value("type", "");
    if (type == "ByteLevel") return p.value("use_regex", true) ? "bytelevel:regex" : "bytelevel:noregex";
    if (type == "Digits") return p.value("individual_digits", false) ? "split:\\p{N}" : "digits:grouped";
    if (type == "Split") {
        std::string re;
        if (p.contains("pattern") && p["pattern"].is_object()) {
            const json& pat = p["pattern"];
            if (pat.contains("Regex")) re = pat["Regex"].get<std::string>();
            else if (pat.contains("String")) re = "string:" + pat["String"].get<std::string>();
        }
        if (p.value("behavior", "") != "Isolated" || p.value("invert", false)) return "other:Split";
        if (re == "[\r\n]" || re == R"([\r\n])") return "split:crlf";
        return "split:" + re;
    }
    return "other:" + type;
}

// The built-in pre-tokenizer name the configuration matches, or "" (then
// hf_pretokenizer.h runs it).
std::string pre_from_json(const json& pre, const std::string& path, bool* add_prefix_space) {
    std::vector<std::string> steps;
    if (pre.is_null()) fail("{}: byte-level BPE without a pre_tokenizer is not supported", path);
    std::vector<json> list;
    if (pre.value("type", "") == "Sequence") list = pre.value("pretokenizers", std::vector<json>{});
    else list.push_back(pre);
    for (const json& p : list) {
        if (p.value("type", "") == "ByteLevel") *add_prefix_space = p.value("add_prefix_space", false);
        steps.push_back(describe_step(p, path));
    }
    auto is = [&](std::vector<std::string> want) { return steps == want; };
    if (is({"bytelevel:regex"}) || is({"split:" + std::string(kGpt2Regex), "bytelevel:noregex"})) return "gpt-2";
    if (is({"split:" + std::string(kLlama3Regex), "bytelevel:noregex"})) return "llama-bpe";
    if (is({"split:" + std::string(kQwen2Regex), "bytelevel:noregex"})) return "qwen2";
    if (is({"split:\\p{N}", "bytelevel:regex"})) return "starcoder";
    if (is({"split:crlf", "split:\\s?\\p{L}+", "split:\\s?\\p{P}+", "split:[一-龥ࠀ-一가-퟿]+", "split:\\p{N}", "bytelevel:noregex"}))
        return "deepseek-coder";
    for (const char* name : {"tekken", "gpt-4o", "deepseek-v3", "deepseek-llm", "falcon", "bloom", "viking", "chameleon",
                             "superbpe", "seed-coder", "kimi-k2", "bailingmoe"}) {
        std::vector<std::string> want;
        for (const std::string& re : bpe_pre_regexes(bpe_pre_kind_from_name(name, path)))
            want.push_back(re == "[\r\n]" ? "split:crlf" : "split:" + re);
        want.push_back("bytelevel:noregex");
        if (is(want)) return name;
    }
    return "";
}

bool contains_type(const json& j, const std::string& type) {
    if (j.is_object()) {
        if (j.value("type", "") == type) return true;
        for (const auto& [k, v] : j.items())
            if (contains_type(v, type)) return true;
    } else if (j.is_array()) {
        for (const auto& v : j)
            if (contains_type(v, type)) return true;
    }
    return false;
}

// BOS token of a TemplateProcessing post-processor whose single-sequence
// template starts with a special token ("<|begin_of_text|>" $A).
std::string template_bos(const json& post) {
    if (post.is_null()) return {};
    if (post.value("type", "") == "Sequence") {
        for (const json& p : post.value("processors", std::vector<json>{})) {
            std::string b = template_bos(p);
            if (!b.empty()) return b;
        }
        return {};
    }
    if (post.value("type", "") != "TemplateProcessing" || !post.contains("single") || !post["single"].is_array() ||
        post["single"].empty())
        return {};
    const json& first = post["single"][0];
    if (first.contains("SpecialToken")) return first["SpecialToken"].value("id", "");
    return {};
}

}  // namespace

HfTokenizerFiles find_hf_tokenizer_files(const std::string& dir) {
    HfTokenizerFiles f;
    f.dir = dir;
    auto pick = [&](const char* name) {
        std::string p = dir + "/" + name;
        return file_exists(p) ? p : std::string();
    };
    f.tokenizer_json = pick("tokenizer.json");
    f.tokenizer_model = pick("tokenizer.model");
    f.tokenizer_config = pick("tokenizer_config.json");
    f.config = pick("config.json");
    f.generation_config = pick("generation_config.json");
    return f;
}

bool hf_json_is_byte_level(const std::string& path) {
    json j = read_json(path);
    if (!j.contains("model") || j["model"].value("type", "") != "BPE") return false;
    if (j["model"].value("byte_fallback", false)) return false;
    return contains_type(j["pre_tokenizer"], "ByteLevel") || contains_type(j["decoder"], "ByteLevel");
}

TokenizerVocab vocab_from_hf_tokenizer_json(const std::string& path) {
    json j = read_json(path);
    TokenizerVocab v;
    v.kind = VocabKind::Bpe;
    v.source = path;
    try {
        if (!j.contains("model") || !j["model"].is_object()) fail("{}: no 'model' object", path);
        const json& model = j["model"];
        std::string type = model.value("type", "");
        if (type != "BPE") fail("{}: tokenizer model type '{}' is not supported (supported: BPE)", path, type);
        if (model.value("byte_fallback", false) || !(contains_type(j["pre_tokenizer"], "ByteLevel") || contains_type(j["decoder"], "ByteLevel")))
            fail("{}: SentencePiece-style BPE (byte_fallback / Metaspace) needs the model's tokenizer.model", path);
        const json& norm = j["normalizer"];
        if (!norm.is_null() && norm.value("type", "") == "NFC") {
            v.nfc = true;
        } else if (!norm.is_null()) {
            v.hf_normalizer = norm.dump();
            HfNormalizer check(v.hf_normalizer, path);  // unknown components are errors here
        }

        int32_t n = 0;
        for (const auto& [tok, id] : model["vocab"].items()) n = std::max(n, id.get<int32_t>() + 1);
        const json added = j.value("added_tokens", json::array());
        for (const json& a : added) n = std::max(n, a.at("id").get<int32_t>() + 1);
        v.tokens.assign(n, std::string());
        v.types.assign(n, TokenType::Unused);
        v.added_flags.assign(n, AddedTokenFlags{});
        for (const auto& [tok, id] : model["vocab"].items()) {
            int32_t i = id.get<int32_t>();
            if (i < 0) fail("{}: negative token id {}", path, i);
            v.tokens[i] = tok;
            v.types[i] = TokenType::Normal;
        }
        for (const json& a : added) {
            int32_t i = a.at("id").get<int32_t>();
            if (i < 0) fail("{}: negative token id {}", path, i);
            v.tokens[i] = a.at("content").get<std::string>();
            v.types[i] = a.value("special", false) ? TokenType::Control : TokenType::UserDefined;
            v.added_flags[i] = {a.value("lstrip", false), a.value("rstrip", false)};
        }
        for (int32_t i = 0; i < n; ++i)
            if (v.types[i] == TokenType::Unused) v.tokens[i] = "<lightllm_unused_" + std::to_string(i) + ">";

        for (const json& m : model.value("merges", json::array())) {
            if (m.is_string()) {
                std::string s = m.get<std::string>();
                size_t sp = s.find(' ', 1);
                if (sp == std::string::npos) fail("{}: merge '{}' is not 'a b'", path, s);
                v.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
            } else if (m.is_array() && m.size() == 2) {
                v.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else {
                fail("{}: malformed merge {}", path, m.dump());
            }
        }
        v.ignore_merges = model.value("ignore_merges", false);
        std::string pre = pre_from_json(j["pre_tokenizer"], path, &v.add_prefix_space);
        // tokenizers adds ByteLevel's prefix space to every piece reaching it
        // (each segment between added tokens, each piece of earlier steps):
        // only the general pipeline does that.
        if (!pre.empty() && !v.add_prefix_space) {
            v.pre = pre;
        } else {
            v.hf_pre_tokenizer = j["pre_tokenizer"].dump();
            v.add_prefix_space = false;
            HfPreTokenizer check(v.hf_pre_tokenizer, path);  // unknown components are errors here
        }
        if (!model["unk_token"].is_null() && model["unk_token"].is_string()) v.unk_id = find_token(v, model["unk_token"].get<std::string>());
        std::string bos = template_bos(j["post_processor"]);
        if (!bos.empty()) {
            v.bos_id = find_token(v, bos);
            v.add_bos = v.bos_id >= 0;
        }
    } catch (const json::exception& e) {
        fail("{}: unexpected tokenizer.json content: {}", path, e.what());
    }
    return v;
}

void apply_hf_config(TokenizerVocab& v, const HfTokenizerFiles& files) {
    std::vector<int32_t> eos;
    auto add_eos = [&](int32_t id) {
        if (id >= 0 && id < v.n_vocab() && std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
    };
    auto ids_of = [](const json& j) {
        std::vector<int32_t> out;
        if (j.is_number_integer()) out.push_back(j.get<int32_t>());
        else if (j.is_array())
            for (const auto& x : j)
                if (x.is_number_integer()) out.push_back(x.get<int32_t>());
        return out;
    };
    try {
        if (!files.tokenizer_config.empty()) {
            const std::string& path = files.tokenizer_config;
            json c = read_json(path);
            if (c.contains("added_tokens_decoder") && c["added_tokens_decoder"].is_object()) {
                for (const auto& [key, a] : c["added_tokens_decoder"].items()) {
                    int32_t id = std::stoi(key);
                    std::string content = a.value("content", "");
                    if (id < 0 || content.empty()) fail("{}: malformed added_tokens_decoder entry {}", path, key);
                    if (id >= v.n_vocab()) {
                        while (v.n_vocab() < id) {
                            v.tokens.push_back("<lightllm_unused_" + std::to_string(v.n_vocab()) + ">");
                            v.types.push_back(TokenType::Unused);
                            if (!v.scores.empty()) v.scores.push_back(0.0f);
                        }
                        v.tokens.push_back(content);
                        v.types.push_back(TokenType::UserDefined);
                        if (!v.scores.empty()) v.scores.push_back(0.0f);
                    }
                    if (v.tokens[id] != content) continue;  // the model's own piece differs: keep the model's
                    bool special = a.value("special", false);
                    if (v.types[id] != TokenType::Unknown && v.types[id] != TokenType::Byte)
                        v.types[id] = special ? TokenType::Control : TokenType::UserDefined;
                    if (v.added_flags.size() < v.tokens.size()) v.added_flags.resize(v.tokens.size());
                    v.added_flags[id] = {a.value("lstrip", false), a.value("rstrip", false)};
                }
            }
            if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) v.add_bos = c["add_bos_token"].get<bool>();
            if (c.contains("add_eos_token") && c["add_eos_token"].is_boolean()) v.add_eos = c["add_eos_token"].get<bool>();
            if (c.contains("bos_token")) {
                int32_t id = find_token(v, token_text(c["bos_token"]));
                if (id >= 0) v.bos_id = id;
            }
            if (c.contains("eos_token")) {
                int32_t id = find_token(v, token_text(c["eos_token"]));
                if (id >= 0) v.eos_id = id;
            }
            if (c.contains("chat_template")) {
                const json& t = c["chat_template"];
                if (t.is_string()) {
                    v.chat_template = t.get<std::string>();
                } else if (t.is_array()) {
                    for (const json& e : t) {
                        if (!e.is_object() || !e.contains("template") || !e["template"].is_string())
                            fail("{}: each entry of 'chat_template' must be {{\"name\", \"template\"}}", files.tokenizer_config);
                        std::string name = e.value("name", "");
                        if (name == "default") v.chat_template = e["template"].get<std::string>();
                        else v.named_chat_templates.emplace_back(name, e["template"].get<std::string>());
                    }
                }
            }
        }
        if (v.chat_template.empty() && !files.dir.empty()) {
            std::string jinja = files.dir + "/chat_template.jinja";
            if (file_exists(jinja)) {
                std::ifstream f(jinja, std::ios::binary);
                std::stringstream ss;
                ss << f.rdbuf();
                v.chat_template = ss.str();
            }
        }
        for (const std::string* path : {&files.generation_config, &files.config}) {
            if (path->empty()) continue;
            json g = read_json(*path);
            if (v.bos_id < 0 && g.contains("bos_token_id") && g["bos_token_id"].is_number_integer()) {
                int32_t id = g["bos_token_id"].get<int32_t>();
                if (id < v.n_vocab()) v.bos_id = id;
            }
            if (g.contains("eos_token_id"))
                for (int32_t id : ids_of(g["eos_token_id"])) add_eos(id);
        }
    } catch (const json::exception& e) {
        fail("{}: unexpected content: {}", files.dir, e.what());
    }
    if (v.eos_id < 0 && !eos.empty()) v.eos_id = eos[0];
    for (int32_t id : eos)
        if (id != v.eos_id && std::find(v.extra_eos_ids.begin(), v.extra_eos_ids.end(), id) == v.extra_eos_ids.end())
            v.extra_eos_ids.push_back(id);
}

TokenizerVocab vocab_from_hf_dir(const HfTokenizerFiles& files) {
    TokenizerVocab v = vocab_from_hf_tokenizer_json(files.tokenizer_json);
    apply_hf_config(v, files);
    return v;
}

}  // namespace lightllm
