#!/usr/bin/env python3
"""Goldens for LMKit's hand-written Llama 3 and Qwen2 pre-tokenizer regexes.

Llama 3 and Qwen2 tokenizer.json files split text with one regex (a ``Split``
pre-tokenizer, behavior "Isolated", invert false) before byte-level BPE. LMKit
matches these two patterns with hand-written Swift code instead of a regex
engine; this script records what HF ``tokenizers`` 0.23.3 (Rust, Oniguruma)
does with them. The patterns, exactly as the tokenizer.json files hold them
(llama.cpp's src/llama-vocab.cpp quotes them as the "original regex from
tokenizer.json" for LLAMA_VOCAB_PRE_TYPE_LLAMA3 and _QWEN2; Qwen2 differs only
in ``\\p{N}`` where Llama 3 has ``\\p{N}{1,3}``; Llama 3's is also the pattern of
Meta's tiktoken-based tokenizer.py):

  llama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
  qwen2   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+

Cases: a deterministic subset of Tests/Fixtures/tokenizers/texts.json
(``SUBSET``: the first 2 Shakespeare passages, the first 4 wikitext chunks, the
first 40 sentiment sentences and all 80 edge texts; all 401 texts would make
~2 MB) followed by the hand-written ``EDGE`` texts below (contractions in
upper/mixed case, U+017F after an apostrophe, digit runs of 1..8 and non-ASCII
digits, every whitespace/newline combination, punctuation before newlines, a
non-letter before letters, combining marks, CJK, Arabic, emoji with ZWJ,
U+00A0/U+3000/U+2028/U+0085 and other separators, code, mixed scripts, special
tokens inside text).

a) Splits. For each pattern NAME and each text:
   ``pre_tokenizers.Split(tokenizers.Regex(pattern), behavior="isolated",
   invert=False).pre_tokenize_str(text)`` gives the pieces and their offsets.
   tokenizers returns CHARACTER (Unicode code point) offsets; the JSON holds
   UTF-8 BYTE offsets ``[start, end)``. The pieces cover the text exactly, in
   order (asserted). Cross-check: the Python ``regex`` module (2026.11.15), as
   tiktoken's pattern would run, ``regex.findall(pattern, text)`` must give the
   same pieces; a text where it does not is printed loudly and listed under
   ``regex_module_differs`` (tokenizers stays the golden). On this corpus they
   agree on every text (the list is empty), including ``'ſ`` (U+017F folds to
   "s" under (?i) in both engines, so "'ſ" is one contraction piece) and ``\\s``
   (Unicode White_Space in both: U+000B, U+0085, U+00A0, U+1680, U+2007,
   U+2028, U+202F, U+205F, U+3000 are spaces; U+001C, U+180E, U+200B, U+FEFF
   are not; the "!Xa" edge text shows each).

b) Tokenizers. Two tiny byte-level BPE tokenizers trained with ``tokenizers``:
   ``models.BPE()``; ``trainers.BpeTrainer(vocab_size=400,
   initial_alphabet=ByteLevel.alphabet(), special_tokens=["<|begin_of_text|>",
   "<|end_of_text|>"], show_progress=False)`` (ids 0, 1; the 256 byte
   characters 2..257; 142 merges), trained on ALL 401 texts of texts.json with
   ``train_from_iterator`` and RAYON_NUM_THREADS=1; no normalizer;
   pre-tokenizer ``Sequence([Split(Regex(pattern), "isolated"),
   ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])``
   (the Llama 3 layout); decoder ``ByteLevel()``; post-processor
   ``TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|>
   $A <|begin_of_text|>:1 $B:1")`` (Llama 3's templates; the real Qwen2 has an
   NFC normalizer and adds no BOS, here both differ only in the pattern).
   Saved with ``Tokenizer.save`` (pretty JSON) as
     Tests/Fixtures/tokenizers/llama3-style/tokenizer.json
     Tests/Fixtures/tokenizers/qwen2-style/tokenizer.json
   The script asserts each file's pre_tokenizer holds the Split with
   ``{"Regex": pattern}``, trains every tokenizer twice (the two JSON strings
   must be equal) and reloads the saved file with ``Tokenizer.from_file``
   for the goldens: ``ids = encode(text, add_special_tokens=True).ids`` and
   ``decoded = decode(ids, skip_special_tokens=False)``, which is
   "<|begin_of_text|>" + text for every case (asserted). "<|begin_of_text|>"
   and "<|end_of_text|>" inside a text are matched as special tokens.

``regex_splits.json`` (compact UTF-8 JSON, one trailing newline):
  {"patterns": {"llama3": P, "qwen2": P},
   "tokenizers": {"llama3": "llama3-style/tokenizer.json", "qwen2": "qwen2-style/tokenizer.json"},
   "cases": [{"index": I, "source": S, "text": T,
              "llama3": {"pieces": [...], "offsets": [[b0, b1], ...], "ids": [...], "decoded": D},
              "qwen2":  {... the same with the qwen2 pattern and tokenizer}}],
   "regex_module_differs": [{"pattern": NAME, "text": T, "tokenizers": [...], "regex": [...]}],
   "meta": {...}}
  ``index`` is the text's position in texts.json (null for the ``EDGE`` texts,
  whose ``source`` is "regex_edge").

Run with the reference venv (a few seconds; byte-identical across runs with
tokenizers 0.23.3 and regex 2026.11.15):
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/regex_pretokenizers.py
"""

