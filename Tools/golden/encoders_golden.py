#!/usr/bin/env python3
"""Golden files for LMKit's BERT and DistilBERT encoders (transformers and
sentence-transformers parity).

The references are Hugging Face transformers' own BertFor*/DistilBertFor*
models, built from configs (nothing is downloaded), and sentence-transformers
on the real all-MiniLM-L6-v2 folder of the asset cache. Everything runs
float32 on the CPU in eval mode with eager attention, one thread.

Writes under Tests/Fixtures/encoders/ (paths relative to the repository root):

vocab.txt
    A tiny WordPiece vocabulary, one token a line, id = line number:
    [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0-4), the single characters a-z, 0-9
    and . , ! ? ' " - : ; ( ), then ## + each of a-z and 0-9, then WORDS (101
    whole words, every one asserted to be in bert-base-uncased's vocab.txt,
    read from the MiniLM folder of the cache): 189 tokens. More words would
    take a folder past 120 KB (each costs 128 bytes of embeddings). "boring"
    is deliberately left out, so the texts exercise WordPiece continuation
    pieces (b ##o ##r ##i ##n ##g); "$" is not in it, so the DistilBERT texts
    exercise [UNK]; "cafe" is, so "Café" exercises the lowercasing normalizer's
    accent stripping, and "OK" its lowercasing.

tiny-bert-cls/, tiny-bert-mlm/, tiny-distilbert-cls/, tiny-distilbert-mlm/
    BertForSequenceClassification (3 labels), BertForMaskedLM,
    DistilBertForSequenceClassification (2 labels), DistilBertForMaskedLM:
    hidden 32, 2 layers, 4 heads, FFN 64, 64 positions, GELU (erf), as
    model.save_pretrained(dir, safe_serialization=True) writes them, plus the
    fast tokenizer built on vocab.txt (BertTokenizerFast for BERT,
    DistilBertTokenizerFast, whose model_input_names leave out token_type_ids,
    for DistilBERT; model_max_length 64) as tokenizer.save_pretrained(dir)
    writes it. transformers 5 writes only tokenizer.json and
    tokenizer_config.json, so the script adds the files of the older layout
    that hub folders still carry: vocab.txt (a copy) and special_tokens_map.json
    (tokenizer.special_tokens_map, as transformers 4 wrote it).
    Init: torch.manual_seed(SEED[name]), construction, then every parameter,
    in model.named_parameters() order, from the same global generator:
    LayerNorm weight 1 + 0.1 * randn, LayerNorm bias 0.1 * randn, any other
    bias (the MLM output bias included) 0.1 * randn, any other tensor
    (Linear weights, embeddings) 0.2 * randn. The MLM decoders stay tied to the
    word embeddings (named_parameters lists a tied tensor once), so
    save_pretrained does not store them.

goldens/<folder>.safetensors
    The folder loaded back with from_pretrained(dir, attn_implementation=
    "eager") (no missing or unexpected keys; asserted equal to the model
    written) on a batch of 4 texts (TEXTS[name]) tokenized by
    AutoTokenizer.from_pretrained(dir) with padding=True (right padding):
      input_ids, attention_mask [4,T] int64; token_type_ids [4,T] int64 (BERT
      only: the 4th BERT input is a text pair, so it holds 1s);
      logits [4,labels] or [4,T,vocab]; hidden_states.0 .. hidden_states.2
      [4,T,32] (0 = the embedding output); attentions.0, attentions.1
      [4,4,T,T] (softmax probabilities, exactly 0 at padded keys);
      pooler_output [4,32] (tiny-bert-cls only, model.bert(...).pooler_output).
    __metadata__: generator, config (the written config.json), texts, init,
    torch, transformers, tokenizers.
    The folder is also run with SDPA attention: logits within 1e-5 of eager.

sentences.json, goldens/minilm.safetensors
    SENTENCES (12, JSON list) run through the cached all-MiniLM-L6-v2
    sentence-transformers folder (${LMKIT_HOME:-~/.cache/lmkit}/minilm;
    BertModel 6 x 384, 12 heads; modules Transformer -> Pooling(mean) ->
    Normalize; max_seq_length 256):
      input_ids.i [T_i] int64: AutoTokenizer.from_pretrained(folder), with
        [CLS]/[SEP], no padding;
      last_hidden_state.i [T_i,384]: AutoModel.from_pretrained(folder,
        attn_implementation="eager") on all 12 sentences as one right-padded
        batch, the unpadded rows of sentence i;
      attentions.3 [12,T_0,T_0]: layer 3 attention of sentence 0 (same run);
      embeddings [12,384]: SentenceTransformer(folder, device="cpu").encode(
        SENTENCES, batch_size=32, convert_to_numpy=True) (L2-normalized).
    Asserted: the embeddings equal L2-normalize(masked mean of
    last_hidden_state) within 1e-5, and sentence-transformers tokenizes as
    AutoTokenizer does.

Run with the reference venv (pinned versions in Tools/requirements-reference.txt:
torch 2.13.0+cpu, transformers 5.23.0, sentence-transformers 6.2.0,
tokenizers 0.23.3, safetensors 0.8.0, numpy 2.4.6); about 10 s. The outputs
are byte-identical across runs with the same versions:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/encoders_golden.py [--out-dir DIR] [--minilm DIR]
"""

