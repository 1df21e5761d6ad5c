#!/usr/bin/env python3
"""Golden-file generator for LMKit's engine parity tests.

Writes Tests/Fixtures/engine/engine_parity.safetensors: a tiny model
("gpt": GPT-2-style block) trained for 10 AdamW steps in float32 with
PyTorch, plus op-level goldens under "ops.". The decoder models (Llama,
Gemma 3) are trained the same way, with transformers' own classes, by
Tools/golden/decoder_training.py, which imports init_params and train
from here.

Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/engine_parity.py [--out PATH]

Keys, for P = gpt:
  P.param.<name>   initial parameters
  P.idx [B,T] int64, P.targets [B,T] int64 (-1 = ignored)
  P.logits [B,T,V] step-0 forward, P.loss [1] step-0 loss
  P.grad.<name>    step-0 gradients (before clipping)
  P.losses [10]    loss of each step, before its update
  P.grad_norms [10] total grad norm returned by clip_grad_norm_ each step
  P.final.<name>   parameters after the 10th step
ops.* : see make_ops().
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from safetensors_header import canonicalize_header

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "engine", "engine_parity.safetensors")

STEPS = 10
TRAIN = dict(lr=1e-2, betas=[0.9, 0.95], eps=1e-8, weight_decay=0.1,
             weight_decay_applies_to="p.dim() >= 2", clip_grad_norm=1.0, steps=STEPS,
             init_seed=1234, data_seed=42)

GPT_CONFIG = dict(vocab_size=13, seq_len=6, n_embd=16, n_head=4, head_size=4, batch=3,
                  layer_norm_eps=1e-5, n_layer=1, tied_lm_head=False, gelu="tanh")


# --------------------------------------------------------------------- gpt

class GPTAttention(nn.Module):
    def __init__(self, C, nh):
        super().__init__()
        self.n_head = nh
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)

    def forward(self, x):
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, nh, hs).transpose(1, 2)
        k = k.view(B, T, nh, hs).transpose(1, 2)
        v = v.view(B, T, nh, hs).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class GPTMLP(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class GPTBlock(nn.Module):
    def __init__(self, C, nh, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=eps)
        self.attn = GPTAttention(C, nh)
        self.ln_2 = nn.LayerNorm(C, eps=eps)
        self.mlp = GPTMLP(C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        V, T, C = cfg["vocab_size"], cfg["seq_len"], cfg["n_embd"]
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([GPTBlock(C, cfg["n_head"], cfg["layer_norm_eps"])])
        self.ln_f = nn.LayerNorm(C, eps=cfg["layer_norm_eps"])
        self.lm_head = nn.Linear(C, V, bias=False)

    def forward(self, idx, targets):
        B, T = idx.shape
        pos = torch.arange(T, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


GPT_PARAM_ORDER = [
    "wte.weight", "wpe.weight",
    "h.0.ln_1.weight", "h.0.ln_1.bias",
    "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias",
    "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias",
    "h.0.ln_2.weight", "h.0.ln_2.bias",
    "h.0.mlp.c_fc.weight", "h.0.mlp.c_fc.bias",
    "h.0.mlp.c_proj.weight", "h.0.mlp.c_proj.bias",
    "ln_f.weight", "ln_f.bias",
    "lm_head.weight",
]


# ------------------------------------------------------------------ common

def is_norm_param(name):
    parts = name.split(".")
    return any(p.startswith("ln_") or p.endswith("norm") for p in parts[:-1])


@torch.no_grad()
def init_params(model, order):
    """Init in the listed order from the global RNG (seeded by the caller)."""
    params = dict(model.named_parameters())
    assert set(params) == set(order), (sorted(set(params) ^ set(order)))
    for name in order:
        p = params[name]
        if is_norm_param(name):
            if name.endswith(".weight"):
                p.copy_(1.0 + torch.normal(0.0, 0.1, size=p.shape))
            else:
                p.copy_(torch.normal(0.0, 0.1, size=p.shape))
        elif p.dim() >= 2:
            p.copy_(torch.normal(0.0, 0.3, size=p.shape))
        else:  # bias
            p.copy_(torch.normal(0.0, 0.1, size=p.shape))


def make_optimizer(model):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": TRAIN["weight_decay"]},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=TRAIN["lr"], betas=tuple(TRAIN["betas"]), eps=TRAIN["eps"],
                             foreach=False, fused=False)


def snapshot(model, order, prefix):
    params = dict(model.named_parameters())
    return {f"{prefix}{n}": params[n].detach().clone().contiguous() for n in order}


def train(model, order, prefix, forward):
    out = {}
    out.update(snapshot(model, order, f"{prefix}.param."))
    opt = make_optimizer(model)
    params = list(model.parameters())
    named = dict(model.named_parameters())
    losses, norms = [], []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        logits, loss = forward()
        loss.backward()
        if step == 0:
            out[f"{prefix}.logits"] = logits.detach().clone().contiguous()
            out[f"{prefix}.loss"] = loss.detach().reshape(1).clone()
            for n in order:
                out[f"{prefix}.grad.{n}"] = named[n].grad.detach().clone().contiguous()
        norm = torch.nn.utils.clip_grad_norm_(params, TRAIN["clip_grad_norm"])
        losses.append(loss.item())
        norms.append(norm.item())
        opt.step()
    out[f"{prefix}.losses"] = torch.tensor(losses, dtype=torch.float32)
    out[f"{prefix}.grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    out.update(snapshot(model, order, f"{prefix}.final."))
    return out


def make_gpt():
    cfg = GPT_CONFIG
    V, T, B = cfg["vocab_size"], cfg["seq_len"], cfg["batch"]
    torch.manual_seed(TRAIN["init_seed"])
    model = GPT(cfg)
    init_params(model, GPT_PARAM_ORDER)
    g = torch.Generator().manual_seed(TRAIN["data_seed"])
    idx = torch.randint(0, V, (B, T), generator=g, dtype=torch.int64)
    targets = torch.randint(0, V, (B, T), generator=g, dtype=torch.int64)
    for b, t in [(0, 5), (1, 2), (2, 0)]:
        targets[b, t] = -1
    out = {"gpt.idx": idx, "gpt.targets": targets}
    out.update(train(model, GPT_PARAM_ORDER, "gpt", lambda: model(idx, targets)))
    return out


def make_ops():
    """Op-level goldens. ops.grad.<op> = d/dx sum(op(x) * ops.upstream);
    for cross_entropy (a scalar) it is d loss / d x. layer_norm and rms_norm
    also get gradients w.r.t. their weight/bias (ops.grad.layer_norm_w etc.)."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(4, 7, generator=g)
    upstream = torch.randn(4, 7, generator=g)
    ln_w = 1.0 + 0.1 * torch.randn(7, generator=g)
    ln_b = 0.1 * torch.randn(7, generator=g)
    rms_w = 1.0 + 0.1 * torch.randn(7, generator=g)
    ce_targets = torch.randint(0, 7, (4,), generator=g, dtype=torch.int64)
    ce_targets[2] = -100

    out = {"ops.x": x, "ops.upstream": upstream, "ops.ln_w": ln_w, "ops.ln_b": ln_b,
           "ops.rms_w": rms_w, "ops.ce_targets": ce_targets}

    def rms_norm(t, w):
        return t * torch.rsqrt(t.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    unary = {
        "softmax": lambda t: F.softmax(t, dim=-1),
        "log_softmax": lambda t: F.log_softmax(t, dim=-1),
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "gelu_erf": lambda t: F.gelu(t),
        "silu": F.silu,
    }
    for name, fn in unary.items():
        xi = x.clone().requires_grad_(True)
        y = fn(xi)
        (y * upstream).sum().backward()
        out[f"ops.{name}"] = y.detach().clone()
        out[f"ops.grad.{name}"] = xi.grad.clone()

    xi = x.clone().requires_grad_(True)
    w, b = ln_w.clone().requires_grad_(True), ln_b.clone().requires_grad_(True)
    y = F.layer_norm(xi, (7,), w, b, eps=1e-5)
    (y * upstream).sum().backward()
    out["ops.layer_norm"] = y.detach().clone()
    out["ops.grad.layer_norm"] = xi.grad.clone()
    out["ops.grad.layer_norm_w"] = w.grad.clone()
    out["ops.grad.layer_norm_b"] = b.grad.clone()

    xi = x.clone().requires_grad_(True)
    w = rms_w.clone().requires_grad_(True)
    y = rms_norm(xi, w)
    (y * upstream).sum().backward()
    out["ops.rms_norm"] = y.detach().clone()
    out["ops.grad.rms_norm"] = xi.grad.clone()
    out["ops.grad.rms_norm_w"] = w.grad.clone()

    xi = x.clone().requires_grad_(True)
    loss = F.cross_entropy(xi, ce_targets, ignore_index=-100)
    loss.backward()
    out["ops.cross_entropy"] = loss.detach().reshape(1).clone()
    out["ops.grad.cross_entropy"] = xi.grad.clone()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    tensors = {}
    tensors.update(make_gpt())
    tensors.update(make_ops())
    for k, t in tensors.items():
        assert t.dtype in (torch.float32, torch.int64), (k, t.dtype)
        tensors[k] = t.contiguous()

    metadata = {
        "generator": "Tools/golden/engine_parity.py",
        "torch": torch.__version__,
        "gpt.config": json.dumps(GPT_CONFIG, sort_keys=True),
        "train.config": json.dumps(TRAIN, sort_keys=True),
        "ops.config": json.dumps(dict(seed=7, layer_norm_eps=1e-5, rms_norm_eps=1e-6,
                                      ce_ignore_index=-100, softmax_dim=-1,
                                      grad="d/dx sum(op(x) * ops.upstream); cross_entropy: d loss/dx")),
    }

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata=metadata)
    canonicalize_header(args.out)
    reread = load_file(args.out)
    assert reread.keys() == tensors.keys()
    assert all(torch.equal(reread[k], tensors[k]) for k in tensors)

    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(tensors)} tensors, torch {torch.__version__})")
    for k in sorted(tensors):
        t = tensors[k]
        print(f"  {k:48s} {str(t.dtype).replace('torch.', ''):8s} {list(t.shape)}")
    for p in ("gpt",):
        losses = ", ".join(f"{v:.6f}" for v in tensors[f"{p}.losses"].tolist())
        norms = ", ".join(f"{v:.4f}" for v in tensors[f"{p}.grad_norms"].tolist())
        print(f"{p}.losses:     [{losses}]")
        print(f"{p}.grad_norms: [{norms}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