import os

# Before tokenizers is imported: rayon reads it once, when its pool starts.
os.environ["RAYON_NUM_THREADS"] = "1"

import json  # noqa: E402
import sys  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import regex  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures" / "tokenizers"
OUT = FIXTURES / "regex_splits.json"
GENERATOR = "Tools/golden/regex_pretokenizers.py"

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = LLAMA3_PATTERN.replace(r"\p{N}{1,3}", r"\p{N}")
PATTERNS = {"llama3": LLAMA3_PATTERN, "qwen2": QWEN2_PATTERN}
FOLDERS = {"llama3": "llama3-style", "qwen2": "qwen2-style"}

BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
VOCAB_SIZE = 400

# Cases taken from texts.json, per source: the first N texts of that source (None: all).
SUBSET = {"shakespeare": 2, "wikipedia": 4, "sentiment": 40, "edge": None}

EDGE = [
    # contractions: case-insensitive, only after an apostrophe
    "I'M", "YOU'LL", "It'S", "'sup", "we'Ve a'lL 'D 'RE isn'T", "'s's's", "''''s", "it\u2019s (curly) it's",
    "it'\u017f and '\u017fup",  # U+017F LATIN SMALL LETTER LONG S case-folds to "s"
    "O'Neil's 'll 'LL 'Ll", "rock'n'roll 'n'",
    # digit runs 1..8 and other numbers
    "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678",
    "\uff13\uff14\uff15",  # full-width ３４５
    "\u00b2\u00bd",  # ²½ (No)
    "\u216b",  # Ⅻ ROMAN NUMERAL TWELVE (Nl)
    "x1234y abc123def 1a2b3c",
    "\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
    "\U0001d7d8\U0001d7d9\U0001d7da\U0001d7db",  # mathematical double-struck digits (4 bytes each)
    "1,234,567.89 -42 3.14",
    # whitespace and newlines
    "a\tb", "a\n\nb", "a \n b", " \r\n\t x", "x   ", "  \n", "   x", "\n\n\n  \n", "a\r\rb\r\n\r\nc",
    "\r", "\n", "A\r\n", "a \t\n\t b", "hello  ", "a  b", "\t\t\tindent", "   \n\n   ",
    # punctuation followed by newlines
    "foo.\n\nbar", "!!\r\n", "end.\n  next", "...\n\n\n", ". \n", "x!\n\n y", "?\r\n\r\n!",
    # a non-letter before letters
    "(hello", "'hello", "\thello", "\u2014word", "\U0001f600word", " (hello", "\"quoted\"",
    "\u00abfran\u00e7ais\u00bb", "$var _id @user #tag",
    # combining marks (\p{M} is neither a letter nor a number)
    "e\u0301", "cafe\u0301s", "x\u0300\u0301y", "\u0928\u092e\u0938\u094d\u0924\u0947",  # नमस्ते
    "\u01c5ungla",  # ǅ titlecase letter
    # scripts and emoji
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01",  # 你好，世界！
    "\u0627\u0644\u0633\u0644\u0627\u0645 \u0639\u0644\u064a\u0643\u0645 \u0661\u0662\u0663\u0664",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family", "\U0001f1eb\U0001f1f7\U0001f1ef\U0001f1f5",
    "Hello\u4e16\u754c123\u043c\u0438\u0440", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac123ABC\u0430\u0431\u0432",
    # other separators: NBSP, ideographic space, line/paragraph separators, NEL, VT/FF, FS..US, ZWSP
    "a\u00a0\u00a0b", "a\u00a0", "\u3000\u3000\u30c6\u30b9\u30c8", "x \u3000 y", "line\u2028next", "\u2028",
    "\u2029", "a\u0085 b", "x\u000b\u000cy", "\u001c \u001d", "\u200b zero", "end\u00a0\u00a0",
    # which characters are \s: "!Xa" splits "!" + "Xa" if X is \s, "!X" + "a" if not
    " ".join(f"!{c}a" for c in "\u0085\u00a0\u1680\u2007\u2028\u202f\u205f\u3000\u001c\u000b\u200b\u180e\ufeff"),
    # code
    "def f(x):\n\tif x:\n\t\treturn 1  \n    else:\n        return 2\n",
    "if (a<b) {\n  x += 1;\n}\n",
    # special tokens inside text (matched before the pre-tokenizer)
    "a<|begin_of_text|>b", "<|end_of_text|>", "x <|end_of_text|>\n",
]