import os

# Before importing transformers: never reach a hub, no progress bars.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
import shutil
import sys

import numpy as np
import tokenizers
import torch
import torch.nn as nn
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file

from safetensors_header import canonicalize_header
from transformers import (AutoModel, AutoTokenizer, BertConfig, BertForMaskedLM,
                          BertForSequenceClassification, BertTokenizerFast, DistilBertConfig,
                          DistilBertForMaskedLM, DistilBertForSequenceClassification,
                          DistilBertTokenizerFast)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "Tests", "Fixtures", "encoders")
LMKIT_HOME = os.environ.get("LMKIT_HOME", os.path.expanduser("~/.cache/lmkit"))
DEFAULT_MINILM = os.path.join(LMKIT_HOME, "minilm")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789") + list(".,!?'\"-:;()")
CONTINUATIONS = ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
# Whole words (all in bert-base-uncased's vocabulary): those of the texts
# below first, then common words for tests that tokenize their own sentences.
# "boring" is left out on purpose (see the docstring).
WORDS = """
the movie was great dull film that did not like at all ok is it good yes what
wonderful day loved cafe costs paris capital france
this an and of to in for with on be are were he she they we you my
who how why when where there here very really so too much more some no one
time people man woman world life story plot acting music fun funny bad best
worst love hate watch see think make feel well just only never always but or
if than because about from have has had do can would will
""".split()

MAX_POSITIONS = 64
BERT_SIZES = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                  max_position_embeddings=MAX_POSITIONS, type_vocab_size=2, hidden_act="gelu")
DISTILBERT_SIZES = dict(dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                        max_position_embeddings=MAX_POSITIONS, activation="gelu")
BERT_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
DISTILBERT_LABELS = {0: "NEGATIVE", 1: "POSITIVE"}

CLS_TEXTS = ["the movie was great !", "a dull , boring film that i did not like at all .", "OK"]
MLM_TEXTS = ["the movie was [MASK] !", "a dull , boring film that i did [MASK] like at all .", "ok [MASK]"]
BERT_PAIR = ["is it good ?", "yes it is"]
BERT_MLM_PAIR = ["is it [MASK] ?", "yes it is"]
# DistilBERT has no segments: a fourth single text instead of the pair.
DISTILBERT_FOURTH = "What a wonderful day at the Café, it costs $12!"
DISTILBERT_MLM_FOURTH = "Paris is the [MASK] of France, it costs $12!"

# name: (model class, tokenizer class, config, seed, texts); a text is a str
# or a [first, second] pair.
def model_specs(vocab_size):
    return {
        "tiny-bert-cls": (BertForSequenceClassification, BertTokenizerFast,
                          BertConfig(vocab_size=vocab_size, num_labels=3, id2label=BERT_LABELS,
                                     label2id={v: k for k, v in BERT_LABELS.items()}, **BERT_SIZES),
                          1, CLS_TEXTS + [BERT_PAIR]),
        "tiny-bert-mlm": (BertForMaskedLM, BertTokenizerFast,
                          BertConfig(vocab_size=vocab_size, **BERT_SIZES),
                          2, MLM_TEXTS + [BERT_MLM_PAIR]),
        "tiny-distilbert-cls": (DistilBertForSequenceClassification, DistilBertTokenizerFast,
                                DistilBertConfig(vocab_size=vocab_size, num_labels=2,
                                                 id2label=DISTILBERT_LABELS,
                                                 label2id={v: k for k, v in DISTILBERT_LABELS.items()},
                                                 **DISTILBERT_SIZES),
                                3, CLS_TEXTS + [DISTILBERT_FOURTH]),
        "tiny-distilbert-mlm": (DistilBertForMaskedLM, DistilBertTokenizerFast,
                                DistilBertConfig(vocab_size=vocab_size, **DISTILBERT_SIZES),
                                4, MLM_TEXTS + [DISTILBERT_MLM_FOURTH]),
    }

