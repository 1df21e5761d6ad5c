#!/usr/bin/env python3
"""Golden-file generator for LMKit's GPT-2 parity test (llm.c test_gpt2 style).

The reference is Hugging Face transformers' own GPT2LMHeadModel, built from a
config (nothing is downloaded), float32 on the CPU, eager attention:

  GPT2Config(vocab_size=65, n_positions=32, n_embd=48, n_layer=2, n_head=4,
             activation_function="gelu_new", resid/embd/attn_pdrop=0,
             layer_norm_epsilon=1e-5, tie_word_embeddings=True)

Initialization: torch.manual_seed(0), then the constructor's own init
(normal(0, 0.02) weights, c_proj scaled by 1/sqrt(2 * n_layer), zero biases,
LayerNorm 1/0). HF's init leaves every bias at 0 and every LayerNorm weight at
1, so their gradients would test little; walking model.named_parameters() in
order with a torch.Generator seeded 3, every LayerNorm weight becomes
1 + 0.1 * randn and every bias (LayerNorm and Conv1D) 0.02 * randn.

Inputs: input_ids = randint(0, 65, [2, 16]) (generator seed 1), targets the
same with seed 2. loss = F.cross_entropy(logits.view(-1, 65), targets.view(-1)):
every position has its own target, not the shifted HF `labels=` loss.

Training: 10 steps in train mode of torch.optim.AdamW(lr=1e-3,
betas=(0.9, 0.95), eps=1e-8, foreach=False, fused=False), weight_decay 0.1 for
the parameters with >= 2 dims (wte, wpe, Conv1D weights) and 0.0 for the rest;
before each step clip_grad_norm_(model.parameters(), 1.0).

Writes (paths relative to the repository root):

Tests/Fixtures/gpt/gpt_parity.safetensors, keys:
  (no initial parameters: they are tiny-gpt2/model.safetensors, below, which
   the script asserts equal to the model before training; HF names and layout,
   Conv1D weights [in, out], lm_head.weight left out as tied to wte)
  input_ids [2,16] int64, targets [2,16] int64
  logits [2,16,65]   step-0 forward
  loss [1]           step-0 loss
  grad.<key>     step-0 gradients (before clipping); grad.transformer.wte.weight
                 is the full gradient of the tied matrix (embedding + lm_head)
  losses [10]        loss of step i, computed before update i
  grad_norms [10]    global L2 norm of all gradients before clipping, step i
  final.<key>    the parameters after the 10th update
  __metadata__: config (exactly the written config.json), optimizer, init,
                inputs, loss, keys (JSON list of the 28 <key>s), torch,
                transformers, generator.

Tests/Fixtures/gpt/tiny-gpt2/: the same initial model (after the tweak) as
model.save_pretrained(dir, safe_serialization=True) writes it: config.json,
generation_config.json, model.safetensors (tied lm_head.weight not stored).

Run with the reference venv (about 5 s); the outputs are byte-identical
across runs with the same versions:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/gpt_parity.py [--out PATH] [--model-dir DIR]
"""

import os

# Before importing transformers: never reach a hub, no progress bars.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import shutil
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file

from safetensors_header import canonicalize_header
from transformers import GPT2Config, GPT2LMHeadModel

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO_ROOT, "Tests", "Fixtures", "gpt")
DEFAULT_OUT = os.path.join(FIXTURES, "gpt_parity.safetensors")
DEFAULT_MODEL_DIR = os.path.join(FIXTURES, "tiny-gpt2")

CONFIG = dict(vocab_size=65, n_positions=32, n_embd=48, n_layer=2, n_head=4,
              activation_function="gelu_new", resid_pdrop=0, embd_pdrop=0, attn_pdrop=0,
              layer_norm_epsilon=1e-5, tie_word_embeddings=True)
INIT = dict(model_seed=0, tweak_seed=3, layer_norm_weight="1 + 0.1 * randn",
            bias="0.02 * randn", applies_to="LayerNorm weights; every bias (LayerNorm, Conv1D)",
            order="model.named_parameters()", rest="GPT2PreTrainedModel._init_weights")
INPUTS = dict(batch=2, seq_len=16, input_ids_seed=1, targets_seed=2, low=0, high=65)
STEPS = 10
OPTIMIZER = dict(name="torch.optim.AdamW", lr=1e-3, betas=[0.9, 0.95], eps=1e-8,
                 weight_decay=0.1, weight_decay_applies_to="p.dim() >= 2", other_weight_decay=0.0,
                 clip_grad_norm=1.0, steps=STEPS, foreach=False, fused=False, mode="train")
LOSS = "F.cross_entropy(logits.view(-1, 65), targets.view(-1)), mean over all 32 positions, no shift"


def build_model():
    torch.manual_seed(INIT["model_seed"])
    config = GPT2Config(**CONFIG)
    # Eager attention: the textbook masked softmax(QK^T / sqrt(hs)) V that
    # LMKit implements; SDPA is checked against it in check_folder().
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config)
    assert model.lm_head.weight is model.transformer.wte.weight, "lm_head is not tied to wte"
    assert not list(model.named_buffers()), [n for n, _ in model.named_buffers()]

    layer_norms = {id(m.weight) for m in model.modules() if isinstance(m, nn.LayerNorm)}
    g = torch.Generator().manual_seed(INIT["tweak_seed"])
    with torch.no_grad():
        for name, p in model.named_parameters():
            if id(p) in layer_norms:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
    return model


def param_keys(model):
    """state_dict keys that are parameters, minus the tied lm_head.weight."""
    params = {n for n, _ in model.named_parameters()}  # tied weights listed once
    keys = [k for k in model.state_dict() if k in params]
    assert "lm_head.weight" not in keys and "transformer.wte.weight" in keys
    assert len(keys) == 4 + 12 * CONFIG["n_layer"], keys
    return keys


