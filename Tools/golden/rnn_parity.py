#!/usr/bin/env python3
"""Golden-file generator for LMKit's recurrent layers (RNN, LSTM, GRU).

Writes Tests/Fixtures/rnn/rnn_parity.safetensors: forward outputs and
gradients of PyTorch's own nn.RNN (tanh), nn.LSTM and nn.GRU, in float64.

Modules: input_size=5, hidden_size=7, num_layers=2, batch_first=True,
bias=True, dropout=0, unidirectional, no projection. Each is built right after
torch.manual_seed(0) with torch.set_default_dtype(torch.float64), so its
parameters are PyTorch's own init (reset_parameters: every weight and bias
drawn from U(-1/sqrt(7), 1/sqrt(7)) in parameter order).

The formulas PyTorch computes (and LMKit must implement), per layer l and time
step t, with x_t the layer input (x for l = 0, the layer l-1 output h_t for
l > 0) and h, c the layer's state from step t-1 (h0[l], c0[l] at t = 0):

  RNN:  h' = tanh(W_ih x_t + b_ih + W_hh h + b_hh)
  LSTM: gates = W_ih x_t + b_ih + W_hh h + b_hh            [4H]
        i, f, g, o = gates.chunk(4)                          (rows in that order)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(c')
  GRU:  gi = W_ih x_t + b_ih, gh = W_hh h + b_hh              [3H] each
        r, z, n rows in that order (gi = i_r, i_z, i_n; gh = h_r, h_z, h_n)
        r = sigmoid(i_r + h_r), z = sigmoid(i_z + h_z)
        n = tanh(i_n + r * h_n)      i.e. tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

output[:, t] is the top layer's h at step t; hn[l] (cn[l]) the last step's
state of layer l. The script re-implements these formulas with plain tensor
ops and asserts that they give PyTorch's outputs and gradients (1e-12).

Inputs (torch.Generator, randn, float64): x [3,6,5] (seed 1); h0 [2,3,7] then
c0 [2,3,7] (one generator seeded 2); w_out [3,6,7], w_h [2,3,7] then w_c
[2,3,7] (one generator seeded 3). The same x, h0, c0, w_* are used for every
cell (stored under each prefix for self-contained tests; the RNN and GRU do
not use c0/w_c).

Loss: L = (output * w_out).sum() + (hn * w_h).sum()  [+ (cn * w_c).sum() LSTM]

Keys, for C in {rnn, lstm, gru} (G = gates: 1 rnn, 4 lstm, 3 gru; H = 7):
  C.param.weight_ih_l0 [G*H,5]   C.param.weight_hh_l0 [G*H,7]
  C.param.bias_ih_l0 [G*H]       C.param.bias_hh_l0 [G*H]
  C.param.weight_ih_l1 [G*H,7]   C.param.weight_hh_l1 [G*H,7]
  C.param.bias_ih_l1 [G*H]       C.param.bias_hh_l1 [G*H]
  C.x [3,6,5]  C.h0 [2,3,7]  (lstm.c0 [2,3,7])
  C.w_out [3,6,7]  C.w_h [2,3,7]  (lstm.w_c [2,3,7])
  C.output [3,6,7]  C.hn [2,3,7]  (lstm.cn [2,3,7])
  C.grad.<param name>   dL/dparam, same shapes as C.param.*
  C.grad.x [3,6,5]  C.grad.h0 [2,3,7]  (lstm.grad.c0 [2,3,7])
  C.zero_state.output [3,6,7]  C.zero_state.hn [2,3,7]  (lstm.zero_state.cn)
                        module(x) with no initial state (zeros), same params
  lstm.tbptt.output2 [3,3,7]   truncated BPTT: (out1, (h_mid, c_mid)) =
                        lstm(x[:, :3], (h0, c0)); out2 = lstm(x[:, 3:],
                        (h_mid.detach(), c_mid.detach())) output
  lstm.tbptt.grad.weight_hh_l0 [28,7]  d/dW_hh_l0 of
                        (out2 * w_out[:, 3:]).sum(): flows through chunk 2 only
                        (output2 equals output[:, 3:] to ~1e-16, not bit for
                        bit; without the detach this gradient differs by ~0.13)
__metadata__: config (JSON: sizes, seeds, gate orders, loss, dtype, init),
generator, torch.

Run with the reference venv (about 3 s, mostly importing torch); the output
is byte-identical across runs with the same versions:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/rnn_parity.py [--out PATH]
"""

