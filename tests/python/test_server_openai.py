"""`lightllm serve` as clients see it: curl and the official `openai` package
against the tiny fixture model on the CPU backend.

Covers completions and chat, streamed and not (every response must validate
as the openai package's own pydantic types), the LightLLM /generate API,
64 concurrent streaming greedy requests giving exactly the tokens of
sequential runs, a client hanging up mid-stream (its KV is freed), bad input
(each a 4xx with a clear message, after which the server still serves) and a
graceful SIGTERM/SIGINT shutdown.
"""
import concurrent.futures
import http.client
import json
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import API_KEY, ServerProcess, tiny_model_args, wait_for

openai = pytest.importorskip("openai")
from openai.types import Completion  # noqa: E402
from openai.types.chat import ChatCompletion, ChatCompletionChunk  # noqa: E402

PROMPTS = ["Hello world", "The quick brown fox", "Once upon a time", "1 2 3 4", "abc def", "zebra", "a", "To be or not"]


def client(server, key=API_KEY):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=60)


def curl(server, path, body=None, key=API_KEY, raw=None, extra=()):
    """Returns (status, body text) of curl's request."""
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", server.url + path]
    if key:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    if body is not None or raw is not None:
        data = raw if raw is not None else json.dumps(body)
        cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    else:
        data = None
    r = subprocess.run(cmd + list(extra), input=data, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    text, _, code = r.stdout.rpartition("\n")
    return int(code), text


def metrics(server):
    code, text = curl(server, "/metrics", key=None)
    assert code == 200
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def metric(values, prefix):
    return sum(v for k, v in values.items() if k.startswith(prefix))


def generate_ids(server, prompt, n):
    code, text = curl(server, "/generate", {"inputs": prompt, "parameters": {
        "max_new_tokens": n, "min_new_tokens": 0, "return_details": True}})
    assert code == 200, text
    j = json.loads(text)
    return [t["id"] for t in j["tokens"]], j["generated_text"][0]


def stream_generate_ids(server, prompt, n):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/generate_stream", json.dumps({"inputs": prompt, "parameters": {
        "max_new_tokens": n, "min_new_tokens": 0}}),
        {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"})
    r = conn.getresponse()
    assert r.status == 200
    ids, text, last = [], "", None
    for line in r.read().decode().split("\n\n"):
        if line.startswith("data:"):
            last = json.loads(line[5:])
            ids.append(last["token"]["id"])
            text += last["token"]["text"]
    conn.close()
    assert last is not None and last["finished"] is True
    return ids, text


def test_models_health_tokenize(tiny_server):
    models = client(tiny_server).models.list()
    assert [m.id for m in models.data] == ["tiny"]
    code, text = curl(tiny_server, "/health", key=None)
    assert code == 200 and json.loads(text)["status"] == "ok"
    code, text = curl(tiny_server, "/tokenize", {"text": "Hello world"})
    assert code == 200
    ids = json.loads(text)["tokens"]
    code, text = curl(tiny_server, "/detokenize", {"tokens": ids})
    assert code == 200 and json.loads(text)["text"] == "Hello world"


def test_completions_plain_and_streamed_agree(tiny_server):
    c = client(tiny_server)
    plain = c.completions.create(model="tiny", prompt="Hello world", max_tokens=12, temperature=0)
    assert isinstance(plain, Completion)
    assert plain.usage.completion_tokens == len(generate_ids(tiny_server, "Hello world", 12)[0])
    assert plain.choices[0].text == generate_ids(tiny_server, "Hello world", 12)[1]
    assert plain.choices[0].finish_reason in ("stop", "length")

    chunks = list(c.completions.create(model="tiny", prompt="Hello world", max_tokens=12, temperature=0,
                                       stream=True, stream_options={"include_usage": True}))
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == plain.choices[0].text
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == [plain.choices[0].finish_reason]

    # curl's raw answer validates as the client's own type
    code, text = curl(tiny_server, "/v1/completions", {"prompt": "abc", "max_tokens": 4, "temperature": 0, "logprobs": 2})
    assert code == 200
    comp = Completion.model_validate(json.loads(text))
    assert len(comp.choices[0].logprobs.tokens) == comp.usage.completion_tokens
    assert all(lp <= 0 for lp in comp.choices[0].logprobs.token_logprobs)


def test_chat_without_a_known_template_is_a_clear_error_or_works(tiny_server):
    # The tiny fixture's chat template may not be one the engine recognises:
    # then chat is a 400 that says so; otherwise a valid chat.completion.
    code, text = curl(tiny_server, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})
    if code == 400:
        assert "chat template" in json.loads(text)["error"]["message"]
    else:
        assert code == 200
        ChatCompletion.model_validate(json.loads(text))


