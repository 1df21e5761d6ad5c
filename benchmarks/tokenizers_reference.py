#!/usr/bin/env python3
"""Reference side of LMKit's tokenizer throughput benchmark.

Usage:  tokenizers_reference.py --text PATH [--threads 1|2] [--repeats N] [--json] [--dump-ids DIR]

Measures on the UTF-8 text file PATH (the benchmark uses
``${LMKIT_HOME:-~/.cache/lmkit}/shakespeare/shakespeare.txt``, 5 MB), with
assets from the LMKit cache only (nothing is downloaded):

  gpt2_tiktoken  tiktoken ``Encoding`` built from ``gpt2/gpt2.tiktoken`` with the
                 GPT-2 pattern and ``{"<|endoftext|>": 50256}``. 1 thread:
                 ``encode_ordinary(text)`` on the whole text (mode "whole");
                 2 threads: ``encode_ordinary_batch(chunks, num_threads=2)``
                 (mode "batch").
  gpt2_hf        HF tokenizers BPE from ``gpt2/vocab.json`` + ``gpt2/merges.txt``,
                 pre-tokenizer ByteLevel(add_prefix_space=False):
                 ``encode_batch(chunks, add_special_tokens=False)``.
  bert_hf        HF tokenizers from ``minilm/tokenizer.json`` (BERT WordPiece)
                 with ``no_truncation()`` and ``no_padding()``:
                 ``encode_batch(chunks, add_special_tokens=False)`` (no
                 [CLS]/[SEP]). With 1 thread it also times ``encode(text,
                 add_special_tokens=False)`` of the whole text as one string,
                 reported in the same line as ``whole_seconds``,
                 ``whole_mb_per_s`` and ``whole_tokens``.

Chunks: the text cut into 64 pieces at line boundaries: for k = 1..63 the cut
follows the "\\n" nearest to character k * len(text) / 64 (the earlier one on a
tie), so each "\\n" stays at the end of the chunk before. The HF thread count is
``RAYON_NUM_THREADS`` = ``--threads``, set (with ``TOKENIZERS_PARALLELISM``:
"false" for 1 thread, "true" otherwise) before tokenizers is imported.

Each measurement: one warm-up call, then ``--repeats`` (default 5) timed calls
(``time.perf_counter``); ``seconds`` is their median, ``mb_per_s`` = UTF-8
bytes of the input / seconds / 1e6, ``tokens`` = number of ids produced.
Checks (untimed): tiktoken's batch ids equal HF's for every chunk.

Output: a table, or with ``--json`` one JSON object per line:
  {"name", "threads", "mode", "mb_per_s", "seconds", "tokens", "bytes"} (+ the whole_* keys for bert_hf, 1 thread)

``--dump-ids DIR`` writes ``gpt2.ids`` (GPT-2 ids of the chunks, concatenated in
order; tiktoken and HF agree on them) and ``bert.ids`` (the BERT batch ids,
without [CLS]/[SEP]), one id per line, and ``chunks.txt`` (one line per chunk:
its UTF-8 byte range ``start end``), so that LMKit's ids can be compared on the
whole text. Ids of the chunks may differ from those of the whole text at chunk
boundaries (GPT-2 joins "\\n\\n" into one token, for instance).
"""

import argparse
import os
import sys


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", required=True, help="UTF-8 text file to tokenize")
    ap.add_argument("--threads", type=int, choices=(1, 2), default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--dump-ids", metavar="DIR", help="write gpt2.ids, bert.ids and chunks.txt here")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    return args


ARGS = parse_args()
# Before tokenizers is imported: rayon sizes its pool from it once.
os.environ["RAYON_NUM_THREADS"] = str(ARGS.threads)
os.environ["TOKENIZERS_PARALLELISM"] = "false" if ARGS.threads == 1 else "true"

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import tiktoken  # noqa: E402
import tiktoken.load  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers  # noqa: E402

CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
ENDOFTEXT = "<|endoftext|>"
N_CHUNKS = 64


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def line_chunks(text, n=N_CHUNKS):
    """n pieces cut after the '\\n' nearest to each k/n point (earlier one on a tie)."""
    cuts = [0]
    for k in range(1, n):
        target = k * len(text) // n
        left = text.rfind("\n", 0, target)
        right = text.find("\n", target)
        candidates = [p for p in (left, right) if p >= 0]
        if not candidates:
            continue
        nl = min(candidates, key=lambda p: (abs(p - target), p))
        cut = nl + 1
        if cuts[-1] < cut < len(text):
            cuts.append(cut)
    cuts.append(len(text))
    chunks = [text[a:b] for a, b in zip(cuts, cuts[1:])]
    assert "".join(chunks) == text
    return chunks


def timed(fn, repeats):
    result = fn()  # warm-up
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), result


