// Evaluation of a Jinja syntax tree. Scopes follow jinja2: the template's
// top level is one scope; each loop iteration, macro call and caller() body
// gets a fresh scope over it (so a `set` inside a loop is not seen by the
// next iteration or after the loop; namespace() objects carry values out);
// `if` blocks do not open scopes. Errors carry the line of the innermost
// statement that failed: "line N: message".
#include "check.h"
#include "jinja_builtins.h"
#include "jinja_template.h"

namespace lightllm::jinja {

namespace {

struct LineError : Error {
    using Error::Error;
};

enum class Flow { Normal, Break, Continue };
using Frame = std::shared_ptr<ValueDict>;

constexpr int kMaxCallDepth = 200;

class Renderer {
public:
    explicit Renderer(const nlohmann::ordered_json& vars) {
        frames_.push_back(make_globals());
        auto top = std::make_shared<ValueDict>();
        if (!vars.is_object() && !vars.is_null()) fail("template variables must be a JSON object");
        if (vars.is_object())
            for (auto it = vars.begin(); it != vars.end(); ++it) top->set(it.key(), Value::from_json(it.value()));
        frames_.push_back(top);
    }

    // A macro holds the scopes it was defined in, and is itself held by one
    // of them: empty the scopes that macros captured, so those cycles of
    // shared pointers are freed with the render.
    ~Renderer() {
        for (const Frame& f : captured_)
            if (f) f->items.clear();
    }
    Renderer(const Renderer&) = delete;
    Renderer& operator=(const Renderer&) = delete;

    std::string run(const NodePtr& root) {
        std::string out;
        exec_body(*root, out);
        return out;
    }

private:
    std::vector<Frame> frames_;
    std::vector<Frame> captured_;  // scopes some macro holds (freed in ~Renderer)
    int depth_ = 0;

    Value lookup(const std::string& name) const {
        for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
            if (const Value* v = (*it)->find(name)) return *v;
        return Value::undefined(name);
    }

    Flow exec_body(const Node& body, std::string& out) {
        for (const NodePtr& st : body.kids) {
            Flow f = exec_statement(*st, out);
            if (f != Flow::Normal) return f;
        }
        return Flow::Normal;
    }

    Flow exec_statement(const Node& n, std::string& out) {
        try {
            return exec(n, out);
        } catch (const LineError&) {
            throw;
        } catch (const Error& e) {
            throw LineError(fmt::format("line {}: {}", n.line, e.what()));
        }
    }

    // Runs `fn` with the given scope stack plus a fresh scope on top.
    template <typename F>
    auto with_scope(std::vector<Frame> base, F fn) {
        if (++depth_ > kMaxCallDepth) {
            --depth_;
            fail("too many nested calls (more than {})", kMaxCallDepth);
        }
        base.push_back(std::make_shared<ValueDict>());
        std::swap(frames_, base);
        struct Restore {
            Renderer* r;
            std::vector<Frame>* saved;
            ~Restore() { std::swap(r->frames_, *saved), --r->depth_; }
        } restore{this, &base};
        return fn();
    }

    Flow exec(const Node& n, std::string& out) {
        switch (n.kind) {
            case NodeKind::Text: out += n.name; return Flow::Normal;
            case NodeKind::Output: out += to_str(eval(*n.kids[0])); return Flow::Normal;
            case NodeKind::Body: return exec_body(n, out);
            case NodeKind::If:
                for (size_t k = 0; k + 1 < n.kids.size(); k += 2)
                    if (eval(*n.kids[k]).truthy()) return exec_body(*n.kids[k + 1], out);
                if (n.kids.size() % 2 == 1) return exec_body(*n.kids.back(), out);
                return Flow::Normal;
            case NodeKind::For: return exec_for(n, out);
            case NodeKind::Set: exec_set(n); return Flow::Normal;
            case NodeKind::SetBlock: {
                std::string text;
                exec_body(*n.kids[0], text);
                frames_.back()->set(n.name, apply_filters(n, Value::string(text)));
                return Flow::Normal;
            }
            case NodeKind::FilterBlock: {
                std::string text;
                exec_body(*n.kids[0], text);
                out += to_str(apply_filters(n, Value::string(text)));
                return Flow::Normal;
            }
            case NodeKind::Macro: frames_.back()->set(n.name, make_macro(n, frames_, "")); return Flow::Normal;
            case NodeKind::CallBlock: {
                const Node& call = *n.kids[0];
                CallArgs args = eval_args(call);
                args.kw.emplace_back("caller", make_macro(*n.kids[1], frames_, "caller"));
                out += to_str(call_value(call, args));
                return Flow::Normal;
            }
            case NodeKind::Break: return Flow::Break;
            case NodeKind::Continue: return Flow::Continue;
            default: fail("unexpected node in statement position");
        }
    }

