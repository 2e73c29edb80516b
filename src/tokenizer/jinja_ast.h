// The syntax tree of a parsed Jinja template. One node type with a kind tag:
// expressions and statements are few and small, and a switch over the kind
// in the renderer reads better than a class per node.
#pragma once
#include "jinja_value.h"
#include <memory>
#include <string>
#include <vector>

namespace lightllm::jinja {

enum class NodeKind {
    // expressions
    Literal,    // value
    Name,       // name
    ListLit,    // kids = items; negate = a tuple
    DictLit,    // kids = key, value, key, value, ...
    GetAttr,    // kids[0] . name
    GetItem,    // kids[0] [ kids[1] ]
    Slice,      // kids[0] [ kids[1] : kids[2] : kids[3] ] (null kid = omitted)
    Call,       // kids[0] ( kids[1..] ), names = keyword names of the last names.size() kids
    Filter,     // kids[0] | name ( kids[1..] ), names as for Call
    Test,       // kids[0] is [not] name ( kids[1..] ), negate
    Unary,      // op kids[0]: "not", "-", "+"
    Binary,     // kids[0] op kids[1]: arithmetic, comparison, "and", "or", "in", "not in", "~"
    Cond,       // kids[1] if kids[0] else kids[2] (kids[2] may be null)
    // statements
    Text,       // name = the text
    Output,     // {{ kids[0] }}
    If,         // kids = cond, body, cond, body, ..., [else body] (odd count = has else)
    For,        // names = targets; kids = iter, body, else body (or null), filter (or null)
    Set,        // names = targets (or {obj, attr} with negate=true for ns.attr); kids[0] = value
    SetBlock,   // name = target; kids[0] = body; kids[1..] = filters (Filter nodes over a null kid)
    Macro,      // name; names = params; kids[0] = body; kids[1..] = defaults aligned to the last params
    CallBlock,  // kids[0] = Call expression, kids[1] = body; names = caller's params
    FilterBlock,// kids[0] = body; kids[1..] = filters
    Break,
    Continue,
    Body,       // kids = statements in order
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
    NodeKind kind;
    int line = 0;
    std::string name;                // identifier, operator, or text
    Value value;                     // Literal
    std::vector<NodePtr> kids;
    std::vector<std::string> names;  // targets, parameter names, keyword argument names
    bool negate = false;
};

}  // namespace lightllm::jinja
