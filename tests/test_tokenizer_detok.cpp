// IncrementalDetokenizer: pushes never emit half a UTF-8 character and their
// concatenation equals decode() of all ids, for both vocabulary kinds.
#include "tokenizer.h"
#include "tokenizer_test_data.h"
#include "unicode.h"
#include <doctest/doctest.h>

using namespace lightllm;

namespace {

bool valid_utf8(const std::string& s) { return utf8_lossy(s) == s; }

void check_streaming(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
    IncrementalDetokenizer d(tok, skip_special);
    std::string all;
    for (int32_t id : ids) {
        std::string piece = d.push(id);
        CHECK(valid_utf8(piece));
        all += piece;
    }
    all += d.flush();
    CHECK(all == tok.decode(ids, skip_special));
}

void check_inp_texts(const Tokenizer& tok, const std::string& name) {
    std::string base = shared_data("tokenizers/ggml-vocab-" + name + ".gguf");
    auto cases = load_vocab_cases(base + ".inp", base + ".out");
    REQUIRE(cases.size() > 30);
    std::string joined;
    for (const auto& c : cases) {
        INFO(name << " text: [" << c.text << "]");
        check_streaming(tok, tok.encode(c.text, true), true);
        check_streaming(tok, tok.encode(c.text, true), false);
        joined += c.text + "\n";
    }
    auto ids = tok.encode(joined, false);
    check_streaming(tok, ids, true);
    CHECK(tok.decode(ids) == joined);
}

}  // namespace

TEST_CASE("tokenizer detok: SentencePiece (llama2 tokenizer.model)") {
    auto tok = load_tokenizer(shared_data("tokenizers/llama2-sentencepiece.model"));
    check_inp_texts(*tok, "llama-spm");

    // An emoji spelled by four byte tokens comes out whole, at the last one.
    IncrementalDetokenizer d(*tok, true);
    CHECK(d.push(1) == "");        // <s>, skipped
    CHECK(d.push(15043) == "Hello");  // leading space of the first token dropped
    CHECK(d.push(29871) == " ");
    CHECK(d.push(243) == "");
    CHECK(d.push(162) == "");
    CHECK(d.push(169) == "");
    CHECK(d.push(156) == "\xF0\x9F\xA6\x99");
    CHECK(d.flush() == "");

    // After a prompt the first generated token keeps its space.
    IncrementalDetokenizer after_prompt(*tok, true, {1, 15043});
    CHECK(after_prompt.push(3186) == " world");
    // A prompt of only skipped special tokens: still at the start.
    IncrementalDetokenizer after_bos(*tok, true, {1});
    CHECK(after_bos.push(15043) == "Hello");

    // An incomplete character at the end becomes U+FFFD on flush.
    IncrementalDetokenizer cut(*tok, true);
    CHECK(cut.push(243) == "");
    CHECK(cut.push(162) == "");
    CHECK(cut.flush() == "\xEF\xBF\xBD");
    CHECK(tok->decode({243, 162}) == "\xEF\xBF\xBD");
    // An invalid byte followed by text: replaced, and the text still comes.
    IncrementalDetokenizer bad(*tok, true);
    CHECK(bad.push(243) == "");
    CHECK(bad.push(15043) == "\xEF\xBF\xBD Hello");
}

TEST_CASE("tokenizer detok: byte-level BPE (SmolLM2 demo vocabulary, gpt-2)") {
    std::string demo = demo_gguf_path();
    if (file_exists(demo)) {
        auto tok = load_tokenizer(demo);
        check_inp_texts(*tok, "gpt-2");  // texts only; ids differ between vocabularies
        // "🦙" is split over byte-level tokens; nothing is emitted until it is whole.
        auto ids = tok->encode("\xF0\x9F\xA6\x99!", false);
        REQUIRE(ids.size() >= 2);
        IncrementalDetokenizer d(*tok, true);
        std::string out;
        for (size_t i = 0; i < ids.size(); ++i) {
            std::string piece = d.push(ids[i]);
            CHECK(valid_utf8(piece));
            out += piece;
        }
        CHECK(out == "\xF0\x9F\xA6\x99!");
        // Special tokens: skipped or rendered.
        IncrementalDetokenizer keep(*tok, false);
        CHECK(keep.push(tok->token_id("<|im_end|>")) == "<|im_end|>");
        IncrementalDetokenizer skip(*tok, true);
        CHECK(skip.push(tok->token_id("<|im_end|>")) == "");
    } else {
        MESSAGE("skipped SmolLM2 part: demo model not found at " << demo << " (run third_party/fetch_demo_model.sh)");
    }
    std::string gpt2 = vocab_file("ggml-vocab-gpt-2.gguf");
    check_inp_texts(*load_tokenizer(gpt2), "gpt-2");
}

TEST_CASE("tokenizer detok: vocabularies without cases round-trip (gpt-neox, baichuan)") {
    for (const char* name : {"gpt-neox", "baichuan"}) {
        auto tok = load_tokenizer(vocab_file(std::string("ggml-vocab-") + name + ".gguf"));
        check_inp_texts(*tok, "gpt-2");  // the shared texts; these vocabularies have no expected ids
    }
}
