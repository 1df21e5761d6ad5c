"""PyTorch side of LMKit's GPT benchmark (benchmarks/gpt).

Times, in float32 on CPU, on --threads threads, what `lmkit bench gpt` times with the same flags:

  * training: Hugging Face transformers' GPT2LMHeadModel (attn_implementation="sdpa", dropout 0,
    train mode) built from a GPT2Config of the given shape, torch.optim.AdamW(lr=1e-3,
    weight_decay=0.1, foreach default). One step = zero_grad, forward on random ids [B, T],
    cross-entropy against random targets, backward, clip_grad_norm_(1.0), AdamW step (fixed seed).
    --warmup untimed steps, then --steps timed ones; the median step time t gives
        train_tokens_per_s = B*T / t
        train_flops_per_s  = flops_per_token * B*T / t
    with nanoGPT's estimate_mfu formula: flops_per_token = 6*N + 12*L*H*Q*T, Q = C/H, T = context,
    N = every parameter counted once (the tied wte/lm_head matrix once, the position table included;
    nanoGPT's default leaves the position table out of N).
  * generation: eval mode, no grad, batch 1, a prompt of 16 random ids, greedy
    model.generate(max_new_tokens=G, min_new_tokens=G, do_sample=False), with use_cache=True and
    use_cache=False; one untimed call each, then the median of 3 timed calls s:
        generate_tokens_per_s_cache / _nocache = G / s

stdout (with --json) carries only one JSON object per line:
    {"name": "train_tokens_per_s" | "train_flops_per_s" | "generate_tokens_per_s_cache"
             | "generate_tokens_per_s_nocache",
     "value": float, "unit": "tokens/s" | "FLOP/s", "seconds": float (the median time),
     "threads": N, "layers", "width", "heads", "context", "batch_size", "vocab", "steps", "warmup",
     "generate_tokens": the configuration, plus "params" and "flops_per_token" on the training lines}
Without --json it prints the same numbers as text. Progress (torch and transformers versions,
threads, per-step times) goes to stderr.

benchmarks/gpt runs it with the reference venv's python:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    $PY benchmarks/gpt_reference.py --threads 2 --layers 6 --width 384 --heads 6 --context 256 \
        --batch-size 16 --vocab 65 --steps 5 --warmup 2 --generate-tokens 128 --json
"""
import argparse
import json
import os
import sys
import time
import warnings

PROMPT_TOKENS = 16
GENERATE_REPEATS = 3


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]  # same index as LMKit's Timing.median (the middle one for odd counts)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_threads = int(os.environ.get("LMKIT_THREADS") or os.cpu_count() or 1)
    p.add_argument("--threads", type=int, default=default_threads)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--width", type=int, default=384)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--steps", type=int, default=5, help="timed training steps (the median is reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed training steps first")
    p.add_argument("--generate-tokens", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="one JSON line per measurement on stdout")
    a = p.parse_args()
    if a.width % a.heads:
        p.error("--width must be a multiple of --heads")
    if PROMPT_TOKENS + a.generate_tokens > a.context:
        p.error(f"prompt ({PROMPT_TOKENS}) + --generate-tokens must fit in --context")
    if a.steps < 1 or a.warmup < 0:
        p.error("--steps must be at least 1, --warmup at least 0")

    import torch
    import torch.nn.functional as F
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    B, T, C, L, H, V, G = a.batch_size, a.context, a.width, a.layers, a.heads, a.vocab, a.generate_tokens
    config = dict(threads=torch.get_num_threads(), layers=L, width=C, heads=H, context=T, batch_size=B,
                  vocab=V, steps=a.steps, warmup=a.warmup, generate_tokens=G)

    # bos/eos/pad = 0 keeps every special id inside the small vocabulary; min_new_tokens then bans 0
    # for the G new tokens, so every generate call produces exactly G tokens.
    cfg = GPT2Config(vocab_size=V, n_positions=T, n_embd=C, n_layer=L, n_head=H,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=0, eos_token_id=0, pad_token_id=0, attn_implementation="sdpa")
    model = GPT2LMHeadModel(cfg).float()  # transformers 5: the constructor takes no attn_implementation
    attn = getattr(model.config, "_attn_implementation", "?")
    if attn != "sdpa":
        sys.exit(f"gpt_reference: attention implementation is {attn!r}, expected 'sdpa'")
    n_params = sum(q.numel() for q in model.parameters())  # parameters() yields the tied matrix once
    flops_per_token = 6 * n_params + 12 * L * H * (C // H) * T
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
        f"attention {attn}; GPT-2 L{L} C{C} H{H} T{T} V{V}, {n_params:,} parameters, "
        f"{flops_per_token * B * T / 1e9:.1f} GFLOP per step (B{B})")

    def emit(name, unit, value, seconds, **extra):
        if a.json:
            print(json.dumps({"name": name, "value": value, "unit": unit, "seconds": seconds, **config, **extra}),
                  flush=True)
        else:
            print(f"{name}: {value:,.1f} {unit} (median {seconds * 1e3:.1f} ms)", flush=True)

    # Training.
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    gen = torch.Generator().manual_seed(a.seed)
    x = torch.randint(0, V, (B, T), generator=gen)
    y = torch.randint(0, V, (B, T), generator=gen)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=x, use_cache=False).logits
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    for i in range(a.warmup):
        t0 = time.perf_counter()
        loss = step()
        log(f"warm-up step {i + 1}/{a.warmup}: {(time.perf_counter() - t0) * 1e3:.0f} ms, loss {loss.item():.3f}")
    times = []
    for i in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        log(f"step {i + 1}/{a.steps}: {times[-1] * 1e3:.0f} ms, loss {loss.item():.3f}")
    t = median(times)
    emit("train_tokens_per_s", "tokens/s", B * T / t, t, params=n_params, flops_per_token=flops_per_token)
    emit("train_flops_per_s", "FLOP/s", flops_per_token * B * T / t, t, params=n_params,
         flops_per_token=flops_per_token)
    del opt

    # Generation.
    model.eval()
    prompt = torch.randint(0, V, (1, PROMPT_TOKENS), generator=gen)
    mask = torch.ones_like(prompt)
    with torch.no_grad():
        for cache in (True, False):
            def generate():
                out = model.generate(prompt, attention_mask=mask, max_new_tokens=G, min_new_tokens=G,
                                     do_sample=False, use_cache=cache, pad_token_id=0)
                if out.shape[1] != PROMPT_TOKENS + G:
                    sys.exit(f"gpt_reference: generate returned {out.shape[1] - PROMPT_TOKENS} tokens, expected {G}")
            generate()  # warm-up
            times = []
            for _ in range(GENERATE_REPEATS):
                t0 = time.perf_counter()
                generate()
                times.append(time.perf_counter() - t0)
            t = median(times)
            kind = "cache" if cache else "nocache"
            log(f"generate {G} tokens, use_cache={cache}: " + ", ".join(f"{s * 1e3:.0f} ms" for s in times))
            emit(f"generate_tokens_per_s_{kind}", "tokens/s", G / t, t)


if __name__ == "__main__":
    main()
