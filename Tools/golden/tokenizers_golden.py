#!/usr/bin/env python3
"""Tokenizer parity goldens: one shared corpus, encoded by each reference.

Reads only local assets from ``${LMKIT_HOME:-~/.cache/lmkit}`` (nothing is
downloaded: no tiktoken registry, no ``nltk.download``, no model hub) and writes
compact UTF-8 JSON (no indentation, ``ensure_ascii=False``, one trailing
newline) to ``Tests/Fixtures/tokenizers/``. Every list follows the order of
``texts.json``. Offsets are UTF-8 BYTE offsets ``[start, end)`` into the text.

``texts.json``: ``{"texts": [{"source": S, "text": T}, ...], "raw_bytes": [{"hex": H}, ...], "meta": {...}}``
  S is ``shakespeare`` (25 runs of whole lines, <= 2048 characters each, starting
  at the first line break after ``k * len / 25``), ``wikipedia`` (raw wikitext of
  the first pages of the enwiki XML dump, entities unescaped, at most 8000
  characters per page, cut into chunks of <= 2000 characters at line breaks; a
  longer line is cut after its last space before the limit), ``sentiment`` (the
  200 ``pang_lee_polarity.cor`` sentences, read as Windows-1252, without
  ``__label__xxx `` and the trailing space) or ``edge`` (hand-made cases below). ``raw_bytes`` are byte
  strings that are NOT valid UTF-8 (hex, lower case).

``gpt2.json``: ``{"cases": [{"text", "ids"}], "raw_bytes": [{"hex", "ids"}], "special": [{"text", "ids"}], "meta"}``
  Reference: tiktoken's ``Encoding`` built from ``gpt2/gpt2.tiktoken`` (r50k_base
  ranks) with the GPT-2 pattern ``GPT2_PATTERN`` and ``<|endoftext|>`` = 50256.
  ``cases`` use ``encode_ordinary`` (``<|endoftext|>`` in a text is plain text);
  ``special`` uses ``encode(text, allowed_special={"<|endoftext|>"})``.
  ``raw_bytes`` ids are defined as: ``s = bytes.decode("utf-8", "surrogateescape")``,
  ``pieces = regex.findall(GPT2_PATTERN, s)`` (an invalid byte becomes a lone
  surrogate, which is neither a letter, a number nor a space, so it falls in
  the punctuation branch ``' ?[^\\s\\p{L}\\p{N}]+'``), ids = the concatenation of
  ``_encode_single_piece(piece.encode("utf-8", "surrogateescape"))``, i.e. the
  BPE of each piece's original bytes. For valid text this definition equals
  ``encode_ordinary`` (asserted on every text). ``decode_bytes(ids)`` gives
  back the input exactly (asserted for everything). Cross-check: HF
  ``tokenizers`` (BPE from ``vocab.json`` + ``merges.txt``, ByteLevel
  pre-tokenizer without prefix space) gives the same ids on every text and
  every ``special`` case; the script fails if they ever differ. tiktoken's own
  private ``_encode_bytes`` is not this definition: on ``abc\xff  def   ghi\n\nx``
  it ends ``..., 628, 87]`` ("\n\n" as one token) where the regex split gives
  ``..., 198, 198, 87]``, as ``encode_ordinary`` does for valid text; the
  script prints every such difference, the goldens keep the definition above.

``bert.json``: ``{"config", "cases": [{"text", "ids", "tokens", "offsets"}], "pairs": [{"a", "b", "ids", "type_ids", "tokens"}], "truncated": [{"text", "max_length", "ids"}], "meta"}``
  Reference: HF ``tokenizers`` ``Tokenizer.from_file(minilm/tokenizer.json)``
  with ``no_truncation()`` and ``no_padding()`` (the file itself pads and
  truncates to 128), special tokens added (``[CLS] ... [SEP]``; pairs
  ``[CLS] a [SEP] b [SEP]`` with type ids 0/1). ``offsets`` are HF's character
  offsets turned into byte offsets (``[0, 0]`` for ``[CLS]``/``[SEP]``).
  ``truncated`` uses ``enable_truncation(16)`` (longest_first, stride 0).
  ``config`` copies the tokenizer.json stages (normalizer options, model
  parameters without the vocab, stage types).

``gemma.json``: ``{"config", "cases": [{"text", "ids", "pieces"}], "raw_bytes": [{"hex", "ids", "pieces", "decoded"}], "meta"}``
  Reference: sentencepiece, from a ``ModelProto`` rebuilt from the GGUF
  tokenizer arrays of ``gemma/gemma-3-270m-q4_k_m.gguf`` (262144 pieces with
  their score and type; BPE, byte_fallback; unk 3, bos 2, eos 1, pad 0;
  normalizer "identity": no dummy prefix, extra whitespace kept, " " escaped as
  "\u2581", empty charsmap). Two repairs of what llama.cpp's converter wrote:
  user-defined pieces (type 4) had "\u2581" "pre-normalized" to " " (e.g.
  piece 138 is two spaces), so " " is mapped back to "\u2581"; and ``<unk>``
  is typed CONTROL in the GGUF, sentencepiece wants exactly one UNKNOWN piece.
  ``ids = sp.encode(text)``: no BOS/EOS. ``sp.decode(ids) == text`` holds for
  every text (asserted). ``raw_bytes``: ``sp.encode(bytes)``; sentencepiece
  replaces each invalid byte by U+FFFD before tokenizing, so ``decoded`` (the
  UTF-8 of ``sp.decode(ids)``) is not the input. Control pieces such as
  ``<bos>`` or ``<start_of_turn>`` in a text are plain text; user-defined
  pieces (``\\n``, runs of spaces and tabs, ``<table>``, ...) match whole.

``nltk.json``: ``{"cases": [{"text", "sentences", "spans", "words"}], "meta"}``
  Reference: NLTK punkt with the parameters of ``punkt/english.py`` (abbrev
  types, collocations, sentence starters, orthographic context):
  ``PunktSentenceTokenizer(params).tokenize`` / ``span_tokenize``, and
  ``words`` = ``NLTKWordTokenizer().tokenize`` of each sentence, concatenated:
  exactly ``nltk.word_tokenize`` (asserted by running ``word_tokenize`` with
  this punkt model swapped in).

Options: ``--gemma-hf-json PATH`` also writes a HF ``tokenizer.json`` for the
Gemma vocabulary (BPE + byte_fallback, merges ranked by the score of the merged
piece; ~30 MB, NOT a fixture) and prints how often it agrees with
sentencepiece on the corpus.

Run:  PY=$(scripts/reference-venv | tail -1)/bin/python; "$PY" Tools/golden/tokenizers_golden.py
"""

