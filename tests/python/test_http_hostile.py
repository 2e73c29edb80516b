"""`lightllm serve` against hostile and old-fashioned HTTP clients, over raw
sockets: pipelined requests, chunked and gzip bodies past the body limit,
header floods before and after the API key, form-encoded JSON bodies,
HTTP/1.0, wrong methods on known routes and a busy port.

Every answer is parsed from the bytes on the wire (no HTTP library hides
what the server sent).
"""
import gzip
import json
import socket
import subprocess
import time

import pytest

from conftest import API_KEY, BINARY, ServerProcess, tiny_model_args

AUTH = f"Authorization: Bearer {API_KEY}\r\n"
LIMIT = 65536  # tiny_server's --max-body-bytes


def connect(server, timeout=10):
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


class Reader:
    """Reads HTTP responses off a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def exactly(self, n):
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """(status line, {lower-case header: value}, body bytes)."""
        status = self.line()
        headers = {}
        while True:
            line = self.line()
            if not line:
                break
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                n = int(self.line().split(";")[0], 16)
                if n == 0:
                    self.line()
                    break
                body += self.exactly(n)
                self.line()
        elif "content-length" in headers:
            body = self.exactly(int(headers["content-length"]))
        else:
            body = b""
        return status, headers, body

    def closed(self, timeout=5):
        """True when the server closes the connection within `timeout` s."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def code(status_line):
    return int(status_line.split(" ")[1])


def post(path, body, extra="", content_type="application/json"):
    data = body if isinstance(body, bytes) else body.encode()
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\n{extra}\r\n").encode() + data


def test_pipelined_requests_each_get_their_answer_in_order(tiny_server):
    texts = ["one", "two two", "three three three"]
    with connect(tiny_server) as s:
        s.sendall(b"".join(post("/tokenize", json.dumps({"text": t})) for t in texts)
                  + f"GET /v1/models HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n".encode())
        r = Reader(s)
        counts = []
        for _ in texts:
            status, _, body = r.response()
            assert code(status) == 200, body
            counts.append(len(json.loads(body)["tokens"]))
        status, _, body = r.response()
        assert code(status) == 200 and json.loads(body)["data"][0]["id"] == "tiny"
    assert counts == sorted(counts) and counts[0] < counts[2]


def test_a_chunked_body_past_the_limit_is_refused_at_once(tiny_server):
    with connect(tiny_server) as s:
        s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"x" * 32768
        for _ in range(3):  # 96 KiB, past the 64 KiB limit; the body never ends
            s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        status, _, body = Reader(s).response()
    assert code(status) == 413 and "--max-body-bytes" in json.loads(body)["error"]["message"]


def test_a_gzip_body_is_limited_on_its_decoded_bytes(tiny_server):
    bomb = gzip.compress(b" " * (16 << 20))  # 16 MiB of spaces in ~16 KiB
    assert len(bomb) < LIMIT
    with connect(tiny_server) as s:
        s.sendall(post("/v1/completions", bomb, extra="Content-Encoding: gzip\r\n"))
        status, _, body = Reader(s).response()
    assert code(status) == 413 and "--max-body-bytes" in json.loads(body)["error"]["message"]
    # A small gzip body is decoded and answered.
    with connect(tiny_server) as s:
        s.sendall(post("/tokenize", gzip.compress(b'{"text": "hello world"}'), extra="Content-Encoding: gzip\r\n"))
        status, _, body = Reader(s).response()
    assert code(status) == 200 and json.loads(body)["tokens"]


def test_a_chunked_body_within_the_limit_is_answered(tiny_server):
    data = json.dumps({"text": "hello world"}).encode()
    with connect(tiny_server) as s:
        s.sendall(f"POST /tokenize HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n".encode()
                  + b"".join(b"%x\r\n%s\r\n" % (1, data[i:i + 1]) for i in range(len(data))) + b"0\r\n\r\n")
        status, _, body = Reader(s).response()
    assert code(status) == 200 and json.loads(body)["tokens"]


@pytest.mark.parametrize("authorized", [True, False])
def test_header_floods_are_refused_with_431(tiny_server, authorized):
    auth = AUTH if authorized else ""
    many = "".join(f"X-Flood-{i}: {i}\r\n" for i in range(1000))
    big = "".join(f"X-Big-{i}: {'y' * 4000}\r\n" for i in range(40))  # 160 KB, each line under 8 KB
    for flood in (many, big):
        with connect(tiny_server) as s:
            s.sendall(f"GET /v1/models HTTP/1.1\r\nHost: x\r\n{auth}{flood}\r\n".encode())
            r = Reader(s)
            status, _, body = r.response()
            assert code(status) == 431, body
            assert r.closed()


def test_the_api_key_is_checked_before_the_body_is_read(tiny_server):
    with connect(tiny_server) as s:
        # Announces a body that never comes: the 401 must not wait for it.
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n")
        t0 = time.time()
        status, headers, body = Reader(s).response()
    assert code(status) == 401 and time.time() - t0 < 2
    assert "API key is required" in json.loads(body)["error"]["message"]
    with connect(tiny_server) as s:
        s.sendall(b"POST /generate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 60000\r\n\r\n")
        status, _, body = Reader(s).response()
    assert code(status) == 401 and "wrong" in json.loads(body)["error"]


def test_form_encoded_bodies_are_parsed_as_json(tiny_server):
    # What `curl -d @file` sends: JSON with a form content type, over 8 KB.
    text = "hello " * 2000
    with connect(tiny_server) as s:
        s.sendall(post("/tokenize", json.dumps({"text": text}), content_type="application/x-www-form-urlencoded"))
        status, _, body = Reader(s).response()
    assert code(status) == 200, body
    assert len(json.loads(body)["tokens"]) >= 2000