import argparse
import json
import os
import sys

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file

from safetensors_header import canonicalize_header

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "rnn", "rnn_parity.safetensors")

CONFIG = dict(
    input_size=5, hidden_size=7, num_layers=2, batch=3, seq_len=6,
    batch_first=True, bias=True, dropout=0.0, bidirectional=False, rnn_nonlinearity="tanh",
    dtype="float64",
    init="torch.manual_seed(0) before each module; PyTorch's reset_parameters: "
         "U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every parameter",
    seeds=dict(module=0, x=1, state=2, loss_weights=3),
    draw_order=dict(state="h0 then c0", loss_weights="w_out then w_h then w_c"),
    gates=dict(rnn=["h"], lstm=["i", "f", "g", "o"], gru=["r", "z", "n"]),
    loss="(output * w_out).sum() + (hn * w_h).sum() [+ (cn * w_c).sum() for lstm]",
    tbptt=dict(split=3, loss="(output2 * w_out[:, 3:]).sum()",
               state="chunk 2 starts from chunk 1's (hn, cn).detach()"),
)
CELLS = {"rnn": (nn.RNN, 1), "lstm": (nn.LSTM, 4), "gru": (nn.GRU, 3)}
TOL = 1e-12


def make_module(kind):
    cls, _ = CELLS[kind]
    torch.manual_seed(CONFIG["seeds"]["module"])
    kw = dict(input_size=CONFIG["input_size"], hidden_size=CONFIG["hidden_size"],
              num_layers=CONFIG["num_layers"], batch_first=True, bias=True, dropout=0.0)
    if kind == "rnn":
        kw["nonlinearity"] = "tanh"
    return cls(**kw)


def make_inputs():
    B, T, I = CONFIG["batch"], CONFIG["seq_len"], CONFIG["input_size"]
    L, H = CONFIG["num_layers"], CONFIG["hidden_size"]
    s = CONFIG["seeds"]
    g = torch.Generator().manual_seed(s["x"])
    x = torch.randn(B, T, I, generator=g)
    g = torch.Generator().manual_seed(s["state"])
    h0 = torch.randn(L, B, H, generator=g)
    c0 = torch.randn(L, B, H, generator=g)
    g = torch.Generator().manual_seed(s["loss_weights"])
    w_out = torch.randn(B, T, H, generator=g)
    w_h = torch.randn(L, B, H, generator=g)
    w_c = torch.randn(L, B, H, generator=g)
    return x, h0, c0, w_out, w_h, w_c


# ---------------------------------------------- independent reference (same formulas)

