#!/usr/bin/env python3
"""Print the logits of a local causal-LM folder, computed by transformers, optionally with a peft adapter.

    causal_lm_logits.py MODEL_DIR IDS_JSON [--adapter ADAPTER_DIR]

MODEL_DIR is a Hugging Face model folder (config.json + model.safetensors), read with
AutoModelForCausalLM.from_pretrained(MODEL_DIR, local_files_only=True): any architecture
transformers knows (GPT-2, Llama, Qwen2, Mistral, Gemma 3). ADAPTER_DIR is a LoRA adapter folder
(adapter_config.json + adapter_model.safetensors) loaded by peft's PeftModel.from_pretrained.
IDS_JSON is a JSON list of equal-length lists of token ids (a JSON string, or @PATH).

Prints one line of JSON to stdout: {"logits": [[[...V floats] x T] x B]}, float32, eval mode, eager
attention, no attention mask; each value as the shortest decimal that reads back as the same double.

Loading is strict: a missing, unexpected or mis-shaped weight of the model, or an adapter tensor
that peft did not place (or a targeted layer without one), is an error (stderr, exit code 2),
where from_pretrained alone would warn and go on.

LMKit's tests use it to check that models and adapters LMKit writes load in transformers and peft
and give LMKit's logits. Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/check/causal_lm_logits.py Tests/Fixtures/decoders/peft/llama-base '[[0, 1, 2]]' \
        --adapter Tests/Fixtures/decoders/peft/llama-adapter
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import sys
import warnings

import torch
import transformers

transformers.logging.set_verbosity_error()
warnings.filterwarnings("ignore")


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("ids")
    ap.add_argument("--adapter")
    args = ap.parse_args()
    ids_text = open(args.ids[1:]).read() if args.ids.startswith("@") else args.ids
    ids = torch.tensor(json.loads(ids_text), dtype=torch.int64)
    torch.set_num_threads(1)
    try:
        model, info = transformers.AutoModelForCausalLM.from_pretrained(
            args.model, local_files_only=True, dtype=torch.float32, attn_implementation="eager",
            output_loading_info=True)
    except Exception as e:  # noqa: BLE001 - any loading failure is reported the same way
        fail(f"{args.model}: {e}")
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    problems = {k: sorted(set(v) - tied) for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        fail(f"{args.model}: {problems}")
    if args.adapter:
        import peft
        from safetensors.torch import load_file
        try:
            model = peft.PeftModel.from_pretrained(model, args.adapter)
        except Exception as e:  # noqa: BLE001
            fail(f"{args.adapter}: {e}")
        saved = set(load_file(os.path.join(args.adapter, "adapter_model.safetensors")).keys())
        placed = set(peft.get_peft_model_state_dict(model).keys())
        if saved != placed:
            fail(f"{args.adapter}: tensors without a layer {sorted(saved - placed)}, layers without a tensor {sorted(placed - saved)}")
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids, use_cache=False).logits.float()
    print(json.dumps({"logits": logits.tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
