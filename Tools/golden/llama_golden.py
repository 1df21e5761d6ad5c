#!/usr/bin/env python3
"""Golden files for LMKit's Llama-family loader: tiny LlamaForCausalLM (llama3 RoPE scaling) and Qwen2ForCausalLM.

The references are transformers' own LlamaForCausalLM and Qwen2ForCausalLM,
built from configs (nothing is downloaded), float32 on the CPU, eval mode,
eager attention (attn_implementation="eager"), no attention mask,
use_cache=False.

  llama: LlamaConfig(vocab_size=96, hidden_size=32, intermediate_size=48,
         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
         head_dim=8, max_position_embeddings=128, rms_norm_eps=1e-5,
         rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0,
         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
         "original_max_position_embeddings": 16}, tie_word_embeddings=False,
         attention_bias=False, mlp_bias=False, hidden_act="silu")
         transformers 5 keeps RoPE settings in `rope_parameters` (rope_theta
         included); the script passes that form and asserts it equals what the
         legacy rope_theta= / rope_scaling= arguments give. config.json has
         "rope_parameters" and neither "rope_scaling" nor a top-level
         "rope_theta". With head_dim 8 the base wavelengths 2*pi/inv_freq are
         6.28, 167, 4443, 118143; low_freq_wavelen = 16/1 = 16 and
         high_freq_wavelen = 16/4 = 4, so frequency 0 lies in the smoothed band
         (smooth factor 0.5155, inv_freq 1 -> 0.5760) and frequencies 1..3
         are divided by 8; none is left unchanged. The script asserts exactly
         that, and that the logits at positions 40..47 differ from those of the
         same weights with plain RoPE.
  qwen2: Qwen2Config(vocab_size=96, hidden_size=32, intermediate_size=48,
         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
         max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=1000000.0,
         tie_word_embeddings=True, use_sliding_window=False)
         (q/k/v projections have biases; lm_head is tied to embed_tokens and
         save_pretrained does not store lm_head.weight.)

Init: torch.manual_seed(0) and the constructor's init, then every parameter is
redrawn, walking model.named_parameters() in order (tied weights once) with a
torch.Generator seeded 10 (llama) / 20 (qwen2): RMSNorm weights
1 + 0.1 * randn, biases 0.1 * randn, every other parameter (matrices,
embeddings) 0.2 * randn.

Writes (paths relative to the repository root):

Tests/Fixtures/llama/tiny-llama/, Tests/Fixtures/llama/tiny-qwen2/:
  model.save_pretrained(dir, safe_serialization=True): config.json,
  generation_config.json, model.safetensors (float32; its header is then
  canonicalized with safetensors_header.canonicalize_header).

Tests/Fixtures/llama/goldens.safetensors, for NAME in (llama, qwen2):
  NAME.input_ids            int64   [2, 12]     randint(0, 96), seed 11 / 21
  NAME.logits               float32 [2, 12, 96]
  NAME.ids_long             int64   [1, 48]     randint(0, 96), seed 12 / 22
  NAME.logits_positions_40  float32 [1, 8, 96]  logits of ids_long, positions 40..47 only
  __metadata__: generator, NAME.config (exactly the written config.json),
                NAME.inv_freq (llama: the model's rotary inv_freq), init,
                inputs, forward, torch, transformers.

The script reloads each folder with from_pretrained and asserts that eager
attention reproduces the golden logits exactly and SDPA to float32 precision.

Run with the reference venv (a few seconds); the outputs are byte-identical
across runs with the same versions (torch 2.13.0+cpu, transformers 5.23.0,
safetensors 0.8.0, numpy 2.4.6):
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/llama_golden.py [--out-dir DIR]
"""

import os

# Before importing transformers: never reach a hub, no progress bars.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import copy
import json
import math
import shutil
import struct
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file

from safetensors_header import canonicalize_header
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "Tests", "Fixtures", "llama")

LLAMA_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 16}
LLAMA_CONFIG = dict(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=128,
                    rms_norm_eps=1e-5, tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                    hidden_act="silu")
LLAMA_THETA = 500000.0
QWEN2_CONFIG = dict(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                    rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
                    use_sliding_window=False)

MODELS = {
    # name: (folder, seeds)
    "llama": ("tiny-llama", dict(redraw=10, input_ids=11, ids_long=12)),
    "qwen2": ("tiny-qwen2", dict(redraw=20, input_ids=21, ids_long=22)),
}
INIT = dict(model_seed=0, redraw_seeds={n: s["redraw"] for n, (_, s) in MODELS.items()},
            order="model.named_parameters()", rms_norm_weight="1 + 0.1 * randn", bias="0.1 * randn",
            other="0.2 * randn (matrices, embeddings)")
INPUTS = dict(input_ids=dict(shape=[2, 12], low=0, high=96,
                             seeds={n: s["input_ids"] for n, (_, s) in MODELS.items()}),
              ids_long=dict(shape=[1, 48], low=0, high=96, keep_positions=[40, 48],
                            seeds={n: s["ids_long"] for n, (_, s) in MODELS.items()}))