def snapshot(model, keys, prefix):
    sd = model.state_dict()
    return {f"{prefix}{k}": sd[k].detach().clone().contiguous() for k in keys}


def make_optimizer(model):
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": OPTIMIZER["weight_decay"]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": OPTIMIZER["other_weight_decay"]},
    ]
    return torch.optim.AdamW(groups, lr=OPTIMIZER["lr"], betas=tuple(OPTIMIZER["betas"]),
                             eps=OPTIMIZER["eps"], foreach=False, fused=False)


def forward(model, input_ids, targets):
    logits = model(input_ids=input_ids, use_cache=False).logits                   # [B, T, V]
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
    return logits, loss


def train(model, keys, input_ids, targets):
    out = {}
    model.train()
    opt = make_optimizer(model)
    named = dict(model.named_parameters())
    losses, norms = [], []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        logits, loss = forward(model, input_ids, targets)
        loss.backward()
        if step == 0:
            out["logits"] = logits.detach().clone().contiguous()
            out["loss"] = loss.detach().reshape(1).clone()
            for k in keys:
                out[f"grad.{k}"] = named[k].grad.detach().clone().contiguous()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), OPTIMIZER["clip_grad_norm"],
                                              foreach=False)
        losses.append(loss.item())
        norms.append(norm.item())
        opt.step()
    out["losses"] = torch.tensor(losses, dtype=torch.float32)
    out["grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    out.update(snapshot(model, keys, "final."))

    # The tied wte gradient must hold the lm_head part: rows of tokens that
    # never appear in input_ids get gradient only through the output layer.
    unused = sorted(set(range(CONFIG["vocab_size"])) - set(input_ids.flatten().tolist()))
    assert unused and out["grad.transformer.wte.weight"][unused].abs().sum() > 0
    return out


def save_folder(model, model_dir):
    """save_pretrained into a fresh folder; returns the config.json text."""
    if os.path.isdir(model_dir):
        shutil.rmtree(model_dir)
    model.save_pretrained(model_dir, safe_serialization=True)
    with open(os.path.join(model_dir, "config.json")) as f:
        text = f.read()
    assert text == model.config.to_json_string()
    stored = load_file(os.path.join(model_dir, "model.safetensors"))
    assert "lm_head.weight" not in stored, "save_pretrained stored the tied lm_head"
    return text


def check_folder(model_dir, tensors):
    """Reload the folder as a user would; eager must reproduce the golden
    logits exactly and the default (SDPA) attention to float32 precision."""
    ids = tensors["input_ids"]
    for impl, tol in (("eager", 0.0), ("sdpa", 1e-5)):
        m = GPT2LMHeadModel.from_pretrained(model_dir, local_files_only=True, attn_implementation=impl)
        assert m.lm_head.weight is m.transformer.wte.weight
        with torch.no_grad():
            logits = m(input_ids=ids, use_cache=False).logits
        diff = (logits - tensors["logits"]).abs().max().item()
        assert diff <= tol, (impl, diff)
        print(f"reloaded {os.path.relpath(model_dir, REPO_ROOT)} ({impl}): max |logits - golden| = {diff:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    # The config's bos/eos ids (50256) lie outside the 65-token vocabulary;
    # transformers warns about it on every construction and load.
    transformers.logging.set_verbosity_error()

    model = build_model()
    keys = param_keys(model)
    config_json = save_folder(model, args.model_dir)  # before training changes the weights
    stored = load_file(os.path.join(args.model_dir, "model.safetensors"))
    initial = snapshot(model, keys, "")
    assert stored.keys() == initial.keys() and all(torch.equal(stored[k], initial[k]) for k in keys)

    V, B, T = CONFIG["vocab_size"], INPUTS["batch"], INPUTS["seq_len"]
    input_ids = torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(INPUTS["input_ids_seed"]),
                              dtype=torch.int64)
    targets = torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(INPUTS["targets_seed"]),
                            dtype=torch.int64)

    tensors = {"input_ids": input_ids, "targets": targets}
    tensors.update(train(model, keys, input_ids, targets))
    for k, t in tensors.items():
        assert t.dtype in (torch.float32, torch.int64), (k, t.dtype)
        assert torch.isfinite(t).all() if t.is_floating_point() else True, k
    check_folder(args.model_dir, tensors)

    metadata = {
        "generator": "Tools/golden/gpt_parity.py",
        "config": config_json,
        "optimizer": json.dumps(OPTIMIZER, sort_keys=True),
        "init": json.dumps(INIT, sort_keys=True),
        "inputs": json.dumps(INPUTS, sort_keys=True),
        "loss": LOSS,
        "keys": json.dumps(keys),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata=metadata)
    canonicalize_header(args.out)
    reread = load_file(args.out)
    assert reread.keys() == tensors.keys()
    assert all(torch.equal(reread[k], tensors[k]) for k in tensors)

    print(f"wrote {os.path.relpath(args.out, REPO_ROOT)} ({os.path.getsize(args.out)} bytes, "
          f"{len(tensors)} tensors, torch {torch.__version__}, transformers {transformers.__version__})")
    for name in sorted(os.listdir(args.model_dir)):
        path = os.path.join(args.model_dir, name)
        print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")
    for k in tensors:
        t = tensors[k]
        print(f"  {k:48s} {str(t.dtype).replace('torch.', ''):6s} {list(t.shape)}")
    print("losses:     [" + ", ".join(f"{v:.6f}" for v in tensors["losses"].tolist()) + "]")
    print("grad_norms: [" + ", ".join(f"{v:.4f}" for v in tensors["grad_norms"].tolist()) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
