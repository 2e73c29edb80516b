#include "jinja_value.h"
#include "check.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace lightllm::jinja {

const Value* ValueDict::find(const std::string& key) const {
    for (const auto& kv : items)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

void ValueDict::set(const std::string& key, Value v) {
    for (auto& kv : items)
        if (kv.first == key) {
            kv.second = std::move(v);
            return;
        }
    items.emplace_back(key, std::move(v));
}

const Value* CallArgs::get(size_t index, const char* name) const {
    for (const auto& kv : kw)
        if (kv.first == name) return &kv.second;
    return index < pos.size() ? &pos[index] : nullptr;
}

Value Value::undefined(std::string name) {
    Value v;
    v.s = std::move(name);
    return v;
}
Value Value::none() {
    Value v;
    v.kind = Kind::None;
    return v;
}
Value Value::boolean(bool x) {
    Value v;
    v.kind = Kind::Bool;
    v.b = x;
    return v;
}
Value Value::integer(int64_t x) {
    Value v;
    v.kind = Kind::Int;
    v.i = x;
    return v;
}
Value Value::number(double x) {
    Value v;
    v.kind = Kind::Float;
    v.f = x;
    return v;
}
Value Value::string(std::string x) {
    Value v;
    v.kind = Kind::String;
    v.s = std::move(x);
    return v;
}
Value Value::make_list(ValueList items) {
    Value v;
    v.kind = Kind::List;
    v.list = std::make_shared<ValueList>(std::move(items));
    return v;
}
Value Value::make_tuple(ValueList items) {
    Value v = make_list(std::move(items));
    v.tuple = true;
    return v;
}
Value Value::make_dict() {
    Value v;
    v.kind = Kind::Dict;
    v.dict = std::make_shared<ValueDict>();
    return v;
}
Value Value::function(Function f) {
    Value v;
    v.kind = Kind::Function;
    v.fn = std::make_shared<Function>(std::move(f));
    return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null: return none();
        case nlohmann::ordered_json::value_t::boolean: return boolean(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer: return integer(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: return integer(static_cast<int64_t>(j.get<uint64_t>()));
        case nlohmann::ordered_json::value_t::number_float: return number(j.get<double>());
        case nlohmann::ordered_json::value_t::string: return string(j.get<std::string>());
        case nlohmann::ordered_json::value_t::array: {
            Value v = make_list();
            for (const auto& e : j) v.list->push_back(from_json(e));
            return v;
        }
        case nlohmann::ordered_json::value_t::object: {
            Value v = make_dict();
            for (auto it = j.begin(); it != j.end(); ++it) v.dict->items.emplace_back(it.key(), from_json(it.value()));
            return v;
        }
        default: return none();
    }
}

bool Value::truthy() const {
    switch (kind) {
        case Kind::Undefined:
        case Kind::None: return false;
        case Kind::Bool: return b;
        case Kind::Int: return i != 0;
        case Kind::Float: return f != 0;
        case Kind::String: return !s.empty();
        case Kind::List: return !list->empty();
        case Kind::Dict: return !dict->items.empty();
        case Kind::Function: return true;
    }
    return false;
}

double Value::as_double() const {
    if (kind == Kind::Float) return f;
    if (kind == Kind::Int) return static_cast<double>(i);
    if (kind == Kind::Bool) return b ? 1 : 0;
    fail("expected a number, got {}", type_name());
}

const char* Value::type_name() const {
    switch (kind) {
        case Kind::Undefined: return "undefined";
        case Kind::None: return "None";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::String: return "str";
        case Kind::List: return "list";
        case Kind::Dict: return dict->is_namespace ? "Namespace" : "dict";
        case Kind::Function: return "function";
    }
    return "?";
}

std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    int prec = 1;
    for (; prec <= 17; ++prec) {
        std::snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    // buf = [-]D.DDDDe[+-]XX: split into digits and a decimal exponent.
    std::string t = buf;
    bool neg = t[0] == '-';
    if (neg) t = t.substr(1);
    size_t e = t.find('e');
    int exp10 = std::atoi(t.c_str() + e + 1);
    std::string digits;
    for (size_t k = 0; k < e; ++k)
        if (t[k] != '.') digits += t[k];
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::string out = neg ? "-" : "";
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            out += "0." + std::string(-exp10 - 1, '0') + digits;
        } else if (static_cast<int>(digits.size()) <= exp10 + 1) {
            out += digits + std::string(exp10 + 1 - digits.size(), '0') + ".0";
        } else {
            out += digits.substr(0, exp10 + 1) + "." + digits.substr(exp10 + 1);
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    std::snprintf(buf, sizeof buf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return out + buf;
}

namespace {

std::string quote_py(const std::string& s) {
    bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
    char q = has_single && !has_double ? '"' : '\'';
    std::string out(1, q);
    for (unsigned char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + q;
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    return out + q;
}

void json_string(const std::string& s, std::string& out) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else out += static_cast<char>(c);
        }
    }
    out += '"';
}

void json_dump(const Value& v, int indent, int depth, std::string& out) {
    auto newline = [&](int d) {
        if (indent < 0) return;
        out += '\n';
        out.append(static_cast<size_t>(indent * d), ' ');
    };
    const char* item_sep = indent < 0 ? ", " : ",";
    switch (v.kind) {
        case Value::Kind::None: out += "null"; return;
        case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
        case Value::Kind::Int: out += std::to_string(v.i); return;
        case Value::Kind::Float:
            out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f > 0 ? "Infinity" : "-Infinity") : float_repr(v.f);
            return;
        case Value::Kind::String: json_string(v.s, out); return;
        case Value::Kind::List:
            if (v.list->empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (size_t k = 0; k < v.list->size(); ++k) {
                if (k) out += item_sep;
                newline(depth + 1);
                json_dump((*v.list)[k], indent, depth + 1, out);
            }
            newline(depth);
            out += ']';
            return;
        case Value::Kind::Dict:
            if (v.dict->items.empty()) {
                out += "{}";
                return;
            }
            out += '{';
            for (size_t k = 0; k < v.dict->items.size(); ++k) {
                if (k) out += item_sep;
                newline(depth + 1);
                json_string(v.dict->items[k].first, out);
                out += ": ";
                json_dump(v.dict->items[k].second, indent, depth + 1, out);
            }
            newline(depth);
            out += '}';
            return;
        default: fail("Object of type {} is not JSON serializable", v.type_name());
    }
}

}  // namespace

std::string repr(const Value& v) {
    if (v.kind == Value::Kind::String) return quote_py(v.s);
    return to_str(v);
}

std::string to_str(const Value& v) {
    switch (v.kind) {
        case Value::Kind::Undefined: return "";
        case Value::Kind::None: return "None";
        case Value::Kind::Bool: return v.b ? "True" : "False";
        case Value::Kind::Int: return std::to_string(v.i);
        case Value::Kind::Float: return float_repr(v.f);
        case Value::Kind::String: return v.s;
        case Value::Kind::List: {
            std::string out = v.tuple ? "(" : "[";
            for (size_t k = 0; k < v.list->size(); ++k) out += (k ? ", " : "") + repr((*v.list)[k]);
            if (v.tuple && v.list->size() == 1) out += ",";
            return out + (v.tuple ? ")" : "]");
        }
        case Value::Kind::Dict: {
            std::string out = v.dict->is_namespace ? "<Namespace {" : "{";
            for (size_t k = 0; k < v.dict->items.size(); ++k)
                out += (k ? ", " : "") + quote_py(v.dict->items[k].first) + ": " + repr(v.dict->items[k].second);
            return out + (v.dict->is_namespace ? "}>" : "}");
        }
        case Value::Kind::Function: return "<function>";
    }
    return "";
}

std::string to_json_text(const Value& v, int indent) {
    std::string out;
    json_dump(v, indent, 0, out);
    return out;
}

bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) return a.as_double() == b.as_double();
        return (a.kind == Value::Kind::Bool ? a.b : a.i) == (b.kind == Value::Kind::Bool ? b.b : b.i);
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case Value::Kind::Undefined:
        case Value::Kind::None: return true;
        case Value::Kind::String: return a.s == b.s;
        case Value::Kind::List:
            if (a.list->size() != b.list->size()) return false;
            for (size_t k = 0; k < a.list->size(); ++k)
                if (!equals((*a.list)[k], (*b.list)[k])) return false;
            return true;
        case Value::Kind::Dict:
            if (a.dict->items.size() != b.dict->items.size()) return false;
            for (const auto& kv : a.dict->items) {
                const Value* o = b.dict->find(kv.first);
                if (!o || !equals(kv.second, *o)) return false;
            }
            return true;
        case Value::Kind::Function: return a.fn == b.fn;
        default: return false;
    }
}

