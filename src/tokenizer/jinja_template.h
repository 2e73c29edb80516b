// A Jinja2 template interpreter for the subset chat templates use, rendering
// exactly as Python's jinja2 does with transformers' settings
// (trim_blocks, lstrip_blocks, loop controls, raise_exception, strftime_now,
// tojson without HTML escaping). Parsed once, rendered any number of times.
//
//   JinjaTemplate t(source);                 // Error "line N: ..." on bad syntax
//   std::string text = t.render(variables);  // Error "line N: ..." at run time
//
// The variables are a JSON object (messages, add_generation_prompt, tools,
// ...); JSON key order is kept, as Python's dicts keep it.
// Globals: range, namespace, dict, raise_exception(msg), strftime_now(fmt).
// Lexer: jinja_lexer, grammar: jinja_parser, values: jinja_value, filters,
// tests and methods: jinja_filters / jinja_methods, evaluation: jinja_render.
#pragma once
#include "jinja_ast.h"
#include <nlohmann/json.hpp>
#include <string>

namespace lightllm::jinja {

class JinjaTemplate {
public:
    explicit JinjaTemplate(const std::string& source);
    std::string render(const nlohmann::ordered_json& variables) const;

private:
    NodePtr root_;
};

// Renders a parsed tree (jinja_render.cpp).
std::string render_tree(const NodePtr& root, const nlohmann::ordered_json& variables);

}  // namespace lightllm::jinja
