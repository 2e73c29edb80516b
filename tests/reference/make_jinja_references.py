#!/usr/bin/env python3
"""Jinja references for lightllm's template interpreter (src/jinja_*.cpp).

Renders with Python's jinja2 configured exactly as transformers'
chat_template_utils does: ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True) with loop controls, the {% generation %} tag,
raise_exception, strftime_now and transformers' tojson (json.dumps without
HTML escaping, ensure_ascii=False).

Writes tests/data/jinja_references.json with two parts:
  "templates": every *.jinja in the shared chat_templates folder, as written and
     in the stripped form that collection recommends, over the conversations
     below (system prompt, several turns, add_generation_prompt true/false,
     tools), each case either {"expected": text} or {"error": message};
  "snippets": small templates exercising each statement, operator, filter,
     test and method, with their variables and jinja2's output or error.
  "demo_model": the SmolLM2 demo GGUF's own tokenizer.chat_template over the
     same conversations, with the model's BOS/EOS texts (read from the GGUF).
The C++ test reads the template files themselves from the shared folder.

Usage: python3 tests/reference/make_jinja_references.py [chat_templates_dir] [out.json]
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    """transformers' AssistantTracker without the index tracking: the body renders as is."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city, in °C.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. \"Paris\""},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "add", "description": "Adds two numbers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]}}},
]