import argparse
import bz2
import json
import os
import runpy
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

import gguf
import nltk
import regex
import sentencepiece as spm
import tiktoken
import tiktoken.load
import tokenizers
from nltk.tokenize import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
OUT = ROOT / "Tests" / "Fixtures" / "tokenizers"
GENERATOR = "Tools/golden/tokenizers_golden.py"

# GPT-2's pre-tokenizer pattern (tiktoken's r50k_base; HF ByteLevel's is the same
# with the contractions spelled out).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
ENDOFTEXT = "<|endoftext|>"

SHAKESPEARE_PASSAGES = 25
SHAKESPEARE_PASSAGE_CHARS = 2048
WIKI_TARGET_CHARS = 50_000
WIKI_PAGE_CHARS = 8000
WIKI_CHUNK_CHARS = 2000
SENTIMENT_SENTENCES = 200
BERT_MAX_LENGTH = 16

EDGE_TEXTS = [
    # whitespace only
    "",
    " ",
    "   ",
    "\t\n \r\n",
    "\n\n\n",
    "  hello   world  ",
    "trailing spaces   ",
    "   leading spaces",
    "line one\nline two\r\nline three\rline four",
    "tab\tsep\tvalues",
    # plain sentences
    "I love learning about LLMs",
    "Transformers power modern LLMs",
    "The quick brown fox jumps over the lazy dog.",
    # contractions and quotes
    "I can't won't they'll we've he'd y'all cannot gonna",
    "don't",
    "don\u2019t",
    "It's JOHN'S car, isn'T it? I'M sure 'tis.",
    "She said \"yes\" and 'no'.",
    "\u201cCurly double\u201d and \u2018curly single\u2019 quotes",
    "``LaTeX quotes'' and `backticks`",
    'He said, "Hi." Then left.',
    # ellipses, repeated punctuation, dashes, brackets
    "Wait... what?",
    "\u2026",
    "Wait\u2026 what\u2026?",
    "!!!???",
    "----",
    "....",
    "Really?! Yes!!! No?? Maybe...",
    "--double dash--",
    "an em\u2014dash and an en\u2013dash",
    "(a) [b] {c} <d>",
    # abbreviations and sentence boundaries
    "Dr. Smith went to Washington D.C. on Jan. 5th. He left at 3 p.m. It rained.",
    "U.S.A. is big. The U.S. economy.",
    "Mr. and Mrs. Jones met Prof. Brown, Ph.D., at 10 a.m. on Dec. 3. They talked.",
    "e.g. this, i.e. that, etc. and so on. Next sentence here.",
    "The price rose 5.5%. Analysts expected 4.2%. Markets fell.",
    "He asked: \"Is it over?\" She replied: \"No.\" Then silence.",
    "First sentence.Second sentence without a space. Third one!",
    # numbers
    "3.14159 1,000,000 -42 1e-9 2024-11-22 $3.88",
    "0 00 007 12345678901234567890 \u00bd \u00b2 \u2460 \u0664\u0662",
    "Call 555-0100 or +1 (800) 555-0199 ext. 42",
    # emoji
    "\U0001F469\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",
    "\U0001F3F3\ufe0f\u200d\U0001F308",
    "I \u2764\ufe0f NLP \U0001F600\U0001F600",
    "thumbs \U0001F44D\U0001F3FD and flags \U0001F1EB\U0001F1F7\U0001F1EF\U0001F1F5",
    # scripts
    "\u6211\u7231\u81ea\u7136\u8bed\u8a00\u5904\u7406",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ba\u03b5\u03af\u03bc\u03b5\u03bd\u03bf",
    "\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442. \u0412\u0442\u043e\u0440\u043e\u0435 \u043f\u0440\u0435\u0434\u043b\u043e\u0436\u0435\u043d\u0438\u0435.",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u092a\u093e\u0920",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    "mixed English \u4e2d\u6587 \u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 and \u65e5\u672c\u8a9e",
    # accents and Unicode normalization
    "caf\u00e9",
    "cafe\u0301",
    "\u00c5ngstr\u00f6m",
    "na\u00efve r\u00e9sum\u00e9",
    "\u00c9COLE \u00e9cole Stra\u00dfe \u0130stanbul",
    "\ufb01 ligature",
    "\uff21\uff22\uff23\uff11\uff12\uff13",
    "Hello\u00a0world",
    # control and invisible characters
    "a\u0000b",
    "x\u0007y",
    "\u200b zero width",
    "\ufeffBOM",
    "soft\u00adhyphen and\u2028line separator",
    # long words
    "a" * 300,
    "supercalifragilistic" * 20,
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    # code and markup
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n",
    '{"name": "LMKit", "version": 1, "tags": ["swift", "ml"], "ok": true}',
    "cat access.log | grep -v 200 | awk '{print $1}' | sort | uniq -c > out.txt",
    "<div class=\"x\">Hello <b>world</b></div>",
    # URLs and emails
    "Visit https://example.com/path?q=1&r=two#frag or http://localhost:8080/.",
    "Mail john.doe+test@example.co.uk, cc: jane_doe@mail.example.org.",
    # special-token text
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "<s> [CLS] [SEP] [MASK] <bos> <eos> <start_of_turn>user",
]

