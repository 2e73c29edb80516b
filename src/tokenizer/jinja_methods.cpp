// Python methods of str, dict and list as chat templates call them.
#include "check.h"
#include "jinja_builtins.h"
#include "unicode.h"
#include <algorithm>
#include <cctype>

namespace lightllm::jinja {

namespace {

bool is_py_space(uint32_t cp) { return unicode_is_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F); }

std::string arg_str(const CallArgs& a, size_t i, const char* name, const char* method) {
    const Value* v = a.get(i, name);
    if (!v || !v->is_string()) fail("{}() needs a string argument '{}'", method, name);
    return v->s;
}

std::string ascii_map(std::string s, int (*f)(int)) {
    for (char& c : s) c = static_cast<char>(f(static_cast<unsigned char>(c)));
    return s;
}

std::string title_case(const std::string& s) {
    std::string out;
    bool prev_letter = false;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        bool letter = std::isalpha(u) != 0;
        out += static_cast<char>(letter ? (prev_letter ? std::tolower(u) : std::toupper(u)) : u);
        prev_letter = letter;
    }
    return out;
}

// str.split(sep=None, maxsplit=-1)
Value py_split(const std::string& s, const Value* sep, int64_t maxsplit) {
    Value out = Value::make_list();
    if (!sep || sep->is_none()) {
        size_t k = 0;
        while (k < s.size()) {
            while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
            if (k >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(out.list->size()) == maxsplit) {
                size_t e = s.size();
                while (e > k && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
                out.list->push_back(Value::string(s.substr(k, e - k)));
                break;
            }
            size_t e = k;
            while (e < s.size() && !std::isspace(static_cast<unsigned char>(s[e]))) ++e;
            out.list->push_back(Value::string(s.substr(k, e - k)));
            k = e;
        }
        return out;
    }
    if (!sep->is_string() || sep->s.empty()) fail("split(): empty separator");
    size_t k = 0;
    for (;;) {
        size_t e = s.find(sep->s, k);
        if (e == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.list->size()) == maxsplit)) {
            out.list->push_back(Value::string(s.substr(k)));
            return out;
        }
        out.list->push_back(Value::string(s.substr(k, e - k)));
        k = e + sep->s.size();
    }
}

bool affix_match(const std::string& s, const Value& arg, bool prefix) {
    auto one = [&](const Value& a) {
        if (!a.is_string()) fail("{}() needs a string or a list of strings", prefix ? "startswith" : "endswith");
        if (a.s.size() > s.size()) return false;
        return prefix ? s.compare(0, a.s.size(), a.s) == 0 : s.compare(s.size() - a.s.size(), a.s.size(), a.s) == 0;
    };
    if (arg.is_list()) return std::any_of(arg.list->begin(), arg.list->end(), one);
    return one(arg);
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    std::string out;
    if (from.empty()) {
        auto chars = utf8_chars(s);
        int64_t n = 0;
        for (const auto& c : chars) {
            if (count < 0 || n++ < count) out += to;
            out += c;
        }
        if (count < 0 || n < count) out += to;
        return out;
    }
    size_t k = 0;
    for (int64_t n = 0; count < 0 || n < count; ++n) {
        size_t e = s.find(from, k);
        if (e == std::string::npos) break;
        out += s.substr(k, e - k) + to;
        k = e + from.size();
    }
    return out + s.substr(k);
}

