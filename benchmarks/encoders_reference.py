#!/usr/bin/env python3
"""Sentence-embedding throughput of sentence-transformers on CPU: the reference side of
benchmarks/encoders, measured as `lmkit bench encoders` measures LMKit.

    encoders_reference.py --model DIR --texts FILE [--threads N] [--batch-size 32]
                          [--max-length 128] [--repeats 5] [--dump FILE] [--int8 tensor|channel] [--json]

Loads the sentence-transformers folder DIR (local files only), sets max_seq_length to
--max-length, and times model.encode(texts, batch_size=--batch-size) on --threads torch threads
(torch.set_num_threads), float32, the median of --repeats runs after one warm-up run. --dump writes
the embeddings as raw little-endian float32, row after row. --int8 first applies
torch.ao.quantization.quantize_dynamic to every nn.Linear with default_dynamic_qconfig (tensor) or
per_channel_dynamic_qconfig (channel) on the x86 engine; the row then also gives "bytes", the size of
the model's state_dict as torch.save writes it (float32 models too). --json prints one line:
{"name": "sentence_embeddings" (or "sentence_embeddings_int8_<scheme>"), "bytes", "threads", "sentences_per_s", "seconds", "sentences", "tokens",
 "batch_size", "max_length", "versions": {...}}.
"""

import argparse
import json
import os
import statistics
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--texts", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dump")
    p.add_argument("--int8", choices=["tensor", "channel"])
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    import numpy as np
    import torch
    import sentence_transformers
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(a.threads)
    texts = [line for line in open(a.texts, encoding="utf-8").read().splitlines() if line.strip()]
    model = SentenceTransformer(a.model, device="cpu", local_files_only=True)
    model.max_seq_length = a.max_length
    model.eval()
    if a.int8:
        import warnings
        warnings.filterwarnings("ignore")
        qconfig = {"tensor": torch.ao.quantization.default_dynamic_qconfig,
                   "channel": torch.ao.quantization.per_channel_dynamic_qconfig}[a.int8]
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear: qconfig}, dtype=torch.qint8)
    import io
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    times = []
    vectors = None
    with torch.inference_mode():
        for run in range(a.repeats + 1):
            t0 = time.perf_counter()
            vectors = model.encode(texts, batch_size=a.batch_size, convert_to_numpy=True, show_progress_bar=False)
            if run > 0:
                times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    tokens = int(sum(len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=a.max_length)["input_ids"]))
    if a.dump:
        np.asarray(vectors, dtype="<f4").tofile(a.dump)
    name = "sentence_embeddings" + (f"_int8_{a.int8}" if a.int8 else "")
    row = {"name": name, "bytes": buffer.getbuffer().nbytes, "threads": a.threads, "sentences_per_s": len(texts) / seconds, "seconds": seconds,
           "sentences": len(texts), "tokens": tokens, "batch_size": a.batch_size, "max_length": a.max_length,
           "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                        "sentence_transformers": sentence_transformers.__version__},
           "attention": model[0].auto_model.config._attn_implementation}
    if a.json:
        print(json.dumps(row))
    else:
        print(f"{len(texts)} texts ({tokens} tokens), batch {a.batch_size}, max length {a.max_length}, "
              f"{a.threads} threads: {row['sentences_per_s']:.1f} sentences/s (median {seconds:.3f} s)")


if __name__ == "__main__":
    sys.exit(main())
