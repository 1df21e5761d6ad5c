#!/usr/bin/env python3
"""Print the logits of a local GPT-2 checkpoint folder, computed by transformers.

    gpt2_logits.py MODEL_DIR IDS_JSON

MODEL_DIR is a Hugging Face model folder (config.json + model.safetensors or
pytorch_model.bin); it is read with GPT2LMHeadModel.from_pretrained(MODEL_DIR,
local_files_only=True), so nothing is downloaded. IDS_JSON is a JSON list of
equal-length lists of token ids, e.g. '[[1, 2, 3], [4, 5, 6]]' (a JSON string
argument, or @PATH to read it from a file).

Prints one line of JSON to stdout: {"logits": [[[...V floats] x T] x B]}, the
float32 logits in eval mode, eager attention, no attention mask. Each value is
printed as the shortest decimal that reads back as the same double; a float32
widened to a double is exact, so parsing it and narrowing to Float32 gives
back the bits transformers computed.

Loading is strict: a missing, unexpected or mis-shaped weight is an error,
where from_pretrained alone would warn and initialize it at random. The tied
lm_head.weight may be present or absent. Errors go to stderr, exit code 2.

LMKit's tests use it to check that a checkpoint LMKit saves loads in
transformers and gives LMKit's logits. Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/check/gpt2_logits.py Tests/Fixtures/gpt/tiny-gpt2 '[[0, 1, 2]]'
"""

import os

# Before importing transformers: never reach a hub, keep stdout/stderr clean.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import json
import sys

import torch
import transformers
from transformers import GPT2LMHeadModel


def parse_ids(arg):
    text = open(arg[1:]).read() if arg.startswith("@") else arg
    try:
        ids = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"IDS_JSON is not valid JSON: {e}") from None
    if (not isinstance(ids, list) or not ids
            or not all(isinstance(row, list) and row for row in ids)
            or not all(isinstance(i, int) and not isinstance(i, bool) for row in ids for i in row)):
        raise ValueError("IDS_JSON must be a non-empty JSON list of non-empty lists of ints")
    if len({len(row) for row in ids}) != 1:
        raise ValueError(f"IDS_JSON rows have different lengths: {[len(r) for r in ids]}")
    return torch.tensor(ids, dtype=torch.int64)                                   # [B, T]


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    model_dir, ids_arg = argv[1], argv[2]
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    try:
        if not os.path.isdir(model_dir):
            raise ValueError(f"MODEL_DIR {model_dir!r} is not a folder")
        ids = parse_ids(ids_arg)
        try:
            model, info = GPT2LMHeadModel.from_pretrained(
                model_dir, local_files_only=True, dtype=torch.float32, attn_implementation="eager",
                output_loading_info=True, ignore_mismatched_sizes=True)
        except Exception as e:  # transformers raises several types (OSError, RuntimeError, ...)
            raise ValueError(f"cannot load {model_dir} with GPT2LMHeadModel: {e}") from None
        # from_pretrained only warns about these and fills in random weights;
        # a checker must refuse them.
        problems = [f"missing {k}" for k in sorted(info["missing_keys"])]
        problems += [f"unexpected {k}" for k in sorted(info["unexpected_keys"])]
        problems += [f"mismatched {k}: checkpoint {list(a)}, model {list(b)}"
                     for k, a, b in sorted(info["mismatched_keys"])]
        problems += list(info["error_msgs"])
        if problems:
            raise ValueError(f"{model_dir}/model.safetensors does not match GPT2LMHeadModel: "
                             + "; ".join(problems))
        V, n_pos = model.config.vocab_size, model.config.n_positions
        if ids.min() < 0 or ids.max() >= V:
            raise ValueError(f"token ids must be in [0, {V}), got [{ids.min()}, {ids.max()}]")
        if ids.shape[1] > n_pos:
            raise ValueError(f"sequence length {ids.shape[1]} exceeds n_positions {n_pos}")
    except (OSError, ValueError) as e:
        print(f"gpt2_logits.py: {e}", file=sys.stderr)
        return 2
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids, use_cache=False).logits.float()             # [B, T, V]
    json.dump({"logits": logits.tolist()}, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