bool string_method(const std::string& s, const std::string& name, const CallArgs& a, Value* out) {
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const Value* c = a.get(0, "chars");
        std::string chars = c && c->is_string() ? c->s : "";
        *out = Value::string(py_strip(s, c && c->is_string() ? &chars : nullptr, name[0] == 's' ? 'b' : name[0]));
    } else if (name == "split") {
        const Value* m = a.get(1, "maxsplit");
        *out = py_split(s, a.get(0, "sep"), m ? m->i : -1);
    } else if (name == "startswith" || name == "endswith") {
        const Value* p = a.get(0, "prefix");
        if (!p) fail("{}() needs an argument", name);
        *out = Value::boolean(affix_match(s, *p, name[0] == 's'));
    } else if (name == "upper" || name == "lower") {
        *out = Value::string(ascii_map(s, name == "upper" ? ::toupper : ::tolower));
    } else if (name == "title") {
        *out = Value::string(title_case(s));
    } else if (name == "capitalize") {
        std::string t = ascii_map(s, ::tolower);
        if (!t.empty()) t[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(t[0])));
        *out = Value::string(t);
    } else if (name == "replace") {
        const Value* c = a.get(2, "count");
        *out = Value::string(replace_all(s, arg_str(a, 0, "old", "replace"), arg_str(a, 1, "new", "replace"),
                                         c && c->kind == Value::Kind::Int ? c->i : -1));
    } else if (name == "find") {
        size_t p = s.find(arg_str(a, 0, "sub", "find"));
        *out = Value::integer(p == std::string::npos ? -1 : static_cast<int64_t>(utf8_chars(s.substr(0, p)).size()));
    } else if (name == "count") {
        std::string sub = arg_str(a, 0, "sub", "count");
        int64_t n = 0;
        if (sub.empty()) n = static_cast<int64_t>(utf8_chars(s).size()) + 1;
        else
            for (size_t k = s.find(sub); k != std::string::npos; k = s.find(sub, k + sub.size())) ++n;
        *out = Value::integer(n);
    } else if (name == "join") {
        const Value* it = a.get(0, "iterable");
        if (!it) fail("join() needs an argument");
        std::string r;
        bool first = true;
        for (const Value& v : iterate(*it)) {
            if (!v.is_string()) fail("join(): sequence item is {}, not str", v.type_name());
            r += (first ? "" : s) + v.s;
            first = false;
        }
        *out = Value::string(r);
    } else if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum") {
        int (*f)(int) = name == "isdigit" ? ::isdigit : name == "isalpha" ? ::isalpha : name == "isspace" ? ::isspace : ::isalnum;
        bool ok = !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return f(static_cast<unsigned char>(c)); });
        *out = Value::boolean(ok);
    } else if (name == "splitlines") {
        Value r = Value::make_list();
        size_t k = 0;
        while (k < s.size()) {
            size_t e = s.find('\n', k);
            if (e == std::string::npos) e = s.size();
            r.list->push_back(Value::string(s.substr(k, e - k)));
            k = e + 1;
        }
        *out = r;
    } else if (name == "format") {
        std::string r;
        size_t next = 0;
        for (size_t k = 0; k < s.size(); ++k) {
            if (s.compare(k, 2, "{}") == 0) {
                if (next >= a.pos.size()) fail("format(): not enough arguments");
                r += to_str(a.pos[next++]);
                ++k;
            } else r += s[k];
        }
        *out = Value::string(r);
    } else {
        return false;
    }
    return true;
}

bool dict_method(const Value& d, const std::string& name, const CallArgs& a, Value* out) {
    if (name == "items" || name == "keys" || name == "values") {
        Value r = Value::make_list();
        for (const auto& kv : d.dict->items) {
            if (name == "items") r.list->push_back(Value::make_tuple({Value::string(kv.first), kv.second}));
            else r.list->push_back(name == "keys" ? Value::string(kv.first) : kv.second);
        }
        *out = r;
    } else if (name == "get") {
        const Value* k = a.get(0, "key");
        if (!k) fail("get() needs a key");
        const Value* v = k->is_string() ? d.dict->find(k->s) : nullptr;
        const Value* def = a.get(1, "default");
        *out = v ? *v : def ? *def : Value::none();
    } else if (name == "update" && !d.dict->is_namespace) {
        if (const Value* o = a.get(0, "other"); o && o->is_dict())
            for (const auto& kv : o->dict->items) d.dict->set(kv.first, kv.second);
        for (const auto& kv : a.kw) d.dict->set(kv.first, kv.second);
        *out = Value::none();
    } else {
        return false;
    }
    return true;
}

