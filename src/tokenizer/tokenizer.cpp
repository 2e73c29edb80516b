// load_tokenizer (GGUF file or Hugging Face directory) and IncrementalDetokenizer.
#include "tokenizer.h"
#include "bpe_tokenizer.h"
#include "check.h"
#include "gguf_reader.h"
#include "spm_model_proto.h"
#include "spm_tokenizer.h"
#include "tokenizer_vocab.h"
#include "unicode.h"
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace lightllm {

namespace {

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool has_gguf_magic(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    char m[4] = {};
    f.read(m, 4);
    return f.gcount() == 4 && std::string(m, 4) == "GGUF";
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("{}: cannot open", path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace

TokenizerVocab load_tokenizer_vocab(const std::string& path, std::string* spm_model_proto) {
    auto keep_proto = [&](std::string bytes) {
        if (spm_model_proto) *spm_model_proto = std::move(bytes);
    };
    if (is_dir(path)) {
        HfTokenizerFiles files = find_hf_tokenizer_files(path);
        if (!files.tokenizer_json.empty() && (files.tokenizer_model.empty() || hf_json_is_byte_level(files.tokenizer_json)))
            return vocab_from_hf_dir(files);
        if (!files.tokenizer_model.empty()) {
            std::string bytes = read_file(files.tokenizer_model);
            TokenizerVocab v = vocab_from_spm_model_proto(bytes, files.tokenizer_model);
            apply_hf_config(v, files);
            keep_proto(std::move(bytes));
            return v;
        }
        fail("{}: no tokenizer.json or tokenizer.model in this directory", path);
    }
    if (!is_file(path)) fail("{}: no such file or directory", path);
    if (has_gguf_magic(path)) return vocab_from_gguf(*GgufFile::open(path));
    auto ends_with = [&](const std::string& suffix) {
        return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(".model")) {
        std::string bytes = read_file(path);
        TokenizerVocab v = vocab_from_spm_model_proto(bytes, path);
        keep_proto(std::move(bytes));
        return v;
    }
    if (ends_with(".json")) return vocab_from_hf_tokenizer_json(path);
    if (ends_with(".gguf")) return vocab_from_gguf(*GgufFile::open(path));  // a damaged one: the reader says what is wrong
    fail("{}: not a tokenizer (expected a .gguf file, a tokenizer.json / tokenizer.model file, or a model directory with one)", path);
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
    std::string proto;
    TokenizerVocab v = load_tokenizer_vocab(path, &proto);
    if (v.kind == VocabKind::Bpe) return std::make_unique<BpeTokenizer>(std::move(v));
    if (!proto.empty()) return std::make_unique<SpmTokenizer>(std::move(v), proto);
    return SpmTokenizer::from_vocab(std::move(v));
}

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tok, bool skip_special, std::vector<int32_t> prompt_ids)
    : tok_(tok), skip_special_(skip_special) {
    for (int32_t id : prompt_ids)
        if (!(skip_special_ && tok_.is_special(id))) at_start_ = false;
}

std::string IncrementalDetokenizer::push(int32_t id) {
    if (skip_special_ && tok_.is_special(id)) return {};
    std::string b = tok_.token_bytes(id);
    if (at_start_ && tok_.strip_leading_space() && !b.empty() && b[0] == ' ') b.erase(0, 1);
    at_start_ = false;
    held_ += b;
    std::string out;
    size_t used = utf8_append_lossy(out, held_, false);
    held_.erase(0, used);
    return out;
}

std::string IncrementalDetokenizer::flush() {
    std::string out;
    utf8_append_lossy(out, held_, true);
    held_.clear();
    return out;
}

}  // namespace lightllm
