#!/usr/bin/env python3
"""Golden ROUGE scores from Google's rouge-score package, for LMKit's Rouge (LMKitGeneration).

For each (reference, prediction) pair: rouge1, rouge2, rougeL and rougeLsum precision / recall /
F-measure from rouge_score.rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"],
use_stemmer=S) for S in {False, True}, and the tokens rouge-score's tokenizer gives each text.

Pairs: consecutive texts of Tests/Fixtures/tokenizers/texts.json (their first 500 characters: varied scripts, punctuation,
numbers), the same texts with sentences on separate lines (rougeLsum), and hand-made edge cases
(empty, punctuation only, identical, repeated words, non-ASCII letters whose lower case is ASCII).

Writes Tests/Fixtures/generation/rouge.json. Pinned: rouge-score 0.1.2, nltk 3.10.4 (its Porter
stemmer). Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/rouge.py
"""

import json
import os
import re
import sys

import nltk
from rouge_score import rouge_scorer, tokenize

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "generation", "rouge.json")
TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def pairs():
    with open(os.path.join(REPO_ROOT, "Tests", "Fixtures", "tokenizers", "texts.json"), encoding="utf-8") as f:
        texts = [t["text"][:500] for t in json.load(f)["texts"]][:60]
    out = [(texts[i], texts[i + 1]) for i in range(0, len(texts) - 1, 2)]
    lined = [re.sub(r"([.!?]) ", r"\1\n", t) for t in texts[:40]]
    out += [(lined[i], lined[i + 1]) for i in range(0, len(lined) - 1, 2)]
    out += [(lined[i], texts[i][: len(texts[i]) // 2]) for i in range(0, 20, 2)]
    out += [
        ("", ""), ("", "something"), ("something", ""), ("!!! ??? ...", "--- ,,,"),
        ("The cat sat on the mat.", "The cat sat on the mat."),
        ("The cat sat on the mat.", "A cat was sitting on a mat, sat the cat."),
        ("the the the the", "the the"), ("a b c d e", "e d c b a"),
        ("Running runners ran quickly; generously agreed.", "the runner runs, agreeing generously"),
        ("Caf\u00e9 \u00c9COLE \u212a elvin \u0130stanbul stra\u00dfe", "cafe ecole kelvin istanbul strasse"),
        ("first line\nsecond line here\n\nthird", "second line\nfirst here third line"),
        ("2024 was the year 3 models beat 10 baselines", "in 2024 3 models beat 10 of the baselines"),
        ("police killed the gunman", "the gunman police killed"),
        ("police kill the gunman", "the gunman kill police"),
    ]
    return out


def main():
    scorers = {s: rouge_scorer.RougeScorer(TYPES, use_stemmer=s) for s in (False, True)}
    cases = []
    for reference, prediction in pairs():
        case = {"reference": reference, "prediction": prediction}
        for s, scorer in scorers.items():
            key = "stemmed" if s else "plain"
            scores = scorer.score(reference, prediction)
            case[key] = {t: [scores[t].precision, scores[t].recall, scores[t].fmeasure] for t in TYPES}
            stemmer = scorer._tokenizer._stemmer if s else None
            case[key]["tokens"] = [tokenize.tokenize(reference, stemmer), tokenize.tokenize(prediction, stemmer)]
        cases.append(case)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"generator": "Tools/golden/rouge.py", "rouge_score": "0.1.2", "nltk": nltk.__version__, "cases": cases}, f,
                  ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT} ({len(cases)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
