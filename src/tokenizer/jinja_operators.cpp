// Python's arithmetic on Jinja values (int/float promotion, floor division
// and modulo with the divisor's sign, str/list concatenation and repetition)
// and slicing of lists and strings.
#include "check.h"
#include "jinja_builtins.h"
#include <algorithm>
#include <cmath>

namespace lightllm::jinja {

namespace {

constexpr int64_t kMaxSequence = 10'000'000;  // repetition sizes

int64_t as_int(const Value& v) { return v.kind == Value::Kind::Bool ? v.b : v.i; }
bool is_intlike(const Value& v) { return v.kind == Value::Kind::Int || v.kind == Value::Kind::Bool; }

Value repeat(const Value& seq, int64_t n) {
    if (n < 0) n = 0;
    if (seq.is_string()) {
        if (static_cast<int64_t>(seq.s.size()) * n > kMaxSequence) fail("string repetition too large");
        std::string r;
        for (int64_t k = 0; k < n; ++k) r += seq.s;
        return Value::string(r);
    }
    if (static_cast<int64_t>(seq.list->size()) * n > kMaxSequence) fail("list repetition too large");
    ValueList r;
    for (int64_t k = 0; k < n; ++k) r.insert(r.end(), seq.list->begin(), seq.list->end());
    return Value::make_list(r);
}

}  // namespace

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
    if (op == "+" && a.is_string() && b.is_string()) return Value::string(a.s + b.s);
    if (op == "+" && a.is_list() && b.is_list()) {
        ValueList r = *a.list;
        r.insert(r.end(), b.list->begin(), b.list->end());
        return Value::make_list(r);
    }
    if (op == "*" && (a.is_string() || a.is_list()) && is_intlike(b)) return repeat(a, as_int(b));
    if (op == "*" && (b.is_string() || b.is_list()) && is_intlike(a)) return repeat(b, as_int(a));
    if (!a.is_number() || !b.is_number())
        fail("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
    bool ints = is_intlike(a) && is_intlike(b);
    if (op == "/") {
        if (b.as_double() == 0) fail("division by zero");
        return Value::number(a.as_double() / b.as_double());
    }
    if (ints) {
        int64_t x = as_int(a), y = as_int(b);
        if (op == "+") return Value::integer(x + y);
        if (op == "-") return Value::integer(x - y);
        if (op == "*") return Value::integer(x * y);
        if (op == "**") {
            if (y < 0) return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
            int64_t r = 1;
            for (int64_t k = 0; k < y && k < 64; ++k) r *= x;
            return Value::integer(r);
        }
        if (y == 0) fail("integer division or modulo by zero");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) q -= 1, m += y;
        return Value::integer(op == "//" ? q : m);
    }
    double x = a.as_double(), y = b.as_double();
    if (op == "+") return Value::number(x + y);
    if (op == "-") return Value::number(x - y);
    if (op == "*") return Value::number(x * y);
    if (op == "**") return Value::number(std::pow(x, y));
    if (y == 0) fail("float division by zero");
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value::number(op == "//" ? std::floor(x / y) : m);
}

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
    bool is_str = obj.is_string();
    if (!is_str && !obj.is_list()) fail("'{}' object is not subscriptable", obj.type_name());
    std::vector<std::string> chars = is_str ? utf8_chars(obj.s) : std::vector<std::string>{};
    int64_t n = static_cast<int64_t>(is_str ? chars.size() : obj.list->size());
    int64_t st = step.is_none() || step.is_undefined() ? 1 : as_int(step);
    if (st == 0) fail("slice step cannot be zero");
    auto bound = [&](const Value& v, int64_t def) {
        if (v.is_none() || v.is_undefined()) return def;
        int64_t i = as_int(v);
        if (i < 0) i += n;
        return st > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
    };
    int64_t b = bound(start, st > 0 ? 0 : n - 1), e = bound(stop, st > 0 ? n : -1);
    std::string s;
    ValueList l;
    for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
        if (is_str) s += chars[static_cast<size_t>(i)];
        else l.push_back((*obj.list)[static_cast<size_t>(i)]);
    }
    return is_str ? Value::string(s) : Value::make_list(l);
}

}  // namespace lightllm::jinja
