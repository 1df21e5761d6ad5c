#!/usr/bin/env python3
"""Classify texts with a local *ForSequenceClassification folder, computed by transformers.

    encoder_classifier.py MODEL_DIR TEXTS_JSON

MODEL_DIR is a Hugging Face model folder (config.json + model.safetensors +
tokenizer files), read with AutoModelForSequenceClassification and
AutoTokenizer.from_pretrained(MODEL_DIR, local_files_only=True): nothing is
downloaded. TEXTS_JSON is a JSON list of strings (or @PATH to read it from a
file).

Prints one line of JSON: {"architecture": str, "labels": [id2label in id
order], "input_ids": [[int]], "attention_mask": [[int]], "logits": [[float]]},
the texts tokenized as one right-padded batch, logits in float32, eval mode,
eager attention.

Loading is strict: a missing, unexpected or mis-shaped weight is an error
(from_pretrained alone would warn and initialize it at random). Errors go to
stderr, exit code 2.

LMKit's tests use it to check that a classifier LMKit fine-tunes and saves
loads in transformers and gives LMKit's logits. Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/check/encoder_classifier.py Tests/Fixtures/encoders/tiny-bert-cls '["the movie was great !"]'
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import json
import sys

import torch
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def parse_texts(arg):
    text = open(arg[1:], encoding="utf-8").read() if arg.startswith("@") else arg
    try:
        texts = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TEXTS_JSON is not valid JSON: {e}") from None
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError("TEXTS_JSON must be a non-empty JSON list of strings")
    return texts


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    model_dir, texts_arg = argv[1], argv[2]
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    try:
        if not os.path.isdir(model_dir):
            raise ValueError(f"MODEL_DIR {model_dir!r} is not a folder")
        texts = parse_texts(texts_arg)
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                model_dir, local_files_only=True, dtype=torch.float32, attn_implementation="eager",
                output_loading_info=True)
            tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        except Exception as e:  # transformers raises several types
            raise ValueError(f"cannot load {model_dir}: {e}") from None
        problems = [f"missing {k}" for k in sorted(info["missing_keys"])]
        problems += [f"unexpected {k}" for k in sorted(info["unexpected_keys"])]
        problems += [f"mismatched {k}" for k in sorted(info.get("mismatched_keys", []))]
        problems += list(info["error_msgs"])
        if problems:
            raise ValueError(f"{model_dir}/model.safetensors does not match "
                             f"{type(model).__name__}: " + "; ".join(problems))
    except (OSError, ValueError) as e:
        print(f"encoder_classifier.py: {e}", file=sys.stderr)
        return 2
    model.eval()
    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits.float()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    json.dump({"architecture": type(model).__name__, "labels": labels,
               "input_ids": batch["input_ids"].tolist(), "attention_mask": batch["attention_mask"].tolist(),
               "logits": logits.tolist()}, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
