#!/usr/bin/env python3
"""Golden Porter stems from NLTK, for LMKit's PorterStemmer (LMKitTokenizers).

rouge-score's ``use_stemmer=True`` runs ``nltk.stem.porter.PorterStemmer()`` (default mode
``NLTK_EXTENSIONS``, ``stem(word)`` with its default ``to_lowercase=True``) on every token longer
than 3 characters; its tokens are lower-case ASCII ``[a-z0-9]+``. This script records NLTK's stem
of every word of a fixed, sorted list of distinct lower-case words:

- the words of Tests/Fixtures/tokenizers/texts.json (each ``texts[i]["text"]``, lower-cased and
  split on runs of characters other than ``[a-z0-9]``, as rouge-score's tokenizer does);
- the words of NLTK's own Porter unit test (``nltk/test/stem.doctest``). NLTK's larger Porter test
  vocabulary (``porter_test/porter_vocabulary.txt``) lives in nltk_data, not in the installed
  package, so it is not used;
- hand-picked words (``EXTRA``): the examples of Porter's paper for every step, NLTK's irregular
  forms and special cases (``-ies``/``-ied`` on four-letter words, ``alli`` re-run through step 2,
  ``logi``, the two-letter ``*o`` rule, ``y`` after a consonant), runs of ``y``, digits, and words
  of one to three characters (which rouge-score never stems, but the stemmer must still handle).

Words of every length are kept, short ones included. Writes
Tests/Fixtures/tokenizers/porter_stems.json:

    {"generator": "Tools/golden/porter_stemmer.py", "nltk": "3.10.4", "pairs": [[word, stem], ...]}

with one pair per line, sorted by word. The output is byte-identical across runs.

Pinned: nltk 3.10.4 (``Tools/requirements-reference.txt``). Run with the reference venv:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/porter_stemmer.py
"""

import json
import os
import re
import sys

import nltk
from nltk.stem.porter import PorterStemmer

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEXTS = os.path.join(REPO_ROOT, "Tests", "Fixtures", "tokenizers", "texts.json")
OUT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "tokenizers", "porter_stems.json")
NLTK_VERSION = "3.10.4"

# The words of the "Unit tests for the Porter stemmer" block of nltk/test/stem.doctest (3.10.4).
DOCTEST = """
caresses flies dies mules denied died agreed owned humbled sized meeting stating siezing itemization
sensational traditional reference colonizer plotted generously
"""

EXTRA = """
caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized
hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci
hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization predication
operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate
formative formalize electriciti electrical electricity hopeful goodness revival allowance inference
airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou
communism activate angularity angulariti homologous effective bowdlerize probate rate cease controll
roll generous generously generosity

sky skies dying lying tying news innings inning outings outing cannings canning howe proceed exceed
succeed proceeds exceeded succeeding proceeding dies died lies lied ties tied pies pied spies spied
flies flied cries cried tries tried fries fried

spy fly try dry cry sly shy enjoy enjoyment toy toys boy annoy annoyed employ deploy
geology theology archaeology philology biology apology analogy logic logical logician

rationalli conditionalli sensationalli hopefulli carefulli fulli alli bli abli logi ology
traditionalli nationalli dually finally really totally

ied ies eed sses ss ed ing ied eing ying being seeing fleeing freed bleed breed speed tweed
ping bing king ring ding sling string bring thing nothing something everything
at bl iz ate ble ize hoped hoping hopped hopping filed filing filled filling fizzing hissed
rated rating rattled rattling sized sizing dazzled dazzling

y yy yyy yyyy yyyyy yyyyyy ay ey iy oy uy yay yey yoy syzygy syzygies ivy orrery trees tree
troubles private oaten by tr ee falafel architecture

oed wed ved fed led red bed aed eed

1990s 1990 2nd 3rd 4th 10px 3d mp3 mp3s a1b2c3 123 2024 abc123 x86 y2k covid19 b2b 1st 100s
ies1 ing2

a i an is as us ss yes its bus gas was has his this thus plus gus ass ais ois oes oss iss
go no so do to be he me we ox ax ex up on in at it of or by my am ab ow aw ew ye

agreement agreeing disagreeing agree agrees feeding feeds needed needing indeed deed deeds
conditioning conditioned conditionally nationalization organization organizational
relativity relativeness sensitivity sensibility responsibility visibility possibility
hopefully carefully beautifully wonderfully usefulness helpfulness awfulness fearlessness
callously cautiously anxiously previously continuously obviously
derivational derivation derivative derivatives operational operations cooperative
predicate predicated duplicate duplicated communicate communicative formalization
electrician electronic electronics electricities specifically specification
revivalism revivals allowances inferences airliners adjustments adjustably defensibility
irritants replacements dependents dependence dependency dependencies adoptions homologies
communist communists activation activated activating angular regularity effectively
effectiveness bowdlerized bowdlerizing probates probation ceased ceasing controlled controlling
rolled rolling
"""


def words():
    with open(TEXTS, encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    out = set()
    for t in texts:
        out.update(w for w in re.split(r"[^a-z0-9]+", t["text"].lower()) if w)
    out.update(DOCTEST.split())
    out.update(EXTRA.split())
    assert all(re.fullmatch(r"[a-z0-9]+", w) for w in out)
    return sorted(out)


def main():
    if nltk.__version__ != NLTK_VERSION:
        print(f"nltk {nltk.__version__} is installed; this golden is pinned to {NLTK_VERSION}", file=sys.stderr)
        return 1
    stemmer = PorterStemmer()
    assert stemmer.mode == PorterStemmer.NLTK_EXTENSIONS
    pairs = [[w, stemmer.stem(w)] for w in words()]
    lines = [json.dumps(p, ensure_ascii=False) for p in pairs]
    head = json.dumps({"generator": "Tools/golden/porter_stemmer.py", "nltk": nltk.__version__}, ensure_ascii=False)
    text = head[:-1] + ', "pairs": [\n' + ",\n".join(lines) + "\n]}\n"
    json.loads(text)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {OUT} ({len(pairs)} pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
