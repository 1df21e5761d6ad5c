#!/usr/bin/env python3
"""Small tokenizer.json fixtures for pipeline components, with their goldens.

Trains five tiny tokenizers with HF ``tokenizers`` trainers on
``${LMKIT_HOME:-~/.cache/lmkit}/gensim-data/lee_background.cor`` (300 news
documents, one a line, ~60k words; the lines are fed without their "\\n"
through ``train_from_iterator``) and writes them, with their encodings of the
shared corpus ``Tests/Fixtures/tokenizers/texts.json``, to
``Tests/Fixtures/tokenizers/pipelines/`` (compact UTF-8 JSON, one trailing
newline). Nothing is downloaded.

``unigram.json``  Unigram (UnigramTrainer, vocab_size 800, unk ``<unk>``;
  ``<unk>`` 0, ``<s>`` 1, ``</s>`` 2), normalizer NFKC, pre-tokenizer and
  decoder Metaspace("\u2581", prepend_scheme "always", split), post-processor
  TemplateProcessing ``<s> $A </s>`` / ``<s> $A </s> $B:1 </s>:1``.
``llama_bpe.json``  Llama-2 style: char-level BPE (BpeTrainer vocab_size 600,
  trained with a Metaspace split so no merge crosses a "\u2581"), then the 256
  byte pieces ``<0x00>`` ... ``<0xFF>`` put in the model vocab as ids 3-258
  (after ``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, as in Llama 2; they are NOT added
  tokens, so "<0x41>" in a text is plain text), trained pieces from 259 on
  (856 ids). byte_fallback, fuse_unk, unk ``<unk>``. Normalizer
  Sequence[Prepend("\u2581"), Replace(" ", "\u2581")], no pre-tokenizer,
  decoder Sequence[Replace("\u2581", " "), ByteFallback, Fuse, Strip(" ", 1, 0)],
  post-processor TemplateProcessing ``<s> $A`` / ``<s> $A <s>:1 $B:1`` (the
  pair template of Llama 2's own tokenizer.json). The corpus is ASCII, so
  every other character goes through byte fallback.
``wordlevel.json``  WordLevel (WordLevelTrainer, vocab_size 500, ``[UNK]`` 0),
  normalizer Sequence[NFD, Lowercase, StripAccents], pre-tokenizer
  Sequence[Whitespace, Digits(individual_digits), Punctuation("isolated")],
  no decoder (``decode`` joins tokens with " "), no post-processor.
``bpe_suffix.json``  BPE with continuing_subword_prefix "##" and
  end_of_word_suffix "</w>" (BpeTrainer vocab_size 600, unk ``<unk>`` 0: not
  in the brief, added so that unknown characters show up instead of being
  dropped), normalizer Sequence[Strip, Lowercase], pre-tokenizer
  WhitespaceSplit, decoder BPEDecoder("</w>") (which does not remove "##"),
  no post-processor.
``roberta_style.json``  byte-level BPE as ByteLevelBPETokenizer trains it
  (BpeTrainer vocab_size 700, min_frequency 2, initial alphabet = the 256
  ByteLevel characters; ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3; no unk
  in the model), pre-tokenizer ByteLevel(add_prefix_space=True), decoder
  ByteLevel, post-processor RobertaProcessing(("</s>", 2), ("<s>", 0),
  trim_offsets=True, add_prefix_space=True).

Determinism. Training runs with ``RAYON_NUM_THREADS=1`` (set before tokenizers
is imported) and every tokenizer is trained twice; the two files must be
identical. Two trainers are not deterministic on their own (they iterate Rust
hash maps whose seed changes per run):
  * BpeTrainer with a prefix/suffix numbers the "##x" / "x</w>" / "##x</w>"
    alphabet variants in hash order, and equal pair counts are broken by id, so
    the merges change from run to run. Fix: those variants (computed here from
    the pre-tokenized corpus) are given to the trainer first, in code point
    order, as extra special tokens; the model is then rebuilt from the trained
    vocab and merges without them as added tokens (the vocab set is the one an
    unseeded training gives: asserted).
  * UnigramTrainer sums its EM statistics in hash order (noise in the last
    bits, up to ~4e-11) and gives the corpus characters that pruning dropped
    the scores ``min_score + k * 0.0001`` in hash order. Fix: those characters,
    with any other single character within 1e-7 of such a score (the noise
    decides which of the lowest kept pieces is exactly ``min_score``), get the
    same scores in code point order, lowest first; then every
    score is rounded to float32 (as in tokenizer.json files converted from
    sentencepiece, which stores float32 scores; equal scores then do occur) and
    the pieces are sorted by (score descending, piece).

``goldens.json``: ``{NAME: {"file", "cases": [{"index", "text", "ids", "tokens", "offsets", "decoded"}], "pairs": [{"a", "b", "ids", "type_ids", "tokens"}], "meta"}}``
  for the five NAMEs above, from ``Tokenizer.from_file(NAME.json)`` with the
  file's own settings: ``encode(text)`` (special tokens added, no truncation,
  no padding), ``decoded = decode(ids)`` (skip_special_tokens=True),
  ``offsets`` = HF's character offsets turned into UTF-8 BYTE offsets
  ``[start, end)`` (``[0, 0]`` for added special tokens). ``pairs`` =
  ``encode(a, b)`` of the 5 ``PAIRS``. Cases follow the order of texts.json,
  but only a subset of it (``SUBSET``): all 401 texts would make ~9 MB (five
  tokenizers with 500-860 piece vocabularies, 2-3 bytes a token, each case
  with text, ids, tokens, offsets and decoded text), and so would the first
  150 texts (they are the 25 Shakespeare passages, the 96 wikitext chunks and
  29 sentiment sentences: ~108 KB of the corpus's 130 KB). The cases are the
  first 5 Shakespeare passages, the first 20 wikitext chunks, all 200
  sentiment sentences and all 80 edge texts (305 texts, ~2.7 MB); ``index`` is
  each case's position in texts.json.

Run:  PY=$(scripts/reference-venv | tail -1)/bin/python; "$PY" Tools/golden/tokenizers_pipelines.py
"""