INIT = dict(seed="torch.manual_seed(seed) before construction, seeds 1-4 in folder order",
            order="model.named_parameters() after construction, one global generator",
            layer_norm_weight="1 + 0.1 * randn", layer_norm_bias="0.1 * randn",
            bias="0.1 * randn (every other bias, the MLM output bias included)",
            other="0.2 * randn (Linear weights, embeddings)",
            tied="MLM decoder weight is the word embedding (listed once, not stored)")
FOLDER_LIMIT = 120_000  # bytes, every file of a folder

SENTENCES = [
    "A man is playing a guitar.",
    "Someone plays the guitar on stage.",
    "The stock market fell sharply today.",
    "Shares dropped steeply on Wall Street this afternoon.",
    "How do I reset my password?",
    "What is the way to change my account password?",
    "We met at a small café near the river.",
    "The train leaves at 7:45 and costs $12.50.",
    "Wait... what?!? No way!!!",
    "Cats sleep a lot.",
    "Kittens nap for most of the day.",
    "Models that turn sentences into vectors let computers compare meaning rather than "
    "exact words, so a search engine can find a page about automobiles when someone asks "
    "about cars, and a help desk can match a new question to an old answer even when the "
    "two share almost no words at all.",
]
MINILM_LIMIT = 350 * 1024
MINILM_ATTENTION_LAYER = 3


def build_vocab(bert_vocab_path):
    with open(bert_vocab_path, encoding="utf-8") as f:
        bert = set(line.rstrip("\n") for line in f)
    vocab = SPECIALS + CHARS + CONTINUATIONS
    missing = [w for w in vocab[len(SPECIALS):] + WORDS if w not in bert]
    assert not missing, f"not in {bert_vocab_path}: {missing}"
    assert len(set(WORDS)) == len(WORDS), "duplicate word"
    assert "boring" not in WORDS and "$" not in vocab
    vocab += [w for w in WORDS if w not in vocab]
    assert len(vocab) < 300, len(vocab)
    return vocab


def randomize(model):
    """Overwrite every parameter (see INIT) from the global generator."""
    norms = {}
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            norms[id(m.weight)] = "weight"
            norms[id(m.bias)] = "bias"
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape)
            if norms.get(id(p)) == "weight":
                p.copy_(1.0 + 0.1 * noise)
            elif norms.get(id(p)) == "bias" or name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def tied_pairs(model):
    """(decoder, embedding) parameter pairs that must share storage."""
    if isinstance(model, BertForMaskedLM):
        return [(model.cls.predictions.decoder.weight, model.bert.embeddings.word_embeddings.weight),
                (model.cls.predictions.decoder.bias, model.cls.predictions.bias)]
    if isinstance(model, DistilBertForMaskedLM):
        return [(model.vocab_projector.weight, model.distilbert.embeddings.word_embeddings.weight)]
    return []


def build_model(model_cls, config, seed):
    torch.manual_seed(seed)
    model = model_cls(config)
    randomize(model)
    model.tie_weights()
    for a, b in tied_pairs(model):
        assert a is b, "decoder not tied"
    model.eval()
    return model


def make_tokenizer(tok_cls, vocab_path):
    # transformers 5: the constructor's vocabulary argument is `vocab` (a path
    # or a dict); a `vocab_file=` keyword is swallowed by **kwargs and leaves
    # the 5 special tokens as the whole vocabulary.
    tok = tok_cls(vocab=vocab_path, do_lower_case=True, model_max_length=MAX_POSITIONS)
    with open(vocab_path, encoding="utf-8") as f:
        n = sum(1 for _ in f)
    assert len(tok) == n, (len(tok), n)
    return tok


def encode(tok, texts):
    firsts = [t[0] if isinstance(t, list) else t for t in texts]
    seconds = [t[1] if isinstance(t, list) else None for t in texts]
    if any(s is not None for s in seconds):
        # A batch of mixed singles and pairs: encode one by one, then pad.
        rows = [tok(a, b) if b is not None else tok(a) for a, b in zip(firsts, seconds)]
        return tok.pad(rows, padding=True, return_tensors="pt")
    return tok(firsts, padding=True, return_tensors="pt")


