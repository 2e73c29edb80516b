#include "jinja_template.h"
#include "jinja_lexer.h"
#include "jinja_parser.h"

namespace lightllm::jinja {

JinjaTemplate::JinjaTemplate(const std::string& source) : root_(parse_template(lex_template(source))) {}

std::string JinjaTemplate::render(const nlohmann::ordered_json& variables) const { return render_tree(root_, variables); }

}  // namespace lightllm::jinja
