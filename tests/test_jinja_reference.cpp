// The Jinja interpreter against Python's jinja2 with transformers' settings
// (tests/reference/make_jinja_references.py, tests/data/jinja_references.json):
// every chat template of the shared collection, as written and stripped, over
// several conversations, and snippets covering each statement, operator,
// filter, test and method. Where jinja2 raises, the interpreter must raise an
// Error that names the template line.
#include "chat_prompt.h"
#include "check.h"
#include "jinja_template.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>

using namespace lightllm;
using nlohmann::ordered_json;

namespace {

ordered_json load_references() { return ordered_json::parse(read_whole_file(test_data("jinja_references.json"))); }

std::string stripped(const std::string& text) {
    std::string out;
    for (size_t k = 0; k < text.size();) {
        if (text.compare(k, 4, "    ") == 0) k += 4;
        else out += text[k++];
    }
    std::string no_nl;
    for (char c : out)
        if (c != '\n') no_nl += c;
    return no_nl;
}

// `render()` gives jinja2's text (ref["expected"]), or, where jinja2 raised
// (ref["error"]), throws an Error whose message starts with `error_prefix`.
void check_against_jinja2(const std::function<std::string()>& render, const ordered_json& ref,
                          const std::string& error_prefix) {
    if (ref.contains("expected")) {
        std::string got;
        try {
            got = render();
        } catch (const Error& e) {
            FAIL("unexpected error: " << e.what());
        }
        CHECK(got == ref["expected"].get<std::string>());
    } else {
        INFO("jinja2 raised: " << ref["error"].get<std::string>());
        try {
            std::string got = render();
            FAIL("rendered instead of raising: " << got);
        } catch (const Error& e) {
            CHECK(std::string(e.what()).rfind(error_prefix, 0) == 0);
        }
    }
}

void check_render(const std::string& source, const ordered_json& vars, const ordered_json& ref) {
    check_against_jinja2([&] { return jinja::JinjaTemplate(source).render(vars); }, ref, "line ");
}

// Through the chat glue (chat_prompt.h): messages as ChatMessage with their
// extra fields, tools and documents as transformers passes them (None when absent).
void check_chat(const std::string& source, const ordered_json& conv, const ordered_json& ref, const std::string& bos,
                const std::string& eos) {
    std::vector<ChatMessage> msgs;
    for (const auto& m : conv["messages"]) {
        ordered_json extra = m;
        extra.erase("role");
        extra.erase("content");
        msgs.push_back({m["role"].get<std::string>(), m["content"].get<std::string>(), extra.empty() ? "" : extra.dump()});
    }
    ChatTemplateArgs args;
    if (conv.contains("tools")) args.tools_json = conv["tools"].dump();
    bool gen = ref["add_generation_prompt"];
    check_against_jinja2([&] { return render_chat_template(source, msgs, args, gen, bos, eos); }, ref,
                         "chat template line ");
}

}  // namespace

TEST_CASE("jinja: the SmolLM2 demo model's own template renders as jinja2 renders it") {
    std::string demo = demo_gguf_path();
    if (!file_exists(demo)) {
        MESSAGE("skipped: demo model not found at " << demo << " (run third_party/fetch_demo_model.sh)");
        return;
    }
    ordered_json refs = load_references();
    auto tok = load_tokenizer(demo);
    REQUIRE(!tok->chat_template().empty());
    for (const auto& c : refs["demo_model"]["cases"]) {
        const ordered_json& conv = refs["conversations"][c["conversation"].get<size_t>()];
        INFO(conv["name"].get<std::string>() << ", add_generation_prompt " << c["add_generation_prompt"]);
        std::string bos = tok->decode({tok->bos_id()}, false), eos = tok->decode({tok->eos_ids()[0]}, false);
        check_chat(tok->chat_template(), conv, c, bos, eos);
    }
}

TEST_CASE("jinja: the shared chat templates render as jinja2 renders them") {
    ordered_json refs = load_references();
    const ordered_json& convs = refs["conversations"];
    REQUIRE(refs["templates"].size() >= 36);
    for (const auto& t : refs["templates"]) {
        std::string text = read_whole_file(shared_data("chat_templates/" + t["file"].get<std::string>()));
        std::string source = t["form"] == "stripped" ? stripped(text) : text;
        for (const auto& c : t["cases"]) {
            const ordered_json& conv = convs[c["conversation"].get<size_t>()];
            INFO(t["file"].get<std::string>() << " (" << t["form"].get<std::string>() << "), "
                                              << conv["name"].get<std::string>() << ", add_generation_prompt "
                                              << c["add_generation_prompt"]);
            check_chat(source, conv, c, refs["bos_token"], refs["eos_token"]);
        }
    }
}

TEST_CASE("jinja: snippets render as jinja2 renders them") {
    ordered_json refs = load_references();
    REQUIRE(refs["snippets"].size() >= 50);
    for (const auto& s : refs["snippets"]) {
        INFO("template: " << s["template"].get<std::string>());
        check_render(s["template"], s["variables"], s);
    }
}
