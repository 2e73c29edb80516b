// load_tokenizer on Hugging Face model directories: tokenizer.json or
// tokenizer.model plus tokenizer_config.json / generation_config.json /
// config.json (add_bos_token, chat template, added tokens, EOS lists).
#include "check.h"
#include "tokenizer.h"
#include "tokenizer_test_data.h"
#include "tokenizer_vocab.h"
#include <doctest/doctest.h>
#include <cstdlib>
#include <unistd.h>

using namespace lightllm;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/lightllm_test_tokdir_XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    void write(const std::string& name, const std::string& content) const {
        FILE* f = std::fopen((path + "/" + name).c_str(), "wb");
        std::fwrite(content.data(), 1, content.size(), f);
        std::fclose(f);
    }
};

}  // namespace

TEST_CASE("tokenizer hf dir: tokenizer.json with configs") {
    TempDir d;
    d.write("tokenizer.json", read_whole_file(test_data("tokenizers/llama3/tokenizer.json")));
    d.write("tokenizer_config.json", R"({"add_bos_token": false, "eos_token": "<|im_end|>",
        "chat_template": "{{ '<|im_start|>' + message['content'] }}{% if add_generation_prompt %}x{% endif %}"})");
    d.write("generation_config.json", R"({"bos_token_id": 3, "eos_token_id": [2, 0]})");
    auto tok = load_tokenizer(d.path);
    CHECK_FALSE(tok->add_bos());  // tokenizer_config overrides the TemplateProcessing BOS
    CHECK(tok->bos_id() == 3);
    CHECK(tok->eos_ids() == std::vector<int32_t>{2, 0});
    CHECK(tok->chat_template().find("<|im_start|>") != std::string::npos);
    TokenizerVocab v = load_tokenizer_vocab(d.path);
    CHECK(v.kind == VocabKind::Bpe);
    CHECK(v.pre == "llama-bpe");
    CHECK(v.ignore_merges);

    // Without the config the TemplateProcessing post-processor decides: BOS added.
    TempDir bare;
    bare.write("tokenizer.json", read_whole_file(test_data("tokenizers/llama3/tokenizer.json")));
    auto tok2 = load_tokenizer(bare.path);
    CHECK(tok2->add_bos());
    CHECK(tok2->encode("hi", true).front() == tok2->token_id("<|begin_of_text|>"));

    d.write("tokenizer_config.json", "{\"add_bos_token\": tru");
    std::string e;
    try {
        load_tokenizer(d.path);
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find("tokenizer_config.json") != std::string::npos);
}

TEST_CASE("tokenizer hf dir: tokenizer.model with added tokens") {
    TempDir d;
    d.write("tokenizer.model", read_whole_file(shared_data("tokenizers/llama2-sentencepiece.model")));
    d.write("tokenizer_config.json", R"({"add_bos_token": true,
        "added_tokens_decoder": {"1": {"content": "<s>", "special": true},
                                 "32000": {"content": "<|im_start|>", "special": true},
                                 "32001": {"content": "<|im_end|>", "special": true}},
        "chat_template": "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"})");
    d.write("config.json", R"({"bos_token_id": 1, "eos_token_id": 32001})");
    auto tok = load_tokenizer(d.path);
    CHECK(tok->n_vocab() == 32002);
    CHECK(tok->bos_id() == 1);
    CHECK(tok->eos_ids() == std::vector<int32_t>{2, 32001});
    CHECK(tok->is_special(32000));
    // Added tokens are split out; the text after one gets its own dummy prefix.
    CHECK(tok->encode("<|im_start|>Hello world<|im_end|>", true) == std::vector<int32_t>{1, 32000, 15043, 3186, 32001});
    CHECK(tok->encode("<|im_start|>", false, false) != std::vector<int32_t>{32000});
    CHECK(tok->decode({1, 32000, 15043, 3186, 32001}, false) == "<s><|im_start|> Hello world<|im_end|>");
    CHECK(tok->decode({1, 32000, 15043, 3186, 32001}, true) == "Hello world");
}

TEST_CASE("tokenizer hf dir: missing files are clear errors") {
    TempDir d;
    std::string e;
    try {
        load_tokenizer(d.path);
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find(d.path) != std::string::npos);
    CHECK(e.find("tokenizer.json") != std::string::npos);
    d.write("notes.txt", "x");
    e.clear();
    try {
        load_tokenizer(d.path + "/notes.txt");
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find("notes.txt") != std::string::npos);
}