import os

# Before tokenizers is imported: rayon reads it once, when its pool starts.
os.environ["RAYON_NUM_THREADS"] = "1"

import json  # noqa: E402
import sys  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import (  # noqa: E402
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
FIXTURES = ROOT / "Tests" / "Fixtures" / "tokenizers"
OUT = FIXTURES / "pipelines"
GENERATOR = "Tools/golden/tokenizers_pipelines.py"
CORPUS = CACHE / "gensim-data" / "lee_background.cor"
SPACE = "\u2581"
# Unigram: EM noise is up to ~4e-11, penalty levels are 1e-4 apart.
TOLERANCE = 1e-7

# Cases taken from texts.json, per source: the first N texts of that source (None: all).
SUBSET = {"shakespeare": 5, "wikipedia": 20, "sentiment": None, "edge": None}

PAIRS = [
    ("How old are you?", "I am 6 years old."),
    ("Dr. Smith went to Washington D.C.", "He left at 3 p.m."),
    ("caf\u00e9", "cafe\u0301"),
    ("\u6211\u7231\u81ea\u7136\u8bed\u8a00\u5904\u7406", "I love natural language processing."),
    ("  padded  ", ""),
]


def corpus_lines():
    with open(CORPUS, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    lines = [line for line in lines if line]
    assert len(lines) == 300, len(lines)
    return lines


def train(tok, trainer):
    tok.train_from_iterator(corpus_lines(), trainer=trainer, length=300)
    return tok


def model_json(tok):
    return json.loads(tok.to_str())["model"]


# ----------------------------------------------------------------------------
# The five tokenizers
# ----------------------------------------------------------------------------


def unigram():
    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always", split=True)
    train(tok, trainers.UnigramTrainer(vocab_size=800, show_progress=False, special_tokens=specials, unk_token="<unk>"))
    vocab = model_json(tok)["vocab"]
    assert [p for p, _ in vocab[:3]] == specials and all(s == 0.0 for _, s in vocab[:3])
    pieces = vocab[3:]

    # Undo the hash order of finalize(): the characters pruning dropped got
    # min_score + penalty, penalty += 0.0001 per character, in HashSet order.
    # The kept piece(s) with the lowest scores are within EM noise of min_score,
    # so which of them is exactly min_score changes from run to run: pool every
    # single character within TOLERANCE of a penalty level.
    scores = [s for _, s in pieces]
    min_score = min(scores)
    levels, penalty = [], 0.0
    while True:
        value = min_score + penalty
        if penalty > 0.0 and not any(abs(s - value) < TOLERANCE for s in scores):
            break
        levels.append(value)
        penalty += 0.0001
    pool = [i for i, (p, s) in enumerate(pieces) if len(p) == 1 and any(abs(s - v) < TOLERANCE for v in levels)]
    assert len(pool) >= len(levels), (len(pool), len(levels))
    pool_scores = sorted(pieces[i][1] for i in pool)
    for i, s in zip(sorted(pool, key=lambda i: pieces[i][0]), pool_scores):
        pieces[i] = [pieces[i][0], s]
    # float32 scores: removes the summation-order noise of the EM.
    pieces = [(p, float(np.float32(s))) for p, s in pieces]
    pieces.sort(key=lambda ps: (-ps[1], ps[0]))

    out = Tokenizer(models.Unigram([(p, 0.0) for p in specials] + pieces, unk_id=0, byte_fallback=False))
    out.normalizer = normalizers.NFKC()
    out.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always", split=True)
    out.decoder = decoders.Metaspace(replacement=SPACE, prepend_scheme="always", split=True)
    out.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    out.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1", special_tokens=[("<s>", 1), ("</s>", 2)]
    )
    return out


def llama_bpe():
    specials = ["<unk>", "<s>", "</s>"]
    normalizer = normalizers.Sequence([normalizers.Prepend(SPACE), normalizers.Replace(" ", SPACE)])
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizer
    # Training only: cut before each "\u2581" so that pieces are words or parts of
    # words, as sentencepiece trains them; the final tokenizer has no pre-tokenizer.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="never", split=True)
    train(tok, trainers.BpeTrainer(vocab_size=600, show_progress=False, special_tokens=specials))
    m = model_json(tok)
    trained = sorted(m["vocab"].items(), key=lambda kv: kv[1])
    assert [t for t, _ in trained[:3]] == specials
    byte_pieces = [f"<0x{b:02X}>" for b in range(256)]
    order = specials + byte_pieces + [t for t, _ in trained[3:]]
    assert len(set(order)) == len(order)
    vocab = {t: i for i, t in enumerate(order)}

    out = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=[tuple(x) for x in m["merges"]],
            unk_token="<unk>",
            fuse_unk=True,
            byte_fallback=True,
        )
    )
    out.normalizer = normalizer
    out.decoder = decoders.Sequence(
        [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    out.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    out.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", 1)]
    )
    return out


def wordlevel():
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.Punctuation("isolated")]
    )
    train(tok, trainers.WordLevelTrainer(vocab_size=500, show_progress=False, special_tokens=["[UNK]"]))
    return tok


