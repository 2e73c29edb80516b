"""What a router reads from one `lightllm serve`: liveness (/health) and
readiness (/health/ready, /readiness) through loading, serving and a SIGTERM
drain, and the Prometheus exposition with vLLM's metric names, parsed by the
Prometheus client library's own parser.
"""
import http.client
import json
import signal
import time

import pytest

from conftest import DEMO_MODEL, ServerProcess, wait_for

prom_parser = pytest.importorskip("prometheus_client.parser")

# vLLM's (v1 engine) histogram bounds, from vLLM's source.
VLLM_TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
             80.0, 160.0, 640.0, 2560.0]
VLLM_ITL = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
VLLM_E2E = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
            960.0, 1920.0, 7680.0]


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, body


def post(port, path, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    return r.status, text


def demo_args():
    import os
    if not os.path.exists(DEMO_MODEL):
        pytest.skip(f"demo model not found at {DEMO_MODEL}")
    return ["-m", DEMO_MODEL, "--device", "cpu", "--max-total-tokens", "2048", "--max-context", "512"]


def test_readiness_503_while_loading_200_when_ready_503_while_draining():
    server = ServerProcess(demo_args() + ["--shutdown-grace", "60"], wait_ready=False)
    try:
        # Right after "listening": alive, not ready (the 513 MiB of weights take a while).
        status, body = get(server.port, "/health/ready")
        assert status == 503, body
        assert json.loads(body)["status"] == "loading"
        status, body = get(server.port, "/health")
        assert status == 200 and json.loads(body)["status"] == "loading", body
        status, body = post(server.port, "/v1/completions", {"prompt": "Hi", "max_tokens": 2})
        assert status == 503 and "loading" in body
        assert wait_for(lambda: server.ready_status() == 200, 120, 0.1), server.log()
        assert get(server.port, "/readiness")[0] == 200
        assert any(" ready on cpu" in line for line in server.lines)
        # /v1/models names the model by its file's stem.
        models = json.loads(get(server.port, "/v1/models")[1])
        assert [m["id"] for m in models["data"]] == ["SmolLM2-135M-Instruct.Q4_1"]

        # A long streamed request in flight, then SIGTERM: draining.
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        conn.request("POST", "/v1/completions", json.dumps({"prompt": "Once upon a time", "max_tokens": 60,
                                                            "ignore_eos": True, "temperature": 0, "stream": True}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.readline().startswith(b"data: ")
        server.proc.send_signal(signal.SIGTERM)
        assert wait_for(lambda: any("draining" in line for line in server.lines), 10), server.log()
        for path in ("/health/ready", "/readiness"):
            status, body = get(server.port, path)
            assert status == 503 and "draining" in json.loads(body)["message"], body
        status, body = post(server.port, "/v1/completions", {"prompt": "Hi", "max_tokens": 2})
        assert status == 503, body
        rest = r.read().decode()
        assert rest.rstrip().endswith("data: [DONE]")
        assert '"finish_reason":"length"' in rest
        conn.close()
    finally:
        code = server.stop(timeout=60)
    assert code == 0, server.log()


def families(server):
    status, text = get(server.port, "/metrics")
    assert status == 200
    return {f.name: f for f in prom_parser.text_string_to_metric_families(text)}


def test_metrics_carry_vllm_names_types_and_labels(tiny_server):
    from conftest import API_KEY
    conn = http.client.HTTPConnection("127.0.0.1", tiny_server.port, timeout=60)
    conn.request("POST", "/v1/completions", json.dumps({"prompt": "Hello world", "max_tokens": 5, "ignore_eos": True,
                                                        "temperature": 0}),
                 {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"})
    r = conn.getresponse()
    usage = json.loads(r.read())["usage"]
    conn.close()
    fams = families(tiny_server)
    expected = {
        "vllm:num_requests_running": "gauge",
        "vllm:num_requests_waiting": "gauge",
        "vllm:kv_cache_usage_perc": "gauge",
        "vllm:cache_config_info": "gauge",
        "vllm:prefix_cache_queries": "counter",
        "vllm:prefix_cache_hits": "counter",
        "vllm:prompt_tokens": "counter",
        "vllm:generation_tokens": "counter",
        "vllm:time_to_first_token_seconds": "histogram",
        "vllm:inter_token_latency_seconds": "histogram",
        "vllm:e2e_request_latency_seconds": "histogram",
    }
    for name, typ in expected.items():
        assert name in fams, f"{name} missing; have {sorted(fams)}"
        assert fams[name].type == typ, name
        for s in fams[name].samples:
            assert s.labels.get("model_name") == "tiny", (name, s)

    def value(name, sample=None):
        return next(s.value for s in fams[name].samples if s.name == (sample or name))

    assert value("vllm:prompt_tokens", "vllm:prompt_tokens_total") >= usage["prompt_tokens"]
    assert value("vllm:generation_tokens", "vllm:generation_tokens_total") >= 5
    assert value("vllm:prefix_cache_hits", "vllm:prefix_cache_hits_total") <= \
        value("vllm:prefix_cache_queries", "vllm:prefix_cache_queries_total")
    assert 0.0 <= value("vllm:kv_cache_usage_perc") <= 1.0
    capacity = value("lightllm_kv_capacity_tokens")
    [info] = fams["vllm:cache_config_info"].samples
    assert info.value == 1
    assert info.labels["block_size"] == "16"
    assert int(info.labels["num_gpu_blocks"]) == int(capacity) // 16 > 0
    for name, bounds in (("vllm:time_to_first_token_seconds", VLLM_TTFT),
                         ("vllm:inter_token_latency_seconds", VLLM_ITL),
                         ("vllm:e2e_request_latency_seconds", VLLM_E2E)):
        buckets = [s for s in fams[name].samples if s.name == name + "_bucket"]
        assert [float(s.labels["le"]) for s in buckets] == bounds + [float("inf")], name
        counts = [s.value for s in buckets]
        assert counts == sorted(counts), name  # cumulative
        assert counts[-1] == value(name, name + "_count") >= 1
    # Every request the server finished is in the e2e count; 4 gaps for 5 tokens at least.
    assert value("vllm:inter_token_latency_seconds", "vllm:inter_token_latency_seconds_count") >= 4
    # Readiness needs no API key (routers probe without one).
    assert get(tiny_server.port, "/health/ready")[0] == 200
