// How a chat request becomes prompt text (chat_prompt.h): which template is
// chosen (--chat-template file or name, the model's default, its "tool_use"
// template when tools are given, the family fallback when it has none), what
// the template sees (chat_template_kwargs), and the CLI: the SmolLM2 demo
// model's own template through `--chat` gives transformers' prompt ids.
#include "chat_prompt.h"
#include "chat_template.h"
#include "check.h"
#include "temp_dir.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace lightllm;
using nlohmann::json;

namespace {

// A Hugging Face tokenizer directory (the test GPT-2 vocabulary) whose
// tokenizer_config.json holds `chat_template`.
std::string hf_dir_with_templates(const TempDir& dir, const json& chat_template) {
    dir.write("tokenizer.json", read_whole_file(test_data("tokenizers/gpt2/tokenizer.json")));
    dir.write("tokenizer_config.json", json{{"chat_template", chat_template}, {"eos_token", "<|endoftext|>"}}.dump());
    return dir.path;
}

}  // namespace

TEST_CASE("chat prompt: a list of named templates: default, tool_use with tools, --chat-template NAME") {
    TempDir dir;
    json list = json::array({{{"name", "default"}, {"template", "D{% for m in messages %}[{{ m.content }}]{% endfor %}"}},
                             {{"name", "tool_use"}, {"template", "T{{ (tools or []) | length }}{{ eos_token }}"}}});
    auto tok = load_tokenizer(hf_dir_with_templates(dir, list));
    std::vector<ChatMessage> msgs = {{"user", "hi"}};
    CHECK(build_chat_prompt(*tok, msgs, {}, true) == "D[hi]");
    ChatTemplateArgs with_tools;
    with_tools.tools_json = R"([{"type": "function"}, {"type": "function"}])";
    CHECK(build_chat_prompt(*tok, msgs, with_tools, true) == "T2<|endoftext|>");
    std::string tool_use = resolve_chat_template_option("tool_use", *tok);
    CHECK(build_chat_prompt(*tok, msgs, {}, true, tool_use) == "T0<|endoftext|>");
    std::string e = error_of([&] { resolve_chat_template_option("no-such-template", *tok); });
    CHECK(e.find("--chat-template") != std::string::npos);
    CHECK(e.find("default, tool_use") != std::string::npos);
}

TEST_CASE("chat prompt: chat_template_kwargs and documents reach the template; tools is None when absent") {
    TempDir dir;
    auto tok = load_tokenizer(hf_dir_with_templates(
        dir, "{{ enable_thinking }}|{{ tools is none }}|{{ documents | map(attribute='title') | join(',') }}|"
             "{{ messages[1].tool_calls[0].function.arguments.city }}|{{ add_generation_prompt }}"));
    std::vector<ChatMessage> msgs = {
        {"user", "weather?"},
        {"assistant", "", R"({"tool_calls": [{"function": {"name": "w", "arguments": {"city": "Oslo"}}}]})"}};
    ChatTemplateArgs args;
    args.kwargs_json = R"({"enable_thinking": false})";
    args.documents_json = R"([{"title": "a"}, {"title": "b"}])";
    CHECK(build_chat_prompt(*tok, msgs, args, false) == "False|True|a,b|Oslo|False");
    args.kwargs_json = R"({"tools": 1})";
    CHECK(error_of([&] { build_chat_prompt(*tok, msgs, args, true); }).find("chat_template_kwargs") != std::string::npos);
}

TEST_CASE("chat prompt: template errors name the template line") {
    TempDir dir;
    auto tok = load_tokenizer(hf_dir_with_templates(dir, "ok\n{% if messages[0].role != 'system' %}\n"
                                                         "{{ raise_exception('a system message is required') }}\n{% endif %}"));
    std::string e = error_of([&] { build_chat_prompt(*tok, {{"user", "hi"}}, {}, true); });
    CHECK(e == "chat template line 3: a system message is required");
    CHECK(build_chat_prompt(*tok, {{"system", "s"}}, {}, true) == "ok\n");
}

TEST_CASE("chat prompt: the family formatters remain the fallback when the model has no template") {
    auto tok = load_tokenizer(test_data("tokenizers/gpt2/tokenizer.json"));  // no template, has <|im_start|>
    REQUIRE(tok->chat_template().empty());
    CHECK(build_chat_prompt(*tok, {{"user", "Hi"}}, {}, true) == apply_chat_template(*tok, {{"user", "Hi"}}, true));
    ChatTemplateArgs args;
    args.tools_json = "[]";
    CHECK(error_of([&] { build_chat_prompt(*tok, {{"user", "Hi"}}, args, true); }).find("no chat template") != std::string::npos);
}

TEST_CASE("chat prompt: `generate --chat` with the demo model's own template gives transformers' prompt ids") {
    std::string demo = demo_gguf_path();
    if (!file_exists(demo)) {
        MESSAGE("skipped: demo model not found at " << demo << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    json ref = json::parse(read_whole_file(test_data("smollm2_reference.json")));
    int n_chat = 0;
    for (const auto& c : ref["cases"]) {
        if (c["kind"] != "chat") continue;
        ++n_chat;
        CommandResult r = run_lightllm("generate --tokenize-only --chat -m " + demo, c["prompt"].get<std::string>() + "\n");
        REQUIRE(r.exit_code == 0);
        CHECK(json::parse(r.out) == c["prompt_ids"]);
    }
    CHECK(n_chat >= 1);
}

TEST_CASE("chat prompt: --chat-template FILE on the CLI, its errors, and --tokenize-only -p \"\"") {
    std::string demo = demo_gguf_path();
    if (!file_exists(demo)) {
        MESSAGE("skipped: demo model not found at " << demo);
        return;
    }
    TempDir dir;
    std::string plain = dir.write("plain.jinja", "{% for m in messages %}{{ m.content | upper }}{% endfor %}");
    CommandResult chat = run_lightllm("generate --tokenize-only --chat --chat-template " + plain + " -m " + demo + " -p 'say hi'");
    CommandResult raw = run_lightllm("generate --tokenize-only --no-bos -m " + demo + " -p 'SAY HI'");
    REQUIRE(chat.exit_code == 0);
    CHECK(chat.out == raw.out);
    std::string bad = dir.write("bad.jinja", "one\n{{ raise_exception('no') }}");
    CommandResult err = run_lightllm("generate --tokenize-only --chat --chat-template " + bad + " -m " + demo + " -p x");
    CHECK(err.exit_code != 0);
    CHECK(err.out.find("chat template line 2: no") != std::string::npos);
    CommandResult missing = run_lightllm("generate --tokenize-only --chat --chat-template /no/such.jinja -m " + demo + " -p x");
    CHECK(missing.exit_code != 0);
    CHECK(missing.out.find("--chat-template") != std::string::npos);
    CommandResult empty = run_lightllm("generate --tokenize-only -m " + demo + " -p ''");
    CHECK(empty.exit_code == 0);
    CHECK(empty.out == "[]\n");
}