bool list_method(const Value& l, const std::string& name, const CallArgs& a, Value* out) {
    if (name == "append") {
        const Value* v = a.get(0, "object");
        if (!v) fail("append() needs an argument");
        l.list->push_back(*v);
        *out = Value::none();
    } else if (name == "pop") {
        if (l.list->empty()) fail("pop from empty list");
        const Value* i = a.get(0, "index");
        int64_t n = static_cast<int64_t>(l.list->size());
        int64_t k = i ? (i->i < 0 ? i->i + n : i->i) : n - 1;
        if (k < 0 || k >= n) fail("pop index out of range");
        *out = (*l.list)[static_cast<size_t>(k)];
        l.list->erase(l.list->begin() + k);
    } else if (name == "index") {
        const Value* v = a.get(0, "value");
        for (size_t k = 0; v && k < l.list->size(); ++k)
            if (equals((*l.list)[k], *v)) {
                *out = Value::integer(static_cast<int64_t>(k));
                return true;
            }
        fail("value is not in list");
    } else if (name == "count") {
        const Value* v = a.get(0, "value");
        int64_t n = 0;
        for (const Value& e : *l.list) n += v && equals(e, *v);
        *out = Value::integer(n);
    } else {
        return false;
    }
    return true;
}

}  // namespace

std::string py_strip(const std::string& s, const std::string* chars, char which) {
    auto strip_cp = [&](uint32_t cp, const std::string& ch) {
        if (!chars) return is_py_space(cp);
        return chars->find(ch) != std::string::npos;
    };
    auto cs = utf8_chars(s);
    size_t b = 0, e = cs.size();
    auto cp_of = [&](size_t k) {
        size_t len;
        return utf8_decode(cs[k].data(), cs[k].size(), &len);
    };
    if (which != 'r')
        while (b < e && strip_cp(cp_of(b), cs[b])) ++b;
    if (which != 'l')
        while (e > b && strip_cp(cp_of(e - 1), cs[e - 1])) --e;
    std::string out;
    for (size_t k = b; k < e; ++k) out += cs[k];
    return out;
}

Value get_item(const Value& obj, const Value& key) {
    if (obj.is_undefined()) fail("'{}' is undefined", obj.s.empty() ? "value" : obj.s);
    if (obj.is_dict()) {
        std::string k = key.is_string() ? key.s : to_str(key);
        const Value* v = obj.dict->find(k);
        return v ? *v : Value::undefined(k);
    }
    if ((obj.is_list() || obj.is_string()) && (key.kind == Value::Kind::Int || key.kind == Value::Kind::Bool)) {
        int64_t i = key.kind == Value::Kind::Bool ? key.b : key.i;
        if (obj.is_list()) {
            int64_t n = static_cast<int64_t>(obj.list->size());
            if (i < 0) i += n;
            return i >= 0 && i < n ? (*obj.list)[static_cast<size_t>(i)] : Value::undefined();
        }
        auto cs = utf8_chars(obj.s);
        int64_t n = static_cast<int64_t>(cs.size());
        if (i < 0) i += n;
        return i >= 0 && i < n ? Value::string(cs[static_cast<size_t>(i)]) : Value::undefined();
    }
    return Value::undefined(to_str(key));
}

bool contains(const Value& haystack, const Value& needle) {
    switch (haystack.kind) {
        case Value::Kind::String:
            if (!needle.is_string()) fail("'in <string>' requires string as left operand, not {}", needle.type_name());
            return haystack.s.find(needle.s) != std::string::npos;
        case Value::Kind::List:
            return std::any_of(haystack.list->begin(), haystack.list->end(),
                               [&](const Value& v) { return equals(v, needle); });
        case Value::Kind::Dict: return needle.is_string() && haystack.dict->find(needle.s) != nullptr;
        case Value::Kind::Undefined: return false;
        default: fail("argument of type '{}' is not iterable", haystack.type_name());
    }
}

bool call_method(const Value& v, const std::string& name, const CallArgs& args, Value* out) {
    if (v.is_string()) return string_method(v.s, name, args, out);
    if (v.is_dict()) return dict_method(v, name, args, out);
    if (v.is_list()) return list_method(v, name, args, out);
    return false;
}

}  // namespace lightllm::jinja
