// SentencePiece: the LLaMA-2 tokenizer.model and GGUF "llama" vocabularies
// (through a hand-built ModelProto) against the llama.cpp vocabulary cases
// (ids made by the Hugging Face tokenizer); expected ids of the extra cases
// from the sentencepiece Python package.
#include "check.h"
#include "gguf_builder.h"
#include "gguf_reader.h"
#include "spm_model_proto.h"
#include "spm_tokenizer.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>
#include <unistd.h>

using namespace lightllm;

namespace {

const std::string kLlama2Model = shared_data("tokenizers/llama2-sentencepiece.model");

std::string ids_str(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += " " + std::to_string(id);
    return s;
}

void check_cases(const Tokenizer& tok, const std::string& name) {
    std::string base = shared_data("tokenizers/ggml-vocab-" + name + ".gguf");
    auto cases = load_vocab_cases(base + ".inp", base + ".out");
    REQUIRE(cases.size() > 30);
    for (const auto& c : cases) {
        INFO(name << " text: [" << c.text << "]");
        auto ids = tok.encode(c.text, false, false);
        CHECK(ids_str(ids) == ids_str(c.ids));
        CHECK(tok.decode(ids) == c.text);
    }
}

// A GGUF vocabulary file written from a TokenizerVocab (as convert_hf_to_gguf does).
std::string write_vocab_gguf(const TokenizerVocab& v, const std::string& path) {
    GgufBuilder b;
    b.str("general.architecture", "llama");
    b.str("tokenizer.ggml.model", "llama");
    b.str_array("tokenizer.ggml.tokens", v.tokens);
    b.f32_array("tokenizer.ggml.scores", v.scores);
    std::vector<int32_t> types;
    for (TokenType t : v.types) types.push_back(int32_t(t));
    b.i32_array("tokenizer.ggml.token_type", types);
    b.u32("tokenizer.ggml.bos_token_id", uint32_t(v.bos_id));
    b.u32("tokenizer.ggml.eos_token_id", uint32_t(v.eos_id));
    b.u32("tokenizer.ggml.unknown_token_id", uint32_t(v.unk_id));
    b.boolean("tokenizer.ggml.add_bos_token", true);
    b.str("tokenizer.chat_template", "{{ bos_token }}[INST]");
    return b.write(path);
}

}  // namespace

TEST_CASE("tokenizer spm: tokenizer.model reading") {
    std::string bytes = read_whole_file(kLlama2Model);
    TokenizerVocab v = vocab_from_spm_model_proto(bytes, kLlama2Model);
    CHECK(v.kind == VocabKind::Spm);
    CHECK(v.n_vocab() == 32000);
    CHECK(v.tokens[1] == "<s>");
    CHECK(v.types[0] == TokenType::Unknown);
    CHECK(v.types[2] == TokenType::Control);
    CHECK(v.types[3] == TokenType::Byte);
    CHECK(v.tokens[259] == "\xE2\x96\x81\xE2\x96\x81");
    CHECK(v.scores[260] == -1.0f);
    CHECK(v.unk_id == 0);
    CHECK(v.bos_id == 1);
    CHECK(v.eos_id == 2);
    CHECK(v.pad_id == -1);
    CHECK(v.add_space_prefix);
    CHECK_FALSE(v.remove_extra_whitespaces);
    CHECK(v.byte_fallback);

    std::string bad = bytes.substr(0, bytes.size() / 2);
    std::string e;
    try {
        vocab_from_spm_model_proto(bad, "half.model");
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find("half.model") != std::string::npos);
}

TEST_CASE("tokenizer spm: llama2 tokenizer.model passes the llama-spm cases") {
    auto tok = SpmTokenizer::from_model_file(kLlama2Model);
    check_cases(*tok, "llama-spm");
    CHECK(tok->bos_id() == 1);
    CHECK(tok->eos_ids() == std::vector<int32_t>{2});
    CHECK(tok->add_bos());
    CHECK(tok->encode("Hello world", true) == std::vector<int32_t>{1, 15043, 3186});
}

TEST_CASE("tokenizer spm: ModelProto built from the vocabulary behaves as the original") {
    TokenizerVocab v = vocab_from_spm_model_proto(read_whole_file(kLlama2Model), kLlama2Model);
    auto tok = SpmTokenizer::from_vocab(v);
    check_cases(*tok, "llama-spm");
    // Round trip of the writer through the reader.
    TokenizerVocab back = vocab_from_spm_model_proto(spm_model_proto_from_vocab(v), "built");
    CHECK(back.tokens == v.tokens);
    CHECK(back.scores == v.scores);
    CHECK(back.types == v.types);
    CHECK(back.add_space_prefix);
    CHECK_FALSE(back.remove_extra_whitespaces);
    CHECK(back.byte_fallback);
}

TEST_CASE("tokenizer spm: GGUF llama vocabulary (written from tokenizer.model) through load_tokenizer") {
    TokenizerVocab v = vocab_from_spm_model_proto(read_whole_file(kLlama2Model), kLlama2Model);
    std::string path = write_vocab_gguf(v, "/tmp/lightllm_test_" + std::to_string(getpid()) + "_spm_vocab.gguf");
    auto tok = load_tokenizer(path);
    check_cases(*tok, "llama-spm");
    CHECK(tok->chat_template() == "{{ bos_token }}[INST]");
    CHECK(tok->add_bos());
    std::remove(path.c_str());
}

TEST_CASE("tokenizer spm: special tokens in text") {
    auto tok = SpmTokenizer::from_model_file(kLlama2Model);
    // Each segment gets the dummy prefix (sentencepiece per segment).
    CHECK(tok->encode("<s>[INST] hi", false, true) == std::vector<int32_t>{1, 518, 25580, 29962, 7251});
    CHECK(tok->encode("<s>[INST] hi", false, false) == std::vector<int32_t>{529, 29879, 24566, 25580, 29962, 7251});
    CHECK(tok->is_special(1));
    CHECK_FALSE(tok->is_special(15043));
    CHECK(tok->token_id("<s>") == 1);
    CHECK(tok->token_id("no such piece") == -1);
    CHECK(tok->decode({1, 15043, 3186, 2}) == "Hello world");
    CHECK(tok->decode({1, 15043, 3186, 2}, false) == "<s> Hello world</s>");
    CHECK(tok->decode({29871, 30919, 31076, 29871, 243, 162, 169, 156, 921}) == "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\xA6\x99 x");
    CHECK(tok->token_bytes(243) == "\xF0");
}

TEST_CASE("tokenizer spm: intact GGUF vocabularies (llama-spm, phi-3)") {
    for (const char* name : {"llama-spm", "phi-3"}) {
        auto tok = load_tokenizer(vocab_file(std::string("ggml-vocab-") + name + ".gguf"));
        check_cases(*tok, name);
    }
}