def bpe_suffix():
    prefix, suffix = "##", "</w>"

    def fresh():
        tok = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix=prefix, end_of_word_suffix=suffix))
        tok.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tok.decoder = decoders.BPEDecoder(suffix=suffix)
        return tok

    def trainer(specials):
        return trainers.BpeTrainer(
            vocab_size=600,
            show_progress=False,
            special_tokens=specials,
            continuing_subword_prefix=prefix,
            end_of_word_suffix=suffix,
        )

    # The alphabet variants BpeTrainer::tokenize_words creates, in code point order.
    probe = fresh()
    variants = set()
    for line in corpus_lines():
        for word, _ in probe.pre_tokenizer.pre_tokenize_str(probe.normalizer.normalize_str(line)):
            n = len(word)
            for i, c in enumerate(word):
                s = (prefix if i > 0 else "") + c + (suffix if i == n - 1 else "")
                if s != c:
                    variants.add(s)
    variants = sorted(variants)

    def merge_results(model):
        return [a + b[len(prefix):] if b.startswith(prefix) else a + b for a, b in model["merges"]]

    m = model_json(train(fresh(), trainer(["<unk>"] + variants)))
    plain = model_json(train(fresh(), trainer(["<unk>"])))
    merged = merge_results(m)
    # The seeds are exactly the variants an unseeded training creates (its merges
    # may differ: that is the point).
    assert set(plain["vocab"]) - set(merge_results(plain)) == set(m["vocab"]) - set(merged), "bad variant seeds"
    assert set(merged).isdisjoint(variants) and len(m["vocab"]) == len(plain["vocab"])
    # Renumber: <unk>, the plain characters, the variants, then merge results, as
    # an unseeded training numbers them (but with the variants in code point order).
    alphabet = sorted(set(m["vocab"]) - set(merged) - set(variants) - {"<unk>"})
    order = ["<unk>"] + alphabet + variants + merged
    assert sorted(order) == sorted(m["vocab"]), "unexpected vocabulary layout"

    out = fresh()
    out.model = models.BPE(
        vocab={t: i for i, t in enumerate(order)},
        merges=[tuple(x) for x in m["merges"]],
        unk_token="<unk>",
        continuing_subword_prefix=prefix,
        end_of_word_suffix=suffix,
    )
    out.add_special_tokens([AddedToken("<unk>", special=True, normalized=False)])
    return out