FORWARD = ("model(input_ids=ids, use_cache=False).logits; eval mode, float32, CPU, "
           "attn_implementation='eager', no attention mask")
MAX_FOLDER_BYTES = 80 * 1024


def llama_config():
    rope_parameters = dict(LLAMA_ROPE, rope_theta=LLAMA_THETA)
    config = LlamaConfig(**LLAMA_CONFIG, rope_parameters=rope_parameters)
    # The legacy arguments (rope_theta=, rope_scaling=) must give the same config.
    legacy = LlamaConfig(**LLAMA_CONFIG, rope_theta=LLAMA_THETA, rope_scaling=dict(LLAMA_ROPE))
    assert legacy.to_dict() == config.to_dict(), (legacy.to_dict(), config.to_dict())
    return config


def qwen2_config():
    return Qwen2Config(**QWEN2_CONFIG)


def redraw(model, seed):
    norms = {id(m.weight) for m in model.modules() if type(m).__name__.endswith("RMSNorm")}
    assert norms
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if id(p) in norms:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                assert p.dim() >= 2, name
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def build(name):
    torch.manual_seed(INIT["model_seed"])
    config = llama_config() if name == "llama" else qwen2_config()
    config._attn_implementation = "eager"
    cls = LlamaForCausalLM if name == "llama" else Qwen2ForCausalLM
    model = cls(config)
    redraw(model, MODELS[name][1]["redraw"])
    model.eval()
    tied = model.lm_head.weight is model.model.embed_tokens.weight
    assert tied == config.tie_word_embeddings, (name, tied)
    return model


def check_llama_rope(model):
    """The llama3 scaling is active and changes the frequencies as the docstring says."""
    cfg = model.config
    head_dim = cfg.head_dim
    inv_freq = model.model.rotary_emb.inv_freq
    plain = 1.0 / (LLAMA_THETA ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    r = LLAMA_ROPE
    low_wavelen = r["original_max_position_embeddings"] / r["low_freq_factor"]
    high_wavelen = r["original_max_position_embeddings"] / r["high_freq_factor"]
    rows = []
    for i, (f0, f1) in enumerate(zip(plain.tolist(), inv_freq.tolist())):
        wavelen = 2 * math.pi / f0
        if wavelen < high_wavelen:
            band, expect = "high (unchanged)", f0
        elif wavelen > low_wavelen:
            band, expect = "low (/factor)", f0 / r["factor"]
        else:
            s = (r["original_max_position_embeddings"] / wavelen - r["low_freq_factor"]) / \
                (r["high_freq_factor"] - r["low_freq_factor"])
            band, expect = f"medium (smoothed, s={s:.4f})", (1 - s) * f0 / r["factor"] + s * f0
        assert math.isclose(f1, expect, rel_tol=1e-6), (i, f1, expect)
        rows.append((i, wavelen, f0, f1, band, f1 != f0))
    assert not torch.equal(inv_freq, plain), "llama3 RoPE scaling is not active"
    print(f"llama rotary inv_freq (head_dim {head_dim}, theta {LLAMA_THETA:g}; "
          f"high_freq_wavelen {high_wavelen:g}, low_freq_wavelen {low_wavelen:g}):")
    for i, wl, f0, f1, band, changed in rows:
        print(f"  i={i} wavelen {wl:10.2f}  plain {f0:.9g} -> llama3 {f1:.9g}  "
              f"{'changed' if changed else 'same'}  band {band}")
    return inv_freq


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=ids, use_cache=False).logits.detach().clone().contiguous()


def check_rope_matters(model, ids_long, golden):
    """Same weights with plain RoPE give different logits at positions 40..47."""
    cfg = copy.deepcopy(model.config)
    cfg.rope_parameters = {"rope_type": "default", "rope_theta": LLAMA_THETA}
    plain = LlamaForCausalLM(cfg)
    plain.load_state_dict(model.state_dict())
    plain.eval()
    diff = (logits_of(plain, ids_long)[:, 40:48] - golden).abs().max().item()
    assert diff > 1e-3, diff
    print(f"llama: max |logits(plain RoPE) - logits(llama3 RoPE)| at positions 40..47 = {diff:.4g}")


def save_folder(model, folder):
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    model.save_pretrained(folder, safe_serialization=True)
    st = os.path.join(folder, "model.safetensors")
    canonicalize_header(st)
    with open(os.path.join(folder, "config.json")) as f:
        text = f.read()
    assert text == model.config.to_json_string()
    stored = load_file(st)
    sd = model.state_dict()
    params = {n for n, _ in model.named_parameters()}
    expected = [k for k in sd if k in params]  # tied lm_head.weight is not a separate parameter
    assert sorted(stored) == sorted(expected), (sorted(stored), sorted(expected))
    assert all(torch.equal(stored[k], sd[k]) and stored[k].dtype == torch.float32 for k in stored)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    return text, size


