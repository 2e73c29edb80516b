"""Several `lightllm serve` replicas behind SGLang's router (PyPI
sglang-router, its Rust router), as the README's "Several replicas" recipe
runs them: the router probes /health/ready and spreads requests.

- 300 greedy requests through the router over 3 replicas (round-robin and
  cache-aware) give the texts one server gives alone, and every replica
  serves a share;
- a replica killed mid-run loses only the requests in flight on it (each
  fails with an error the client sees); the router drops it and the others
  carry every later request.
"""
import concurrent.futures
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import DEMO_MODEL, ServerProcess, tiny_model_args, wait_for

pytest.importorskip("sglang_router")
prom_parser = pytest.importorskip("prometheus_client.parser")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def completion_text(port, prompt, max_tokens):
    status, text = post(port, "/v1/completions", {"model": "any", "prompt": prompt, "max_tokens": max_tokens,
                                                   "temperature": 0})
    assert status == 200, text
    return json.loads(text)["choices"][0]["text"]


def metric_samples(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return [s for f in prom_parser.text_string_to_metric_families(text) for s in f.samples]


def completions_served(port):
    return sum(s.value for s in metric_samples(port) if s.name == "lightllm_http_requests_total"
               and s.labels.get("route") == "/v1/completions" and s.labels.get("status") == "200")


class Router:
    """python -m sglang_router.launch_router in front of `urls`, probing readiness every second."""

    def __init__(self, urls, policy):
        self.port = free_port()
        cmd = [sys.executable, "-m", "sglang_router.launch_router", "--host", "127.0.0.1", "--port", str(self.port),
               "--worker-urls", *urls, "--policy", policy,
               "--health-check-endpoint", "/health/ready", "--health-check-interval-secs", "1",
               "--health-failure-threshold", "1", "--health-check-timeout-secs", "2",
               "--worker-startup-check-interval", "1",
               "--prometheus-host", "127.0.0.1", "--prometheus-port", str(free_port()), "--log-level", "warn"]
        self.log_path = f"/tmp/lightllm-router-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

        def answers():
            try:
                return post(self.port, "/v1/completions", {"model": "any", "prompt": "a", "max_tokens": 1}, timeout=10)[0] == 200
            except OSError:
                return False
        if not wait_for(answers, 90, 0.5):
            self.stop()
            pytest.fail("sglang-router did not start:\n" + open(self.log_path).read()[-3000:])

    def workers(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/workers")
        j = json.loads(conn.getresponse().read())
        conn.close()
        return j["workers"]

    def healthy(self, url):
        return any(w["url"] == url and w["is_healthy"] for w in self.workers())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def tiny_replicas():
    servers = [ServerProcess(tiny_model_args() + ["--served-model-name", "tiny", "--max-total-tokens", "2048"])
               for _ in range(3)]
    yield servers
    for s in servers:
        assert s.stop() == 0, s.log()


# 60 prompts in 12 families sharing a prefix, each sent 5 times: 300 requests.
PROMPTS = [f"{head} {tail}" for head in ("Hello world", "The quick brown fox", "Once upon a time", "1 2 3 4",
                                         "abc def", "zebra crossing", "To be or not", "red green blue",
                                         "north south", "alpha beta", "one two", "cats and dogs")
           for tail in ("a", "b", "c", "d", "e")]


@pytest.mark.parametrize("policy", ["round_robin", "cache_aware"])
def test_300_requests_over_3_replicas_match_one_server(tiny_replicas, policy):
    alone = {p: completion_text(tiny_replicas[0].port, p, 8) for p in PROMPTS}
    router = Router([s.url for s in tiny_replicas], policy)
    try:
        before = [completions_served(s.port) for s in tiny_replicas]
        work = PROMPTS * 5
        with concurrent.futures.ThreadPoolExecutor(24) as ex:
            got = list(ex.map(lambda p: completion_text(router.port, p, 8), work))
    finally:
        router.stop()
    assert got == [alone[p] for p in work]
    shares = [completions_served(s.port) - b for s, b in zip(tiny_replicas, before)]
    assert sum(shares) >= len(work)
    assert all(n > 0 for n in shares), shares
    if policy == "round_robin":
        assert all(n >= len(work) // 3 - 10 for n in shares), shares


def stream_through(port, prompt, max_tokens, started):
    """A streamed completion: ("ok", text) ending in [DONE], or ("error", why)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=180)
        conn.request("POST", "/v1/completions", json.dumps({"model": "any", "prompt": prompt, "max_tokens": max_tokens,
                                                            "ignore_eos": True, "temperature": 0, "stream": True}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        if r.status != 200:
            return "error", f"status {r.status}: {r.read()[:200]!r}"
        text, done = "", False
        while True:
            line = r.readline()
            if not line:
                break
            line = line.decode().strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                break
            j = json.loads(data)
            if "error" in j:
                return "error", j["error"]
            if j.get("choices"):
                text += j["choices"][0]["text"]
                started.add(prompt)
        conn.close()
        return ("ok", text) if done else ("error", "the stream ended without [DONE]")
    except (OSError, http.client.HTTPException, ValueError) as e:
        return "error", repr(e)


def test_killed_replica_loses_only_its_in_flight_requests():
    if not os.path.exists(DEMO_MODEL):
        pytest.skip(f"demo model not found at {DEMO_MODEL}")
    args = ["-m", DEMO_MODEL, "--device", "cpu", "--max-total-tokens", "512", "--max-context", "128"]
    servers = [ServerProcess(args) for _ in range(3)]
    router = None
    try:
        prompts = [f"Story number {i}:" for i in range(6)]
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            alone = dict(zip(prompts, ex.map(lambda p: stream_through(servers[0].port, p, 40, set()), prompts)))
        assert all(kind == "ok" for kind, _ in alone.values()), alone
        router = Router([s.url for s in servers], "round_robin")
        started = set()
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            futures = {p: ex.submit(stream_through, router.port, p, 40, started) for p in prompts}
            assert wait_for(lambda: len(started) == len(prompts), 120, 0.05), started
            # The replica with the most requests in flight dies (the router's
            # round robin may leave one replica idle while it checks health).
            running = [sum(m.value for m in metric_samples(s.port) if m.name == "vllm:num_requests_running")
                       for s in servers]
            victim_index = max(range(len(servers)), key=lambda i: running[i])
            victim, on_victim = servers[victim_index], running[victim_index]
            survivors = [s for i, s in enumerate(servers) if i != victim_index]
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
            # The router marks the dead one unhealthy within its health interval (1 s, a 2 s timeout).
            t_kill = time.time()
            assert wait_for(lambda: not router.healthy(victim.url), 5, 0.1), router.workers()
            assert time.time() - t_kill < 5
            results = {p: f.result() for p, f in futures.items()}
        failed = [p for p, (kind, _) in results.items() if kind != "ok"]
        assert on_victim > 0
        assert len(failed) == on_victim, results
        for p, (kind, text) in results.items():
            if kind == "ok":
                assert text == alone[p][1], p
        # Later requests all succeed on the survivors.
        before = [completions_served(s.port) for s in survivors]
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            later = list(ex.map(lambda i: post(router.port, "/v1/completions",
                                                {"model": "any", "prompt": f"Item {i}", "max_tokens": 2, "temperature": 0}),
                                range(6)))
        assert all(status == 200 for status, _ in later), later
        after = [completions_served(s.port) for s in survivors]
        assert sum(after) - sum(before) == 6
        assert all(a > b for a, b in zip(after, before)), (before, after)
    finally:
        if router:
            router.stop()
        for s in servers:
            if s.alive():
                s.stop()
