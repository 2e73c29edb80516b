"""`lightllm convert` output loads in Hugging Face transformers and behaves
like the GGUF it came from.

The SmolLM2-135M-Instruct Q4_1 demo GGUF is converted with --dtype f32; then
transformers loads (a) the converted directory and (b) the GGUF directly
(its own dequantization and q/k un-permutation). Both must give the same
weights and the same greedy tokens; the converted tokenizer.json must
tokenize like transformers' tokenizer built from the GGUF vocabulary.

Skips, saying why, when the demo model (third_party/fetch_demo_model.sh), the
lightllm binary (LIGHTLLM_BINARY, default build/lightllm), torch, transformers,
gguf or accelerate are absent.
"""
import os
import subprocess

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
# transformers reads a GGUF only with the `gguf` package, and loads with
# `dtype=` / device maps through `accelerate`: without them the reference
# cannot be built, which is a missing tool, not a failure.
pytest.importorskip("gguf", reason="transformers needs the `gguf` package to read the demo GGUF (pip install gguf)")
pytest.importorskip("accelerate", reason="transformers' GGUF loading here needs `accelerate` (pip install accelerate)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("LIGHTLLM_BINARY", os.path.join(ROOT, "build", "lightllm"))
GGUF = os.environ.get("LIGHTLLM_DEMO_MODEL",
                      os.path.expanduser("~/.cache/lightllm/SmolLM2-135M-Instruct.Q4_1.gguf"))

PROMPTS = ["The capital of France is", "def fibonacci(n):", "Once upon a time, in 1999, there were 3"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    if not os.path.exists(GGUF):
        pytest.skip(f"demo model not found at {GGUF}")
    if not os.path.exists(BINARY):
        pytest.skip(f"lightllm binary not found at {BINARY}")
    out = tmp_path_factory.mktemp("converted") / "smollm2"
    r = subprocess.run([BINARY, "convert", GGUF, "-o", str(out), "--dtype", "f32", "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return str(out)


@pytest.fixture(scope="module")
def reference():
    """transformers' own view of the GGUF: config, model and tokenizer (loaded once; slow)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    d, f = os.path.split(GGUF)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    return model.config, model, AutoTokenizer.from_pretrained(d, gguf_file=f)


def test_config_matches(converted, reference):
    from transformers import AutoConfig
    ours = AutoConfig.from_pretrained(converted)
    ref = reference[0]
    for key in ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "max_position_embeddings", "tie_word_embeddings", "bos_token_id",
                "eos_token_id"]:
        assert getattr(ours, key) == getattr(ref, key), key
    assert ours.rms_norm_eps == pytest.approx(ref.rms_norm_eps)


def test_weights_and_greedy_tokens_equal(converted, reference):
    from transformers import AutoModelForCausalLM
    ours = AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32).eval()
    _, ref, tok = reference
    a, b = ours.state_dict(), ref.state_dict()
    assert set(a) == set(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    for prompt in PROMPTS[:2]:
        ids = tok(prompt, return_tensors="pt").input_ids
        with torch.no_grad():
            x = ours.generate(ids, max_new_tokens=8, do_sample=False)
            y = ref.generate(ids, max_new_tokens=8, do_sample=False)
        assert x.tolist() == y.tolist(), prompt


def test_tokenizer_matches_gguf_tokenizer(converted, reference):
    from transformers import AutoTokenizer
    ours = AutoTokenizer.from_pretrained(converted)
    ref = reference[2]
    texts = PROMPTS + ["<|im_start|>user\nHi there!<|im_end|>\n", "  spaces\tand\nnewlines  ", "héllo wörld 12345"]
    for t in texts:
        assert ours(t).input_ids == ref(t).input_ids, t
        assert ours.decode(ours(t).input_ids) == t
    messages = [{"role": "user", "content": "What is 2+2?"}]
    assert ours.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == \
        ref.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