def safetensors_listing(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    meta = header.pop("__metadata__", None)
    return meta, [(k, v["dtype"], v["shape"]) for k, v in header.items()]


def check_reload(name, folder, tensors):
    cls = LlamaForCausalLM if name == "llama" else Qwen2ForCausalLM
    for impl, tol in (("eager", 0.0), ("sdpa", 1e-5)):
        m = cls.from_pretrained(folder, local_files_only=True, attn_implementation=impl)
        m.eval()
        if m.config.tie_word_embeddings:
            assert m.lm_head.weight is m.model.embed_tokens.weight
        for ids_key, out_key, sl in ((f"{name}.input_ids", f"{name}.logits", slice(None)),
                                      (f"{name}.ids_long", f"{name}.logits_positions_40", slice(40, 48))):
            golden = tensors[out_key]
            diff = (logits_of(m, tensors[ids_key])[:, sl] - golden).abs().max().item()
            scale = golden.abs().max().item()
            assert diff <= tol * max(1.0, scale), (name, impl, out_key, diff)
            print(f"reloaded {os.path.relpath(folder, REPO_ROOT)} ({impl}): "
                  f"max |{out_key} - golden| = {diff:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=DEFAULT_OUT_DIR)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    transformers.logging.set_verbosity_error()

    os.makedirs(args.out_dir, exist_ok=True)
    tensors, metadata, report = {}, {}, []
    for name, (folder_name, seeds) in MODELS.items():
        model = build(name)
        folder = os.path.join(args.out_dir, folder_name)
        config_json, size = save_folder(model, folder)

        V = model.config.vocab_size
        ids = torch.randint(0, V, tuple(INPUTS["input_ids"]["shape"]),
                            generator=torch.Generator().manual_seed(seeds["input_ids"]), dtype=torch.int64)
        ids_long = torch.randint(0, V, tuple(INPUTS["ids_long"]["shape"]),
                                 generator=torch.Generator().manual_seed(seeds["ids_long"]), dtype=torch.int64)
        logits = logits_of(model, ids)
        logits_40 = logits_of(model, ids_long)[:, 40:48].clone().contiguous()
        assert list(logits.shape) == [2, 12, V] and list(logits_40.shape) == [1, 8, V]
        tensors[f"{name}.input_ids"] = ids
        tensors[f"{name}.logits"] = logits
        tensors[f"{name}.ids_long"] = ids_long
        tensors[f"{name}.logits_positions_40"] = logits_40
        metadata[f"{name}.config"] = config_json

        if name == "llama":
            inv_freq = check_llama_rope(model)
            metadata["llama.inv_freq"] = json.dumps(inv_freq.tolist())
            check_rope_matters(model, ids_long, logits_40)
        report.append((name, folder, size))

    for k, t in tensors.items():
        assert t.dtype in (torch.float32, torch.int64), (k, t.dtype)
        assert torch.isfinite(t).all() if t.is_floating_point() else True, k
    for name, (folder_name, _) in MODELS.items():
        check_reload(name, os.path.join(args.out_dir, folder_name), tensors)

    metadata.update({
        "generator": "Tools/golden/llama_golden.py",
        "init": json.dumps(INIT, sort_keys=True),
        "inputs": json.dumps(INPUTS, sort_keys=True),
        "forward": FORWARD,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    })
    out = os.path.join(args.out_dir, "goldens.safetensors")
    save_file(tensors, out, metadata=metadata)
    canonicalize_header(out)
    reread = load_file(out)
    assert reread.keys() == tensors.keys() and all(torch.equal(reread[k], tensors[k]) for k in tensors)

    print(f"wrote {os.path.relpath(out, REPO_ROOT)} ({os.path.getsize(out)} bytes, {len(tensors)} tensors, "
          f"torch {torch.__version__}, transformers {transformers.__version__})")
    for k, t in tensors.items():
        extra = f"  max|v| = {t.abs().max().item():.6g}" if t.is_floating_point() else ""
        print(f"  {k:28s} {str(t.dtype).replace('torch.', ''):7s} {list(t.shape)}{extra}")
    for name, folder, size in report:
        note = "" if size < MAX_FOLDER_BYTES else f"  (over {MAX_FOLDER_BYTES} bytes)"
        print(f"wrote {os.path.relpath(folder, REPO_ROOT)}/ ({size} bytes){note}")
        for f in sorted(os.listdir(folder)):
            print(f"  {f} ({os.path.getsize(os.path.join(folder, f))} bytes)")
        meta, rows = safetensors_listing(os.path.join(folder, "model.safetensors"))
        print(f"  model.safetensors: {len(rows)} tensors, metadata {meta}, "
              f"lm_head.weight stored: {any(k == 'lm_head.weight' for k, _, _ in rows)}")
        for k, dt, shape in rows:
            print(f"    {k:42s} {dt} {shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