def test_chat_plain_and_streamed(demo_server):
    c = client(demo_server)
    msgs = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of France?"}]
    plain = c.chat.completions.create(model="smollm2", messages=msgs, max_tokens=3, temperature=0,
                                      logprobs=True, top_logprobs=3)
    assert isinstance(plain, ChatCompletion)
    assert plain.choices[0].message.role == "assistant"
    assert plain.choices[0].message.content
    assert len(plain.choices[0].logprobs.content) == plain.usage.completion_tokens
    assert all(len(e.top_logprobs) == 3 for e in plain.choices[0].logprobs.content)

    chunks = list(c.chat.completions.create(model="smollm2", messages=msgs, max_tokens=3, temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    assert all(isinstance(ch, ChatCompletionChunk) for ch in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == plain.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens

    code, text = curl(demo_server, "/v1/chat/completions", {"messages": msgs, "max_tokens": 2, "stream": True}, key=None)
    assert code == 200
    events = [e[len("data: "):] for e in text.split("\n\n") if e.startswith("data: ")]
    assert events[-1] == "[DONE]"
    for e in events[:-1]:
        ChatCompletionChunk.model_validate(json.loads(e))


def test_64_concurrent_streams_match_sequential_runs(tiny_server):
    jobs = [(PROMPTS[i % len(PROMPTS)], 8 + i % len(PROMPTS)) for i in range(64)]
    expected = {job: generate_ids(tiny_server, *job) for job in set(jobs)}
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        got = list(pool.map(lambda job: stream_generate_ids(tiny_server, *job), jobs))
    for job, (ids, text) in zip(jobs, got):
        assert ids == expected[job][0], job
        assert text == expected[job][1], job

    # and through the openai client, streamed, in parallel
    def openai_stream(prompt):
        s = client(tiny_server).completions.create(model="tiny", prompt=prompt, max_tokens=10, temperature=0, stream=True)
        return "".join(ch.choices[0].text for ch in s if ch.choices)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        texts = list(pool.map(openai_stream, PROMPTS * 2))
    for p, t in zip(PROMPTS * 2, texts):
        assert t == generate_ids(tiny_server, p, 10)[1]


def hang_up_mid_stream(server, path, body, key=None):
    """Sends a streaming request, reads its first event, then closes the socket."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    s.sendall(head.encode() + b"\r\n" + data)
    got = b""
    while b"data:" not in got:
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    s.close()
    return got


def test_disconnect_frees_kv(tiny_server):
    for _ in range(3):
        got = hang_up_mid_stream(tiny_server, "/v1/completions",
                                 {"prompt": "Hello", "max_tokens": 50, "stream": True, "ignore_eos": True}, API_KEY)
        assert b"200 OK" in got
    assert wait_for(lambda: metric(metrics(tiny_server), "lightllm_kv_used_tokens") == 0)
    m = metrics(tiny_server)
    assert metric(m, 'lightllm_requests{model_name="tiny",state="running"}') == 0
    assert client(tiny_server).completions.create(model="tiny", prompt="a", max_tokens=2).usage.completion_tokens >= 1


def test_disconnect_cancels_a_long_generation(demo_server):
    before = metrics(demo_server)
    hang_up_mid_stream(demo_server, "/v1/completions",
                       {"prompt": "Tell me a long story.", "max_tokens": 800, "stream": True, "ignore_eos": True})
    assert wait_for(lambda: metric(metrics(demo_server), 'lightllm_request_finished_total{model_name="smollm2",finish_reason="cancelled"}')
                    == metric(before, 'lightllm_request_finished_total{model_name="smollm2",finish_reason="cancelled"}') + 1,
                    timeout=30)
    after = metrics(demo_server)
    assert metric(after, "lightllm_kv_used_tokens") == 0
    generated = metric(after, "lightllm_generation_tokens_total") - metric(before, "lightllm_generation_tokens_total")
    assert generated < 400, "the generation was not stopped when its client left"


BAD_REQUESTS = [
    ("/v1/completions", None, "{not json", 400, "not valid JSON"),
    ("/v1/completions", {"prompt": 5}, None, 400, "'prompt' must be"),
    ("/v1/completions", {"prompt": "hi", "max_tokens": "ten"}, None, 400, "'max_tokens' must be an integer"),
    ("/v1/completions", {"prompt": "hi", "max_tokens": -1}, None, 400, "'max_tokens' must be between"),
    ("/v1/completions", {"prompt": "hi", "max_tokens": 10 ** 12}, None, 400, "'max_tokens' must be between"),
    ("/v1/completions", {"prompt": ""}, None, 400, "'prompt' is empty"),
    ("/v1/completions", {"prompt": "hello " * 100}, None, 400, "context"),
    ("/v1/completions", {"prompt": "hi", "temperature": [1]}, None, 400, "'temperature' must be a number"),
    ("/v1/completions", {"prompt": "hi", "echo": True}, None, 400, "'echo' is not supported"),
    ("/v1/chat/completions", {"messages": []}, None, 400, "'messages' is empty"),
    ("/v1/chat/completions", {"messages": [{"role": "user"}], "stream": "yes"}, None, 400, "'stream' must be a boolean"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}, None, 400,
     "'tool_choice' other than"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": 3}, None, 400,
     "'chat_template_kwargs' must be an object"),
    ("/v1/completions", None, json.dumps({"prompt": "x" * 70000}), 413, "larger than the limit"),
    ("/generate", {"inputs": "hi", "parameters": {"max_new_tokens": 0}}, None, 400, "'max_new_tokens' must be between"),
    ("/generate", {"parameters": {}}, None, 400, "'inputs' is required"),
]


@pytest.mark.parametrize("path,body,raw,status,needle", BAD_REQUESTS)
def test_bad_input_is_a_clear_4xx_and_the_server_keeps_serving(tiny_server, path, body, raw, status, needle):
    code, text = curl(tiny_server, path, body, raw=raw)
    assert code == status, text
    j = json.loads(text)
    message = j["error"]["message"] if path.startswith("/v1/") else j["error"]
    assert needle in message
    assert tiny_server.alive()
    code, _ = curl(tiny_server, "/v1/completions", {"prompt": "ok", "max_tokens": 1})
    assert code == 200


def test_api_key_and_openai_errors(tiny_server):
    with pytest.raises(openai.AuthenticationError) as e:
        client(tiny_server, key="wrong").completions.create(model="tiny", prompt="hi", max_tokens=2)
    assert "API key is wrong" in str(e.value)
    code, text = curl(tiny_server, "/v1/models", key=None)
    assert code == 401 and "API key is required" in json.loads(text)["error"]["message"]
    with pytest.raises(openai.BadRequestError) as e:
        client(tiny_server).completions.create(model="tiny", prompt="hi", max_tokens=2, n=1000)
    assert e.value.status_code == 400 and "'n'" in str(e.value)
    assert client(tiny_server).completions.create(model="tiny", prompt="hi", max_tokens=2).choices


def test_metrics_count_requests(tiny_server):
    client(tiny_server).completions.create(model="tiny", prompt="count me", max_tokens=3, temperature=0)
    m = metrics(tiny_server)
    assert metric(m, 'lightllm_http_requests_total{route="/v1/completions",status="200"}') >= 1
    assert metric(m, "lightllm_time_to_first_token_seconds_count") >= 1
    assert metric(m, "lightllm_kv_capacity_tokens") > 0
    assert metric(m, "lightllm_generation_tokens_total") >= 3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_shutdown_finishes_in_flight_requests(sig):
    server = ServerProcess(tiny_model_args() + ["--shutdown-grace", "20"])
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/v1/completions", json.dumps({"prompt": "Hello", "max_tokens": 55, "stream": True,
                                                            "ignore_eos": True, "temperature": 0}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        first = r.readline()
        assert first.startswith(b"data: ")
        server.proc.send_signal(sig)
        rest = r.read().decode()
        assert rest.rstrip().endswith("data: [DONE]")
        finishes = re.findall(r'"finish_reason":"(\w+)"', rest)
        assert finishes == ["length"]
        conn.close()
    finally:
        code = server.stop(timeout=60)
    assert code == 0, server.log()
    assert any("shutting down" in line for line in server.lines)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_bench_url_drives_the_server(tiny_server, tmp_path):
    from conftest import BINARY
    out = tmp_path / "bench.json"
    r = subprocess.run([BINARY, "bench", "--url", tiny_server.url, "--api-key", API_KEY, "--num-prompts", "12",
                        "--input-len", "8", "--output-len", "6", "--request-rate", "50", "--concurrency", "4",
                        "--ignore-eos", "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Serving Benchmark Result" in r.stdout
    j = json.loads(out.read_text())
    assert j["completed"] == 12 and j["failed"] == 0
    assert j["total_output_tokens"] == 12 * 6
    assert j["kv_capacity_tokens"] > 0
    assert j["config"]["model"] == "tiny"
    assert j["ttft_ms"]["p50"] > 0

    bad = subprocess.run([BINARY, "bench", "--url", tiny_server.url, "--api-key", "wrong", "--num-prompts", "1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "401" in bad.stderr


def test_port_in_use_is_a_clear_error():
    from conftest import BINARY
    import os
    if not os.path.exists(BINARY):
        pytest.skip(f"lightllm binary not found at {BINARY}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = subprocess.run([BINARY, "serve"] + tiny_model_args() + ["--port", str(port)],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_chat_turns_report_growing_cached_tokens(demo_server):
    """Each turn resends the conversation so far: the prefix cache holds the
    earlier turns, so usage.prompt_tokens_details.cached_tokens grows."""
    c = client(demo_server)
    before = metrics(demo_server)
    msgs = [{"role": "system", "content": "You are a terse assistant for the prefix cache test."}]
    cached = []
    for question in ["Name a colour.", "Name a fruit of that colour.", "Name an animal.", "Say goodbye."]:
        msgs.append({"role": "user", "content": question})
        r = c.chat.completions.create(model="smollm2", messages=msgs, max_tokens=8, temperature=0)
        assert isinstance(r, ChatCompletion)
        details = r.usage.prompt_tokens_details
        assert details is not None
        assert 0 <= details.cached_tokens < r.usage.prompt_tokens
        cached.append(details.cached_tokens)
        msgs.append({"role": "assistant", "content": r.choices[0].message.content})
    assert all(b > a for a, b in zip(cached, cached[1:])), cached
    after = metrics(demo_server)
    hits = metric(after, "lightllm_prefix_cache_hit_tokens_total") - metric(before, "lightllm_prefix_cache_hit_tokens_total")
    assert hits >= sum(cached)
    assert metric(after, "lightllm_prefix_cache_tokens") > 0
