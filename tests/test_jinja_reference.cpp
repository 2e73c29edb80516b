// The Jinja interpreter against Python's jinja2 with transformers' settings
// (tests/reference/make_jinja_references.py, tests/data/jinja_references.json):
// every chat template of the shared collection, as written and stripped, over
// several conversations, and snippets covering each statement, operator,
// filter, test and method. Where jinja2 raises, the interpreter must raise an
// Error that names the template line.
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

void check_render(const std::string& source, const ordered_json& vars, const ordered_json& ref) {
    if (ref.contains("expected")) {
        std::string got;
        try {
            got = jinja::JinjaTemplate(source).render(vars);
        } catch (const Error& e) {
            FAIL("unexpected error: " << e.what());
        }
        CHECK(got == ref["expected"].get<std::string>());
    } else {
        INFO("jinja2 raised: " << ref["error"].get<std::string>());
        try {
            std::string got = jinja::JinjaTemplate(source).render(vars);
            FAIL("rendered instead of raising: " << got);
        } catch (const Error& e) {
            CHECK(std::string(e.what()).rfind("line ", 0) == 0);
        }
    }
}

}  // namespace

TEST_CASE("jinja: the shared chat templates render as jinja2 renders them") {
    ordered_json refs = load_references();
    const ordered_json& convs = refs["conversations"];
    REQUIRE(refs["templates"].size() >= 36);
    for (const auto& t : refs["templates"]) {
        std::string text = read_whole_file(shared_data("chat_templates/" + t["file"].get<std::string>()));
        std::string source = t["form"] == "stripped" ? stripped(text) : text;
        for (const auto& c : t["cases"]) {
            const ordered_json& conv = convs[c["conversation"].get<size_t>()];
            ordered_json vars = {{"messages", conv["messages"]},
                                 {"add_generation_prompt", c["add_generation_prompt"]},
                                 {"bos_token", refs["bos_token"]},
                                 {"eos_token", refs["eos_token"]}};
            if (conv.contains("tools")) vars["tools"] = conv["tools"];
            INFO(t["file"].get<std::string>() << " (" << t["form"].get<std::string>() << "), "
                                              << conv["name"].get<std::string>() << ", add_generation_prompt "
                                              << c["add_generation_prompt"]);
            check_render(source, vars, c);
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
