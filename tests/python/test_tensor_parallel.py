"""Tensor parallelism as users run it, on the CPU backend with the tiny fixture
model (4 heads, 2 KV heads):

- `serve --tp 2` (rank 0 spawns rank 1) answers the official openai client with
  the same greedy text as a one-rank server, and SIGTERM stops both ranks;
- ranks started by hand, with torchrun's environment variables or with
  --nnodes/--node-rank, form one group on loopback and generate the one-rank
  text; a rank started with other flags is refused on both ranks;
- a worker killed mid-run, or one that stops answering (SIGSTOP, --tp-timeout),
  ends the server with an error naming the rank, and no process is left.
"""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import BINARY, TEST_DATA, ServerProcess, tiny_model_args, wait_for

openai = pytest.importorskip("openai")

PROMPTS = ["Hello world", "The quick brown fox", "Once upon a time", "abc def"]


def children_of(pid):
    """Pids whose parent is `pid`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return out


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def spawned_workers(world):
    """Live processes of this binary started by a rank 0 with --tp `world`."""
    out = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"--tp-rank" not in args or b"--tp" not in args:
            continue
        if args[args.index(b"--tp") + 1:][:1] == [world.encode()] and not gone(int(d)):
            out.append(int(d))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def greedy_texts(server):
    c = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=60)
    return [c.completions.create(model="m", prompt=p, max_tokens=16, temperature=0).choices[0].text for p in PROMPTS]


def generate_cmd(extra):
    model = os.path.join(TEST_DATA, "tiny-llama-gqa")
    tokenizer = os.path.join(TEST_DATA, "tiny-tokenizer")
    return [BINARY, "generate", "-m", model, "--tokenizer", tokenizer, "--device", "cpu", "-p", "Hello world",
            "-n", "16", "--temperature", "0"] + extra


@pytest.fixture(scope="module")
def one_rank_texts():
    server = ServerProcess(tiny_model_args())
    texts = greedy_texts(server)
    assert server.stop() == 0, server.log()
    return texts


def test_serve_tp2_answers_openai_client_like_one_rank(one_rank_texts):
    server = ServerProcess(tiny_model_args() + ["--tp", "2"])
    workers = children_of(server.proc.pid)
    assert len(workers) == 1, server.log()
    assert greedy_texts(server) == one_rank_texts
    assert server.stop(signal.SIGTERM) == 0, server.log()
    assert wait_for(lambda: gone(workers[0]), 10), "rank 1 outlived rank 0"
    assert "tensor parallel rank 1 of 2 (spawned)" in server.log()


def run_pair(env0, env1, args0, args1, timeout=60):
    p1 = subprocess.Popen(generate_cmd(args1), env={**os.environ, **env1}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    p0 = subprocess.Popen(generate_cmd(args0), env={**os.environ, **env0}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    out0, err0 = p0.communicate(timeout=timeout)
    out1, _ = p1.communicate(timeout=timeout)
    return p0.returncode, out0, err0, p1.returncode, out1


def one_rank_generate():
    p = subprocess.run(generate_cmd([]), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_torchrun_environment_forms_one_group():
    port = str(free_port())
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": "2"}
    rc0, out0, err0, rc1, out1 = run_pair({**env, "RANK": "0", "LOCAL_RANK": "0"},
                                          {**env, "RANK": "1", "LOCAL_RANK": "1"}, [], [])
    assert rc0 == 0 and rc1 == 0, err0 + out1
    assert "rank 1 of 2 (torchrun)" in out1
    assert out0 == one_rank_generate()


def test_nnodes_flags_form_one_group_and_a_flag_mismatch_is_refused():
    port = str(free_port())
    flags = ["--tp", "2", "--nnodes", "2", "--master-addr", "127.0.0.1", "--master-port", port]
    rc0, out0, err0, rc1, out1 = run_pair({}, {}, flags + ["--node-rank", "0"], flags + ["--node-rank", "1"])
    assert rc0 == 0 and rc1 == 0, err0 + out1
    assert out0 == one_rank_generate()

    port = str(free_port())
    flags = ["--tp", "2", "--nnodes", "2", "--master-port", port]
    rc0, out0, err0, rc1, out1 = run_pair({}, {}, flags + ["--node-rank", "0"],
                                          flags + ["--node-rank", "1", "--kv-cache-dtype", "int8"])
    assert rc0 == 1 and rc1 == 1
    assert "rank 1 was started with a different model or flags" in err0
    assert "kv_cache_dtype=int8" in err0 and "kv_cache_dtype=int8" in out1


def load_in_background(server, stop):
    def loop():
        c = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=30)
        while not stop.is_set():
            try:
                c.completions.create(model="m", prompt="Once upon a time", max_tokens=40, temperature=0)
            except Exception:  # the server is expected to go away
                time.sleep(0.05)
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("how", ["killed", "hung"])
def test_a_worker_that_dies_or_hangs_mid_run_ends_every_rank(how):
    server = ServerProcess(tiny_model_args() + ["--tp", "2", "--tp-timeout", "2"])
    workers = children_of(server.proc.pid)
    assert len(workers) == 1
    stop = threading.Event()
    load = load_in_background(server, stop)
    time.sleep(0.5)
    os.kill(workers[0], signal.SIGKILL if how == "killed" else signal.SIGSTOP)
    try:
        server.proc.wait(timeout=20)
    finally:
        stop.set()
        if server.proc.poll() is None:
            server.proc.kill()
        if how == "hung":
            try:
                os.kill(workers[0], signal.SIGCONT)
            except ProcessLookupError:
                pass
    load.join(10)
    server.reader.join(5)
    assert server.proc.returncode == 1, server.log()
    # A death is seen by the step that reads from the worker or by rank 0's
    # watch over its children, whichever comes first; both name the rank.
    wants = ["error: tensor parallel: rank 1: connection ", "error: tensor parallel: rank 1 (pid"] \
        if how == "killed" else ["error: tensor parallel: rank 1: no answer within --tp-timeout 2 s"]
    assert any(w in server.log() for w in wants), server.log()
    assert wait_for(lambda: gone(workers[0]), 10), "a worker was left behind"


def test_workers_that_cannot_load_end_the_run_naming_their_rank():
    p = subprocess.run(generate_cmd(["--tp", "3"]), capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "error: --tp 3: the model's 4 attention heads (num_attention_heads) do not divide among 3 ranks" in p.stderr
    assert "tensor parallel rank 1 failed to load" in p.stderr or "tensor parallel rank 2 failed to load" in p.stderr
    assert wait_for(lambda: not spawned_workers("3"), 10), "a worker was left behind"
