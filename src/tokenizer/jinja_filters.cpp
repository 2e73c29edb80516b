// jinja2's built-in filters and tests, with Python's semantics.
#include "check.h"
#include "jinja_builtins.h"
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace lightllm::jinja {

namespace {

// "a.b.0" attribute paths of selectattr / map / sort / join / unique.
Value attr_path(const Value& v, const std::string& path) {
    Value cur = v;
    size_t k = 0;
    while (k <= path.size()) {
        size_t e = path.find('.', k);
        if (e == std::string::npos) e = path.size();
        std::string part = path.substr(k, e - k);
        if (cur.is_undefined()) return cur;
        bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
        cur = get_item(cur, digits && !cur.is_dict() ? Value::integer(std::atoll(part.c_str())) : Value::string(part));
        k = e + 1;
    }
    return cur;
}

std::string str_arg(const CallArgs& a, size_t i, const char* name, std::string def) {
    const Value* v = a.get(i, name);
    return v && !v->is_undefined() ? to_str(*v) : def;
}
bool bool_arg(const CallArgs& a, size_t i, const char* name, bool def) {
    const Value* v = a.get(i, name);
    return v ? v->truthy() : def;
}

CallArgs rest_args(const CallArgs& a, size_t from) {
    CallArgs r;
    for (size_t k = from; k < a.pos.size(); ++k) r.pos.push_back(a.pos[k]);
    r.kw = a.kw;
    return r;
}

Value lower_for_compare(const Value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) {
        std::string s = v.s;
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return Value::string(s);
    }
    return v;
}

Value select_filter(const std::string& name, const Value& v, const CallArgs& a) {
    bool by_attr = name == "selectattr" || name == "rejectattr";
    bool keep_if = name == "selectattr" || name == "select";
    std::string attr = by_attr ? str_arg(a, 0, "attribute", "") : "";
    size_t test_pos = by_attr ? 1 : 0;
    const Value* test = test_pos < a.pos.size() ? &a.pos[test_pos] : nullptr;
    CallArgs targs = rest_args(a, test_pos + 1);
    targs.kw.clear();
    Value out = Value::make_list();
    for (const Value& item : iterate(v)) {
        Value x = by_attr ? attr_path(item, attr) : item;
        bool ok = test ? apply_test(to_str(*test), x, targs) : x.truthy();
        if (ok == keep_if) out.list->push_back(item);
    }
    return out;
}

Value map_filter(const Value& v, const CallArgs& a) {
    Value out = Value::make_list();
    if (const Value* attr = a.get(99, "attribute")) {
        const Value* def = a.get(99, "default");
        for (const Value& item : iterate(v)) {
            Value x = attr_path(item, to_str(*attr));
            out.list->push_back(x.is_undefined() && def ? *def : x);
        }
        return out;
    }
    if (a.pos.empty()) fail("map() needs a filter name or attribute=");
    std::string filter = to_str(a.pos[0]);
    CallArgs fargs = rest_args(a, 1);
    for (const Value& item : iterate(v)) out.list->push_back(apply_filter(filter, item, fargs));
    return out;
}

Value sort_filter(const Value& v, const CallArgs& a, bool unique) {
    bool reverse = !unique && bool_arg(a, 0, "reverse", false);
    bool cs = bool_arg(a, unique ? 0 : 1, "case_sensitive", false);
    std::string attr = str_arg(a, unique ? 1 : 2, "attribute", "");
    auto key = [&](const Value& x) { return lower_for_compare(attr.empty() ? x : attr_path(x, attr), cs); };
    ValueList items = iterate(v);
    if (unique) {
        ValueList out, seen;
        for (const Value& x : items) {
            Value k = key(x);
            if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) {
                seen.push_back(k);
                out.push_back(x);
            }
        }
        return Value::make_list(out);
    }
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        return reverse ? less_than(key(y), key(x)) : less_than(key(x), key(y));
    });
    return Value::make_list(items);
}

