// jinja2's global functions as transformers' environment has them: range,
// namespace, dict, raise_exception (the template's own error) and
// strftime_now (the local time, for templates that print today's date).
#include "check.h"
#include "jinja_builtins.h"
#include <ctime>

namespace lightllm::jinja {

namespace {

constexpr int64_t kMaxRange = 10'000'000;

Value range_of(const CallArgs& a) {
    if (a.pos.empty() || a.pos.size() > 3) fail("range() takes 1 to 3 arguments");
    for (const Value& v : a.pos)
        if (v.kind != Value::Kind::Int) fail("range() needs integers, got {}", v.type_name());
    int64_t start = a.pos.size() > 1 ? a.pos[0].i : 0, stop = a.pos.size() > 1 ? a.pos[1].i : a.pos[0].i;
    int64_t step = a.pos.size() > 2 ? a.pos[2].i : 1;
    if (step == 0) fail("range() arg 3 must not be zero");
    Value out = Value::make_list();
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (static_cast<int64_t>(out.list->size()) >= kMaxRange) fail("range() too large");
        out.list->push_back(Value::integer(i));
    }
    return out;
}

Value dict_of(const CallArgs& a, bool is_namespace) {
    Value d = Value::make_dict();
    d.dict->is_namespace = is_namespace;
    for (const Value& p : a.pos) {
        if (!p.is_dict()) fail("{}() takes mappings and keyword arguments", is_namespace ? "namespace" : "dict");
        for (const auto& kv : p.dict->items) d.dict->set(kv.first, kv.second);
    }
    for (const auto& kv : a.kw) d.dict->set(kv.first, kv.second);
    return d;
}

}  // namespace

std::shared_ptr<ValueDict> make_globals() {
    auto g = std::make_shared<ValueDict>();
    g->set("range", Value::function(range_of));
    g->set("namespace", Value::function([](const CallArgs& a) { return dict_of(a, true); }));
    g->set("dict", Value::function([](const CallArgs& a) { return dict_of(a, false); }));
    g->set("raise_exception", Value::function([](const CallArgs& a) -> Value {
        fail("{}", a.pos.empty() ? std::string("raise_exception() called") : to_str(a.pos[0]));
    }));
    g->set("strftime_now", Value::function([](const CallArgs& a) {
        std::string fmt = a.pos.empty() ? "" : to_str(a.pos[0]);
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        localtime_r(&now, &tm);
        char buf[256];
        size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
        return Value::string(std::string(buf, n));
    }));
    return g;
}

}  // namespace lightllm::jinja