def byte_offsets(text):
    """cum[i] = UTF-8 length of text[:i]: maps Python (code point) offsets to byte offsets."""
    cum = [0]
    for ch in text:
        cum.append(cum[-1] + len(ch.encode("utf-8")))
    return cum


def select_cases():
    with open(FIXTURES / "texts.json", encoding="utf-8") as f:
        corpus = json.load(f)
    seen, cases = {}, []
    for index, entry in enumerate(corpus["texts"]):
        source = entry["source"]
        seen[source] = seen.get(source, 0) + 1
        limit = SUBSET[source]
        if limit is None or seen[source] <= limit:
            cases.append({"index": index, "source": source, "text": entry["text"]})
    assert len(set(EDGE)) == len(EDGE)
    cases += [{"index": None, "source": "regex_edge", "text": t} for t in EDGE]
    return corpus, cases


def split(pattern, text):
    splitter = pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False)
    out = splitter.pre_tokenize_str(text)
    cum = byte_offsets(text)
    pieces = [p for p, _ in out]
    offsets = [[cum[s], cum[e]] for _, (s, e) in out]
    assert all(text[s:e] == p for p, (s, e) in out), text
    assert "".join(pieces) == text and all(p for p in pieces), text
    assert all(a[1] == b[0] for a, b in zip(offsets, offsets[1:])), text
    return pieces, offsets


def build_tokenizer(pattern, corpus_texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[BOS, EOS],
        show_progress=False,
    )
    tok.train_from_iterator(corpus_texts, trainer=trainer, length=len(corpus_texts))
    assert [tok.token_to_id(BOS), tok.token_to_id(EOS)] == [0, 1]
    assert tok.get_vocab_size() == VOCAB_SIZE, tok.get_vocab_size()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS}:1 $B:1", special_tokens=[(BOS, 0)])
    return tok


def check_saved(path, pattern):
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    pre = saved["pre_tokenizer"]
    assert pre["type"] == "Sequence", pre
    first, second = pre["pretokenizers"]
    assert first == {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}, first
    assert second == {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}, second
    assert saved["normalizer"] is None and saved["decoder"]["type"] == "ByteLevel"
    assert saved["post_processor"]["type"] == "TemplateProcessing"
    assert saved["model"]["type"] == "BPE" and len(saved["model"]["merges"]) == VOCAB_SIZE - 258
    return saved


