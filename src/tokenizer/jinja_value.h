// The values a Jinja template computes with, modelled on the Python objects
// jinja2 hands around: undefined, None, bool, int, float, str, list, dict
// (insertion-ordered, string keys, as JSON objects are), and callables
// (macros, `loop.cycle`, globals such as range() and namespace()).
// Lists and dicts are shared by reference like Python's, so `ns.x = ...` on a
// namespace() and `list.append()` are seen by every holder.
// Printing follows Python: str() for {{ }}, repr() inside containers,
// json.dumps() (with transformers' defaults) for |tojson.
#pragma once
#include <nlohmann/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lightllm::jinja {

struct Value;
using ValueList = std::vector<Value>;

struct ValueDict {
    std::vector<std::pair<std::string, Value>> items;
    bool is_namespace = false;  // a namespace(): the one object `set x.attr = ...` may change
    const Value* find(const std::string& key) const;
    void set(const std::string& key, Value v);
};

// Positional and keyword arguments of a call.
struct CallArgs {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    // The argument called `name` or at position `index`; nullptr when absent.
    const Value* get(size_t index, const char* name) const;
};

using Function = std::function<Value(const CallArgs&)>;

struct Value {
    enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Function };
    Kind kind = Kind::Undefined;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;                      // String; for Undefined, the name that was missing
    std::shared_ptr<ValueList> list;    // List
    std::shared_ptr<ValueDict> dict;    // Dict
    std::shared_ptr<Function> fn;       // Function
    bool tuple = false;                 // List: a Python tuple (printed with parentheses)

    Value() = default;
    static Value undefined(std::string name = "");
    static Value none();
    static Value boolean(bool v);
    static Value integer(int64_t v);
    static Value number(double v);
    static Value string(std::string v);
    static Value make_list(ValueList items = {});
    static Value make_tuple(ValueList items);
    static Value make_dict();
    static Value function(Function f);
    static Value from_json(const nlohmann::ordered_json& j);

    bool is_undefined() const { return kind == Kind::Undefined; }
    bool is_none() const { return kind == Kind::None; }
    bool is_string() const { return kind == Kind::String; }
    bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
    bool is_list() const { return kind == Kind::List; }
    bool is_dict() const { return kind == Kind::Dict; }
    bool truthy() const;
    double as_double() const;
    const char* type_name() const;
};

// Python's str() and repr() of a value.
std::string to_str(const Value& v);
std::string repr(const Value& v);
// json.dumps(v, ensure_ascii=False, indent=indent) with Python's separators;
// indent < 0 = none. Throws Error for values JSON cannot hold.
std::string to_json_text(const Value& v, int indent);
// Python's repr of a float ("1.0", "0.1", "1e+16").
std::string float_repr(double d);

// Python ==, and < for sorting / comparison (Error when the types do not order).
bool equals(const Value& a, const Value& b);
bool less_than(const Value& a, const Value& b);

// The elements `for x in v` visits: list items, dict keys, string characters.
// Throws Error for values that are not iterable.
ValueList iterate(const Value& v);
// Length in Python terms (characters for strings); Error when it has none.
size_t length_of(const Value& v);
// Unicode characters of a UTF-8 string.
std::vector<std::string> utf8_chars(const std::string& s);

}  // namespace lightllm::jinja
