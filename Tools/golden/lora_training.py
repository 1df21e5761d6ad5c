#!/usr/bin/env python3
"""Golden file for LoRA and QLoRA training parity, against transformers + peft.

Each model is a transformers class built from a config (nothing is downloaded), float32 on the CPU,
eager attention, use_cache=False. Its base weights are drawn by engine_parity.init_params, then
peft's get_peft_model adds LoRA adapters; the adapters (lora_A and lora_B both, so that every
gradient is non-zero from the first step) are drawn by init_params as well, in peft's key order.
10 AdamW steps on the adapters only (engine_parity's optimizer, clipping and seeds).

  llama:  decoder_training.py's Llama (q/k/v/o biases, untied head); LoRA r=4, alpha=8 on
          "all-linear" (every linear layer but lm_head): scaling 2.
  gemma3: decoder_training.py's Gemma 3; LoRA r=4, alpha=8, use_rslora on
          [q_proj, v_proj, down_proj]: scaling 8/sqrt(4) = 4.
  gpt2:   GPT2Config(vocab_size=13, n_embd=16, n_layer=2, n_head=4, n_positions=32, no dropout);
          LoRA r=2, alpha=4 on [c_attn, c_proj] (Conv1D layers, fan_in_fan_out=True): scaling 2.
  qlora:  a Llama with hidden 32, intermediate 64, head_dim 8 (GGUF blocks are 32 wide); every
          linear weight of the layers quantized to Q4_0 by gguf-py (ggml's reference quantizer),
          and the model trained on the dequantized weights; LoRA r=4, alpha=8, q_proj/k_proj/v_proj/
          o_proj/gate_proj/up_proj/down_proj. LMKit trains on the Q4_0 blocks themselves.

Input: batch 3 x 6 ids, right-padded (valid lengths 6, 4, 2): attention_mask [3, 6] 1/0, targets
-1 where padded (ignore_index -1).

Keys, for P in {llama, gemma3, gpt2, qlora}:
  P.base.<name>   the base model's weights, transformers' state_dict names (GPT-2: Conv1D layout)
  P.q4_0.<name>   qlora only: the Q4_0 blocks (uint8) of each quantized weight
  P.param.<key>   initial adapter tensors under peft's saved keys
                  (base_model.model.<module>.lora_A.weight, adapter name removed)
  P.idx, P.targets, P.attention_mask   int64 [3, 6]
  P.logits [3, 6, V] step-0 forward, P.loss [1]
  P.grad.<key>    step-0 adapter gradients (before clipping)
  P.losses [10], P.grad_norms [10], P.final.<key>
  __metadata__: P.config (model config JSON), P.lora (LoraConfig as peft writes it), versions.

Folders, for P in {llama, gpt2} (the interop fixtures): Tests/Fixtures/decoders/peft/P-base/ is the
base model as transformers' save_pretrained writes it (config.json, model.safetensors), and
Tests/Fixtures/decoders/peft/P-adapter/ the initial adapter as peft's save_pretrained writes it
(adapter_config.json, adapter_model.safetensors): loaded together they give P.logits.

Run with the reference venv (seconds):
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/lora_training.py [--out PATH]
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import sys

import gguf
import numpy as np
import peft
import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_training import configs, padded_batch  # noqa: E402
from engine_parity import TRAIN, init_params, make_optimizer, snapshot  # noqa: E402
from safetensors_header import canonicalize_header  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "decoders", "lora_parity.safetensors")
FOLDERS = os.path.join(REPO_ROOT, "Tests", "Fixtures", "decoders", "peft")
STEPS = 10
VOCAB = 13
LAYER_LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def models():
    base = configs()
    gpt2 = transformers.GPT2Config(vocab_size=VOCAB, n_embd=16, n_layer=2, n_head=4, n_positions=32,
                                   resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
                                   attn_implementation="eager", use_cache=False)
    qlora = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, head_dim=8, rms_norm_eps=1e-6,
                                     max_position_embeddings=32, rope_theta=10000.0, tie_word_embeddings=False,
                                     attn_implementation="eager", use_cache=False)
    lora = dict(lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    return {
        "llama": (*base["llama"], peft.LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", **lora)),
        "gemma3": (*base["gemma3"], peft.LoraConfig(r=4, lora_alpha=8, use_rslora=True,
                                                    target_modules=["q_proj", "v_proj", "down_proj"], **lora)),
        "gpt2": (transformers.GPT2LMHeadModel, gpt2,
                 peft.LoraConfig(r=2, lora_alpha=4, target_modules=["c_attn", "c_proj"], fan_in_fan_out=True, **lora)),
        "qlora": (transformers.LlamaForCausalLM, qlora, peft.LoraConfig(r=4, lora_alpha=8, target_modules=LAYER_LINEARS, **lora)),
    }


def quantize_layers(prefix, model):
    """Replace each layer's linear weight by its Q4_0 round trip; return the blocks."""
    out = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".layers." in name and name.endswith("_proj.weight"):
                blocks = gguf.quants.quantize(p.detach().numpy().astype(np.float32), gguf.GGMLQuantizationType.Q4_0)
                p.copy_(torch.from_numpy(gguf.quants.dequantize(blocks, gguf.GGMLQuantizationType.Q4_0)))
                out[f"{prefix}.q4_0.{name}"] = torch.from_numpy(np.ascontiguousarray(blocks)).to(torch.uint8)
    return out


