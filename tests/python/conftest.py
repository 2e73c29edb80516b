"""Shared fixtures for the Python tests: the lightllm binary and running
`lightllm serve` processes on free loopback ports.

The binary is LIGHTLLM_BINARY or build/lightllm; tests that need it skip when
it is absent. A server is started with --port 0 and the port is read from its
"listening on http://HOST:PORT" line (printed before the model loads); then,
unless wait_ready=False, it waits until /health/ready answers 200. Its stderr
(the access log) is kept so a failing test can show it.
"""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("LIGHTLLM_BINARY", os.path.join(ROOT, "build", "lightllm"))
TEST_DATA = os.environ.get("LIGHTLLM_TEST_DATA", os.path.join(ROOT, "tests", "data"))
DEMO_MODEL = os.environ.get("LIGHTLLM_DEMO_MODEL", os.path.join(
    os.environ.get("LIGHTLLM_DEMO_DIR", os.path.expanduser("~/.cache/lightllm")), "SmolLM2-135M-Instruct.Q4_1.gguf"))
API_KEY = "test-key-123"


class ServerProcess:
    """`lightllm serve ARGS --port 0` on 127.0.0.1, stopped by stop()."""

    def __init__(self, args, start_timeout=120, wait_ready=True):
        if not os.path.exists(BINARY):
            pytest.skip(f"lightllm binary not found at {BINARY}")
        cmd = [BINARY, "serve", "--host", "127.0.0.1", "--port", "0"] + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = []
        self.port = None
        ready = threading.Event()

        def read_stderr():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"listening on http://[^:]+:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read_stderr, daemon=True)
        self.reader.start()
        ready.wait(start_timeout)
        if self.port is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("lightllm serve did not start:\n" + self.log())
        self.url = f"http://127.0.0.1:{self.port}"
        if wait_ready and not wait_for(lambda: self.ready_status() == 200 or not self.alive(), start_timeout, 0.1):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("lightllm serve did not become ready:\n" + self.log())
        if wait_ready and not self.alive():
            raise RuntimeError("lightllm serve exited while loading:\n" + self.log())

    def ready_status(self):
        """The status of GET /health/ready (0 when it does not answer)."""
        import http.client
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", "/health/ready")
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            return 0

    def log(self):
        return "\n".join(self.lines[-60:])

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Sends `sig` and returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self.reader.join(5)
        return self.proc.returncode


def tiny_model_args():
    model = os.path.join(TEST_DATA, "tiny-llama-gqa")
    tokenizer = os.path.join(TEST_DATA, "tiny-tokenizer")
    if not os.path.exists(model) or not os.path.exists(tokenizer):
        pytest.skip("tiny test model or tokenizer fixture missing")
    return ["-m", model, "--tokenizer", tokenizer, "--device", "cpu"]


@pytest.fixture(scope="session")
def tiny_server():
    """The tiny HF fixture model (context 64) on the CPU backend, with an API key."""
    server = ServerProcess(tiny_model_args() + ["--api-key", API_KEY, "--max-body-bytes", "65536",
                                                "--served-model-name", "tiny", "--shutdown-grace", "5"])
    yield server
    code = server.stop()
    assert code == 0, server.log()


@pytest.fixture(scope="session")
def demo_server():
    """The SmolLM2-135M demo GGUF on CPU (slow enough to hang up mid-answer); skips when absent."""
    if not os.path.exists(DEMO_MODEL):
        pytest.skip(f"demo model not found at {DEMO_MODEL} (third_party/fetch_demo_model.sh)")
    server = ServerProcess(["-m", DEMO_MODEL, "--device", "cpu", "--max-total-tokens", "4096",
                            "--max-context", "1024", "--served-model-name", "smollm2"])
    yield server
    code = server.stop()
    assert code == 0, server.log()


def wait_for(cond, timeout=10.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()