std::string indent_filter(const std::string& s, const CallArgs& a) {
    const Value* w = a.get(0, "width");
    std::string pad = !w ? "    " : w->is_string() ? w->s : std::string(static_cast<size_t>(std::max<int64_t>(0, w->i)), ' ');
    bool first = bool_arg(a, 1, "first", false), blank = bool_arg(a, 2, "blank", false);
    std::vector<std::string> lines;
    std::string text = s + "\n";
    for (size_t k = 0; k < text.size();) {
        size_t e = text.find('\n', k);
        lines.push_back(text.substr(k, e - k));
        k = e + 1;
    }
    std::string out = lines[0];
    for (size_t k = 1; k < lines.size(); ++k) out += "\n" + ((blank || !lines[k].empty()) ? pad + lines[k] : lines[k]);
    return first ? pad + out : out;
}

Value round_filter(const Value& v, const CallArgs& a) {
    const Value* p = a.get(0, "precision");
    int64_t prec = p ? p->i : 0;
    std::string method = str_arg(a, 1, "method", "common");
    double scale = std::pow(10.0, static_cast<double>(prec)), x = v.as_double() * scale;
    double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
    return Value::number(r / scale);
}

Value int_filter(const Value& v, const CallArgs& a) {
    const Value* d = a.get(0, "default");
    Value def = d ? *d : Value::integer(0);
    if (v.is_number()) return Value::integer(static_cast<int64_t>(v.as_double()));
    if (v.is_string()) {
        char* end = nullptr;
        std::string s = py_strip(v.s, nullptr, 'b');
        long long i = std::strtoll(s.c_str(), &end, 10);
        if (!s.empty() && *end == 0) return Value::integer(i);
        double f = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == 0) return Value::integer(static_cast<int64_t>(f));
    }
    return def;
}

Value float_filter(const Value& v, const CallArgs& a) {
    const Value* d = a.get(0, "default");
    if (v.is_number()) return Value::number(v.as_double());
    if (v.is_string()) {
        char* end = nullptr;
        std::string s = py_strip(v.s, nullptr, 'b');
        double f = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == 0) return Value::number(f);
    }
    return d ? *d : Value::number(0);
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace

