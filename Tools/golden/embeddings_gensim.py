#!/usr/bin/env python3
"""Golden word-embedding query results computed by gensim's own KeyedVectors.

Loads the GloVe 6B 50d asset from the LMKit cache
(``${LMKIT_HOME:-~/.cache/lmkit}/glove/glove_6B_50d_emb.npy`` + ``..._words.txt``,
400000 x 50 float32, row i = line i of the words file) into
``gensim.models.KeyedVectors`` and writes
``Tests/Fixtures/embeddings/gensim_queries.json`` with:

- ``similarity``: ``kv.similarity(a, b)`` for a few pairs.
- ``most_similar``: ``kv.most_similar(positive, negative, topn=10[, restrict_vocab])``
  (3CosAdd; inputs excluded from the results).
- ``most_similar_cosmul``: ``kv.most_similar_cosmul(positive, negative, topn=10)`` (3CosMul).
- ``doesnt_match``: ``kv.doesnt_match(words)``.
- ``similar_by_vector``: ``kv.similar_by_vector(kv["king"] + kv["woman"] - kv["man"], topn=5)``
  (raw float32 vectors summed in float32; the query word itself is NOT excluded).
- ``evaluate_word_pairs``: ``kv.evaluate_word_pairs(path)`` with defaults
  (restrict_vocab=300000, case_insensitive=True, dummy4unknown=False) for
  wordsim353.tsv and simlex999.txt from ``gensim-data/``.
- ``evaluate_word_analogies``: ``kv.evaluate_word_analogies(questions-words.txt,
  restrict_vocab=30000)``; per-section correct/incorrect counts (the last
  section is gensim's own "Total accuracy" row).
- ``meta``: versions and asset names.

Scores are float32 results widened exactly to Python floats (gensim returns
``float(np.float32)``); evaluate_* numbers are scipy float64.

Run:  PY=$(scripts/reference-venv | tail -1)/bin/python; "$PY" Tools/golden/embeddings_gensim.py
"""

import json
import os
import sys
import time
from pathlib import Path

import gensim
import numpy as np
import scipy
from gensim.models import KeyedVectors

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
EMB = CACHE / "glove" / "glove_6B_50d_emb.npy"
WORDS = CACHE / "glove" / "glove_6B_50d_words.txt"
DATA = CACHE / "gensim-data"
OUT = ROOT / "Tests" / "Fixtures" / "embeddings" / "gensim_queries.json"


def read_words(path):
    # Split on '\n' only: str.splitlines() would also split on \x85, \u2028, ...
    with open(path, encoding="utf-8", newline="\n") as f:
        words = f.read().split("\n")
    if words and words[-1] == "":
        words.pop()
    return words


def load_kv():
    matrix = np.load(EMB)  # (400000, 50) float32, Fortran order on disk
    words = read_words(WORDS)
    assert matrix.shape == (len(words), 50), (matrix.shape, len(words))
    assert matrix.dtype == np.float32
    assert len(set(words)) == len(words), "duplicate words would break index i = line i"
    kv = KeyedVectors(vector_size=matrix.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(words, np.ascontiguousarray(matrix))
    assert kv.index_to_key == words
    assert kv.vectors.dtype == np.float32 and kv.vectors.shape == matrix.shape
    return kv


def pairs(results):
    return [[w, float(s)] for w, s in results]


def main():
    t0 = time.time()
    kv = load_kv()
    print(f"loaded {len(kv)} x {kv.vector_size} in {time.time() - t0:.1f}s", file=sys.stderr)

    out = {}

    out["similarity"] = [
        {"a": a, "b": b, "value": float(kv.similarity(a, b))}
        for a, b in [
            ("king", "queen"), ("man", "woman"), ("paris", "france"),
            ("cat", "dog"), ("computer", "banana"), ("good", "bad"),
        ]
    ]

    ms = []
    for pos, neg, rv in [
        (["king"], [], None),
        (["frog"], [], None),
        (["computer"], [], None),
        (["king", "woman"], ["man"], None),
        (["paris", "germany"], ["france"], None),
        (["walking", "swam"], ["walked"], None),
        (["king"], [], 10000),
    ]:
        entry = {"positive": pos, "negative": neg, "topn": 10}
        if rv is not None:
            entry["restrict_vocab"] = rv
        entry["results"] = pairs(kv.most_similar(positive=pos, negative=neg, topn=10, restrict_vocab=rv))
        ms.append(entry)
    out["most_similar"] = ms

    out["most_similar_cosmul"] = [
        {"positive": pos, "negative": neg, "topn": 10,
         "results": pairs(kv.most_similar_cosmul(positive=pos, negative=neg, topn=10))}
        for pos, neg in [
            (["king", "woman"], ["man"]),
            (["paris", "germany"], ["france"]),
            (["bigger", "cold"], ["big"]),
        ]
    ]

    out["doesnt_match"] = [
        {"words": ws, "result": kv.doesnt_match(ws)}
        for ws in [
            ["breakfast", "cereal", "dinner", "lunch"],
            ["france", "germany", "paris", "italy"],
            ["cat", "dog", "mouse", "car"],
        ]
    ]

    vec = kv["king"] + kv["woman"] - kv["man"]
    assert vec.dtype == np.float32
    out["similar_by_vector"] = {
        "vector_of": "king", "plus_vector_of": "woman", "minus_vector_of": "man", "topn": 5,
        "results": pairs(kv.similar_by_vector(vec, topn=5)),
    }

    ewp = []
    for name in ["wordsim353.tsv", "simlex999.txt"]:
        pearson, spearman, oov_ratio = kv.evaluate_word_pairs(str(DATA / name))
        ewp.append({
            "file": name,
            "pearson": float(pearson[0]), "pearson_p": float(pearson[1]),
            "spearman": float(spearman[0]), "spearman_p": float(spearman[1]),
            "oov_ratio": float(oov_ratio),
        })
    out["evaluate_word_pairs"] = ewp

    t1 = time.time()
    score, sections = kv.evaluate_word_analogies(str(DATA / "questions-words.txt"), restrict_vocab=30000)
    print(f"evaluate_word_analogies: {time.time() - t1:.1f}s", file=sys.stderr)
    out["evaluate_word_analogies"] = {
        "file": "questions-words.txt",
        "restrict_vocab": 30000,
        "score": float(score),
        "sections": [
            {"section": s["section"], "correct": len(s["correct"]), "incorrect": len(s["incorrect"])}
            for s in sections
        ],
    }

    out["meta"] = {
        "generator": "Tools/golden/embeddings_gensim.py",
        "gensim": gensim.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": sys.version.split()[0],
        "assets": {
            "embeddings": "glove/glove_6B_50d_emb.npy",
            "words": "glove/glove_6B_50d_words.txt",
            "word_pairs": ["gensim-data/wordsim353.tsv", "gensim-data/simlex999.txt"],
            "analogies": "gensim-data/questions-words.txt",
        },
        "vocab_size": len(kv),
        "vector_size": kv.vector_size,
    }

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes) in {time.time() - t0:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