def saved_key(name):
    return name.replace(".default.", ".")


def make(prefix, cls, config, lora, folders):
    config_json = config.to_json_string(use_diff=False)  # before save_pretrained adds to it
    torch.manual_seed(TRAIN["init_seed"])
    model = cls(config)
    init_params(model, [n for n, _ in model.named_parameters()])
    out = quantize_layers(prefix, model) if prefix == "qlora" else {}
    out.update({f"{prefix}.base.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()
                if not k.endswith((".attn.bias", ".attn.masked_bias"))})
    if prefix in ("llama", "gpt2") and folders:
        model.save_pretrained(os.path.join(folders, f"{prefix}-base"), safe_serialization=True)
    model = peft.get_peft_model(model, lora)
    model.train()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(".lora_" in n for n in trainable), trainable
    # lora_A and lora_B: normal(0, 0.3) as init_params' matrices, in peft's order; 0.1 for the wider
    # QLoRA model, whose steps at 0.3 reach gradient norms of ~50 (a trajectory float rounding steers).
    std = 0.1 if prefix == "qlora" else 0.3
    with torch.no_grad():
        named_now = dict(model.named_parameters())
        for n in trainable:
            named_now[n].copy_(torch.normal(0.0, std, size=named_now[n].shape))

    idx, targets, attention_mask = padded_batch()
    out.update({f"{prefix}.idx": idx, f"{prefix}.targets": targets, f"{prefix}.attention_mask": attention_mask})
    if prefix in ("llama", "gpt2") and folders:
        folder = os.path.join(folders, f"{prefix}-adapter")
        model.save_pretrained(folder, safe_serialization=True)
        os.remove(os.path.join(folder, "README.md"))  # peft's model-card template

    named = dict(model.named_parameters())
    params = [named[n] for n in trainable]
    decay = [p for p in params if p.dim() >= 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": TRAIN["weight_decay"]}], lr=TRAIN["lr"],
                            betas=tuple(TRAIN["betas"]), eps=TRAIN["eps"], foreach=False, fused=False)
    out.update({f"{prefix}.param.{saved_key(n)}": named[n].detach().clone().contiguous() for n in trainable})
    losses, norms = [], []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=idx, attention_mask=attention_mask).logits
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), ignore_index=-1)
        loss.backward()
        if step == 0:
            out[f"{prefix}.logits"] = logits.detach().clone().contiguous()
            out[f"{prefix}.loss"] = loss.detach().reshape(1).clone()
            for n in trainable:
                out[f"{prefix}.grad.{saved_key(n)}"] = named[n].grad.detach().clone().contiguous()
        norms.append(torch.nn.utils.clip_grad_norm_(params, TRAIN["clip_grad_norm"]).item())
        losses.append(loss.item())
        opt.step()
    out[f"{prefix}.losses"] = torch.tensor(losses, dtype=torch.float32)
    out[f"{prefix}.grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    out.update({f"{prefix}.final.{saved_key(n)}": named[n].detach().clone().contiguous() for n in trainable})
    saved = set(peft.get_peft_model_state_dict(model).keys())
    assert saved == {saved_key(n) for n in trainable}, sorted(saved ^ {saved_key(n) for n in trainable})
    return out, config_json, json.dumps(lora.to_dict(), sort_keys=True, default=sorted)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--folders", default=FOLDERS, help="where the base and adapter folders go ('' for none)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    tensors, metadata = {}, {
        "generator": "Tools/golden/lora_training.py", "torch": torch.__version__, "peft": peft.__version__,
        "transformers": transformers.__version__, "gguf": "0.19.0", "train.config": json.dumps(TRAIN, sort_keys=True),
    }
    for prefix, (cls, config, lora) in models().items():
        out, config_json, lora_json = make(prefix, cls, config, lora, args.folders)
        tensors.update(out)
        metadata[f"{prefix}.config"] = config_json
        metadata[f"{prefix}.lora"] = lora_json
    tensors = {k: t.contiguous() for k, t in tensors.items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata=metadata)
    canonicalize_header(args.out)
    reread = load_file(args.out)
    assert reread.keys() == tensors.keys() and all(torch.equal(reread[k], tensors[k]) for k in tensors)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(tensors)} tensors)")
    for p in models():
        print(f"{p}.losses: [{', '.join(f'{v:.6f}' for v in tensors[f'{p}.losses'].tolist())}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
