#!/usr/bin/env python3
"""Golden distillation losses, for LMKit's DistillationLoss.

The references are PyTorch's own losses as knowledge-distillation code uses them:
  - soft targets: F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean") * T**2
    on the logits flattened to rows (Hinton et al. 2015; DistilBERT's distiller.py);
  - hidden states: nn.CosineEmbeddingLoss()(hs, ht, ones) on the hidden states flattened to rows (DistilBERT).

Writes Tests/Fixtures/engine/distillation_losses.safetensors: student [2, 3, 7] and teacher [2, 3, 7]
logits, soft (the loss at T = 2.5), soft_grad (d loss / d student), student_hidden and teacher_hidden
[2, 3, 5], cosine and cosine_grad. Pinned: torch 2.13.0 (CPU). Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/distillation_losses.py
"""

import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "engine", "distillation_losses.safetensors")
T = 2.5


def main():
    torch.manual_seed(20261203)
    s = (torch.randn(2, 3, 7) * 2).requires_grad_()
    t = torch.randn(2, 3, 7) * 3
    soft = F.kl_div(F.log_softmax(s.reshape(-1, 7) / T, -1), F.softmax(t.reshape(-1, 7) / T, -1), reduction="batchmean") * T**2
    soft.backward()
    hs = torch.randn(2, 3, 5).requires_grad_()
    ht = torch.randn(2, 3, 5)
    cos = torch.nn.CosineEmbeddingLoss()(hs.reshape(-1, 5), ht.reshape(-1, 5), torch.ones(6))
    cos.backward()
    out = {"student": s.detach(), "teacher": t, "soft": soft.detach().reshape(1), "soft_grad": s.grad,
           "student_hidden": hs.detach(), "teacher_hidden": ht, "cosine": cos.detach().reshape(1), "cosine_grad": hs.grad}
    save_file({k: v.contiguous() for k, v in out.items()}, OUT, metadata={"temperature": str(T), "torch": torch.__version__})
    print("soft", float(soft), "cosine", float(cos), "wrote", OUT)


if __name__ == "__main__":
    main()