def roberta_style():
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    train(
        tok,
        trainers.BpeTrainer(
            vocab_size=700,
            min_frequency=2,
            show_progress=False,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    assert [tok.token_to_id(t) for t in specials] == [0, 1, 2, 3]
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=True)
    return tok


BUILDERS = {
    "unigram": unigram,
    "llama_bpe": llama_bpe,
    "wordlevel": wordlevel,
    "bpe_suffix": bpe_suffix,
    "roberta_style": roberta_style,
}


# ----------------------------------------------------------------------------
# Goldens
# ----------------------------------------------------------------------------


def byte_offsets(text):
    """cum[i] = UTF-8 length of text[:i]: maps Python (code point) offsets to byte offsets."""
    cum = [0]
    for ch in text:
        cum.append(cum[-1] + len(ch.encode("utf-8")))
    return cum


def select_cases(corpus):
    seen, out = {}, []
    for index, entry in enumerate(corpus["texts"]):
        source = entry["source"]
        seen[source] = seen.get(source, 0) + 1
        limit = SUBSET[source]
        if limit is None or seen[source] <= limit:
            out.append((index, entry["text"]))
    return out


def golden(name, tok, cases):
    out_cases, mismatched = [], 0
    for index, text in cases:
        e = tok.encode(text)
        # Unigram names an unknown piece by its text, not by "<unk>".
        assert all(t == tok.id_to_token(i) or (name == "unigram" and i == 0) for t, i in zip(e.tokens, e.ids)), (
            name,
            text,
        )
        cum = byte_offsets(text)
        decoded = tok.decode(e.ids)
        mismatched += decoded != text
        out_cases.append(
            {
                "index": index,
                "text": text,
                "ids": e.ids,
                "tokens": e.tokens,
                "offsets": [[cum[s], cum[t]] for s, t in e.offsets],
                "decoded": decoded,
            }
        )
    pairs = []
    for a, b in PAIRS:
        e = tok.encode(a, b)
        pairs.append({"a": a, "b": b, "ids": e.ids, "type_ids": e.type_ids, "tokens": e.tokens})
    n_unk = sum(tok.id_to_token(i) in ("<unk>", "[UNK]") for c in out_cases for i in c["ids"])
    print(
        f"{name}: vocab {tok.get_vocab_size()}, {sum(len(c['ids']) for c in out_cases)} tokens, "
        f"{n_unk} unk, decode != text on {mismatched}/{len(out_cases)}",
        file=sys.stderr,
    )
    meta = {
        "generator": GENERATOR,
        "reference": f"HF tokenizers Tokenizer.from_file(pipelines/{name}.json): encode(text), decode(ids)",
        "tokenizers": version("tokenizers"),
        "vocab_size": tok.get_vocab_size(),
        "offsets": "UTF-8 byte offsets [start, end) into text",
        "subset": SUBSET,
    }
    return {"file": f"{name}.json", "cases": out_cases, "pairs": pairs, "meta": meta}


def write_text(path, data):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(data)
    return path


def write_json(path, obj):
    write_text(path, json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == obj, path
    return path


def main():
    assert tokenizers.__version__ == version("tokenizers")
    with open(FIXTURES / "texts.json", encoding="utf-8") as f:
        corpus = json.load(f)
    cases = select_cases(corpus)
    OUT.mkdir(parents=True, exist_ok=True)

    paths, goldens = [], {}
    for name, build in BUILDERS.items():
        first, second = build().to_str(), build().to_str()
        assert first == second, f"{name}: two trainings gave different tokenizers"
        path = write_text(OUT / f"{name}.json", first + "\n")
        paths.append(path)
        # Goldens come from the file as written, not from the object in memory.
        goldens[name] = golden(name, Tokenizer.from_file(str(path)), cases)
    paths.append(write_json(OUT / "goldens.json", goldens))

    print(f"{len(cases)} of {len(corpus['texts'])} texts", file=sys.stderr)
    for p in paths:
        print(f"{p.relative_to(ROOT)}  {p.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
