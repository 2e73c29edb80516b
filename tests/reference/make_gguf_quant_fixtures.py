#!/usr/bin/env python3
"""GGUF fixture for tests/test_gguf_model.cpp: tensors of every GGML type
lightllm dequantizes, with the reference values computed by the `gguf`
package (gguf.quants.quantize / gguf.quants.dequantize).

For each type T the file holds
  T.quantized   random fp32 data quantized by gguf.quants.quantize (types
                the package can quantize), shape [3, 64] or [2, 256] for K-quants
  T.random      random block bytes (scale fields set to small finite halves),
                for every type including the K-quants the package cannot quantize
and for each of those a tensor NAME.expected (F32, same shape) holding
gguf.quants.dequantize of the stored bytes.

Writes tests/data/gguf/quant_types.gguf.
Usage: python3 tests/reference/make_gguf_quant_fixtures.py
"""
import os

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "gguf", "quant_types.gguf")

# type -> (block elements, block bytes, byte offsets of f16 scale fields)
BLOCKS = {
    T.Q8_0: (32, 34, [0]),
    T.Q4_0: (32, 18, [0]),
    T.Q4_1: (32, 20, [0, 2]),
    T.Q5_0: (32, 22, [0]),
    T.Q5_1: (32, 24, [0, 2]),
    T.Q4_K: (256, 144, [0, 2]),
    T.Q6_K: (256, 210, [208]),
}


def random_blocks(rng, qtype, rows, cols):
    blk, nbytes, scale_offsets = BLOCKS[qtype]
    n_blocks = rows * cols // blk
    raw = rng.integers(0, 256, size=(n_blocks, nbytes), dtype=np.uint8)
    for off in scale_offsets:
        scales = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return raw.reshape(rows, cols // blk * nbytes)


def main():
    rng = np.random.default_rng(1234)
    w = gguf.GGUFWriter(OUT, "llama")
    w.add_name("lightllm quantization fixture")
    for qtype, (blk, _, _) in BLOCKS.items():
        rows, cols = (2, 256) if blk == 256 else (3, 64)
        name = qtype.name
        try:
            data = rng.standard_normal((rows, cols)).astype(np.float32)
            q = quants.quantize(data, qtype)
            w.add_tensor(f"{name}.quantized", q, raw_dtype=qtype)
            w.add_tensor(f"{name}.quantized.expected", quants.dequantize(q, qtype).astype(np.float32))
        except NotImplementedError:
            pass
        r = random_blocks(rng, qtype, rows, cols)
        w.add_tensor(f"{name}.random", r, raw_dtype=qtype)
        w.add_tensor(f"{name}.random.expected", quants.dequantize(r, qtype).astype(np.float32))
    f = rng.standard_normal((3, 8)).astype(np.float32)
    w.add_tensor("F16.quantized", f.astype(np.float16))
    w.add_tensor("F16.quantized.expected", f.astype(np.float16).astype(np.float32))
    bf = quants.quantize(f, T.BF16)
    w.add_tensor("BF16.quantized", bf, raw_dtype=T.BF16)
    w.add_tensor("BF16.quantized.expected", quants.dequantize(bf, T.BF16).astype(np.float32))
    w.add_tensor("F32.quantized", f)
    w.add_tensor("F32.quantized.expected", f)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
