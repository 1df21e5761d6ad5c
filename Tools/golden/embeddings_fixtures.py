#!/usr/bin/env python3
"""Small word-vector loader fixtures written by gensim's own writers.

Takes the first N = 300 words of the GloVe 6B 50d asset
(``${LMKIT_HOME:-~/.cache/lmkit}/glove/glove_6B_50d_emb.npy`` + ``..._words.txt``;
float32) and writes to ``Tests/Fixtures/embeddings/``:

- ``glove300.w2v.bin``: ``KeyedVectors.save_word2vec_format(path, binary=True)``.
  Header ``"300 50\\n"``, then per word ``word + b" " + 50 little-endian float32``.
  NOTE: gensim 4 writes NO newline after each binary vector (the C word2vec
  tool writes one); readers must accept both.
- ``glove300.w2v.txt``: same with ``binary=False``: header ``"300 50"``, then
  ``word v1 ... v50`` with each value as ``str(np.float32)`` (shortest
  round-trip repr, so parsing it as float32 is exact).
- ``glove300.glove.txt``: GloVe text, no header, ``word v1 ... v50`` with
  ``'%.6f'`` values. This is NOT exact: the GloVe release has up to 5
  significant digits (e.g. -0.00066023 becomes -0.000660), so values parsed
  from it differ from the .npy by at most 5e-7 (plus float32 rounding); the
  script asserts ``|parsed - npy| <= 5.01e-7`` and that parsing equals
  ``float32(float('%.6f' % x))`` exactly.
- ``glove300.npy``: the 300 x 50 float32 slice, ``np.save(np.asfortranarray(...))``
  (``fortran_order: True`` in the header, like the full asset).
- ``glove300.words.txt``: the 300 words, one per line, ``\\n``-terminated.

The script reads every file back (gensim's ``load_word2vec_format`` for the
three text/binary files) and asserts the vectors equal the source slice exactly.

Run:  PY=$(scripts/reference-venv | tail -1)/bin/python; "$PY" Tools/golden/embeddings_fixtures.py
"""

import logging
import os
import sys
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
EMB = CACHE / "glove" / "glove_6B_50d_emb.npy"
WORDS = CACHE / "glove" / "glove_6B_50d_words.txt"
OUT = ROOT / "Tests" / "Fixtures" / "embeddings"
N = 300


def read_words(path, n):
    # Split on '\n' only: str.splitlines() would also split on \x85, \u2028, ...
    with open(path, encoding="utf-8", newline="\n") as f:
        words = f.read().split("\n")
    if words and words[-1] == "":
        words.pop()
    return words[:n]


def main():
    # save_word2vec_format warns that there is no "count" attribute and that it
    # stores in index_to_key order: that order is exactly what we want.
    logging.getLogger("gensim").setLevel(logging.ERROR)

    full = np.load(EMB, mmap_mode="r")
    assert full.dtype == np.float32 and full.shape[1] == 50
    vecs = np.array(full[:N], dtype=np.float32)  # C-contiguous copy
    words = read_words(WORDS, N)
    assert len(words) == N and len(set(words)) == N
    assert all(w and not any(c.isspace() for c in w) for w in words), "word2vec text needs space-free words"

    kv = KeyedVectors(vector_size=vecs.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(words, vecs)
    assert kv.index_to_key == words

    OUT.mkdir(parents=True, exist_ok=True)
    p_bin = OUT / "glove300.w2v.bin"
    p_txt = OUT / "glove300.w2v.txt"
    p_glove = OUT / "glove300.glove.txt"
    p_npy = OUT / "glove300.npy"
    p_words = OUT / "glove300.words.txt"

    kv.save_word2vec_format(str(p_bin), binary=True)
    kv.save_word2vec_format(str(p_txt), binary=False)

    with open(p_glove, "w", encoding="utf-8", newline="\n") as f:
        for w, row in zip(words, vecs):
            f.write(w + " " + " ".join("%.6f" % x for x in row) + "\n")

    np.save(p_npy, np.asfortranarray(vecs))

    with open(p_words, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(w + "\n" for w in words))

    # --- read everything back and check it is exact ---
    for path, kwargs in [
        (p_bin, {"binary": True}),
        (p_txt, {"binary": False}),
        (p_glove, {"binary": False, "no_header": True}),
    ]:
        back = KeyedVectors.load_word2vec_format(str(path), **kwargs)
        assert back.index_to_key == words, path
        assert back.vectors.dtype == np.float32
        if path is p_glove:
            rounded = np.array([[float("%.6f" % x) for x in row] for row in vecs], dtype=np.float32)
            assert np.array_equal(back.vectors, rounded), path
            err = float(np.max(np.abs(back.vectors.astype(np.float64) - vecs.astype(np.float64))))
            inexact = int(np.count_nonzero(back.vectors != vecs))
            assert err <= 5.01e-7, err
            print(f"{path.name}: {inexact}/{vecs.size} values differ from the npy, max |err| {err:.3g}",
                  file=sys.stderr)
        else:
            assert np.array_equal(back.vectors, vecs), path
    npy = np.load(p_npy)
    assert npy.flags["F_CONTIGUOUS"] and not npy.flags["C_CONTIGUOUS"]
    assert npy.dtype == np.float32 and np.array_equal(npy, vecs)
    assert read_words(p_words, None) == words

    total = 0
    for p in [p_bin, p_txt, p_glove, p_npy, p_words]:
        size = p.stat().st_size
        total += size
        print(f"{p.relative_to(ROOT)}  {size} bytes", file=sys.stderr)
    print(f"total {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