def main():
    assert tokenizers.__version__ == version("tokenizers")
    corpus, cases = select_cases()
    corpus_texts = [t["text"] for t in corpus["texts"]]

    # a) splits, and the regex module's opinion
    differs = []
    for case in cases:
        for name, pattern in PATTERNS.items():
            pieces, offsets = split(pattern, case["text"])
            case[name] = {"pieces": pieces, "offsets": offsets}
            found = regex.findall(pattern, case["text"])
            if found != pieces:
                differs.append({"pattern": name, "text": case["text"], "tokenizers": pieces, "regex": found})
                print(f"!!! regex module DIFFERS from tokenizers ({name}) on {case['text']!r}:\n"
                      f"    tokenizers {pieces}\n    regex      {found}", file=sys.stderr)

    # b) tokenizers
    files = {}
    for name, pattern in PATTERNS.items():
        first = build_tokenizer(pattern, corpus_texts).to_str(pretty=True)
        tok = build_tokenizer(pattern, corpus_texts)
        assert tok.to_str(pretty=True) == first, f"{name}: two trainings gave different tokenizers"
        folder = FIXTURES / FOLDERS[name]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "tokenizer.json"
        tok.save(str(path), pretty=True)
        saved = check_saved(path, pattern)
        files[name] = path
        loaded = Tokenizer.from_file(str(path))
        for case in cases:
            ids = loaded.encode(case["text"], add_special_tokens=True).ids
            decoded = loaded.decode(ids, skip_special_tokens=False)
            assert ids[0] == 0 and decoded == BOS + case["text"], (name, case["text"], decoded)
            case[name]["ids"] = ids
            case[name]["decoded"] = decoded
        print(f"{name}: {path.relative_to(ROOT)} ({path.stat().st_size} bytes, vocab {len(saved['model']['vocab'])}, "
              f"{len(saved['model']['merges'])} merges; first merges {saved['model']['merges'][:5]})")

    out = {
        "patterns": PATTERNS,
        "tokenizers": {name: f"{FOLDERS[name]}/tokenizer.json" for name in PATTERNS},
        "cases": cases,
        "regex_module_differs": differs,
        "meta": {
            "generator": GENERATOR,
            "offsets": "UTF-8 byte offsets [start, end); tokenizers' pre_tokenize_str gives code point offsets",
            "split": "pre_tokenizers.Split(Regex(pattern), behavior='isolated', invert=False).pre_tokenize_str(text)",
            "encode": "Tokenizer.from_file(file).encode(text, add_special_tokens=True).ids; "
                      "decode(ids, skip_special_tokens=False)",
            "training": f"BpeTrainer(vocab_size={VOCAB_SIZE}, initial_alphabet=ByteLevel.alphabet(), "
                        f"special_tokens=[{BOS!r}, {EOS!r}]) on all {len(corpus_texts)} texts of texts.json, "
                        "RAYON_NUM_THREADS=1",
            "subset": SUBSET,
            "edge_cases": len(EDGE),
            "tokenizers": version("tokenizers"),
            "regex": version("regex"),
        },
    }
    data = json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(data)
    with open(OUT, encoding="utf-8") as f:
        assert json.load(f) == out

    n_from_corpus = sum(1 for c in cases if c["index"] is not None)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes): {len(cases)} cases "
          f"({n_from_corpus} from texts.json, {len(EDGE)} hand-written), tokenizers {version('tokenizers')}, "
          f"regex {version('regex')}")
    pieces_differ = sum(1 for c in cases if c["llama3"]["pieces"] != c["qwen2"]["pieces"])
    print(f"  llama3 and qwen2 splits differ on {pieces_differ} cases (digit runs)")
    if differs:
        print(f"!!! the regex module differs from tokenizers on {len(differs)} (pattern, text) pairs; "
              "see regex_module_differs", file=sys.stderr)
    else:
        print("  the regex module agrees with tokenizers on every case and both patterns")
    for c in cases:
        if c["source"] == "regex_edge":
            print(f"  {c['text']!r:40.40s} llama3 {c['llama3']['pieces']}" +
                  (f"  qwen2 {c['qwen2']['pieces']}" if c["qwen2"]["pieces"] != c["llama3"]["pieces"] else ""))
    total = OUT.stat().st_size + sum(p.stat().st_size for p in files.values())
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
