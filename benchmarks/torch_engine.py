"""PyTorch side of LMKit's tensor-engine benchmark.

Times, in float32 on CPU, the same operations as LMKit's EngineBenchmark
(Sources/LMKitBench/EngineBenchmark.swift): five matrix products (GFLOP/s) and
six element-wise / row kernels (GB/s), and one training step of a GPT-2 block
(tokens/s). Each is the median of --repeats timed
runs after one warm-up, inside torch.inference_mode(), on --threads threads.

benchmarks/engine runs it with the reference venv's python:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    $PY benchmarks/torch_engine.py --threads 2 [--quick]
and matches each stdout line to LMKit's row of the same name. stdout carries
only one JSON object per line:
    {"name": ..., "unit": "GFLOP/s" | "GB/s" | "tokens/s", "value": float, "ms": float}
Progress and information (torch version, threads) go to stderr.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def median_seconds(fn, repeats):
    """Median wall time of `repeats` calls after one untimed warm-up."""
    fn()
    times = []
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]  # same index as LMKit's Timing.median


def millions(n):
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else str(n)


def emit(name, unit, value, seconds):
    print(json.dumps({"name": name, "unit": unit, "value": value, "ms": seconds * 1e3},
                     ensure_ascii=False), flush=True)
    print(f"{name}: {value:.1f} {unit} in {seconds * 1e3:.2f} ms", file=sys.stderr, flush=True)


def gemm_cases(quick):
    """(name, batch, m, k, n, make): make(batch, m, k, n) builds the inputs, returns the timed call."""
    def mm(b, m, k, n):
        lead = (b,) if b > 1 else ()  # batch 1: plain 2-D matrices
        a, w = torch.rand(*lead, m, k), torch.rand(*lead, k, n)
        return lambda: a @ w

    def mm_t(b, m, k, n):  # right operand stored [n, k], used as a transposed view
        a, w = torch.rand(b, m, k), torch.rand(b, n, k)
        return lambda: a @ w.transpose(-2, -1)

    def linear(_, m, k, n):
        x, w = torch.rand(m, k), torch.rand(n, k)
        return lambda: F.linear(x, w)

    if quick:
        return [("matmul 128x256 · 256x512", 1, 128, 256, 512, mm),
                ("attention q·kᵀ 8 × 64x32 · 32x64", 8, 64, 32, 64, mm_t)]
    return [("matmul 512x768 · 768x3072", 1, 512, 768, 3072, mm),
            ("matmul 4096x384 · 384x1536", 1, 4096, 384, 1536, mm),
            ("linear x·Wᵀ 2048x768 → 3072 (W transposed view)", 1, 2048, 768, 3072, linear),
            ("attention q·kᵀ 96 × 256x64 · 64x256", 96, 256, 64, 256, mm_t),
            ("attention p·v 96 × 256x256 · 256x64", 96, 256, 256, 64, mm)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_threads = int(os.environ.get("LMKIT_THREADS") or os.cpu_count() or 1)
    p.add_argument("--threads", type=int, default=default_threads)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--elements", type=int, default=None, help="default 10M (1M with --quick)")
    p.add_argument("--quick", action="store_true", help="small shapes for a smoke test")
    args = p.parse_args()
    n = args.elements or (1_000_000 if args.quick else 10_000_000)

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"repeats {args.repeats}, elements {n}", file=sys.stderr, flush=True)

    with torch.inference_mode():
        for name, b, m, k, nn, make in gemm_cases(args.quick):
            t = median_seconds(make(b, m, k, nn), args.repeats)
            emit(name, "GFLOP/s", 2 * b * m * k * nn / t / 1e9, t)

        x, y = torch.randn(n), torch.randn(n)
        width = 1024
        rows = x[: (n // width) * width].view(n // width, width)
        w, bias = torch.ones(width), torch.zeros(width)
        kernels = [
            (f"gelu (tanh) over {millions(n)} floats", 2, n, lambda: F.gelu(x, approximate="tanh")),
            (f"gelu (erf) over {millions(n)} floats", 2, n, lambda: F.gelu(x)),
            (f"silu over {millions(n)} floats", 2, n, lambda: F.silu(x)),
            (f"add over {millions(n)} floats", 3, n, lambda: x + y),
            (f"layer norm {n // width}x{width}", 2, rows.numel(),
             lambda: F.layer_norm(rows, (width,), w, bias)),
            (f"softmax {n // width}x{width}", 2, rows.numel(), lambda: torch.softmax(rows, dim=-1)),
        ]
        for name, passes, count, fn in kernels:
            t = median_seconds(fn, args.repeats)
            emit(name, "GB/s", passes * count * 4 / t / 1e9, t)

    # One training step of a GPT-2 block, as LMKit's BlockBenchmark (outside inference_mode).
    B, T, C, H = (2, 64, 64, 2) if args.quick else (16, 256, 384, 6)
    block = Block(C, H)
    opt = torch.optim.AdamW(block.parameters(), lr=1e-4, weight_decay=0.1)
    xb = torch.randn(B, T, C)

    def step():
        opt.zero_grad(set_to_none=True)
        out = block(xb)
        (out * out).mean().backward()
        opt.step()

    step()  # one more warm-up: optimizer state allocation
    t = median_seconds(step, args.repeats)
    emit(f"gpt block train step B{B} T{T} C{C} H{H}", "tokens/s", B * T / t, t)


class Block(torch.nn.Module):
    """GPT-2 block as nanoGPT writes it: pre-norm causal attention (SDPA) + GELU(tanh) MLP."""

    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(c), torch.nn.LayerNorm(c)
        self.c_attn, self.attn_proj = torch.nn.Linear(c, 3 * c), torch.nn.Linear(c, c)
        self.c_fc, self.mlp_proj = torch.nn.Linear(c, 4 * c), torch.nn.Linear(4 * c, c)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.h, c // self.h).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


if __name__ == "__main__":
    main()
