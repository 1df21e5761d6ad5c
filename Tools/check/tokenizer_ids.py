#!/usr/bin/env python3
"""Tokenize texts with a local tokenizer folder through transformers' AutoTokenizer.

    tokenizer_ids.py FOLDER TEXTS_JSON [--chat MESSAGES_JSON]

FOLDER holds tokenizer.json and tokenizer_config.json (what LMKit writes beside a model saved from a
GGUF file), read with AutoTokenizer.from_pretrained(FOLDER, local_files_only=True). TEXTS_JSON is a
JSON list of strings (a JSON string, or @PATH). MESSAGES_JSON is a list of {"role", "content"}
messages rendered with the folder's chat template (apply_chat_template, add_generation_prompt=True).

Prints one line of JSON to stdout: {"ids": [[int, ...] per text, with special tokens], "decoded":
[the ids decoded, special tokens skipped], "chat": rendered text or null, "class": tokenizer class}.

LMKit's tests use it to check that a tokenizer LMKit exports loads in transformers and tokenizes
as the GGUF file it came from. Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/check/tokenizer_ids.py /tmp/gemma-folder '["Hello world"]'
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import sys

import transformers


def read_json(argument):
    if argument.startswith("@"):
        with open(argument[1:], encoding="utf-8") as f:
            return json.load(f)
    return json.loads(argument)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("texts")
    parser.add_argument("--chat")
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.folder, local_files_only=True)
    texts = read_json(args.texts)
    ids = [tokenizer(t, add_special_tokens=True)["input_ids"] for t in texts]
    decoded = [tokenizer.decode(i, skip_special_tokens=True) for i in ids]
    chat = None
    if args.chat:
        chat = tokenizer.apply_chat_template(read_json(args.chat), tokenize=False, add_generation_prompt=True)
    json.dump({"ids": ids, "decoded": decoded, "chat": chat, "class": type(tokenizer).__name__}, sys.stdout, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one clear line for the Swift test, not a traceback
        print(f"tokenizer_ids.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