def gpt2_tiktoken():
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # a local file: no copy into a cache dir
    ranks = tiktoken.load.load_tiktoken_bpe(str(CACHE / "gpt2" / "gpt2.tiktoken"))
    return tiktoken.Encoding(name="r50k_base", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: 50256})


def gpt2_hf():
    tok = Tokenizer(models.BPE.from_file(str(CACHE / "gpt2" / "vocab.json"), str(CACHE / "gpt2" / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def bert_hf():
    tok = Tokenizer.from_file(str(CACHE / "minilm" / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def main():
    args, threads = ARGS, ARGS.threads
    with open(args.text, encoding="utf-8", newline="") as f:
        text = f.read()
    n_bytes = len(text.encode("utf-8"))
    chunks = line_chunks(text)
    log(f"{args.text}: {n_bytes} bytes, {len(chunks)} chunks, threads {threads}, repeats {args.repeats}")
    rows = []

    def row(name, mode, seconds, tokens, **extra):
        rows.append({"name": name, "threads": threads, "mode": mode, "mb_per_s": n_bytes / seconds / 1e6,
                     "seconds": seconds, "tokens": tokens, "bytes": n_bytes, **extra})
        log(f"  {name} ({mode}): {seconds:.3f} s, {tokens} tokens")

    enc = gpt2_tiktoken()
    if threads == 1:
        seconds, ids = timed(lambda: enc.encode_ordinary(text), args.repeats)
        row("gpt2_tiktoken", "whole", seconds, len(ids))
    else:
        seconds, batch = timed(lambda: enc.encode_ordinary_batch(chunks, num_threads=threads), args.repeats)
        row("gpt2_tiktoken", "batch", seconds, sum(map(len, batch)))
    tt_batch = enc.encode_ordinary_batch(chunks, num_threads=threads)

    tok = gpt2_hf()
    seconds, encs = timed(lambda: tok.encode_batch(chunks, add_special_tokens=False), args.repeats)
    gpt2_ids = [e.ids for e in encs]
    row("gpt2_hf", "batch", seconds, sum(map(len, gpt2_ids)))
    bad = [i for i, (a, b) in enumerate(zip(tt_batch, gpt2_ids)) if a != b]
    assert not bad, f"tiktoken and HF GPT-2 ids differ on chunks {bad}"

    tok = bert_hf()
    seconds, encs = timed(lambda: tok.encode_batch(chunks, add_special_tokens=False), args.repeats)
    bert_ids = [e.ids for e in encs]
    extra = {}
    if threads == 1:
        whole_seconds, whole = timed(lambda: tok.encode(text, add_special_tokens=False), args.repeats)
        extra = {"whole_seconds": whole_seconds, "whole_mb_per_s": n_bytes / whole_seconds / 1e6,
                 "whole_tokens": len(whole.ids)}
        log(f"  bert_hf (whole): {whole_seconds:.3f} s, {len(whole.ids)} tokens")
    row("bert_hf", "batch", seconds, sum(map(len, bert_ids)), **extra)

    if args.dump_ids:
        out = Path(args.dump_ids)
        out.mkdir(parents=True, exist_ok=True)
        for name, ids in (("gpt2.ids", gpt2_ids), ("bert.ids", bert_ids)):
            with open(out / name, "w", encoding="utf-8", newline="\n") as f:
                f.write("".join(f"{i}\n" for chunk in ids for i in chunk))
        with open(out / "chunks.txt", "w", encoding="utf-8", newline="\n") as f:
            start = 0
            for c in chunks:
                end = start + len(c.encode("utf-8"))
                f.write(f"{start} {end}\n")
                start = end
        log(f"ids written to {out}")

    if args.json:
        for r in rows:
            print(json.dumps(r))
    else:
        print(f"{'name':<15}{'threads':>8}  {'mode':<6}{'MB/s':>9}{'seconds':>10}{'tokens':>10}{'bytes':>10}")
        for r in rows:
            print(f"{r['name']:<15}{r['threads']:>8}  {r['mode']:<6}{r['mb_per_s']:>9.2f}{r['seconds']:>10.3f}"
                  f"{r['tokens']:>10}{r['bytes']:>10}")
            if "whole_seconds" in r:
                print(f"{r['name']:<15}{r['threads']:>8}  {'whole':<6}{r['whole_mb_per_s']:>9.2f}"
                      f"{r['whole_seconds']:>10.3f}{r['whole_tokens']:>10}{r['bytes']:>10}")


if __name__ == "__main__":
    main()