def test_http10_gets_an_http10_answer_with_a_length_and_a_close(tiny_server):
    with connect(tiny_server) as s:
        s.sendall(f"GET /v1/models HTTP/1.0\r\n{AUTH}\r\n".encode())
        r = Reader(s)
        status, headers, body = r.response()
        assert status.startswith("HTTP/1.0 200")
        assert "transfer-encoding" not in headers and int(headers["content-length"]) == len(body)
        assert json.loads(body)["data"]
        assert r.closed()
    data = json.dumps({"prompt": "Hello", "max_tokens": 4, "stream": True, "temperature": 0}).encode()
    with connect(tiny_server) as s:
        s.sendall(f"POST /v1/completions HTTP/1.0\r\n{AUTH}Content-Type: application/json\r\n"
                  f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        r = Reader(s)
        status, headers, body = r.response()
        assert status.startswith("HTTP/1.0 200")
        assert "transfer-encoding" not in headers and int(headers["content-length"]) == len(body)
        assert body.decode().rstrip().endswith("data: [DONE]")
        assert r.closed()


@pytest.mark.parametrize("method,path,allow", [("GET", "/v1/completions", "POST"), ("DELETE", "/generate", "POST"),
                                               ("POST", "/v1/models", "GET"), ("PUT", "/health", "GET")])
def test_a_wrong_method_on_a_known_route_is_405_with_allow(tiny_server, method, path, allow):
    with connect(tiny_server) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Length: 0\r\n\r\n".encode())
        status, headers, body = Reader(s).response()
    assert code(status) == 405 and headers["allow"] == allow
    assert method in body.decode()


def test_a_busy_port_is_refused(tiny_server):
    r = subprocess.run([BINARY, "serve"] + tiny_model_args() + ["--port", str(tiny_server.port)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "address already in use" in r.stderr
    with connect(tiny_server) as s:
        s.sendall(f"GET /v1/models HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n".encode())
        assert code(Reader(s).response()[0]) == 200


def test_metrics_requests_are_logged_with_their_status(tiny_server):
    with connect(tiny_server) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert code(Reader(s).response()[0]) == 200
    time.sleep(0.2)
    lines = [line for line in tiny_server.lines if '"GET /metrics"' in line]
    assert lines and all(" 200 " in line for line in lines), lines


def test_api_key_file_and_bench_reports_this_runs_kv_peak(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("file-key-42\n")
    # Without the prefix cache, so each request's tokens count whole in the KV peak.
    server = ServerProcess(tiny_model_args() + ["--api-key-file", str(key_file), "--no-prefix-cache"])
    try:
        assert "file-key-42" not in " ".join(server.proc.args)
        for key, status in (("file-key-42", 200), ("file-key-4", 401), ("file-key-420", 401)):
            with connect(server) as s:
                s.sendall(f"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
                assert code(Reader(s).response()[0]) == status

        def bench(input_len, output_len, n, concurrency, out):
            r = subprocess.run([BINARY, "bench", "--url", server.url, "--api-key-file", str(key_file), "--num-prompts", str(n),
                                "--input-len", str(input_len), "--output-len", str(output_len), "--concurrency", str(concurrency),
                                "--ignore-eos", "--json", str(out)], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
            return json.loads(out.read_text())["kv_peak_tokens"]

        big = bench(40, 20, 4, 4, tmp_path / "big.json")
        small = bench(4, 20, 24, 1, tmp_path / "small.json")  # one request of <= 24 tokens at a time
        # The 4 clients overlap only as far as the machine lets them (a loaded
        # CI host ran them two at a time): at least one 40-token prompt is in
        # the first peak, and the second run reports its own, smaller one.
        assert big >= 40 and 0 < small <= 24 < big
    finally:
        assert server.stop() == 0, server.log()
    missing = subprocess.run([BINARY, "serve"] + tiny_model_args() + ["--api-key-file", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "--api-key-file" in missing.stderr and "nope" in missing.stderr


def get(server, path, timeout):
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        return Reader(s).response()


def metric_value(text, name):
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rpartition(" ")[2])
    raise KeyError(name)


def test_a_long_prefill_is_chunked_cancellable_and_does_not_block_health(demo_server):
    """An ~800-token prompt on the CPU: /health answers within 1 s throughout,
    /metrics counts the request as running, and a hang-up frees its KV between
    two prefill chunks, long before the prompt could have been prefilled."""
    data = json.dumps({"prompt": "hello world " * 400, "max_tokens": 4}).encode()
    s = socket.create_connection(("127.0.0.1", demo_server.port), timeout=10)
    s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    seen_running = False
    for _ in range(8):
        t0 = time.time()
        status, _, body = get(demo_server, "/health", timeout=5)
        assert time.time() - t0 < 1.0 and code(status) == 200, body
        _, _, m = get(demo_server, "/metrics", timeout=5)
        running = metric_value(m.decode(), 'lightllm_requests{model_name="smollm2",state="running"}')
        used = metric_value(m.decode(), "lightllm_kv_used_tokens")
        seen_running |= running >= 1 and 0 < used < 800
        time.sleep(0.25)
    assert seen_running
    s.close()  # hang up mid-prefill
    t0 = time.time()
    freed = False
    while time.time() - t0 < 60:
        status, _, body = get(demo_server, "/health", timeout=5)
        assert code(status) == 200 and time.time() - t0 < 61
        _, _, m = get(demo_server, "/metrics", timeout=5)
        if metric_value(m.decode(), "lightllm_kv_used_tokens") == 0:
            freed = True
            break
        time.sleep(0.2)
    assert freed, demo_server.log()
    assert any('"POST /v1/completions" 499' in line for line in demo_server.lines), demo_server.log()