# Byte strings that are NOT valid UTF-8.
RAW_BYTES = [
    b"\x80",  # lone continuation byte
    b"\xe2\x82",  # truncated 3-byte sequence (euro sign without its last byte)
    b"\xc0\xaf",  # overlong encoding of '/'
    b"\xff",  # never valid
    b"\xed\xa0\x80",  # UTF-16 surrogate U+D800 encoded as UTF-8
    b"caf\xc3 au lait \xff\xfe ok",  # invalid bytes in the middle
    "na\u00efve r\u00e9sum\u00e9".encode() + b"\xe2\x82",  # valid text, invalid end
    b"Hello \x80\x80 world \xf0\x9f\x98",  # invalid in the middle and a truncated emoji at the end
    b"abc\xff  def   ghi\n\nx",  # whitespace runs after an invalid byte
]

BERT_PAIRS = [
    ("How old are you?", "I am 6 years old."),
    ("The cat sat on the mat.", "A cat was sitting on a rug."),
    ("I love learning about LLMs", "Transformers power modern LLMs"),
    ("What is the capital of France?", "Paris is the capital and largest city of France."),
    ("Dr. Smith went to Washington D.C.", "He left at 3 p.m."),
    ("caf\u00e9", "cafe\u0301"),
    ("\u6211\u7231\u81ea\u7136\u8bed\u8a00\u5904\u7406", "I love natural language processing."),
    ("don't stop", "can\u2019t stop"),
    ("A man is playing a guitar.", "Someone plays an instrument \U0001F3B8."),
    ("Hello world", "Hello\u00a0world"),
]


