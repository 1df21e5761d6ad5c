#!/usr/bin/env python3
"""Golden ggml blocks from gguf-py's quantizers, for LMKit's GGMLQuantizer (LMKitTensor).

gguf.quants.quantize (bit-exact ports of ggml-quants.c's quantize_row_*_ref) on the same float32
rows for F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1. The rows (each 256 values, 8 blocks of 32):
normal values at scales 1e-3 to 1e3, a zero row, constant blocks, a block whose extreme is negative,
outliers, values halfway between levels (rounding ties), float16 subnormals, and the largest
values float16 holds.

Written with gguf-py's own GGUFWriter: the float32 rows as tensor "x", each type's bytes as tensor
"x.<type>", and one metadata key of each GGUF value type (what LMKit's reader and writer must agree
on). Writes Tests/Fixtures/quant/gguf_quants.gguf. Pinned: gguf 0.19.0, numpy 2.4.6. Run with the
reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/ggml_quants.py
"""

import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "quant", "gguf_quants.gguf")
TYPES = [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]


def rows():
    rng = np.random.default_rng(20261203)
    out = [rng.standard_normal(256) * scale for scale in (1e-3, 0.02, 1.0, 1e3)]
    out.append(np.zeros(256))
    constant = np.repeat(rng.standard_normal(8), 32)  # every block constant: Q4_1/Q5_1 have d = 0
    out.append(constant)
    negative = rng.standard_normal(256)
    negative[::32] = -8.0  # each block's extreme is negative
    out.append(negative)
    outliers = rng.standard_normal(256) * 0.01
    outliers[5::37] = 40.0
    out.append(outliers)
    ties = np.tile(np.arange(32) - 15.5, 8) / 2.0  # x * (1/d) lands on .5
    out.append(ties)
    tiny = rng.standard_normal(256) * 1e-6  # float16 subnormals
    out.append(tiny)
    big = rng.uniform(-65504, 65504, 256)
    out.append(big)
    return np.stack(out).astype(np.float32)


def main():
    x = rows()
    w = gguf.GGUFWriter(OUT, "lmkit-golden")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4000000000)
    w.add_int32("test.i32", -2000000000)
    w.add_float32("test.f32", 0.1)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "naïve ▁ 🙂")
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**62))
    w.add_float64("test.f64", 0.1)
    w.add_array("test.strings", ["a", "", "é"])
    w.add_array("test.int32s", [1, -2, 3])
    w.add_array("test.floats", [0.5, -1.25])
    w.add_tensor("x", x)
    for t in TYPES:
        q = gguf.quants.quantize(x, t)
        w.add_tensor(f"x.{t.name.lower()}", q, raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {OUT}: {x.shape[0]} rows x {x.shape[1]}, types {[t.name for t in TYPES]}")


if __name__ == "__main__":
    main()