def save_folder(model, tok, vocab_path, model_dir):
    if os.path.isdir(model_dir):
        shutil.rmtree(model_dir)
    model.save_pretrained(model_dir, safe_serialization=True)
    tok.save_pretrained(model_dir)
    shutil.copyfile(vocab_path, os.path.join(model_dir, "vocab.txt"))
    with open(os.path.join(model_dir, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(tok.special_tokens_map, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    with open(os.path.join(model_dir, "config.json")) as f:
        config_text = f.read()
    assert config_text == model.config.to_json_string()
    size = sum(os.path.getsize(os.path.join(model_dir, n)) for n in os.listdir(model_dir))
    assert size < FOLDER_LIMIT, (model_dir, size)
    return config_text


def reload_model(model_cls, model_dir, impl, reference=None):
    model, info = model_cls.from_pretrained(model_dir, local_files_only=True, attn_implementation=impl,
                                            output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    assert not problems, (model_dir, problems)
    model.eval()
    for a, b in tied_pairs(model):
        assert a is b, "decoder not tied after reload"
    if reference is not None:
        ref = reference.state_dict()
        got = model.state_dict()
        assert ref.keys() == got.keys()
        assert all(torch.equal(ref[k], got[k]) for k in ref), model_dir
    return model


def golden_tiny(name, spec, vocab_path, out_dir):
    model_cls, tok_cls, config, seed, texts = spec
    model_dir = os.path.join(out_dir, name)
    model = build_model(model_cls, config, seed)
    tok = make_tokenizer(tok_cls, vocab_path)
    config_text = save_folder(model, tok, vocab_path, model_dir)

    reloaded_tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    assert type(reloaded_tok) is tok_cls, type(reloaded_tok)
    batch = encode(reloaded_tok, texts)
    assert batch.input_ids.tolist() == encode(tok, texts).input_ids.tolist()
    is_bert = model_cls in (BertForSequenceClassification, BertForMaskedLM)
    assert ("token_type_ids" in batch) == is_bert, batch.keys()
    assert batch.input_ids.shape[1] <= MAX_POSITIONS
    # The DistilBERT texts hold "$", which is not in the vocabulary.
    assert (batch.input_ids == 1).any() == (not is_bert), "[UNK] expected in the DistilBERT batches only"
    inputs = {k: batch[k].to(torch.int64) for k in batch}
    if is_bert:
        assert inputs["token_type_ids"].max().item() == 1

    m = reload_model(model_cls, model_dir, "eager", reference=model)
    n_layers = config.num_hidden_layers if is_bert else config.n_layers
    with torch.no_grad():
        out = m(**inputs, output_hidden_states=True, output_attentions=True)
    assert len(out.hidden_states) == n_layers + 1 and len(out.attentions) == n_layers
    tensors = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
    if is_bert:
        tensors["token_type_ids"] = inputs["token_type_ids"]
    tensors["logits"] = out.logits
    for i, h in enumerate(out.hidden_states):
        tensors[f"hidden_states.{i}"] = h
    for i, a in enumerate(out.attentions):
        tensors[f"attentions.{i}"] = a
        # Padded keys get exactly zero probability.
        pad = inputs["attention_mask"][:, None, None, :] == 0
        assert torch.all(a.masked_select(pad) == 0), (name, i)
    if model_cls is BertForSequenceClassification:
        with torch.no_grad():
            pooled = m.bert(**inputs).pooler_output
            assert torch.equal(m.classifier(pooled), out.logits)
        tensors["pooler_output"] = pooled
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}

    m_sdpa = reload_model(model_cls, model_dir, "sdpa")
    with torch.no_grad():
        diff = (m_sdpa(**inputs).logits - tensors["logits"]).abs().max().item()
    assert diff <= 1e-5, (name, diff)

    metadata = {
        "generator": "Tools/golden/encoders_golden.py",
        "config": config_text,
        "texts": json.dumps(texts, ensure_ascii=False),
        "init": json.dumps(dict(INIT, model_seed=seed), sort_keys=True),
        "tokenizer": f"{tok_cls.__name__}(vocab=vocab.txt, do_lower_case=True), padding=True (right)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }
    path = os.path.join(out_dir, "goldens", f"{name}.safetensors")
    write_safetensors(path, tensors, metadata)
    print(f"{name}: texts {len(texts)}, T = {tensors['input_ids'].shape[1]}, "
          f"sdpa vs eager max |logits diff| = {diff:.3g}")
    return tensors


def write_safetensors(path, tensors, metadata):
    for k, t in tensors.items():
        assert t.dtype in (torch.float32, torch.int64), (k, t.dtype)
        assert torch.isfinite(t).all() if t.is_floating_point() else True, k
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(tensors, path, metadata=metadata)
    canonicalize_header(path)
    reread = load_file(path)
    assert reread.keys() == tensors.keys() and all(torch.equal(reread[k], tensors[k]) for k in tensors)


def golden_minilm(minilm_dir, out_dir):
    from sentence_transformers import SentenceTransformer
    import sentence_transformers

    tok = AutoTokenizer.from_pretrained(minilm_dir, local_files_only=True)
    model = AutoModel.from_pretrained(minilm_dir, local_files_only=True, attn_implementation="eager")
    model.eval()
    batch = tok(SENTENCES, padding=True, return_tensors="pt")
    inputs = {k: v.to(torch.int64) for k, v in batch.items()}
    with torch.no_grad():
        out = model(**inputs, output_attentions=True)
    mask = inputs["attention_mask"]
    lengths = mask.sum(1).tolist()

    tensors = {}
    for i, n in enumerate(lengths):
        ids = tok(SENTENCES[i])["input_ids"]
        assert ids == inputs["input_ids"][i, :n].tolist() and mask[i, :n].all()
        tensors[f"input_ids.{i}"] = torch.tensor(ids, dtype=torch.int64)
    for i, n in enumerate(lengths):
        tensors[f"last_hidden_state.{i}"] = out.last_hidden_state[i, :n].contiguous()
    n0 = lengths[0]
    tensors[f"attentions.{MINILM_ATTENTION_LAYER}"] = \
        out.attentions[MINILM_ATTENTION_LAYER][0, :, :n0, :n0].contiguous()

    st = SentenceTransformer(minilm_dir, device="cpu")
    assert st.max_seq_length == 256
    st_ids = st.preprocess(SENTENCES)["input_ids"]  # sentence-transformers 6: tokenize() is deprecated
    assert st_ids.tolist() == inputs["input_ids"].tolist(), "sentence-transformers tokenizes differently"
    emb = st.encode(SENTENCES, batch_size=32, convert_to_numpy=True)
    assert emb.dtype == np.float32 and emb.shape == (len(SENTENCES), 384)
    tensors["embeddings"] = torch.from_numpy(np.ascontiguousarray(emb))

    m = mask[:, :, None].to(torch.float32)
    mean = (out.last_hidden_state * m).sum(1) / m.sum(1)
    manual = F.normalize(mean, p=2, dim=1)
    diff = (manual - tensors["embeddings"]).abs().max().item()
    assert diff <= 1e-5, diff
    sims = tensors["embeddings"] @ tensors["embeddings"].T

    with open(os.path.join(minilm_dir, "modules.json")) as f:
        modules = f.read()
    metadata = {
        "generator": "Tools/golden/encoders_golden.py",
        "sentences": json.dumps(SENTENCES, ensure_ascii=False),
        "modules": modules,
        "attentions": f"layer {MINILM_ATTENTION_LAYER}, sentence 0, [heads, T_0, T_0]",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }
    with open(os.path.join(out_dir, "sentences.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(SENTENCES, indent=2, ensure_ascii=False) + "\n")
    path = os.path.join(out_dir, "goldens", "minilm.safetensors")
    write_safetensors(path, tensors, metadata)
    assert os.path.getsize(path) < MINILM_LIMIT, os.path.getsize(path)
    print(f"minilm: token counts {lengths}, max |st - normalize(mean(last_hidden_state))| = {diff:.3g}")
    print("cosine similarities (rows = sentences):")
    for i in range(len(SENTENCES)):
        print("  " + " ".join(f"{v:5.2f}" for v in sims[i].tolist()))
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=DEFAULT_OUT_DIR)
    ap.add_argument("--minilm", default=DEFAULT_MINILM)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    transformers.logging.set_verbosity_error()

    os.makedirs(args.out_dir, exist_ok=True)
    vocab = build_vocab(os.path.join(args.minilm, "vocab.txt"))
    vocab_path = os.path.join(args.out_dir, "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")

    results = {}
    for name, spec in model_specs(len(vocab)).items():
        results[name] = golden_tiny(name, spec, vocab_path, args.out_dir)
    results["minilm"] = golden_minilm(args.minilm, args.out_dir)

    print(f"vocab.txt: {len(vocab)} tokens")
    for root, _, files in sorted(os.walk(args.out_dir)):
        for n in sorted(files):
            path = os.path.join(root, n)
            print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({os.path.getsize(path)} bytes)")
    for name, tensors in results.items():
        print(f"{name}:")
        for k, t in tensors.items():
            print(f"  {k:24s} {str(t.dtype).replace('torch.', ''):7s} {str(list(t.shape)):16s} "
                  f"max|x| = {t.abs().max().item():.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
