#!/usr/bin/env python3
"""Summarize a `--step-log` file: where the wall time of a run went.

    python3 bench/step_summary.py run.steps.jsonl [...]

Prints, per file: wall time from the first to the last step, the engine's
share (forward + sampling) and the host's (scheduling, events), then the
engine time of decode-only steps grouped by batch size, of steps that carry
prefill tokens, and the slowest steps.
"""
import json
import sys


def summarize(path):
    steps = [json.loads(line) for line in open(path) if line.strip()]
    if not steps:
        print(f"{path}: no steps")
        return
    last = steps[-1]
    wall = last["t_ms"] + last["engine_ms"] - steps[0]["t_ms"]
    eng = sum(s["engine_ms"] for s in steps)
    host = sum(s["host_ms"] for s in steps[1:])
    print(f"{path}: {len(steps)} steps, wall {wall / 1000:.2f} s = engine {eng / 1000:.2f} s + host {host / 1000:.2f} s")
    bins = [(1, 1), (2, 8), (9, 32), (33, 64), (65, 128), (129, 256), (257, 512), (513, 768), (769, 100000)]
    print(f"  {'decode-only batch':>18} {'steps':>6} {'engine s':>9} {'ms/step':>8} {'host ms/step':>12} {'tok/s':>8}")
    for lo, hi in bins:
        sel = [s for s in steps if s["prefill_tokens"] == 0 and lo <= s["decode"] <= hi]
        if not sel:
            continue
        e = sum(s["engine_ms"] for s in sel)
        h = sum(s["host_ms"] for s in sel)
        toks = sum(s["decode"] for s in sel)
        print(f"  {f'{lo}-{hi}':>18} {len(sel):>6} {e / 1000:>9.2f} {e / len(sel):>8.2f} {h / len(sel):>12.3f} "
              f"{1000 * toks / max(e + h, 1e-9):>8.0f}")
    pre = [s for s in steps if s["prefill_tokens"] > 0]
    if pre:
        e = sum(s["engine_ms"] for s in pre)
        ptok = sum(s["prefill_tokens"] for s in pre)
        dtok = sum(s["decode"] for s in pre)
        print(f"  steps with prefill: {len(pre)}, engine {e / 1000:.2f} s, {ptok} prompt tokens + {dtok} decodes "
              f"({1000 * ptok / max(e, 1e-9):.0f} prompt tok/s)")
    print("  slowest steps:")
    for s in sorted(steps, key=lambda s: -s["engine_ms"])[:8]:
        print(f"    step {s['step']}: {s['engine_ms']:.1f} ms, decode {s['decode']}, prefill {s['prefill_tokens']} tokens, "
              f"kv {s['kv_used']}")


for p in sys.argv[1:]:
    summarize(p)
