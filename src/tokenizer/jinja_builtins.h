// jinja2's built-in filters, tests and globals, Python's operators, and the
// Python methods templates call on strings, dicts and lists (.strip(),
// .split(), .items(), .get(), ...).
// Each throws Error with a plain message (the renderer adds the line).
#pragma once
#include "jinja_value.h"
#include <string>

namespace lightllm::jinja {

// {{ v | name(args) }}; Error "unknown filter" for names it does not know.
Value apply_filter(const std::string& name, const Value& v, const CallArgs& args);
// {{ v is name(args) }}; Error "unknown test" for names it does not know.
bool apply_test(const std::string& name, const Value& v, const CallArgs& args);
// v.name(args): true and *out set when `v` has such a method.
bool call_method(const Value& v, const std::string& name, const CallArgs& args, Value* out);
// Python's str.strip(chars) family: which = 'l', 'r' or 'b' (both); chars
// nullptr = Unicode whitespace.
std::string py_strip(const std::string& s, const std::string* chars, char which);
// obj.attr / obj[key] as jinja2's getattr / getitem resolve them for data:
// dict keys, list and string indexes (negative from the end); undefined when absent.
Value get_item(const Value& obj, const Value& key);
// `needle in haystack`.
bool contains(const Value& haystack, const Value& needle);
// a op b for + - * / // % ** (Python semantics).
Value arithmetic(const std::string& op, const Value& a, const Value& b);
// obj[start:stop:step] of a list or string (none = omitted).
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// A new scope holding the global functions.
std::shared_ptr<ValueDict> make_globals();

}  // namespace lightllm::jinja