    Value apply_filters(const Node& n, Value v) {
        for (size_t k = 1; k < n.kids.size(); ++k) v = apply_filter(n.kids[k]->name, v, eval_args(*n.kids[k]));
        return v;
    }

    void bind(const std::vector<std::string>& targets, const Value& v, ValueDict& frame) {
        if (targets.size() == 1) {
            frame.set(targets[0], v);
            return;
        }
        ValueList items = iterate(v);
        if (items.size() != targets.size())
            fail("cannot unpack {} values into {} names", items.size(), targets.size());
        for (size_t k = 0; k < targets.size(); ++k) frame.set(targets[k], items[k]);
    }

    void exec_set(const Node& n) {
        Value v = eval(*n.kids[0]);
        if (n.negate) {
            Value obj = lookup(n.names[0]);
            if (!obj.is_dict() || !obj.dict->is_namespace)
                fail("cannot assign attribute on non-namespace object '{}'", n.names[0]);
            obj.dict->set(n.names[1], v);
            return;
        }
        bind(n.names, v, *frames_.back());
    }

    Flow exec_for(const Node& n, std::string& out) {
        ValueList items = iterate(eval(*n.kids[0]));
        if (const NodePtr& filter = n.kids[3]) {
            ValueList kept;
            for (const Value& item : items) {
                bool keep = with_scope(frames_, [&] {
                    bind(n.names, item, *frames_.back());
                    return eval(*filter).truthy();
                });
                if (keep) kept.push_back(item);
            }
            items.swap(kept);
        }
        if (items.empty()) {
            if (n.kids[2]) return exec_body(*n.kids[2], out);
            return Flow::Normal;
        }
        int64_t len = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < len; ++i) {
            Flow f = with_scope(frames_, [&] {
                Value loop = Value::make_dict();
                ValueDict& d = *loop.dict;
                d.set("index", Value::integer(i + 1));
                d.set("index0", Value::integer(i));
                d.set("revindex", Value::integer(len - i));
                d.set("revindex0", Value::integer(len - i - 1));
                d.set("first", Value::boolean(i == 0));
                d.set("last", Value::boolean(i == len - 1));
                d.set("length", Value::integer(len));
                d.set("depth", Value::integer(1));
                d.set("depth0", Value::integer(0));
                d.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("previtem"));
                d.set("nextitem", i + 1 < len ? items[static_cast<size_t>(i + 1)] : Value::undefined("nextitem"));
                d.set("cycle", Value::function([i](const CallArgs& a) {
                    if (a.pos.empty()) fail("loop.cycle() needs at least one argument");
                    return a.pos[static_cast<size_t>(i) % a.pos.size()];
                }));
                frames_.back()->set("loop", loop);
                bind(n.names, items[static_cast<size_t>(i)], *frames_.back());
                return exec_body(*n.kids[1], out);
            });
            if (f == Flow::Break) break;
        }
        return Flow::Normal;
    }

    // A macro (or a {% call %} body as `caller`) as a callable value.
    Value make_macro(const Node& n, std::vector<Frame> scope, const std::string& name) {
        const Node* node = &n;
        captured_.insert(captured_.end(), scope.begin(), scope.end());
        return Value::function([this, node, scope, name](const CallArgs& a) {
            const auto& params = node->names;
            size_t n_defaults = node->kids.size() - 1, first_default = params.size() - n_defaults;
            if (a.pos.size() > params.size())
                fail("macro '{}' takes {} arguments, {} given", name.empty() ? node->name : name, params.size(), a.pos.size());
            return with_scope(scope, [&] {
                ValueDict& f = *frames_.back();
                for (size_t k = 0; k < params.size(); ++k) {
                    const Value* v = a.get(k, params[k].c_str());
                    if (v) f.set(params[k], *v);
                    else if (k >= first_default) f.set(params[k], eval(*node->kids[1 + k - first_default]));
                    else f.set(params[k], Value::undefined(params[k]));
                }
                for (const auto& kv : a.kw)
                    if (kv.first == "caller") f.set("caller", kv.second);
                std::string text;
                exec_body(*node->kids[0], text);
                return Value::string(text);
            });
        });
    }

    CallArgs eval_args(const Node& n) {
        CallArgs a;
        size_t n_kw = n.names.size(), n_args = n.kids.size() - 1;
        for (size_t k = 1; k < n.kids.size(); ++k) {
            Value v = eval(*n.kids[k]);
            if (k - 1 < n_args - n_kw) a.pos.push_back(std::move(v));
            else a.kw.emplace_back(n.names[k - 1 - (n_args - n_kw)], std::move(v));
        }
        return a;
    }

