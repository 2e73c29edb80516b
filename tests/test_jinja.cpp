// Unit tests of the Jinja interpreter: what the jinja2 references cannot
// show (error lines, limits, key order, the clock), the family templates of
// tests/data/chat_templates.json (rendered by transformers), and a fuzz test
// that feeds random and mutated templates with random data: every outcome
// must be text or a lightllm::Error, never a crash or another exception.
#include "check.h"
#include "jinja_template.h"
#include "tokenizer_test_data.h"
#include <doctest/doctest.h>
#include <ctime>
#include <random>

using namespace lightllm;
using nlohmann::ordered_json;

namespace {

std::string render(const std::string& src, const ordered_json& vars = ordered_json::object()) {
    return jinja::JinjaTemplate(src).render(vars);
}

std::string error_of(const std::string& src, const ordered_json& vars = ordered_json::object()) {
    try {
        render(src, vars);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("jinja: errors name the template line") {
    CHECK(error_of("a\nb\n{{ raise_exception('roles must alternate') }}") == "line 3: roles must alternate");
    CHECK(error_of("ok\n{% for m in messages %}\n{{ m.content + 1 }}\n{% endfor %}",
                   {{"messages", {{{"content", "x"}}}}})
              .rfind("line 3: ", 0) == 0);
    CHECK(error_of("one\ntwo {% if %}").rfind("line 2: ", 0) == 0);
    CHECK(error_of("{% if x %}\n\nno end").rfind("line 3: missing {% endif %}", 0) == 0);
    CHECK(error_of("{{ x | no_such_filter }}") == "line 1: unknown filter 'no_such_filter'");
    CHECK(error_of("\n{{ 'a\n").rfind("line 2: unterminated string", 0) == 0);
    CHECK(error_of("{% frobnicate %}") == "line 1: unknown tag 'frobnicate'");
}

TEST_CASE("jinja: limits turn runaway templates into errors") {
    CHECK(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("too many nested calls") !=
          std::string::npos);
    CHECK(error_of("{{ range(100000000) | length }}").find("too large") != std::string::npos);
    CHECK(error_of("{{ 'ab' * 100000000 }}").find("too large") != std::string::npos);
    CHECK(error_of("{{" + std::string(500, '(') + "1" + std::string(500, ')') + "}}").find("nested too deeply") != std::string::npos);
    CHECK(error_of("{{" + std::string(500, '-') + "1 }}").find("nested too deeply") != std::string::npos);
}

TEST_CASE("jinja: JSON key order is kept, as Python dicts keep it") {
    ordered_json tool = ordered_json::parse(R"({"name": "z", "arguments": {"b": 1, "a": "é"}})");
    CHECK(render("{{ t | tojson }}|{% for k in t.arguments %}{{ k }}{% endfor %}", {{"t", tool}}) ==
          R"({"name": "z", "arguments": {"b": 1, "a": "é"}}|ba)");
}

TEST_CASE("jinja: strftime_now formats the current local time") {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char year[8];
    std::strftime(year, sizeof year, "%Y", &tm);
    CHECK(render("{{ strftime_now('%Y') }}") == year);
}

TEST_CASE("jinja: the family templates render as transformers rendered them") {
    auto fixtures = ordered_json::parse(read_whole_file(test_data("chat_templates.json")));
    REQUIRE(fixtures.size() >= 10);
    for (const auto& t : fixtures) {
        jinja::JinjaTemplate tmpl(t["template"].get<std::string>());
        for (const auto& c : t["cases"]) {
            ordered_json vars = {{"messages", c["messages"]},
                                 {"add_generation_prompt", c["add_generation_prompt"]},
                                 {"bos_token", t["bos"]},
                                 {"eos_token", t["eos"]}};
            INFO(t["name"].get<std::string>() << " " << c["messages"].dump());
            if (c.contains("error")) CHECK_THROWS_AS(tmpl.render(vars), Error);
            else CHECK(tmpl.render(vars) == c["expected"].get<std::string>());
        }
    }
}

TEST_CASE("jinja: random and mutated templates never crash") {
    std::mt19937 rng(1234);
    const std::vector<std::string> pieces = {
        "{{ ", " }}", "{% ", " %}", "{%- ", " -%}", "{{- ", " -}}", "{# c #}", "if ", "elif ", "else", "endif", "for ",
        "endfor", " in ", "set ", "macro ", "endmacro", "call ", "endcall", "namespace(", "loop.", "index", "x", "y",
        "messages", "m", "[", "]", "(", ")", "{", "}", ",", ":", ".", "|", " is ", "not ", " and ", " or ", "+", "-",
        "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">=", "'s'", "\"q\"", "0", "1", "-1", "2.5", "none", "true",
        "tojson", "trim", "length", "join", "map", "selectattr", "default", "items", "first", "last", "int", "string",
        "defined", "string", "mapping", "raise_exception(", "range(", "[1:]", "[::-1]", ".strip()", ".split(", "\n",
        " ", "text", "break", "continue", "endset", "=", "generation", "endgeneration", "filter ", "endfilter", "raw"};
    std::vector<std::string> seeds;
    for (const char* name : {"chatml.jinja", "llama-3-instruct.jinja", "qwen2.5-instruct.jinja", "mistral-instruct.jinja",
                             "granite-3.0-instruct.jinja", "phi-3.jinja"})
        seeds.push_back(read_whole_file(shared_data(std::string("chat_templates/") + name)));
    auto random_value = [&](auto&& self, int depth) -> ordered_json {
        switch (rng() % (depth > 2 ? 5 : 7)) {
            case 0: return nullptr;
            case 1: return static_cast<int>(rng() % 7) - 3;
            case 2: return (rng() % 2) == 0;
            case 3: return std::string(rng() % 4, "ab \n"[rng() % 4]);
            case 4: return 0.5 * static_cast<int>(rng() % 9);
            case 5: {
                ordered_json a = ordered_json::array();
                for (size_t k = rng() % 4; k > 0; --k) a.push_back(self(self, depth + 1));
                return a;
            }
            default: {
                ordered_json o = ordered_json::object();
                for (const char* key : {"role", "content", "x", "tool_calls"})
                    if (rng() % 2) o[key] = self(self, depth + 1);
                return o;
            }
        }
    };
    int rendered = 0, errors = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        std::string src;
        if (iter % 2 == 0) {
            for (size_t k = 4 + rng() % 40; k > 0; --k) src += pieces[rng() % pieces.size()];
        } else {
            src = seeds[rng() % seeds.size()];
            for (size_t k = 1 + rng() % 4; k > 0; --k) {
                size_t at = rng() % (src.size() + 1);
                if (rng() % 2) src.erase(at, rng() % 8);
                else src.insert(at, pieces[rng() % pieces.size()]);
            }
        }
        ordered_json vars = {{"messages", ordered_json::array()}, {"x", random_value(random_value, 0)},
                             {"y", random_value(random_value, 0)}, {"add_generation_prompt", rng() % 2 == 0}};
        for (size_t k = rng() % 4; k > 0; --k) vars["messages"].push_back(random_value(random_value, 1));
        try {
            render(src, vars);
            ++rendered;
        } catch (const Error&) {
            ++errors;
        } catch (const std::exception& e) {
            FAIL("template raised a non-lightllm exception: " << e.what() << "\n" << src);
        }
    }
    MESSAGE("fuzz: " << rendered << " rendered, " << errors << " errors");
    CHECK(rendered > 100);
    CHECK(errors > 100);
}
