#!/usr/bin/env python3
"""How int8 KV formats would do on SmolLM2-135M-Instruct, simulated in
transformers: K and V are quantized and dequantized (per token per head,
optionally in groups along head_dim or Hadamard-rotated) right before
attention, the text of the int8 KV quality test is scored in windows, and the
top-1 agreement with the f16 cache and the perplexity are printed. The
numbers behind the format choice in bench/RESULTS.md ("int8 KV quality").

Modes: f32, f16, int8 (per head), int8<G> (groups of G), int8_had (Hadamard-
rotated), fp8; "K+V" gives keys and values different modes.
Usage: W=1024 NW=4 python3 tests/reference/simulate_kv_quant.py f16 int8 int8_had+int8
"""
import os, sys, math, torch
from transformers import AutoModelForCausalLM, AutoTokenizer, AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
torch.set_num_threads(2)
d = os.path.expanduser('~/.cache/lightllm'); f = 'SmolLM2-135M-Instruct.Q4_1.gguf'
tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
model.eval()
text = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'kv_quality_text.txt')).read()
ids = tok(text, add_special_tokens=False)['input_ids']
W = int(os.environ.get('W', 1024)); NW = int(os.environ.get('NW', 4))
wins = [ids[i*W:(i+1)*W] for i in range(NW)]
MODE = {'m': 'f32'}
def fq(x, mode):
    if mode == 'f32': return x
    if mode == 'f16': return x.half().float()
    if mode.startswith('int8'):
        g = int(mode[4:] or 0) if len(mode) > 4 else 0
        shp = x.shape
        if g: x = x.reshape(*shp[:-1], shp[-1]//g, g)
        s = x.abs().amax(-1, keepdim=True) / 127
        q = torch.where(s > 0, torch.round(x / torch.where(s>0, s, torch.ones_like(s))).clamp(-127,127), torch.zeros_like(x))
        return (q * s).reshape(shp)
    if mode == 'fp8':
        s = x.abs().amax(-1, keepdim=True) / 448
        s = torch.where(s > 0, s, torch.ones_like(s))
        return (x / s).to(torch.float8_e4m3fn).float() * s
    raise ValueError(mode)
def hadamard(n):
    h = torch.ones(1, 1)
    while h.shape[0] < n: h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h / math.sqrt(n)
H = hadamard(64)
def fqk(x, m):
    if m.endswith('_had'):
        return fq(x @ H, m[:-4]) @ H.T
    return fq(x, m)
def attn(module, q, k, v, mask, **kw):
    m = MODE['m']
    mk, mv = (m.split('+') + [m])[:2] if '+' in m else (m, m)
    return sdpa_attention_forward(module, q, fqk(k, mk), fqk(v, mv), mask, **kw)
AttentionInterface.register('fq', attn)
model.config._attn_implementation = 'fq'
for layer in model.model.layers: layer.self_attn.config._attn_implementation = 'fq'
def run(mode):
    MODE['m'] = mode
    am, nll, n = [], 0.0, 0
    with torch.no_grad():
        for w in wins:
            x = torch.tensor([w]); lg = model(x).logits[0, :-1].double()
            nll += torch.nn.functional.cross_entropy(lg, x[0,1:], reduction='sum').item(); n += len(w)-1
            am.append(lg.argmax(-1))
    return torch.cat(am), math.exp(nll/n)
modes = sys.argv[1:] if len(sys.argv)>1 else ['f32','f16','int8','int832','int816','fp8']
res = {m: run(m) for m in modes}
for m in modes:
    a, p = res[m]; ref = res['f16'][0] if 'f16' in res else res[modes[0]][0]
    print(f"{m:8s} ppl {p:.4f} agree_vs_f16 {(a==ref).float().mean().item()*100:.2f}% agree_vs_f32 {(a==res[modes[0]][0]).float().mean().item()*100:.2f}%", flush=True)
