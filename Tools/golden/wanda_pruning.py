#!/usr/bin/env python3
"""Golden Wanda and magnitude pruning of the tiny Llama fixture, for LMKit's ModelPruner.

Follows the reference code of Sun et al. 2023 (github.com/locuslab/wanda, lib/prune.py):
  - Wanda: layer by layer, the calibration inputs of layer i come from layers < i already pruned; for
    each linear layer inside it, scaler_row accumulates the squared L2 norm of every input column over
    the calibration tokens; metric = |W| * sqrt(scaler_row); per output row, the lowest metric go
    (torch.sort stable), unstructured (50%) or 2:4 (the 2 lowest of every 4 consecutive columns);
  - magnitude: |W|, the lowest 50% of the whole matrix (torch.sort stable on the flattened metric,
    the first numel * 0.5 removed).
Calibration: 2 chunks of 32 token ids drawn with numpy's default_rng(20261203) from the vocabulary.

Writes Tests/Fixtures/pruning/wanda_tiny_llama.safetensors: "calibration" (int64 [2, 32]) and, for each
mode in (wanda_50, wanda_2_4, magnitude_50), "<mode>.<parameter>" the pruned weight of every linear
layer. Pinned: torch 2.13.0 (CPU), transformers 5.23.0, numpy 2.4.6. Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/wanda_pruning.py
"""

import os

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import LlamaForCausalLM

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(REPO_ROOT, "Tests", "Fixtures", "llama", "tiny-llama")
OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "pruning", "wanda_tiny_llama.safetensors")


def linears(layer):
    return {n: m for n, m in layer.named_modules() if isinstance(m, torch.nn.Linear)}


def prune_wanda(model, ids, nm=None):
    layers = model.model.layers
    for i, layer in enumerate(layers):
        subset = linears(layer)
        sums = {n: torch.zeros(m.in_features, dtype=torch.float64) for n, m in subset.items()}

        def hook(name):
            def f(_, inp, __):
                x = inp[0].detach().reshape(-1, inp[0].shape[-1]).double()
                sums[name] += (x * x).sum(0)
            return f

        handles = [m.register_forward_hook(hook(n)) for n, m in subset.items()]
        with torch.no_grad():
            for chunk in ids:
                model(chunk.unsqueeze(0))
        for h in handles:
            h.remove()
        for n, m in subset.items():
            w = m.weight.data
            metric = w.abs() * torch.sqrt(sums[n]).float().reshape(1, -1)
            mask = torch.zeros_like(metric, dtype=torch.bool)
            if nm is None:
                order = torch.sort(metric, dim=-1, stable=True)[1]
                mask.scatter_(1, order[:, : int(metric.shape[1] * 0.5)], True)
            else:
                n_, m_ = nm
                for g in range(0, metric.shape[1], m_):
                    block = metric[:, g:g + m_]
                    order = torch.sort(block, dim=-1, stable=True)[1]
                    mask.scatter_(1, g + order[:, :n_], True)
            w[mask] = 0


def prune_magnitude(model):
    for layer in model.model.layers:
        for m in linears(layer).values():
            w = m.weight.data
            order = torch.sort(w.abs().flatten(), stable=True)[1]
            flat = w.view(-1)
            flat[order[: int(w.numel() * 0.5)]] = 0


def pruned(model, prefix):
    return {f"{prefix}.{n}.weight": m.weight.data.clone() for i, layer in enumerate(model.model.layers)
            for n, m in [(f"model.layers.{i}.{k}", v) for k, v in linears(layer).items()]}


def main():
    torch.manual_seed(0)
    base = LlamaForCausalLM.from_pretrained(MODEL, torch_dtype=torch.float32).eval()
    rng = np.random.default_rng(20261203)
    ids = torch.tensor(rng.integers(0, base.config.vocab_size, (2, 32)), dtype=torch.int64)
    out = {"calibration": ids}
    for mode in ("wanda_50", "wanda_2_4", "magnitude_50"):
        model = LlamaForCausalLM.from_pretrained(MODEL, torch_dtype=torch.float32).eval()
        if mode == "wanda_50":
            prune_wanda(model, ids)
        elif mode == "wanda_2_4":
            prune_wanda(model, ids, nm=(2, 4))
        else:
            prune_magnitude(model)
        out.update(pruned(model, mode))
    save_file({k: v.contiguous() for k, v in out.items()}, OUT)
    print(f"wrote {OUT}: {len(out)} tensors")


if __name__ == "__main__":
    main()
