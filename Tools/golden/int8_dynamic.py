#!/usr/bin/env python3
"""Golden dynamic int8 quantization, for LMKit's Int8Matrix and DynamicQuantization.

The reference is PyTorch's own torch.ao.quantization.quantize_dynamic(model, {nn.Linear},
dtype=torch.qint8) on the x86 engine (fbgemm kernels), in two qconfigs:
  - "tensor": default_dynamic_qconfig (one weight scale per matrix, activations 0..127 per call);
  - "channel": per_channel_dynamic_qconfig (a weight scale per output row).
LMKit's third scheme, "token" (a scale per weight row and an 8-bit range per activation row), has no
PyTorch module; its reference here is the same arithmetic in numpy: fbgemm's ChooseQuantizationParams
on each row's range with qmax 255, q = clamp(rint(x * (1/scale) + zero_point)) in float32, integer
sums, then float32 (acc - zx * rowsum) * (sx * sw) + bias.

Writes Tests/Fixtures/quant/int8_dynamic.safetensors:
  linear.x [7, 37], linear.weight [23, 37], linear.bias [23]: one layer's operands (random, with an
      outlier column, exact zeros and a tie on the 127.5 grid);
  linear.<scheme>.y [7, 23]: its output under each scheme;
  linear.<scheme>.q [23, 37], linear.<scheme>.scales [23]: the quantized weights (as float32) and
      their per-row scales (tensor and channel: read back from PyTorch's packed weights);
  bert.<scheme>.logits: tiny-bert-cls (Tests/Fixtures/encoders) quantized as a whole, on the
      padded batch of Tests/Fixtures/encoders/goldens/tiny-bert-cls.safetensors (tensor, channel).
Pinned: torch 2.13.0 (CPU), transformers 5.23.0, numpy 2.4.6. Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/int8_dynamic.py
"""

import os
import warnings

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import BertForSequenceClassification

warnings.filterwarnings("ignore")
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO_ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIXTURES, "quant", "int8_dynamic.safetensors")
QCONFIGS = {
    "tensor": torch.ao.quantization.default_dynamic_qconfig,
    "channel": torch.ao.quantization.per_channel_dynamic_qconfig,
}


def quantize(module, scheme):
    return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear: QCONFIGS[scheme]}, dtype=torch.qint8)


def choose_params(lo, hi, qmax):
    """fbgemm's ChooseQuantizationParams (qmin 0, no sparsity preservation), in double as there."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / qmax
    if np.float32(scale) == 0 or np.isinf(np.float32(1) / np.float32(scale)):
        scale = 0.1
    small = float(np.float32(6.1e-5))
    if scale < small:
        original, scale = scale, small
        if lo == 0:
            hi = small * qmax
        elif hi == 0:
            lo = -small * qmax
        else:
            amp = float(np.float32(small / original))
            lo, hi = lo * amp, hi * amp
    zmin, zmax = -lo / scale, qmax - hi / scale
    initial = zmin if abs(lo / scale) < qmax + abs(hi / scale) else zmax
    zero = 0 if initial < 0 else qmax if initial > qmax else int(np.rint(initial))
    return np.float32(scale), zero


def token_scheme(x, w, b):
    amax = np.maximum(-w.min(1).clip(max=0), w.max(1).clip(min=0)).astype(np.float32)
    sw = np.maximum(amax / np.float32(127.5), np.finfo(np.float32).eps).astype(np.float32)
    q = np.clip(np.rint(w * (np.float32(1) / sw)[:, None]), -128, 127).astype(np.int64)
    y = np.zeros((x.shape[0], w.shape[0]), np.float32)
    for i, row in enumerate(x):
        sx, zx = choose_params(row.min(), row.max(), 255)
        # x·(1/s) + z rounded once to float32 (C's fmaf): the float32 product is exact in float64.
        t = (row.astype(np.float64) * np.float64(np.float32(1) / sx) + zx).astype(np.float32)
        xq = np.clip(np.rint(np.clip(t, 0, 255)), 0, 255).astype(np.int64)
        acc = q @ xq - zx * q.sum(1)
        y[i] = acc.astype(np.float32) * (sx * sw) + b
    return y, q, sw


def main():
    torch.manual_seed(20261203)
    x = torch.randn(7, 37) * 1.5
    x[:, 5] *= 20          # an outlier column
    x[2, :] = 0            # a row of zeros
    x[3, 0] = 4.0          # a large value in a row
    w = torch.randn(23, 37) * 0.2
    w[4, :] = 0            # a zero row (scale floors at eps)
    w[6, 1] = -w[6].abs().max() * 1.01   # the most negative weight sets the scale
    b = torch.randn(23) * 0.1
    out = {"linear.x": x, "linear.weight": w, "linear.bias": b}
    layer = torch.nn.Linear(37, 23)
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(b)
    for scheme in QCONFIGS:
        q = quantize(torch.nn.Sequential(layer), scheme)[0]
        packed, _ = q._packed_params._weight_bias()
        out[f"linear.{scheme}.q"] = packed.int_repr().float()
        scales = packed.q_per_channel_scales().float() if scheme == "channel" else torch.full((23,), packed.q_scale())
        out[f"linear.{scheme}.scales"] = scales
        out[f"linear.{scheme}.y"] = q(x).detach()
    y, qt, st = token_scheme(x.numpy(), w.numpy(), b.numpy())
    out["linear.token.y"] = torch.from_numpy(y)
    out["linear.token.q"] = torch.from_numpy(qt.astype(np.float32))
    out["linear.token.scales"] = torch.from_numpy(st)

    golden = load_file(os.path.join(FIXTURES, "encoders", "goldens", "tiny-bert-cls.safetensors"))
    model = BertForSequenceClassification.from_pretrained(os.path.join(FIXTURES, "encoders", "tiny-bert-cls"), attn_implementation="eager").eval()
    for scheme in QCONFIGS:
        qm = quantize(model, scheme)
        with torch.no_grad():
            logits = qm(input_ids=golden["input_ids"], attention_mask=golden["attention_mask"], token_type_ids=golden["token_type_ids"]).logits
        out[f"bert.{scheme}.logits"] = logits.contiguous()
        print(scheme, "max |logits - float|:", float((logits - golden["logits"]).abs().max()))
    save_file({k: v.contiguous() for k, v in out.items()}, OUT, metadata={"torch": torch.__version__, "engine": torch.backends.quantized.engine})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
