// TokenizerVocab from GGUF tokenizer.* metadata (llama.cpp's key names).
#include "check.h"
#include "gguf_reader.h"
#include "tokenizer_vocab.h"

namespace lightllm {

namespace {

int32_t optional_id(const GgufFile& f, const std::string& key, int32_t n_vocab) {
    if (!f.has(key)) return -1;
    int64_t id = f.get_i64(key);
    if (id < -1 || id >= n_vocab) fail("{}: {} = {} is outside the vocabulary ({} tokens)", f.path(), key, id, n_vocab);
    return int32_t(id);
}

}  // namespace

TokenizerVocab vocab_from_gguf(const GgufFile& f) {
    TokenizerVocab v;
    v.source = f.path();
    if (!f.has("tokenizer.ggml.model")) fail("{}: no tokenizer in this GGUF file (tokenizer.ggml.model missing)", f.path());
    std::string model = f.get_string("tokenizer.ggml.model");
    if (model == "gpt2" || model == "gemma4") v.kind = VocabKind::Bpe;
    else if (model == "llama") v.kind = VocabKind::Spm;
    else
        fail("{}: tokenizer model '{}' is not supported (supported: gpt2 = byte-level BPE, gemma4 = SentencePiece-style BPE, "
             "llama = SentencePiece)",
             f.path(), model);

    v.tokens = f.get_string_array("tokenizer.ggml.tokens");
    int32_t n = v.n_vocab();
    if (n == 0) fail("{}: tokenizer.ggml.tokens is empty", f.path());
    if (f.has("tokenizer.ggml.token_type")) {
        std::vector<int32_t> t = f.get_i32_array("tokenizer.ggml.token_type");
        if (int32_t(t.size()) != n) fail("{}: tokenizer.ggml.token_type has {} entries for {} tokens", f.path(), t.size(), n);
        v.types.reserve(n);
        for (int32_t x : t) {
            if (x < 0 || x > int32_t(TokenType::Byte)) fail("{}: tokenizer.ggml.token_type has invalid type {}", f.path(), x);
            v.types.push_back(TokenType(x));
        }
    } else {
        v.types.assign(n, TokenType::Normal);
    }
    if (f.has("tokenizer.ggml.scores")) {
        v.scores = f.get_f32_array("tokenizer.ggml.scores");
        if (int32_t(v.scores.size()) != n) fail("{}: tokenizer.ggml.scores has {} entries for {} tokens", f.path(), v.scores.size(), n);
    }
    if (v.kind == VocabKind::Spm && v.scores.empty()) fail("{}: SentencePiece vocabulary without tokenizer.ggml.scores", f.path());

    if (v.kind == VocabKind::Bpe) {
        if (!f.has("tokenizer.ggml.merges")) fail("{}: BPE vocabulary without tokenizer.ggml.merges", f.path());
        const GgufValue* m = f.find("tokenizer.ggml.merges");
        if (m->type != GgufType::Array || m->elem_type != GgufType::String)
            fail("{}: tokenizer.ggml.merges is not an array of strings", f.path());
        v.merges.reserve(m->strings.size());
        for (size_t i = 0; i < m->strings.size(); ++i) {
            std::string_view s = m->strings[i];
            size_t sp = s.find(' ', 1);
            if (sp == std::string_view::npos) fail("{}: tokenizer.ggml.merges[{}] = '{}' is not 'a b'", f.path(), i, s);
            v.merges.emplace_back(std::string(s.substr(0, sp)), std::string(s.substr(sp + 1)));
        }
        v.pre = model == "gemma4" ? "gemma4" : f.get_string("tokenizer.ggml.pre", "default");  // as llama.cpp
        v.byte_level = v.pre != "gemma4" && v.pre != "sarvam-moe" && v.pre != "granite-embed-multi-311m";
        // llama.cpp: LLaMA-3 style vocabularies (and the others its loader sets
        // ignore_merges for) look whole pieces up before merging.
        for (const char* name : {"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                                 "jina-v5-nano", "tekken", "minicpm5", "youtu", "granite-embed-multi-97m"})
            v.ignore_merges = v.ignore_merges || v.pre == name;
        // Qwen2's Hugging Face tokenizer NFC-normalizes (GGUF does not record normalizers).
        v.nfc = v.pre == "qwen2" || v.pre == "deepseek-r1-qwen";
        v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", false);
    } else {
        v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", true);
        v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", true);
        v.remove_extra_whitespaces = f.get_bool("tokenizer.ggml.remove_extra_whitespaces", false);
    }
    v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false);
    v.bos_id = optional_id(f, "tokenizer.ggml.bos_token_id", n);
    v.eos_id = optional_id(f, "tokenizer.ggml.eos_token_id", n);
    v.unk_id = optional_id(f, "tokenizer.ggml.unknown_token_id", n);
    v.pad_id = optional_id(f, "tokenizer.ggml.padding_token_id", n);
    for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
        int32_t id = optional_id(f, key, n);
        if (id >= 0 && id != v.eos_id) v.extra_eos_ids.push_back(id);
    }
    v.chat_template = f.get_string("tokenizer.chat_template", "");
    const std::string prefix = "tokenizer.chat_template.";
    for (const std::string& key : f.keys())
        if (key.rfind(prefix, 0) == 0) v.named_chat_templates.emplace_back(key.substr(prefix.size()), f.get_string(key));
    return v;
}

}  // namespace lightllm
