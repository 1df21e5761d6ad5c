#!/usr/bin/env python3
"""Golden file for the training parity of the decoder models LMKit runs (Llama family, Gemma 3).

The references are transformers' own LlamaForCausalLM and Gemma3ForCausalLM, built from configs
(nothing is downloaded), float32 on the CPU, eager attention, use_cache=False, each trained for 10
AdamW steps exactly as Tools/golden/engine_parity.py trains its blocks (same init rule, optimizer,
clipping and data seeds: its init_params / train functions are imported).

  llama:  LlamaConfig(vocab_size=13, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
          num_attention_heads=4, num_key_value_heads=2, head_dim=4, rms_norm_eps=1e-6,
          rope_theta=10000, max_position_embeddings=32, attention_bias=True,
          tie_word_embeddings=False): rotary positions, grouped-query attention, q/k/v/o biases,
          SwiGLU, separate output layer.
  gemma3: Gemma3TextConfig(vocab_size=13, hidden_size=16, intermediate_size=24,
          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=4,
          rms_norm_eps=1e-6, sliding_window=3, layer_types=[sliding, full],
          query_pre_attn_scalar=8, rope_theta=10000, rope_local_base_freq=100,
          max_position_embeddings=32, no soft-capping): query/key norms, (1 + w) RMS norms
          before and after attention and MLP, GeGLU, a 3-position window on layer 0, √width
          embedding scale, output tied to the embeddings.

Input: batch 3 x 6 ids, right-padded (valid lengths 6, 4, 2): attention_mask [3, 6] 1/0, targets
-1 where padded (ignore_index -1).

Keys, for P in {llama, gemma3} (parameter names are transformers' named_parameters()):
  P.param.<name>   initial parameters
  P.idx, P.targets, P.attention_mask   int64 [3, 6]
  P.logits [3, 6, 13] step-0 forward, P.loss [1] step-0 loss
  P.grad.<name>    step-0 gradients (before clipping)
  P.losses [10], P.grad_norms [10], P.final.<name>
  __metadata__: P.config (model.config.to_json_string()), torch, transformers, train.config.

Run with the reference venv (seconds):
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/decoder_training.py [--out PATH]
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import sys

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_parity import TRAIN, init_params, train  # noqa: E402
from safetensors_header import canonicalize_header  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "decoders", "training_parity.safetensors")

VOCAB, BATCH, LENGTH, VALID = 13, 3, 6, [6, 4, 2]


def configs():
    common = dict(vocab_size=VOCAB, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=4, rms_norm_eps=1e-6,
                  max_position_embeddings=32, attn_implementation="eager", use_cache=False)
    llama = transformers.LlamaConfig(rope_theta=10000.0, attention_bias=True, tie_word_embeddings=False, **common)
    gemma = transformers.Gemma3TextConfig(
        sliding_window=3, layer_types=["sliding_attention", "full_attention"], query_pre_attn_scalar=8,
        rope_theta=10000.0, rope_local_base_freq=100.0, final_logit_softcapping=None,
        attn_logit_softcapping=None, **common)
    return {"llama": (transformers.LlamaForCausalLM, llama), "gemma3": (transformers.Gemma3ForCausalLM, gemma)}


def padded_batch():
    """Ids and targets [BATCH, LENGTH] from the data seed, right-padded to VALID lengths (mask 1/0,
    targets -1 where padded); Tools/golden/lora_training.py trains on the same batch."""
    g = torch.Generator().manual_seed(TRAIN["data_seed"])
    idx = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=g, dtype=torch.int64)
    targets = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=g, dtype=torch.int64)
    lengths = torch.tensor(VALID, dtype=torch.int64)
    attention_mask = (torch.arange(LENGTH)[None, :] < lengths[:, None]).to(torch.int64)
    targets[attention_mask == 0] = -1
    return idx, targets, attention_mask


def make(prefix, cls, config):
    torch.manual_seed(TRAIN["init_seed"])
    model = cls(config)
    model.train()
    order = [n for n, _ in model.named_parameters()]
    init_params(model, order)
    idx, targets, attention_mask = padded_batch()

    def forward():
        logits = model(input_ids=idx, attention_mask=attention_mask).logits
        return logits, F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), ignore_index=-1)

    out = {f"{prefix}.idx": idx, f"{prefix}.targets": targets, f"{prefix}.attention_mask": attention_mask}
    out.update(train(model, order, prefix, forward))
    return out, model.config.to_json_string(use_diff=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    tensors, metadata = {}, {
        "generator": "Tools/golden/decoder_training.py", "torch": torch.__version__,
        "transformers": transformers.__version__, "train.config": json.dumps(TRAIN, sort_keys=True),
    }
    for prefix, (cls, config) in configs().items():
        out, config_json = make(prefix, cls, config)
        tensors.update(out)
        metadata[f"{prefix}.config"] = config_json
    tensors = {k: t.contiguous() for k, t in tensors.items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata=metadata)
    canonicalize_header(args.out)
    reread = load_file(args.out)
    assert reread.keys() == tensors.keys() and all(torch.equal(reread[k], tensors[k]) for k in tensors)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, {len(tensors)} tensors)")
    for p in ("llama", "gemma3"):
        print(f"{p}.losses: [{', '.join(f'{v:.6f}' for v in tensors[f'{p}.losses'].tolist())}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
