#!/usr/bin/env python3
"""Golden k-quant and importance-weighted blocks from llama.cpp's own quantizer, for LMKit's GGMLQuantizer.

gguf-py quantizes only the 32-weight block types, so this calls ggml's `ggml_quantize_chunk` (what
llama-quantize runs) in libggml-base.so through ctypes:
  - "x" (the 11 rows of ggml_quants.py, 256 each) as Q4_K, Q5_K, Q6_K without an importance matrix
    (ggml's quantize_row_q*_K_ref): tensors "x.q4_k", "x.q5_k", "x.q6_k";
  - "y" (the first 10 paired into 5 rows of 512, two super-blocks each) under the importance row "imatrix"
    (512 positive values, some zero: columns no token used) as Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
    Q6_K (ggml's quantize_row_*_impl): tensors "y.<type>".

Pinned: llama.cpp as vendored in llama-cpp-python 0.3.36 (the source scripts/llama-cpp-tools
unpacks), ggml-base built shared without native flags; gguf 0.19.0, numpy 2.4.6. Build and run:
    scripts/llama-cpp-tools llama-quantize        # unpacks the source into ~/.cache/lmkit/llama.cpp
    cd ~/.cache/lmkit/llama.cpp && cmake -S . -B build-shared -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF && cmake --build build-shared --target ggml-base
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/ggml_kquants.py
Writes Tests/Fixtures/quant/ggml_kquants.gguf.
"""

import ctypes
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

sys.path.insert(0, os.path.dirname(__file__))
from ggml_quants import rows  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "quant", "ggml_kquants.gguf")
LIB = os.environ.get(
    "GGML_BASE_LIB",
    os.path.join(os.environ.get("LMKIT_HOME", os.path.expanduser("~/.cache/lmkit")), "llama.cpp", "build-shared", "bin",
                 "libggml-base.so"))
PLAIN = [T.Q4_K, T.Q5_K, T.Q6_K]
ZEROS = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]


def signed_zeros():
    rng = np.random.default_rng(20261205)
    z = np.zeros((4, 256), dtype=np.float32)
    z[0, ::2] = -0.0  # only zeros, alternating signs, +0 first
    z[1, 1::2] = -0.0
    z[1, 0] = -0.0  # -0 first
    z[2] = np.abs(rng.standard_normal(256)).astype(np.float32)
    z[2, 3::5] = -0.0  # non-negative values: the minimum is a zero
    z[3] = -np.abs(rng.standard_normal(256)).astype(np.float32)
    z[3, 7::9] = 0.0  # non-positive values: the maximum is a zero
    z[3, 2::9] = -0.0
    return z
WEIGHTED = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]


def quantize(lib, x, qtype, imatrix=None):
    x = np.ascontiguousarray(x, dtype=np.float32)
    nrows, n = x.shape
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    out = np.zeros(nrows * n // block * size, dtype=np.uint8)
    qw = None if imatrix is None else np.ascontiguousarray(imatrix, dtype=np.float32)
    written = lib.ggml_quantize_chunk(
        int(qtype), x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), 0, nrows, n,
        None if qw is None else qw.ctypes.data_as(ctypes.c_void_p))
    assert written == out.size, (qtype, written, out.size)
    return out.reshape(nrows, -1)


def main():
    lib = ctypes.CDLL(LIB)
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_void_p]
    x = rows()
    y = x[:10].reshape(5, 512)
    rng = np.random.default_rng(20261204)
    imatrix = (rng.chisquare(3, 512) * 0.7).astype(np.float32)
    imatrix[::61] = 0
    w = gguf.GGUFWriter(OUT, "lmkit-golden")
    w.add_string("golden.reference", "llama.cpp (llama-cpp-python 0.3.36) ggml_quantize_chunk")
    w.add_tensor("x", x)
    w.add_tensor("y", y)
    w.add_tensor("imatrix", imatrix)
    z = signed_zeros()
    w.add_tensor("z", z)
    for t in ZEROS:
        w.add_tensor(f"z.{t.name.lower()}", quantize(lib, z, t), raw_dtype=t)
    for t in PLAIN:
        w.add_tensor(f"x.{t.name.lower()}", quantize(lib, x, t), raw_dtype=t)
    for t in WEIGHTED:
        w.add_tensor(f"y.{t.name.lower()}", quantize(lib, y, t, imatrix), raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {OUT}: x {x.shape} as {[t.name for t in PLAIN]}, y {y.shape} with imatrix as {[t.name for t in WEIGHTED]}")


if __name__ == "__main__":
    main()