def reference_forward(kind, p, x, h0, c0):
    """The docstring's formulas with plain ops; p maps PyTorch names to tensors."""
    B, T, _ = x.shape
    layer_in = x                                            # (B, T, I)
    hn, cn = [], []
    for l in range(CONFIG["num_layers"]):
        W_ih, W_hh = p[f"weight_ih_l{l}"], p[f"weight_hh_l{l}"]
        b_ih, b_hh = p[f"bias_ih_l{l}"], p[f"bias_hh_l{l}"]
        h = h0[l]                                           # (B, H)
        c = c0[l] if kind == "lstm" else None
        outs = []
        for t in range(T):
            xt = layer_in[:, t]                             # (B, I or H)
            gi = xt @ W_ih.T + b_ih                         # (B, G*H)
            gh = h @ W_hh.T + b_hh                          # (B, G*H)
            if kind == "rnn":
                h = torch.tanh(gi + gh)
            elif kind == "lstm":
                i, f, gg, o = (gi + gh).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                i_r, i_z, i_n = gi.chunk(3, dim=1)
                h_r, h_z, h_n = gh.chunk(3, dim=1)
                r = torch.sigmoid(i_r + h_r)
                z = torch.sigmoid(i_z + h_z)
                n = torch.tanh(i_n + r * h_n)
                h = (1 - z) * n + z * h
            outs.append(h)
        layer_in = torch.stack(outs, dim=1)                 # (B, T, H)
        hn.append(h)
        cn.append(c)
    return layer_in, torch.stack(hn), (torch.stack(cn) if kind == "lstm" else None)


def assert_close(name, got, want):
    d = (got - want).abs().max().item()
    assert d <= TOL, f"{name}: reference differs from PyTorch by {d:.3e}"
    return d


# --------------------------------------------------------------------- goldens

def make_cell(kind, x, h0, c0, w_out, w_h, w_c):
    _, gates = CELLS[kind]
    H, I = CONFIG["hidden_size"], CONFIG["input_size"]
    m = make_module(kind)
    names = [n for n, _ in m.named_parameters()]
    expected = [f"{w}_{a}_l{l}" for l in range(2) for w in ("weight", "bias") for a in ("ih", "hh")]
    assert sorted(names) == sorted(expected), names
    for n, p in m.named_parameters():
        assert p.dtype == torch.float64, (kind, n, p.dtype)
        rows = gates * H
        want = [rows, I if n == "weight_ih_l0" else H] if n.startswith("weight") else [rows]
        assert list(p.shape) == want, (kind, n, list(p.shape), want)

    out = {f"{kind}.param.{n}": p.detach().clone() for n, p in m.named_parameters()}
    lstm = kind == "lstm"
    # Cloned: safetensors refuses tensors that share storage.
    out.update({f"{kind}.x": x.clone(), f"{kind}.h0": h0.clone(),
                f"{kind}.w_out": w_out.clone(), f"{kind}.w_h": w_h.clone()})
    if lstm:
        out.update({"lstm.c0": c0.clone(), "lstm.w_c": w_c.clone()})

    # Full case with the given initial state, and the loss's gradients.
    xi, h0i, c0i = (t.clone().requires_grad_(True) for t in (x, h0, c0))
    if lstm:
        y, (hn, cn) = m(xi, (h0i, c0i))
        loss = (y * w_out).sum() + (hn * w_h).sum() + (cn * w_c).sum()
    else:
        y, hn = m(xi, h0i)
        loss = (y * w_out).sum() + (hn * w_h).sum()
    loss.backward()
    out[f"{kind}.output"] = y.detach().clone()
    out[f"{kind}.hn"] = hn.detach().clone()
    if lstm:
        out["lstm.cn"] = cn.detach().clone()
    for n, p in m.named_parameters():
        out[f"{kind}.grad.{n}"] = p.grad.detach().clone()
    out[f"{kind}.grad.x"] = xi.grad.clone()
    out[f"{kind}.grad.h0"] = h0i.grad.clone()
    if lstm:
        out["lstm.grad.c0"] = c0i.grad.clone()

    # Check against the formulas: forward and every gradient.
    rp = {n: p.detach().clone().requires_grad_(True) for n, p in m.named_parameters()}
    rx, rh0, rc0 = (t.clone().requires_grad_(True) for t in (x, h0, c0))
    ry, rhn, rcn = reference_forward(kind, rp, rx, rh0, rc0)
    rloss = (ry * w_out).sum() + (rhn * w_h).sum() + ((rcn * w_c).sum() if lstm else 0.0)
    rloss.backward()
    worst = max([assert_close(f"{kind}.output", ry, y), assert_close(f"{kind}.hn", rhn, hn)]
                + [assert_close(f"{kind}.grad.{n}", rp[n].grad, out[f"{kind}.grad.{n}"]) for n in rp]
                + [assert_close(f"{kind}.grad.x", rx.grad, xi.grad),
                   assert_close(f"{kind}.grad.h0", rh0.grad, h0i.grad)]
                + ([assert_close("lstm.cn", rcn, cn), assert_close("lstm.grad.c0", rc0.grad, c0i.grad)]
                   if lstm else []))

    # No initial state: PyTorch starts from zeros.
    with torch.no_grad():
        if lstm:
            yz, (hz, cz) = m(x)
            out["lstm.zero_state.cn"] = cz.clone()
        else:
            yz, hz = m(x)
        out[f"{kind}.zero_state.output"] = yz.clone()
        out[f"{kind}.zero_state.hn"] = hz.clone()
        zeros = torch.zeros_like(h0)
        ryz, rhz, rcz = reference_forward(kind, {n: p.detach() for n, p in m.named_parameters()},
                                          x, zeros, zeros)
        worst = max(worst, assert_close(f"{kind}.zero_state.output", ryz, yz),
                    assert_close(f"{kind}.zero_state.hn", rhz, hz))
        if lstm:
            worst = max(worst, assert_close("lstm.zero_state.cn", rcz, cz))
        assert not torch.equal(yz, y), "zero state should differ from the given state"

    if lstm:
        out.update(make_tbptt(m, x, h0, c0, w_out, y.detach()))
    return out, worst


