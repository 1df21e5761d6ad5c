#!/usr/bin/env python3
"""The PyTorch side of benchmarks/finetune: LoRA training of a GGUF decoder with transformers + peft.

The model is read from the GGUF file by transformers (gguf_file=..., dequantized to float32; nothing
downloaded), peft puts LoRA adapters (rank R, alpha A, no dropout) on TARGETS (default "all-linear":
every linear layer but lm_head), and training steps run on random ids [B, T] exactly as
`lmkit bench finetune` runs them: forward (sdpa attention), cross-entropy of every position against
random targets, backward, clip_grad_norm_(1.0), AdamW (lr 1e-4, no weight decay) on the adapters.
Prints one JSON line per measurement, as `lmkit bench finetune --json` does:
  train_tokens_per_s (B*T / the median of --steps timed steps after --warmup), peak_rss_bytes
  (getrusage ru_maxrss, the whole process: loading included), trainable_parameters, load_seconds.
"""

import argparse
import json
import os
import resource
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["TQDM_DISABLE"] = "1"

import peft  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402

transformers.logging.set_verbosity_error()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a GGUF file")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--targets", default="all-linear")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    t0 = time.perf_counter()
    model = transformers.AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(args.model)), gguf_file=os.path.basename(args.model), dtype=torch.float32,
        attn_implementation="sdpa")
    targets = args.targets if args.targets == "all-linear" else args.targets.split(",")
    model = peft.get_peft_model(model, peft.LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0,
                                                       target_modules=targets, task_type="CAUSAL_LM"))
    load_seconds = time.perf_counter() - t0
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, vocab, (args.batch_size, args.length), generator=g)
    labels = torch.randint(0, vocab, (args.batch_size, args.length), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=ids, use_cache=False).logits
        F.cross_entropy(logits.reshape(-1, vocab).float(), labels.reshape(-1)).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for _ in range(args.warmup):
        step()
    times = []
    for i in range(args.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
        print(f"  step {i + 1}/{args.steps}: {times[-1]:.2f} s", file=sys.stderr)
    median = sorted(times)[len(times) // 2]
    rows = [("train_tokens_per_s", args.batch_size * args.length / median),
            ("peak_rss_bytes", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
            ("trainable_parameters", sum(p.numel() for p in params)), ("load_seconds", load_seconds)]
    for name, value in rows:
        print(json.dumps({"name": name, "value": float(value), "threads": args.threads}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
