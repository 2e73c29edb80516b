// Chat templates: each family against transformers' Jinja rendering
// (tests/reference/make_chat_template_fixtures.py), the SmolLM2 demo model's
// own template against transformers' prompt ids, and the ChatML fallback.
#include "chat_template.h"
#include "check.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace lightllm;
using nlohmann::json;

namespace {

std::vector<ChatMessage> messages_of(const json& j) {
    std::vector<ChatMessage> out;
    for (const auto& m : j) out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    return out;
}

void check_fixture_file(const std::string& path) {
    json fixtures = json::parse(read_whole_file(path));
    REQUIRE(fixtures.size() >= 10);
    for (const auto& t : fixtures) {
        std::string name = t["name"];
        INFO("template " << name);
        ChatTemplate tmpl;
        REQUIRE_NOTHROW(tmpl = parse_chat_template(t["template"]));
        for (const auto& c : t["cases"]) {
            auto msgs = messages_of(c["messages"]);
            bool gen = c["add_generation_prompt"];
            INFO(std::string(chat_format_name(tmpl.format)) << " " << tmpl.variant << " messages " << c["messages"].dump()
                 << " gen " << gen);
            if (c.contains("error")) {
                CHECK_THROWS_AS(apply_chat_template(tmpl, msgs, gen, t["bos"], t["eos"]), Error);
            } else {
                CHECK(apply_chat_template(tmpl, msgs, gen, t["bos"], t["eos"]) == c["expected"].get<std::string>());
            }
        }
    }
}

}  // namespace

TEST_CASE("chat template: every family matches transformers' rendering") {
    check_fixture_file(test_data("chat_templates.json"));
    // Extra fixture files in the same format (e.g. rendered from real model
    // templates that are not committed) can be checked through this variable.
    if (const char* extra = std::getenv("LIGHTLLM_CHAT_TEMPLATE_FIXTURES")) check_fixture_file(extra);
}

TEST_CASE("chat template: family detection") {
    CHECK(parse_chat_template("{{ '<|im_start|>' + m }}").format == ChatFormat::ChatML);
    CHECK(parse_chat_template("x <|start_header_id|> y").format == ChatFormat::Llama3);
    CHECK(parse_chat_template("[INST] <<SYS>>").format == ChatFormat::Llama2);
    std::string e;
    try {
        parse_chat_template("{{ 'Human: ' + message['content'] }}");
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find("unrecognised") != std::string::npos);
    CHECK(e.find("ChatML") != std::string::npos);
    CHECK_THROWS_AS(parse_chat_template(""), Error);
    // Unknown roles are refused by the formats that only know three.
    CHECK_THROWS_AS(apply_chat_template("[INST] <<SYS>>", {{"tool", "x"}}, true, "<s>", "</s>"), Error);
}

TEST_CASE("chat template: SmolLM2 demo model template gives transformers' prompt ids") {
    std::string demo = demo_gguf_path();
    if (!file_exists(demo)) {
        MESSAGE("skipped: demo model not found at " << demo << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    auto tok = load_tokenizer(demo);
    json ref = json::parse(read_whole_file(test_data("smollm2_reference.json")));
    int n_chat = 0;
    for (const auto& c : ref["cases"]) {
        if (c["kind"] != "chat") continue;
        ++n_chat;
        std::string text = apply_chat_template(*tok, {{"user", c["prompt"].get<std::string>()}}, true);
        INFO(text);
        CHECK(tok->encode(text, false, true) == c["prompt_ids"].get<std::vector<int32_t>>());
    }
    CHECK(n_chat >= 1);
}

TEST_CASE("chat template: ChatML fallback only when the vocabulary has <|im_start|>") {
    auto chatml_vocab = load_tokenizer(test_data("tokenizers/gpt2/tokenizer.json"));  // no template, has <|im_start|>
    REQUIRE(chatml_vocab->chat_template().empty());
    CHECK(apply_chat_template(*chatml_vocab, {{"user", "Hi"}}, true) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    auto spm = load_tokenizer(shared_data("tokenizers/llama2-sentencepiece.model"));  // no template, no <|im_start|>
    std::string e;
    try {
        apply_chat_template(*spm, {{"user", "Hi"}}, true);
    } catch (const Error& err) {
        e = err.what();
    }
    CHECK(e.find("no chat template") != std::string::npos);
    CHECK(e.find("<|im_start|>") != std::string::npos);
}
