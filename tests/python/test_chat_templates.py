"""Chat templates over HTTP: a --chat-template file on `lightllm serve`, the
request's tools, tool calls and chat_template_kwargs reaching it, the prompt
equal to what Python's jinja2 (configured as transformers does) renders, and a
template error as a 400 that names the template line."""
import json
import os
import subprocess
import sys
import tempfile

import pytest

from conftest import API_KEY, ServerProcess, tiny_model_args

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
from make_jinja_references import make_env  # noqa: E402

TEMPLATE = """{%- if messages[0].role != 'system' %}
{{- raise_exception('a system message is required') }}
{%- endif %}
{%- for m in messages %}{{ m.role[0] }}:{{ m.content }}{% if m.tool_calls %}>{{ m.tool_calls[0].function.arguments.x }}{% endif %}
{% endfor %}
{%- if tools %}T{{ tools | length }}{% endif %}{{ mood | default('') }}{% if add_generation_prompt %}a:{% endif %}"""


@pytest.fixture(scope="module")
def templated_server():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.jinja")
        with open(path, "w") as f:
            f.write(TEMPLATE)
        server = ServerProcess(tiny_model_args() + ["--api-key", API_KEY, "--chat-template", path])
        yield server
        assert server.stop() == 0, server.log()


def post(server, path, body):
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", server.url + path, "-H", f"Authorization: Bearer {API_KEY}",
           "-H", "Content-Type: application/json", "--data-binary", "@-"]
    r = subprocess.run(cmd, input=json.dumps(body), capture_output=True, text=True, timeout=60)
    text, _, code = r.stdout.rpartition("\n")
    return int(code), json.loads(text)


def test_tools_tool_calls_and_kwargs_render_as_jinja2_renders_them(templated_server):
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 7}"}}]},
                {"role": "tool", "tool_call_id": "1", "content": "r"}]
    tools = [{"type": "function", "function": {"name": "f"}}]
    code, body = post(templated_server, "/v1/chat/completions",
                      {"messages": messages, "tools": tools, "chat_template_kwargs": {"mood": "M"}, "max_tokens": 1})
    assert code == 200, body
    # jinja2 sees the arguments as an object, as vLLM hands them to templates.
    for_template = json.loads(json.dumps(messages))
    for_template[2]["tool_calls"][0]["function"]["arguments"] = {"x": 7}
    text = make_env().from_string(TEMPLATE).render(messages=for_template, tools=tools, documents=None,
                                                   add_generation_prompt=True, mood="M", bos_token="", eos_token="")
    assert ">7" in text and text.endswith("T1Ma:")
    code, tok = post(templated_server, "/tokenize", {"text": text, "add_special_tokens": False})
    assert code == 200
    assert body["usage"]["prompt_tokens"] == tok["count"]


def test_a_template_error_is_a_400_naming_the_line(templated_server):
    code, body = post(templated_server, "/v1/chat/completions",
                      {"messages": [{"role": "user", "content": "q"}], "max_tokens": 1})
    assert code == 400
    assert "chat template line 2: a system message is required" in body["error"]["message"]
    assert templated_server.alive()