bool less_than(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return a.as_double() < b.as_double();
    if (a.is_string() && b.is_string()) return a.s < b.s;
    if (a.is_list() && b.is_list()) {
        size_t n = std::min(a.list->size(), b.list->size());
        for (size_t k = 0; k < n; ++k) {
            if (less_than((*a.list)[k], (*b.list)[k])) return true;
            if (less_than((*b.list)[k], (*a.list)[k])) return false;
        }
        return a.list->size() < b.list->size();
    }
    fail("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

std::vector<std::string> utf8_chars(const std::string& s) {
    std::vector<std::string> out;
    for (size_t k = 0; k < s.size();) {
        size_t n = 1;
        unsigned char c = static_cast<unsigned char>(s[k]);
        if (c >= 0xF0) n = 4;
        else if (c >= 0xE0) n = 3;
        else if (c >= 0xC0) n = 2;
        n = std::min(n, s.size() - k);
        out.push_back(s.substr(k, n));
        k += n;
    }
    return out;
}

ValueList iterate(const Value& v) {
    switch (v.kind) {
        case Value::Kind::Undefined: return {};
        case Value::Kind::List: return *v.list;
        case Value::Kind::Dict: {
            ValueList keys;
            for (const auto& kv : v.dict->items) keys.push_back(Value::string(kv.first));
            return keys;
        }
        case Value::Kind::String: {
            ValueList chars;
            for (auto& c : utf8_chars(v.s)) chars.push_back(Value::string(std::move(c)));
            return chars;
        }
        default: fail("'{}' object is not iterable", v.type_name());
    }
}

size_t length_of(const Value& v) {
    switch (v.kind) {
        case Value::Kind::String: return utf8_chars(v.s).size();
        case Value::Kind::List: return v.list->size();
        case Value::Kind::Dict: return v.dict->items.size();
        case Value::Kind::Undefined: return 0;
        default: fail("object of type '{}' has no len()", v.type_name());
    }
}

}  // namespace lightllm::jinja