    Value call_value(const Node& call, const CallArgs& args) {
        const Node& callee = *call.kids[0];
        if (callee.kind == NodeKind::GetAttr) {
            Value obj = eval(*callee.kids[0]);
            if (obj.is_undefined()) fail("'{}' is undefined", obj.s.empty() ? "value" : obj.s);
            if (obj.is_dict())
                if (const Value* f = obj.dict->find(callee.name); f && f->kind == Value::Kind::Function) return (*f->fn)(args);
            Value out;
            if (call_method(obj, callee.name, args, &out)) return out;
            fail("'{}' object has no method '{}'", obj.type_name(), callee.name);
        }
        Value f = eval(callee);
        if (f.kind != Value::Kind::Function) {
            if (f.is_undefined()) fail("'{}' is undefined", f.s.empty() ? "value" : f.s);
            fail("'{}' object is not callable", f.type_name());
        }
        return (*f.fn)(args);
    }

    Value eval(const Node& n) {
        switch (n.kind) {
            case NodeKind::Literal: return n.value;
            case NodeKind::Name: return lookup(n.name);
            case NodeKind::ListLit: {
                Value l = Value::make_list();
                l.tuple = n.negate;
                for (const NodePtr& k : n.kids) l.list->push_back(eval(*k));
                return l;
            }
            case NodeKind::DictLit: {
                Value d = Value::make_dict();
                for (size_t k = 0; k + 1 < n.kids.size(); k += 2) {
                    Value key = eval(*n.kids[k]);
                    d.dict->set(key.is_string() ? key.s : to_str(key), eval(*n.kids[k + 1]));
                }
                return d;
            }
            case NodeKind::GetAttr: {
                Value obj = eval(*n.kids[0]);
                if (obj.is_undefined()) fail("'{}' is undefined", obj.s.empty() ? "value" : obj.s);
                if (obj.is_dict()) {
                    const Value* v = obj.dict->find(n.name);
                    return v ? *v : Value::undefined(n.name);
                }
                if (obj.is_list() && !n.name.empty() && std::isdigit(static_cast<unsigned char>(n.name[0])))
                    return get_item(obj, Value::integer(std::stoll(n.name)));
                return Value::undefined(n.name);
            }
            case NodeKind::GetItem: return get_item(eval(*n.kids[0]), eval(*n.kids[1]));
            case NodeKind::Slice: {
                Value obj = eval(*n.kids[0]);
                auto part = [&](const NodePtr& p) { return p ? eval(*p) : Value::none(); };
                return slice(obj, part(n.kids[1]), part(n.kids[2]), part(n.kids[3]));
            }
            case NodeKind::Call: return call_value(n, eval_args(n));
            case NodeKind::Filter: return apply_filter(n.name, eval(*n.kids[0]), eval_args(n));
            case NodeKind::Test: {
                Value v = eval(*n.kids[0]);
                if (n.name == "defined" || n.name == "undefined") return Value::boolean(apply_test(n.name, v, {}) != n.negate);
                return Value::boolean(apply_test(n.name, v, eval_args(n)) != n.negate);
            }
            case NodeKind::Unary: {
                Value v = eval(*n.kids[0]);
                if (n.name == "not") return Value::boolean(!v.truthy());
                if (!v.is_number()) fail("bad operand type for unary {}: '{}'", n.name, v.type_name());
                if (v.kind == Value::Kind::Float) return n.name == "+" ? v : Value::number(-v.f);
                return arithmetic(n.name, Value::integer(0), v);
            }
            case NodeKind::Binary: return eval_binary(n);
            case NodeKind::Cond:
                if (eval(*n.kids[0]).truthy()) return eval(*n.kids[1]);
                return n.kids[2] ? eval(*n.kids[2]) : Value::undefined();
            default: fail("unexpected node in expression position");
        }
    }

    Value eval_binary(const Node& n) {
        const std::string& op = n.name;
        Value a = eval(*n.kids[0]);
        if (op == "and") return a.truthy() ? eval(*n.kids[1]) : a;
        if (op == "or") return a.truthy() ? a : eval(*n.kids[1]);
        Value b = eval(*n.kids[1]);
        if (op == "~") return Value::string(to_str(a) + to_str(b));
        if (op == "==") return Value::boolean(equals(a, b));
        if (op == "!=") return Value::boolean(!equals(a, b));
        if (op == "<") return Value::boolean(less_than(a, b));
        if (op == ">") return Value::boolean(less_than(b, a));
        if (op == "<=") return Value::boolean(!less_than(b, a));
        if (op == ">=") return Value::boolean(!less_than(a, b));
        if (op == "in") return Value::boolean(contains(b, a));
        if (op == "not in") return Value::boolean(!contains(b, a));
        return arithmetic(op, a, b);
    }
};

}  // namespace

std::string render_tree(const NodePtr& root, const nlohmann::ordered_json& variables) {
    return Renderer(variables).run(root);
}

}  // namespace lightllm::jinja