# ----------------------------------------------------------------------------
# Corpus
# ----------------------------------------------------------------------------


def split_lines(text):
    """Lines with their '\\n' kept; only '\\n' separates (str.splitlines would also cut at \\x85, \\u2028, ...)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def chunks_at_lines(text, limit):
    """Greedy chunks of whole lines, each <= limit characters; a longer line is cut after its last space."""
    segments = []
    for line in split_lines(text):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit) + 1
            if cut <= 0:
                cut = limit
            segments.append(line[:cut])
            line = line[cut:]
        segments.append(line)
    chunks, current = [], ""
    for seg in segments:
        if current and len(current) + len(seg) > limit:
            chunks.append(current)
            current = ""
        current += seg
    if current:
        chunks.append(current)
    assert "".join(chunks) == text and all(0 < len(c) <= limit for c in chunks)
    return chunks


def shakespeare_passages(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    passages = []
    for k in range(SHAKESPEARE_PASSAGES):
        start = 0 if k == 0 else text.index("\n", k * len(text) // SHAKESPEARE_PASSAGES) + 1
        end = start
        while True:
            nl = text.find("\n", end)
            line_end = len(text) if nl < 0 else nl + 1
            if line_end - start > SHAKESPEARE_PASSAGE_CHARS or line_end == end:
                break
            end = line_end
        assert end > start
        passages.append(text[start:end])
    return passages


def wikipedia_chunks(path):
    chunks, total = [], 0
    with bz2.open(path) as f:
        for _, el in ET.iterparse(f):
            if not el.tag.endswith("}page"):
                continue
            ns = el.tag[: -len("page")]
            page = el.find(f"{ns}revision/{ns}text").text or ""
            el.clear()
            taken = 0
            for chunk in chunks_at_lines(page, WIKI_CHUNK_CHARS):
                if taken + len(chunk) > WIKI_PAGE_CHARS:
                    break
                chunks.append(chunk)
                taken += len(chunk)
                total += len(chunk)
            if total >= WIKI_TARGET_CHARS:
                break
    return chunks


def sentiment_sentences(path):
    # The file is Windows-1252, not UTF-8 (0x97 em dash, 0xe9 e-acute, ...).
    with open(path, encoding="cp1252", newline="") as f:
        lines = split_lines(f.read())
    out = []
    for line in lines:
        m = regex.fullmatch(r"__label__\w+ (.*?) ?\n?", line, flags=regex.DOTALL)
        assert m, line
        out.append(m.group(1))
    assert len(out) == SENTIMENT_SENTENCES, len(out)
    return out


def build_corpus():
    texts = []
    texts += [("shakespeare", t) for t in shakespeare_passages(CACHE / "shakespeare" / "shakespeare.txt")]
    wiki = CACHE / "gensim-data" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    texts += [("wikipedia", t) for t in wikipedia_chunks(wiki)]
    texts += [("sentiment", t) for t in sentiment_sentences(CACHE / "gensim-data" / "pang_lee_polarity.cor")]
    texts += [("edge", t) for t in EDGE_TEXTS]
    for _, t in texts:
        t.encode("utf-8")  # no lone surrogates
    for b in RAW_BYTES:
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            continue
        raise AssertionError(f"{b!r} is valid UTF-8")
    return texts


def byte_offsets(text):
    """cum[i] = UTF-8 length of text[:i]: maps Python (code point) offsets to byte offsets."""
    cum = [0]
    for ch in text:
        cum.append(cum[-1] + len(ch.encode("utf-8")))
    return cum


# ----------------------------------------------------------------------------
# GPT-2: tiktoken, cross-checked with HF tokenizers
# ----------------------------------------------------------------------------


def gpt2_golden(texts):
    # A local path: read the file directly, no copy into tiktoken's cache dir.
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    ranks = tiktoken.load.load_tiktoken_bpe(str(CACHE / "gpt2" / "gpt2.tiktoken"))
    enc = tiktoken.Encoding(
        name="r50k_base", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: 50256}
    )
    assert enc.n_vocab == 50257

    hf = Tokenizer(models.BPE.from_file(str(CACHE / "gpt2" / "vocab.json"), str(CACHE / "gpt2" / "merges.txt")))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    hf.decoder = decoders.ByteLevel()

    def split_encode(data):
        s = data.decode("utf-8", "surrogateescape")
        return [
            i for piece in regex.findall(GPT2_PATTERN, s) for i in enc._encode_single_piece(piece.encode("utf-8", "surrogateescape"))
        ]

    cases, disagreements = [], []
    for text in texts:
        ids = enc.encode_ordinary(text)
        assert enc.decode_bytes(ids) == text.encode("utf-8"), text
        assert split_encode(text.encode("utf-8")) == ids, text
        hf_ids = hf.encode(text, add_special_tokens=False).ids
        if hf_ids != ids:
            disagreements.append((text, ids, hf_ids))
        cases.append({"text": text, "ids": ids})

    raw = []
    for data in RAW_BYTES:
        ids = split_encode(data)
        assert enc.decode_bytes(ids) == data, data
        own = enc._encode_bytes(data)
        if own != ids:
            print(f"gpt2: tiktoken _encode_bytes({data.hex()}) = {own}, golden {ids}", file=sys.stderr)
        raw.append({"hex": data.hex(), "ids": ids})

    hf.add_special_tokens([ENDOFTEXT])
    special = []
    for text in ["Hello<|endoftext|>world", "<|endoftext|>", "The end.<|endoftext|>\n\nA new <|endoftext|>start"]:
        ids = enc.encode(text, allowed_special={ENDOFTEXT})
        assert enc.decode(ids) == text
        hf_ids = hf.encode(text, add_special_tokens=False).ids
        if hf_ids != ids:
            disagreements.append((text, ids, hf_ids))
        special.append({"text": text, "ids": ids})

    for text, ids, hf_ids in disagreements:
        print(f"gpt2: tiktoken and HF differ on {text!r}: {ids} vs {hf_ids}", file=sys.stderr)
    assert not disagreements, f"{len(disagreements)} GPT-2 disagreements (see above)"

    meta = {
        "generator": GENERATOR,
        "reference": "tiktoken Encoding(r50k_base ranks, GPT-2 pattern), encode_ordinary",
        "cross_check": "HF tokenizers BPE(vocab.json, merges.txt) + ByteLevel(add_prefix_space=False): identical ids",
        "tiktoken": version("tiktoken"),
        "tokenizers": version("tokenizers"),
        "regex": version("regex"),
        "pattern": GPT2_PATTERN,
        "assets": ["gpt2/gpt2.tiktoken", "gpt2/vocab.json", "gpt2/merges.txt"],
    }
    return {"cases": cases, "raw_bytes": raw, "special": special, "meta": meta}


# ----------------------------------------------------------------------------
# BERT (all-MiniLM-L6-v2's bert-base-uncased WordPiece): HF tokenizers
# ----------------------------------------------------------------------------


def bert_golden(texts):
    path = CACHE / "minilm" / "tokenizer.json"
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()

    cases = []
    for text in texts:
        e = tok.encode(text)
        cum = byte_offsets(text)
        assert e.tokens == [tok.id_to_token(i) for i in e.ids]
        assert e.ids[0] == 101 and e.ids[-1] == 102
        cases.append(
            {"text": text, "ids": e.ids, "tokens": e.tokens, "offsets": [[cum[s], cum[t]] for s, t in e.offsets]}
        )

    pairs = []
    for a, b in BERT_PAIRS:
        e = tok.encode(a, b)
        pairs.append({"a": a, "b": b, "ids": e.ids, "type_ids": e.type_ids, "tokens": e.tokens})

    trunc_tok = Tokenizer.from_file(str(path))
    trunc_tok.no_padding()
    trunc_tok.enable_truncation(BERT_MAX_LENGTH)
    long_texts = [
        texts[0],  # Shakespeare
        next(t for t in texts if "[[" in t and len(t) > 1000),  # wikitext
        max(texts[-len(EDGE_TEXTS) - SENTIMENT_SENTENCES : -len(EDGE_TEXTS)], key=len),  # longest sentiment sentence
        "Visit https://example.com/path?q=1&r=two#frag or http://localhost:8080/.",
        "Dr. Smith went to Washington D.C. on Jan. 5th. He left at 3 p.m. It rained.",
    ]
    truncated = []
    for text in long_texts:
        ids = trunc_tok.encode(text).ids
        full = tok.encode(text).ids
        assert len(ids) == BERT_MAX_LENGTH <= len(full) and ids[:-1] == full[: BERT_MAX_LENGTH - 1] and ids[-1] == 102
        truncated.append({"text": text, "max_length": BERT_MAX_LENGTH, "ids": ids})

    config = {
        "normalizer": spec["normalizer"],
        "pre_tokenizer": spec["pre_tokenizer"]["type"],
        "model": {k: v for k, v in spec["model"].items() if k != "vocab"} | {"vocab_size": len(spec["model"]["vocab"])},
        "post_processor": spec["post_processor"]["type"],
        "decoder": spec["decoder"],
        "file_truncation": spec["truncation"],
        "file_padding": spec["padding"],
    }
    meta = {
        "generator": GENERATOR,
        "reference": "HF tokenizers Tokenizer.from_file(minilm/tokenizer.json), no_truncation, no_padding",
        "tokenizers": version("tokenizers"),
        "assets": ["minilm/tokenizer.json"],
        "offsets": "UTF-8 byte offsets [start, end) into text",
    }
    return {"config": config, "cases": cases, "pairs": pairs, "truncated": truncated, "meta": meta}


# ----------------------------------------------------------------------------
# Gemma 3: sentencepiece from the GGUF vocabulary
# ----------------------------------------------------------------------------

# GGUF token types use sentencepiece's numbering.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def gemma_vocab(path):
    reader = gguf.GGUFReader(str(path))

    def field(key):
        return reader.fields[key].contents()

    assert field("tokenizer.ggml.model") == "llama"
    assert field("tokenizer.ggml.add_space_prefix") is False
    ids = {k: field(f"tokenizer.ggml.{k}_token_id") for k in ("bos", "eos", "unknown", "padding")}
    assert ids == {"bos": 2, "eos": 1, "unknown": 3, "padding": 0}, ids
    tokens, scores, types = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.scores"), field("tokenizer.ggml.token_type")
    assert len(tokens) == len(scores) == len(types) == 262144
    # llama.cpp's converter wrote user-defined pieces with "\u2581" turned into " "
    # ("pre-normalize user-defined spaces"); no other piece contains a plain space.
    assert all(" " not in t for t, ty in zip(tokens, types) if ty != USER_DEFINED)
    pieces = [t.replace(" ", "\u2581") if ty == USER_DEFINED else t for t, ty in zip(tokens, types)]
    types = [UNKNOWN if i == 3 else ty for i, ty in enumerate(types)]
    assert len(set(pieces)) == len(pieces)
    return pieces, [float(s) for s in scores], types


def gemma_model_proto(pieces, scores, types):
    m = sp_pb2.ModelProto()
    for piece, score, typ in zip(pieces, scores, types):
        p = m.pieces.add()
        p.piece, p.score, p.type = piece, score, typ
    ts = m.trainer_spec
    ts.model_type = sp_pb2.TrainerSpec.BPE
    ts.vocab_size = len(pieces)
    ts.byte_fallback = True
    ts.unk_id, ts.bos_id, ts.eos_id, ts.pad_id = 3, 2, 1, 0
    ts.unk_piece, ts.bos_piece, ts.eos_piece, ts.pad_piece = "<unk>", "<bos>", "<eos>", "<pad>"
    ns = m.normalizer_spec
    ns.name = "identity"
    ns.add_dummy_prefix = False
    ns.remove_extra_whitespaces = False
    ns.escape_whitespaces = True
    ns.precompiled_charsmap = b""
    return m


def gemma_golden(texts):
    pieces, scores, types = gemma_vocab(CACHE / "gemma" / "gemma-3-270m-q4_k_m.gguf")
    proto = gemma_model_proto(pieces, scores, types)
    sp = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
    assert sp.vocab_size() == len(pieces)
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (3, 2, 1, 0)
    assert all(sp.id_to_piece(i) == p for i, p in enumerate(pieces))

    cases = []
    for text in texts:
        ids = sp.encode(text)
        assert sp.decode(ids) == text, text
        cases.append({"text": text, "ids": ids, "pieces": [sp.id_to_piece(i) for i in ids]})

    raw = []
    for data in RAW_BYTES:
        ids = sp.encode(data)
        decoded = sp.decode(ids)
        assert "\ufffd" in decoded and decoded.encode("utf-8") != data, (data, decoded)
        raw.append({"hex": data.hex(), "ids": ids, "pieces": [sp.id_to_piece(i) for i in ids], "decoded": decoded})

    config = {
        "model_type": "BPE",
        "byte_fallback": True,
        "vocab_size": len(pieces),
        "unk_id": 3,
        "bos_id": 2,
        "eos_id": 1,
        "pad_id": 0,
        "normalizer": {
            "name": "identity",
            "add_dummy_prefix": False,
            "remove_extra_whitespaces": False,
            "escape_whitespaces": True,
        },
        "type_counts": {str(t): types.count(t) for t in sorted(set(types))},
    }
    meta = {
        "generator": GENERATOR,
        "reference": "sentencepiece SentencePieceProcessor(model_proto rebuilt from the GGUF vocabulary), encode without BOS",
        "sentencepiece": version("sentencepiece"),
        "protobuf": version("protobuf"),
        "gguf": version("gguf"),
        "assets": ["gemma/gemma-3-270m-q4_k_m.gguf"],
        "repairs": [
            "user-defined pieces: ' ' -> '\u2581' (undoes llama.cpp's pre-normalization)",
            "piece 3 <unk>: type CONTROL -> UNKNOWN",
        ],
    }
    return {"config": config, "cases": cases, "raw_bytes": raw, "meta": meta}, (sp, pieces, scores, types)


def gemma_hf_tokenizer(pieces, scores, types):
    """HF tokenizer for the same vocabulary: BPE + byte_fallback, merges ranked by the merged piece's score.

    sentencepiece's BPE repeatedly merges the adjacent pair whose concatenation is
    a NORMAL/USER_DEFINED piece with the highest score (leftmost first). HF BPE
    merges pairs by rank, so every split (l, r) of such a piece with both halves
    mergeable gets a rank ordered by the piece's score; splits of the same piece
    are adjacent (by id of l, then r), which only differs from sentencepiece's
    leftmost rule when one piece can be formed at two places at once.
    """
    vocab = {p: i for i, p in enumerate(pieces)}
    mergeable = {p for p, t in zip(pieces, types) if t in (NORMAL, USER_DEFINED)}
    merges = []
    for i, (p, t) in enumerate(zip(pieces, types)):
        if t not in (NORMAL, USER_DEFINED):
            continue
        for k in range(1, len(p)):
            left, right = p[:k], p[k:]
            if left in mergeable and right in mergeable:
                merges.append((-scores[i], i, vocab[left], vocab[right], left, right))
    merges.sort()
    tok = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=[(m[4], m[5]) for m in merges],
            unk_token="<unk>",
            fuse_unk=True,
            byte_fallback=True,
        )
    )
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.add_tokens([AddedToken(p, normalized=True, special=False) for p, t in zip(pieces, types) if t == USER_DEFINED])
    tok.add_special_tokens(
        [AddedToken(p, normalized=False, special=True) for p, t in zip(pieces, types) if t in (CONTROL, UNKNOWN)]
    )
    # sentencepiece never matches control pieces in the input text.
    tok.encode_special_tokens = True
    return tok, len(merges)


def compare_gemma_hf(path, texts, sp, pieces, scores, types):
    tok, n_merges = gemma_hf_tokenizer(pieces, scores, types)
    tok.save(str(path))
    agree, diffs = 0, []
    for text in texts:
        ids = sp.encode(text)
        hf_ids = tok.encode(text, add_special_tokens=False).ids
        if hf_ids == ids:
            agree += 1
        else:
            diffs.append((text, ids, hf_ids))
        assert tok.decode(hf_ids, skip_special_tokens=False) == text or hf_ids != ids, text
    print(f"gemma HF tokenizer.json ({n_merges} merges, {path.stat().st_size} bytes): "
          f"{agree}/{len(texts)} texts agree with sentencepiece", file=sys.stderr)
    for text, ids, hf_ids in diffs[:10]:
        k = next((j for j, (a, b) in enumerate(zip(ids, hf_ids)) if a != b), min(len(ids), len(hf_ids)))
        print(f"  differ on {text[:60]!r}: at token {k}: sp {[sp.id_to_piece(i) for i in ids[k:k + 4]]} "
              f"hf {[pieces[i] for i in hf_ids[k:k + 4]]}", file=sys.stderr)


# ----------------------------------------------------------------------------
# NLTK: punkt sentences + NLTKWordTokenizer words (= nltk.word_tokenize)
# ----------------------------------------------------------------------------


def punkt_tokenizer(path):
    model = runpy.run_path(str(path))
    assert model["LANGUAGE"] == "english"
    # This NLTK has no numeric abbreviation types; the model has none either.
    assert not model["NUMERIC_ABBREV_TYPES"]
    params = PunktParameters()
    params.abbrev_types = set(model["ABBREV_TYPES"])
    params.collocations = set(model["COLLOCATIONS"])
    params.sent_starters = set(model["SENT_STARTERS"])
    # defaultdict like nltk's own load_punkt_params (lookups of unseen types give 0).
    params.ortho_context = defaultdict(int, model["ORTHO_CONTEXT"])
    return PunktSentenceTokenizer(params)


def nltk_golden(texts):
    punkt = punkt_tokenizer(CACHE / "punkt" / "english.py")
    words_tok = NLTKWordTokenizer()

    cases = []
    for text in texts:
        sentences = punkt.tokenize(text)
        spans = list(punkt.span_tokenize(text))
        assert [text[s:e] for s, e in spans] == sentences, text
        cum = byte_offsets(text)
        words = [w for s in sentences for w in words_tok.tokenize(s)]
        cases.append({"text": text, "sentences": sentences, "spans": [[cum[s], cum[e]] for s, e in spans], "words": words})

    # words must be exactly nltk.word_tokenize: run it with this punkt model in
    # place of the punkt_tab data it would look up.
    import nltk.tokenize as nt

    saved = nt._get_punkt_tokenizer
    nt._get_punkt_tokenizer = lambda language="english": punkt
    try:
        for case in cases:
            assert nltk.word_tokenize(case["text"]) == case["words"], case["text"]
            assert nltk.sent_tokenize(case["text"]) == case["sentences"], case["text"]
    finally:
        nt._get_punkt_tokenizer = saved
    probe = next(c for c in cases if c["text"] == "I love learning about LLMs")
    assert probe["sentences"] == ["I love learning about LLMs"]
    assert probe["words"] == ["I", "love", "learning", "about", "LLMs"]

    meta = {
        "generator": GENERATOR,
        "reference": "nltk PunktSentenceTokenizer(PunktParameters from punkt/english.py) + NLTKWordTokenizer per sentence",
        "nltk": version("nltk"),
        "assets": ["punkt/english.py"],
        "spans": "UTF-8 byte offsets [start, end) into text",
    }
    return {"cases": cases, "meta": meta}


# ----------------------------------------------------------------------------


def write_json(name, obj):
    path = OUT / name
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(data)
    # Lone surrogates would not survive; everything must read back identically.
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == obj, name
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gemma-hf-json", type=Path, help="also write a HF tokenizer.json for Gemma here and compare")
    args = ap.parse_args()

    corpus = build_corpus()
    texts = [t for _, t in corpus]
    OUT.mkdir(parents=True, exist_ok=True)

    sizes = defaultdict(int)
    for source, t in corpus:
        sizes[source] += len(t.encode("utf-8"))
    meta = {
        "generator": GENERATOR,
        "bytes_by_source": dict(sizes),
        "assets": [
            "shakespeare/shakespeare.txt",
            "gensim-data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
            "gensim-data/pang_lee_polarity.cor",
        ],
    }
    paths = [
        write_json(
            "texts.json",
            {
                "texts": [{"source": s, "text": t} for s, t in corpus],
                "raw_bytes": [{"hex": b.hex()} for b in RAW_BYTES],
                "meta": meta,
            },
        )
    ]
    paths.append(write_json("gpt2.json", gpt2_golden(texts)))
    paths.append(write_json("bert.json", bert_golden(texts)))
    gemma, sp_state = gemma_golden(texts)
    paths.append(write_json("gemma.json", gemma))
    paths.append(write_json("nltk.json", nltk_golden(texts)))
    if args.gemma_hf_json:
        compare_gemma_hf(args.gemma_hf_json, texts, *sp_state)

    print(f"corpus: {len(texts)} texts, {dict(sizes)} UTF-8 bytes", file=sys.stderr)
    total = 0
    for p in paths:
        size = p.stat().st_size
        total += size
        print(f"{p.relative_to(ROOT)}  {size} bytes", file=sys.stderr)
    print(f"total {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