CONVERSATIONS = [
    {"name": "one user turn", "messages": [{"role": "user", "content": "Hello!"}]},
    {"name": "system and user", "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "What is 2+2?"}]},
    {"name": "several turns", "messages": [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Good morning"},
        {"role": "assistant", "content": "Bonjour !"},
        {"role": "user", "content": "How are you?"}]},
    {"name": "ends with the assistant", "messages": [
        {"role": "user", "content": "  Name a colour.\n"},
        {"role": "assistant", "content": " Blue. "},
        {"role": "user", "content": "Another one, 日本語で?"},
        {"role": "assistant", "content": "青 (ao)\nthat is blue again"}]},
    {"name": "roles that do not alternate", "messages": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"}]},
    {"name": "tools", "tools": TOOLS, "messages": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
        {"role": "tool", "content": "{\"temperature\": 21.5}"},
        {"role": "user", "content": "Thanks"}]},
]

BOS, EOS = "<s>", "</s>"

# (template, variables) pairs for the interpreter's own features.
SNIPPETS = [
    ("{% if x %}a{% elif y %}b{% else %}c{% endif %}", {"x": 0, "y": 1}),
    ("{% if x %}a{% elif y %}b{% else %}c{% endif %}", {}),
    ("{% for i in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/"
     "{{ loop.last }}/{{ loop.length }};{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("{% for i in xs %}{{ loop.previtem }}<{{ i }}>{{ loop.nextitem }}|{{ loop.cycle('x','y') }} {% endfor %}", {"xs": [1, 2, 3]}),
    ("{% for i in xs %}{{ i }}{% else %}empty{% endfor %}", {"xs": []}),
    ("{% for i in xs if i is odd %}{{ i }}{{ loop.length }},{% endfor %}", {"xs": [1, 2, 3, 4, 5]}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": [1, "x"]}}),
    ("{% for k in d %}{{ k }}{% endfor %}{% for c in 'héllo' %}[{{ c }}]{% endfor %}", {"d": {"z": 1, "y": 2}}),
    ("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("{% set c = 0 %}{% for i in [1,2] %}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }}", {}),
    ("{% set ns = namespace(c=0, s='') %}{% for i in [1,2,3] %}{% set ns.c = ns.c + i %}{% set ns.s = ns.s ~ i %}"
     "{% endfor %}{{ ns.c }} {{ ns.s }}", {}),
    ("{% if true %}{% set y = 3 %}{% endif %}{{ y }}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}block {{ a }}{% endset %}[{{ t }}]", {}),
    ("{% set t | upper %}shout {{ 1 }}{% endset %}{{ t }}", {}),
    ("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }}"
     "{{ greet(name='Cy', punct='.') }}", {}),
    ("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside {{ x }}{% endcall %}", {"x": 5}),
    ("{% macro row(n) %}{{ caller(n * 2) }}{% endmacro %}{% call(v) row(4) %}v={{ v }}{% endcall %}", {}),
    ("{{ 1 + 2 * 3 - 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}", {}),
    ("{{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }} {{ 1e20 }} {{ 1e-5 }} {{ 123456789.125 }} {{ 1.0e16 }} {{ 3.0 }}", {}),
    ("{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'x' + 'y' }}", {}),
    ("{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 >= 3 }} {{ [1,2] == [1,2] }} {{ {'a':1} == {'a':1} }}", {}),
    ("{{ 'b' in 'abc' }} {{ 2 in [1,2] }} {{ 'k' in {'k':1} }} {{ 'z' not in 'abc' }} {{ not 0 }}", {}),
    ("{{ x and y }} {{ x or y }} {{ 0 or '' or 'last' }} {{ 1 and 'both' }}", {"x": "X", "y": ""}),
    ("{{ 'yes' if x else 'no' }} {{ 'yes' if y else 'no' }} [{{ 'only' if y }}]", {"x": [1], "y": []}),
    ("{{ [1, 'two', 3.5, none, true, [4]] }} {{ {'a': 'b', 'c': [1, {'d': none}]} }} {{ x }}", {"x": {"k": "it's"}}),
    ("{{ d.a }} {{ d['b'] }} {{ l[0] }} {{ l[-1] }} {{ l[5] }} {{ d.missing }} {{ s[1] }}", {"d": {"a": 1, "b": 2}, "l": [1, 2, 3], "s": "xyz"}),
    ("{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[1:3] }} {{ s[::2] }} {{ s[-2:] }} {{ l[10:] }}", {"l": [1, 2, 3, 4], "s": "abcdé"}),
    ("{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxaxx'.strip('x') }}|{{ s.upper() }}|{{ s.lower() }}", {"s": "  Hi There \n"}),
    ("{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'ab'.startswith('a') }} "
     "{{ 'ab'.endswith(('x', 'b')) }} {{ 'hello world'.title() }} {{ 'aaa'.replace('a', 'b', 2) }}", {}),
    ("{{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }}", {"d": {"a": 1, "b": 2}}),
    ("{{ '  x ' | trim }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'abc' | length }}|{{ [1,2] | count }}|"
     "{{ 'a-b' | replace('-', '+') }}|{{ [1,2,3] | join(', ') }}|{{ 'xyz' | first }}|{{ [1,2] | last }}", {}),
    ("{{ x | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }} {{ y | d('e') }}", {"y": 0}),
    ("{{ d | tojson }} {{ d | tojson(indent=2) }} {{ 'é\"<>&' | tojson }} {{ [1.5, none, true] | tojson }}",
     {"d": {"name": "f", "args": {"x": [1, 2], "y": {}}, "empty": []}}),
    ("{{ d | items | list }} {% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", {"d": {"a": 1, "b": 2}}),
    ("{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='content') | join('|') }} "
     "{{ ms | rejectattr('role', 'eq', 'user') | list | length }} {{ ms | selectattr('flag') | list | length }} "
     "{{ ms | map(attribute='missing', default='m') | list }}",
     {"ms": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b", "flag": True}, {"role": "user", "content": "c"}]}),
    ("{{ 3 | string }}{{ '42' | int + 1 }} {{ 'x' | int }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 1 | float }} {{ 'ab' | list }}", {}),
    ("{{ ['b', 'A', 'a', 'c'] | unique | list }} {{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} "
     "{{ [1, 2] | reverse | list }} {{ 'abc' | reverse }}", {}),
    ("{{ 'hello World' | capitalize }} {{ '<b>' | safe }} {{ -3 | abs }} {{ 2.5 | round }} {{ 3.14159 | round(2) }} "
     "{{ 2.7 | round(0, 'floor') }} {{ 'hello world' | title }}", {}),
    ("{{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent(width=1, blank=true) }}", {}),
    ("{{ ms | map('upper') | list }} {{ [1, 2, 3] | select('odd') | list }} {{ [1, 2, 3] | reject('odd') | list }} {{ [1, 2] | sum }}", {"ms": ["a", "b"]}),
    ("{{ x is defined }} {{ y is undefined }} {{ n is none }} {{ s is string }} {{ 1 is number }} {{ 1.5 is integer }} "
     "{{ d is mapping }} {{ l is iterable }} {{ s is sequence }} {{ true is boolean }} {{ true is true }} {{ 0 is false }}",
     {"x": 1, "n": None, "s": "s", "d": {}, "l": []}),
    ("{{ 1 is equalto 1 }} {{ 2 is eq(3) }} {{ 'a' is in 'cab' }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} "
     "{{ x is not none }} {{ 5 is not in [1, 2] }}", {"x": 1}),
    ("{{ raise_exception('Bad role: ' ~ r) }}", {"r": "robot"}),
    ("line one\n  {% if true %}\n  indented\n  {% endif %}\nend\n", {}),
    ("a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e {# note #}f  {#- trimmed -#}  g", {}),
    ("  {%+ if true %}kept{% endif %}\n    {# comment #}\nafter", {}),
    ("{% raw %}{{ not parsed }}{% endraw %} {{ \"it's\" }} {{ 'say \"hi\"\\n' }}", {}),
    ("{% generation %}gen {{ 1 }}{% endgeneration %}!", {}),
    ("{% filter upper %}shout {{ x }}{% endfilter %}", {"x": "it"}),
    ("{{ dict(a=1, b=2) }} {{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ [] | first is undefined }}", {}),
    ("{{ x.y }}", {}),
    ("{{ 1 / 0 }}", {}),
    ("{% for %}", {}),
    ("{% if x %}unterminated", {"x": 1}),
    ("{{ 'a' + 1 }}", {}),
    ("{{ foo() }}", {}),
    ("{% set x.y = 1 %}", {"x": {}}),
]


def gguf_chat_template(path):
    """tokenizer.chat_template and the BOS/EOS token texts from a GGUF file's metadata."""
    import struct
    with open(path, "rb") as f:
        data = f.read(64 << 20)
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert data[:4] == b"GGUF"
    pos = 8
    take("Q")
    n_kv = take("Q")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("I"))
    tokens = meta["tokenizer.ggml.tokens"]
    return (meta["tokenizer.chat_template"], tokens[meta["tokenizer.ggml.bos_token_id"]],
            tokens[meta["tokenizer.ggml.eos_token_id"]])


def render(env, template, variables):
    try:
        return {"expected": env.from_string(template).render(**variables)}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": f"line {e.lineno}: {e.message}"}
    except Exception as e:  # runtime errors of the template
        return {"error": str(e)}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data", "chat_templates")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "data", "jinja_references.json")
    env = make_env()
    templates = []
    for name in sorted(os.listdir(src)):
        if not name.endswith(".jinja"):
            continue
        text = open(os.path.join(src, name), encoding="utf-8", newline="").read()  # bytes as they are (one file has CRLF)
        for form in ("as written", "stripped"):
            source = text if form == "as written" else text.replace("    ", "").replace("\n", "")
            cases = []
            for ci, conv in enumerate(CONVERSATIONS):
                for gen in (True, False):
                    variables = {"messages": conv["messages"], "add_generation_prompt": gen,
                                 "bos_token": BOS, "eos_token": EOS, "tools": conv.get("tools"), "documents": None}
                    case = {"conversation": ci, "add_generation_prompt": gen}
                    case.update(render(env, source, variables))
                    cases.append(case)
            templates.append({"file": name, "form": form, "cases": cases})
    snippets = []
    for template, variables in SNIPPETS:
        s = {"template": template, "variables": variables}
        s.update(render(env, template, variables))
        snippets.append(s)
    # The demo model's own template (SmolLM2 GGUF), with its own BOS/EOS texts.
    demo = os.environ.get("LIGHTLLM_DEMO_DIR", os.path.expanduser("~/.cache/lightllm")) + "/SmolLM2-135M-Instruct.Q4_1.gguf"
    source, bos, eos = gguf_chat_template(demo)
    demo_cases = []
    for ci, conv in enumerate(CONVERSATIONS):
        for gen in (True, False):
            variables = {"messages": conv["messages"], "add_generation_prompt": gen, "bos_token": bos, "eos_token": eos,
                         "tools": conv.get("tools"), "documents": None}
            case = {"conversation": ci, "add_generation_prompt": gen}
            case.update(render(env, source, variables))
            demo_cases.append(case)
    doc = {"generator": "tests/reference/make_jinja_references.py", "jinja2": jinja2.__version__,
           "bos_token": BOS, "eos_token": EOS, "conversations": CONVERSATIONS,
           "templates": templates, "snippets": snippets,
           "demo_model": {"file": os.path.basename(demo), "cases": demo_cases}}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    n_err = sum(1 for t in templates for c in t["cases"] if "error" in c)
    print(f"wrote {out}: {len(templates)} template forms ({n_err} error cases), {len(snippets)} snippets")


if __name__ == "__main__":
    main()