def make_tbptt(m, x, h0, c0, w_out, full_output):
    S = CONFIG["tbptt"]["split"]
    m.zero_grad(set_to_none=True)
    _, (h_mid, c_mid) = m(x[:, :S], (h0, c0))
    y2, _ = m(x[:, S:], (h_mid.detach(), c_mid.detach()))
    (y2 * w_out[:, S:]).sum().backward()
    grad = m.weight_hh_l0.grad.detach().clone()
    # Same values as the second half of the full run; only the gradient is cut.
    d = (y2.detach() - full_output[:, S:]).abs().max().item()
    assert d <= TOL, f"lstm.tbptt.output2 differs from output[:, {S}:] by {d:.3e}"
    # The same loss without the detach must give another gradient, or the case tests nothing.
    m.zero_grad(set_to_none=True)
    y_full, _ = m(x, (h0, c0))
    (y_full[:, S:] * w_out[:, S:]).sum().backward()
    assert (m.weight_hh_l0.grad - grad).abs().max().item() > 1e-3, "detach made no difference"
    m.zero_grad(set_to_none=True)
    return {"lstm.tbptt.output2": y2.detach().clone(), "lstm.tbptt.grad.weight_hh_l0": grad}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float64)

    x, h0, c0, w_out, w_h, w_c = make_inputs()
    tensors, worst = {}, {}
    for kind in CELLS:
        cell, worst[kind] = make_cell(kind, x, h0, c0, w_out, w_h, w_c)
        tensors.update(cell)
    for k, t in tensors.items():
        assert t.dtype == torch.float64, (k, t.dtype)
        assert torch.isfinite(t).all(), k
        tensors[k] = t.contiguous()

    metadata = {
        "generator": "Tools/golden/rnn_parity.py",
        "torch": torch.__version__,
        "config": json.dumps(CONFIG, sort_keys=True),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata=metadata)
    canonicalize_header(args.out)
    reread = load_file(args.out)
    assert reread.keys() == tensors.keys()
    assert all(torch.equal(reread[k], tensors[k]) for k in tensors)

    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(tensors)} tensors, torch {torch.__version__})")
    for k in sorted(tensors):
        print(f"  {k:36s} {list(tensors[k].shape)}")
    for kind, d in worst.items():
        print(f"{kind}: largest |PyTorch - formulas| over outputs and gradients: {d:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