Value apply_filter(const std::string& name, const Value& v, const CallArgs& a) {
    Value out;
    if (name == "default" || name == "d") {
        const Value* d = a.get(0, "default_value");
        bool boolean = bool_arg(a, 1, "boolean", false);
        if (v.is_undefined() || (boolean && !v.truthy())) return d ? *d : Value::string("");
        return v;
    }
    if (name == "safe") return v;
    if (name == "tojson") {
        const Value* ind = a.get(0, "indent");
        return Value::string(to_json_text(v, ind && !ind->is_none() ? static_cast<int>(ind->i) : -1));
    }
    if (name == "length" || name == "count") return Value::integer(static_cast<int64_t>(length_of(v)));
    if (name == "string") return Value::string(to_str(v));
    if (name == "list") return Value::make_list(iterate(v));
    if (name == "int") return int_filter(v, a);
    if (name == "float") return float_filter(v, a);
    if (name == "items") {
        if (v.is_undefined()) return Value::make_list();
        if (!v.is_dict()) fail("items filter needs a mapping, got {}", v.type_name());
        call_method(v, "items", {}, &out);
        return out;
    }
    if (name == "first" || name == "last") {
        ValueList items = iterate(v);
        if (items.empty()) return Value::undefined();
        return name == "first" ? items.front() : items.back();
    }
    if (name == "join") {
        std::string sep = str_arg(a, 0, "d", ""), attr = str_arg(a, 1, "attribute", ""), r;
        bool first = true;
        for (const Value& x : iterate(v)) {
            r += (first ? "" : sep) + to_str(attr.empty() ? x : attr_path(x, attr));
            first = false;
        }
        return Value::string(r);
    }
    if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") return select_filter(name, v, a);
    if (name == "map") return map_filter(v, a);
    if (name == "sort") return sort_filter(v, a, false);
    if (name == "unique") return sort_filter(v, a, true);
    if (name == "reverse") {
        if (v.is_string()) {
            auto cs = utf8_chars(v.s);
            std::string r;
            for (auto it = cs.rbegin(); it != cs.rend(); ++it) r += *it;
            return Value::string(r);
        }
        ValueList items = iterate(v);
        std::reverse(items.begin(), items.end());
        return Value::make_list(items);
    }
    if (name == "abs") {
        if (v.kind == Value::Kind::Int) return Value::integer(std::llabs(v.i));
        return Value::number(std::fabs(v.as_double()));
    }
    if (name == "round") return round_filter(v, a);
    if (name == "sum") {
        Value acc = Value::integer(0);
        for (const Value& x : iterate(v)) {
            if (acc.kind == Value::Kind::Int && x.kind == Value::Kind::Int) acc.i += x.i;
            else acc = Value::number(acc.as_double() + x.as_double());
        }
        return acc;
    }
    if (name == "min" || name == "max") {
        ValueList items = iterate(v);
        if (items.empty()) return Value::undefined();
        Value best = items[0];
        for (const Value& x : items)
            if (name == "min" ? less_than(lower_for_compare(x, false), lower_for_compare(best, false))
                              : less_than(lower_for_compare(best, false), lower_for_compare(x, false)))
                best = x;
        return best;
    }
    if (name == "dictsort") {
        if (!v.is_dict()) fail("dictsort needs a mapping");
        call_method(v, "items", {}, &out);
        return sort_filter(out, {}, false);
    }
    // The rest work on the string form of the value.
    std::string s = to_str(v);
    if (name == "trim") {
        const Value* c = a.get(0, "chars");
        std::string chars = c && c->is_string() ? c->s : "";
        return Value::string(py_strip(s, c && c->is_string() ? &chars : nullptr, 'b'));
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "replace") {
        if (!call_method(Value::string(s), name, a, &out)) fail("unknown filter '{}'", name);
        return out;
    }
    if (name == "indent") return Value::string(indent_filter(s, a));
    if (name == "escape" || name == "e") return Value::string(html_escape(s));
    if (name == "wordcount") {
        Value words;
        call_method(Value::string(s), "split", {}, &words);
        return Value::integer(static_cast<int64_t>(words.list->size()));
    }
    if (name == "format") {
        std::string r;
        size_t next = 0;
        for (size_t k = 0; k < s.size(); ++k) {
            if (s[k] == '%' && k + 1 < s.size()) {
                char c = s[++k];
                if (c == '%') r += '%';
                else if (next < a.pos.size()) r += c == 'r' ? repr(a.pos[next++]) : to_str(a.pos[next++]);
                else fail("format: not enough arguments for format string");
            } else r += s[k];
        }
        return Value::string(r);
    }
    fail("unknown filter '{}'", name);
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& a) {
    using K = Value::Kind;
    auto arg = [&]() -> const Value& {
        if (a.pos.empty()) fail("test '{}' needs an argument", name);
        return a.pos[0];
    };
    if (name == "defined") return !v.is_undefined();
    if (name == "undefined") return v.is_undefined();
    if (name == "none") return v.is_none();
    if (name == "string") return v.is_string();
    if (name == "number") return v.is_number();
    if (name == "integer") return v.kind == K::Int;
    if (name == "float") return v.kind == K::Float;
    if (name == "boolean") return v.kind == K::Bool;
    if (name == "true") return v.kind == K::Bool && v.b;
    if (name == "false") return v.kind == K::Bool && !v.b;
    if (name == "mapping") return v.is_dict();
    if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
    if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
    if (name == "callable") return v.kind == K::Function;
    if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") return equals(v, arg());
    if (name == "ne" || name == "!=") return !equals(v, arg());
    if (name == "lt" || name == "lessthan" || name == "<") return less_than(v, arg());
    if (name == "gt" || name == "greaterthan" || name == ">") return less_than(arg(), v);
    if (name == "le" || name == "<=") return !less_than(arg(), v);
    if (name == "ge" || name == ">=") return !less_than(v, arg());
    if (name == "in") return contains(arg(), v);
    if (name == "odd" || name == "even") {
        if (v.kind != K::Int && v.kind != K::Bool) fail("test '{}' needs an integer, got {}", name, v.type_name());
        int64_t i = v.kind == K::Bool ? v.b : v.i;
        return (((i % 2) + 2) % 2 == 1) == (name == "odd");
    }
    if (name == "divisibleby") {
        int64_t d = arg().i;
        if (d == 0) fail("integer division or modulo by zero");
        return v.i % d == 0;
    }
    if (name == "lower" || name == "upper") {
        Value t;
        call_method(Value::string(to_str(v)), name, {}, &t);
        return t.s == to_str(v);
    }
    fail("unknown test '{}'", name);
}

}  // namespace lightllm::jinja
