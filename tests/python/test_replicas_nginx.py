"""The README's nginx recipe: Debian's nginx in front of 3 `lightllm serve`
replicas (least_conn, proxy_next_upstream on error and 503). A dead replica
(refusing connections, from the start or killed midway) costs no request:
nginx passes each to the next replica, and the texts are those of one server
alone. (A loading or draining replica answers 503, which the same
proxy_next_upstream rule covers; that case is not exercised here.) Skips
without nginx.
"""
import concurrent.futures
import json
import shutil
import signal
import subprocess

import pytest

from conftest import ServerProcess, tiny_model_args, wait_for
from test_replicas_router import completion_text, completions_served, free_port, post

NGINX = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")

CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    upstream lightllm {{
        least_conn;
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://lightllm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_next_upstream error timeout http_503 non_idempotent;
            proxy_next_upstream_tries 3;
        }}
    }}
}}
"""


def test_nginx_upstreams_skip_loading_and_dead_replicas(tmp_path):
    if not NGINX:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    servers = [ServerProcess(tiny_model_args() + ["--max-total-tokens", "2048"]) for _ in range(2)]
    dead = free_port()  # a third upstream where nothing listens
    port = free_port()
    upstreams = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;"
                          for p in [s.port for s in servers] + [dead])
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF.format(dir=tmp_path, servers=upstreams, port=port))
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: post_ok(port), 20, 0.2), (tmp_path / "error.log").read_text()
        prompts = [f"Hello {i}" for i in range(60)]
        alone = {p: completion_text(servers[0].port, p, 6) for p in prompts}
        before = [completions_served(s.port) for s in servers]
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda p: completion_text(port, p, 6), prompts))
        assert got == [alone[p] for p in prompts]
        shares = [completions_served(s.port) - b for s, b in zip(servers, before)]
        assert sum(shares) == len(prompts) and all(n > 0 for n in shares), shares
        # One more replica dies: the last one carries everything.
        servers[1].proc.send_signal(signal.SIGKILL)
        servers[1].proc.wait()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            got = list(ex.map(lambda p: completion_text(port, p, 6), prompts[:20]))
        assert got == [alone[p] for p in prompts[:20]]
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(20)
        for s in servers:
            if s.alive():
                s.stop()


def post_ok(port):
    try:
        return post(port, "/v1/completions", {"prompt": "a", "max_tokens": 1}, timeout=5)[0] == 200
    except OSError:
        return False
