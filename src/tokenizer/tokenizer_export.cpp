#include "tokenizer_export.h"
#include "bpe_pretokenizer.h"
#include "check.h"
#include "spm_model_proto.h"
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace lightllm {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

bool is_added(TokenType t) { return t == TokenType::Control || t == TokenType::UserDefined; }

std::string token_or_empty(const TokenizerVocab& v, int32_t id) {
    return id >= 0 && id < v.n_vocab() ? v.tokens[size_t(id)] : std::string();
}

ojson token_or_null(const TokenizerVocab& v, int32_t id) {
    if (id < 0 || id >= v.n_vocab()) return nullptr;
    return v.tokens[size_t(id)];
}

ojson byte_level(bool use_regex) {
    return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

ojson split(const std::string& regex) {
    return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}

ojson pre_tokenizer(BpePreKind kind) {
    const std::string llama3 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    const std::string qwen2 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    switch (kind) {
        case BpePreKind::Gpt2: return byte_level(true);
        case BpePreKind::Llama3: return {{"type", "Sequence"}, {"pretokenizers", {split(llama3), byte_level(false)}}};
        case BpePreKind::Qwen2: return {{"type", "Sequence"}, {"pretokenizers", {split(qwen2), byte_level(false)}}};
        case BpePreKind::Starcoder:
            return {{"type", "Sequence"},
                    {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}}};
        case BpePreKind::DeepseekCoder:
            return {{"type", "Sequence"},
                    {"pretokenizers",
                     {split(R"([\r\n])"), split(R"(\s?\p{L}+)"), split(R"(\s?\p{P}+)"),
                      split("[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"),
                      {{"type", "Digits"}, {"individual_digits", true}}, byte_level(false)}}};
        default: {
            ojson steps = ojson::array();
            for (const std::string& re : bpe_pre_regexes(kind)) steps.push_back(split(re));
            steps.push_back(byte_level(false));
            return {{"type", "Sequence"}, {"pretokenizers", steps}};
        }
    }
}

ojson added_token(const TokenizerVocab& v, size_t id) {
    AddedTokenFlags fl = id < v.added_flags.size() ? v.added_flags[id] : AddedTokenFlags{};
    return {{"id", id},
            {"content", v.tokens[id]},
            {"single_word", false},
            {"lstrip", fl.lstrip},
            {"rstrip", fl.rstrip},
            {"normalized", false},
            {"special", v.types[id] == TokenType::Control}};
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    if (!out) fail("{}: cannot create", path);
    out << text;
    if (!out) fail("{}: write failed", path);
}

}  // namespace

std::string bpe_tokenizer_json(const TokenizerVocab& v) {
    if (v.kind != VocabKind::Bpe || !v.byte_level) fail("{}: not a byte-level BPE vocabulary", v.source);
    if (v.types.size() != v.tokens.size()) fail("{}: token types and tokens differ in count", v.source);
    const BpePreKind kind = v.hf_pre_tokenizer.empty() ? bpe_pre_kind_from_name(v.pre, v.source) : BpePreKind::Gpt2;

    ojson added = ojson::array();
    ojson vocab = ojson::object();
    for (size_t id = 0; id < v.tokens.size(); ++id) {
        const bool dup = vocab.contains(v.tokens[id]);
        if (!dup) vocab[v.tokens[id]] = id;
        if (is_added(v.types[id]) || dup) added.push_back(added_token(v, id));
    }
    ojson merges = ojson::array();
    for (const auto& [a, b] : v.merges) merges.push_back(ojson::array({a, b}));

    ojson post;
    if (v.add_bos && v.bos_id >= 0) {
        const std::string bos = token_or_empty(v, v.bos_id);
        post = {{"type", "TemplateProcessing"},
                {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                {"pair",
                 {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
                {"special_tokens", {{bos, {{"id", bos}, {"ids", {v.bos_id}}, {"tokens", {bos}}}}}}};
    } else {
        post = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
    }

    ojson j = ojson::object();
    j["version"] = "1.0";
    j["truncation"] = nullptr;
    j["padding"] = nullptr;
    j["added_tokens"] = std::move(added);
    j["normalizer"] = !v.hf_normalizer.empty() ? ojson::parse(v.hf_normalizer)
                      : (v.nfc || kind == BpePreKind::Qwen2) ? ojson{{"type", "NFC"}} : ojson(nullptr);
    j["pre_tokenizer"] = v.hf_pre_tokenizer.empty() ? pre_tokenizer(kind) : ojson::parse(v.hf_pre_tokenizer);
    j["post_processor"] = std::move(post);
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    j["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", token_or_null(v, v.unk_id)},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"ignore_merges", v.ignore_merges},
                  {"vocab", std::move(vocab)},
                  {"merges", std::move(merges)}};
    return j.dump(1);
}

std::string tokenizer_config_json(const TokenizerVocab& v) {
    ojson decoder = ojson::object();
    for (size_t id = 0; id < v.tokens.size() && id < v.types.size(); ++id) {
        if (!is_added(v.types[id])) continue;
        ojson t = added_token(v, id);
        t.erase("id");
        decoder[std::to_string(id)] = std::move(t);
    }
    ojson j = ojson::object();
    j["add_bos_token"] = v.add_bos;
    j["add_eos_token"] = v.add_eos;
    j["added_tokens_decoder"] = std::move(decoder);
    j["bos_token"] = token_or_null(v, v.bos_id);
    j["eos_token"] = token_or_null(v, v.eos_id);
    j["unk_token"] = token_or_null(v, v.unk_id);
    j["pad_token"] = token_or_null(v, v.pad_id);
    if (!v.chat_template.empty()) j["chat_template"] = v.chat_template;
    j["clean_up_tokenization_spaces"] = false;
    if (v.kind == VocabKind::Spm) {
        j["tokenizer_class"] = "LlamaTokenizer";
        j["legacy"] = true;
        j["sp_model_kwargs"] = ojson::object();
    } else {
        j["tokenizer_class"] = "PreTrainedTokenizerFast";
    }
    return j.dump(2);
}

std::string special_tokens_map_json(const TokenizerVocab& v) {
    ojson j = ojson::object();
    for (auto [key, id] : {std::pair<const char*, int32_t>{"bos_token", v.bos_id}, {"eos_token", v.eos_id},
                           {"unk_token", v.unk_id}, {"pad_token", v.pad_id}}) {
        if (id >= 0 && id < v.n_vocab()) j[key] = v.tokens[size_t(id)];
    }
    return j.dump(2);
}

std::vector<std::string> export_tokenizer(const TokenizerVocab& v, const std::string& dir) {
    std::vector<std::string> files;
    if (v.kind == VocabKind::Bpe) {
        write_text((fs::path(dir) / "tokenizer.json").string(), bpe_tokenizer_json(v));
        files.push_back("tokenizer.json");
    } else {
        write_text((fs::path(dir) / "tokenizer.model").string(), spm_model_proto_from_vocab(v));
        files.push_back("tokenizer.model");
    }
    write_text((fs::path(dir) / "tokenizer_config.json").string(), tokenizer_config_json(v));
    write_text((fs::path(dir) / "special_tokens_map.json").string(), special_tokens_map_json(v));
    files.push_back("tokenizer_config.json");
    files.push_back("special_tokens_map.json");
    return files;
}

}  // namespace lightllm
