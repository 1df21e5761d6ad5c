#!/usr/bin/env python3
"""Golden file for LMKit's GGUF dequantizers: random blocks of every type LMKit reads, turned into
floats by gguf-py (the `gguf` package maintained in the llama.cpp repository, `gguf.quants`), an
implementation of ggml's block formats independent of LMKit's.

Writes Tests/Fixtures/gguf/quants.safetensors with, for each TYPE in F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1
Q8_0 Q4_K Q5_K Q6_K:
  TYPE.raw       uint8 [blocks * block bytes]: the blocks (16 blocks of 32-weight types, 4 of the
                 256-weight K types, 64 weights for F16/BF16);
  TYPE.expected  float32 [weights]: gguf.quants.dequantize(raw, TYPE).
The bytes are random (numpy default_rng(SEED)) except the half-float scale fields, which are set
to random finite halves in [-2, 2] (d) and [0, 1] (dmin, m) so that no block is NaN or infinite;
F16 and BF16 weights are random finite values. Q4_0 and Q8_0 also get blocks made by
gguf.quants.quantize of random floats (TYPE.quantized.raw / .expected), the path llama.cpp files take.

Run with the reference venv (gguf 0.19.0, numpy 2.4.6, pinned in Tools/requirements-reference.txt):
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/gguf_quants.py
The output is byte-identical across runs with the same versions.
"""

import json
import pathlib
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from safetensors_header import canonicalize_header  # noqa: E402

SEED = 20261122
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/gguf/quants.safetensors"

# type: (weights per block, bytes per block, [(byte offset of a half scale, kind)])
LAYOUT = {
    "Q4_0": (32, 18, [(0, "d")]),
    "Q4_1": (32, 20, [(0, "d"), (2, "m")]),
    "Q5_0": (32, 22, [(0, "d")]),
    "Q5_1": (32, 24, [(0, "d"), (2, "m")]),
    "Q8_0": (32, 34, [(0, "d")]),
    "Q4_K": (256, 144, [(0, "d"), (2, "m")]),
    "Q5_K": (256, 176, [(0, "d"), (2, "m")]),
    "Q6_K": (256, 210, [(208, "d")]),
}


def halves(rng, n, lo, hi):
    return rng.uniform(lo, hi, n).astype(np.float16)


def main():
    rng = np.random.default_rng(SEED)
    tensors = {}
    for name, (bs, nbytes, fields) in LAYOUT.items():
        blocks = 16 if bs == 32 else 4
        raw = rng.integers(0, 256, size=(blocks, nbytes), dtype=np.uint8)
        for offset, kind in fields:
            h = halves(rng, blocks, -2, 2) if kind == "d" else halves(rng, blocks, 0, 1)
            raw[:, offset:offset + 2] = h.view(np.uint8).reshape(blocks, 2)
        flat = raw.reshape(-1)
        expected = dequantize(flat, T[name]).astype(np.float32).reshape(-1)
        assert expected.shape == (blocks * bs,) and np.isfinite(expected).all(), name
        tensors[f"{name}.raw"] = flat
        tensors[f"{name}.expected"] = expected
    for name in ("Q4_0", "Q8_0"):
        x = rng.standard_normal((4, 64)).astype(np.float32)
        q = quantize(x, T[name])
        tensors[f"{name}.quantized.raw"] = q.reshape(-1).astype(np.uint8)
        tensors[f"{name}.quantized.expected"] = dequantize(q, T[name]).astype(np.float32).reshape(-1)
        tensors[f"{name}.quantized.source"] = x.reshape(-1)
    f16 = rng.uniform(-100, 100, 64).astype(np.float16)
    tensors["F16.raw"] = f16.view(np.uint8).copy()
    tensors["F16.expected"] = f16.astype(np.float32)
    bf = (rng.standard_normal(64).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    tensors["BF16.raw"] = bf.view(np.uint8).copy()
    tensors["BF16.expected"] = dequantize(bf.view(np.uint8), T.BF16).astype(np.float32).reshape(-1)

    from importlib.metadata import version
    metadata = {"generator": "Tools/golden/gguf_quants.py", "seed": str(SEED), "gguf": version("gguf"), "numpy": np.__version__}
    write(OUT, tensors, metadata)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes, {len(tensors)} tensors)")


def write(path, tensors, metadata):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path), metadata=metadata)
    canonicalize_header(path)


if __name__ == "__main__":
    main()
