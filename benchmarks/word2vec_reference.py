"""Python side of LMKit's word2vec training benchmark (benchmarks/word2vec).

Three subcommands, run by benchmarks/word2vec with the reference venv's python:

  corpus OUT        Builds the training corpus: one sentence per line, lower-case
                    tokens separated by single spaces (gensim.utils.simple_preprocess,
                    min_len=1, max_len=30), from the LMKit asset cache
                    (${LMKIT_HOME:-~/.cache/lmkit}): every non-empty line of
                    shakespeare/shakespeare.txt, every document of
                    gensim-data/lee_background.cor, then every article of the
                    gensim-data Wikipedia sample (WikiCorpus, same tokenizer; redirects
                    and articles under 50 tokens dropped). Lines left with no token are
                    skipped. Writes OUT atomically; sizes go to stderr.
  train ...         Trains one model with the same hyper-parameters (HYPER below):
                    --system lmkit (`lmkit embed train ... --json`), gensim-file
                    (Word2Vec in corpus_file mode) or gensim-iter (Word2Vec on the
                    iterable LineSentence(corpus), workers=threads); writes word2vec
                    binary vectors, loads them back with gensim's KeyedVectors and
                    evaluates them with gensim: WordSim-353 Spearman
                    (evaluate_word_pairs) and Google analogies (evaluate_word_analogies,
                    restrict_vocab=30000). One JSON line out.
  report CORPUS RESULTS.jsonl
                    Medians per (method, system) over the runs; a table, the targets,
                    then one JSON line per comparison:
                    {"name", "unit", "lmkit", "reference", "ratio"}  (ratio > 1: LMKit better)

Words/s on every side = corpus tokens x epochs / training seconds (gensim: train()
only, build_vocab timed apart; LMKit: the `seconds` of its --json output).

Two gensim references (SCHEDULE_NOTE below). Speed: gensim-file, gensim's fastest
path. Quality: gensim-iter, whose learning rate follows the same global linear
schedule as word2vec.c and LMKit: its job producer sets each job's alpha from the
whole run's progress. In corpus_file mode (gensim 4.4.0, word2vec_corpusfile.pyx,
get_next_alpha) each of the W workers reads 1/W of the file but computes its
epoch progress as its own sentence (or word) count / the whole corpus's, so within
an epoch the rate falls only 1/W of the way, then jumps down at the epoch boundary:
a higher average rate, which moves the scores on this small corpus (2 threads:
skip-gram WordSim-353 0.23 vs 0.20 iterable; CBOW 0.12 vs 0.12-0.14), so it is not
a like-for-like quality reference. Its quality comparisons are still printed, as
informative lines.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
DATA = CACHE / "gensim-data"
WIKI = DATA / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
HYPER = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5, alpha=0.025, seed=1)
TARGET_SPEED, TARGET_QUALITY = 1.2, 0.02
SYSTEMS = ("lmkit", "gensim-iter", "gensim-file")  # table order
SPEED_REF, QUALITY_REF = "gensim-file", "gensim-iter"
SCHEDULE_NOTE = ("gensim corpus_file: each of the W workers decays the learning rate by its own progress / the whole "
                 "corpus, so the rate falls only 1/W of the way within an epoch (then jumps): a higher average rate "
                 "than the global linear schedule of word2vec.c, gensim iterable and LMKit; hence gensim iterable is "
                 "the quality reference and corpus_file quality is informative only")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def build_corpus(out, threads):
    from gensim.corpora.wikicorpus import WikiCorpus
    from gensim.utils import simple_preprocess

    def lines(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                yield simple_preprocess(line, min_len=1, max_len=30)

    wiki = WikiCorpus(str(WIKI), dictionary={}, processes=max(threads, 1), token_min_len=1, token_max_len=30)
    sources = [("shakespeare", lines(CACHE / "shakespeare" / "shakespeare.txt")),
               ("lee_background", lines(DATA / "lee_background.cor")),
               ("wikipedia sample", wiki.get_texts())]
    tmp = Path(f"{out}.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for name, sentences in sources:
            n_lines = n_tokens = 0
            for tokens in sentences:
                if tokens:
                    f.write(" ".join(tokens) + "\n")
                    n_lines += 1
                    n_tokens += len(tokens)
            log(f"corpus: {name}: {n_lines} lines, {n_tokens} tokens")
    tmp.replace(out)
    lines_, tokens_ = corpus_size(out)
    log(f"corpus: {out}: {lines_} lines, {tokens_} tokens")


def corpus_size(path):
    n_lines = n_tokens = 0
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            n_lines += 1
            n_tokens += len(line.split())
    return n_lines, n_tokens


def train_gensim(system, method, corpus, threads, out, seed):
    """gensim-file: corpus_file mode (speed reference); gensim-iter: the iterable LineSentence(corpus)
    (quality reference: global learning-rate schedule). Same hyper-parameters, same timing (train() only)."""
    import gensim
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
    h = HYPER
    model = Word2Vec(vector_size=h["dim"], window=h["window"], negative=h["negative"], sample=h["sample"],
                     min_count=h["min_count"], epochs=h["epochs"], alpha=h["alpha"], seed=seed,
                     sg=1 if method == "skipgram" else 0, workers=threads)
    source = {"corpus_file": corpus} if system == "gensim-file" else {"corpus_iterable": LineSentence(corpus)}
    t0 = time.perf_counter()
    model.build_vocab(**source)
    t1 = time.perf_counter()
    model.train(**source, total_examples=model.corpus_count,
                total_words=model.corpus_total_words, epochs=model.epochs)
    t2 = time.perf_counter()
    model.wv.save_word2vec_format(out, binary=True)
    return {"system": system, "version": gensim.__version__, "seconds": t2 - t1, "vocabSeconds": t1 - t0,
            "wall": time.perf_counter() - t0, "words": model.corpus_total_words, "vocabulary": len(model.wv)}


def train_lmkit(binary, method, corpus, threads, out, seed):
    h = HYPER
    cmd = [binary, "embed", "train", "--method", method, corpus, "--out", out, "--dim", h["dim"],
           "--window", h["window"], "--negative", h["negative"], "--sample", h["sample"],
           "--min-count", h["min_count"], "--epochs", h["epochs"], "--alpha", h["alpha"],
           "--threads", threads, "--seed", seed, "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - t0
    r = json.loads(proc.stdout)
    return {"system": "lmkit", "seconds": r["seconds"], "vocabSeconds": None, "wall": wall,
            "words": r["words"], "vocabulary": r["vocabulary"]}


def evaluate(path):
    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format(path, binary=True)
    pairs = kv.evaluate_word_pairs(str(DATA / "wordsim353.tsv"))
    analogies = kv.evaluate_word_analogies(str(DATA / "questions-words.txt"), restrict_vocab=30000)
    return {"wordsim353": float(pairs[1][0]), "wordsim353OOV": pairs[2] / 100, "analogies": float(analogies[0])}


def train(a):
    log(f"training {a.method} with {a.system} on {a.threads} threads ...")
    if a.system.startswith("gensim"):
        r = train_gensim(a.system, a.method, a.corpus, a.threads, a.out, a.seed)
    else:
        r = train_lmkit(a.lmkit, a.method, a.corpus, a.threads, a.out, a.seed)
    _, tokens = corpus_size(a.corpus)
    if r["words"] != tokens:
        log(f"warning: {a.system} counted {r['words']} corpus words, the corpus has {tokens} tokens")
    r.update(method=a.method, threads=a.threads, tokens=tokens,
             wordsPerSecond=tokens * HYPER["epochs"] / r["seconds"], **evaluate(a.out))
    log(f"{a.method} {a.system}: train {r['seconds']:.1f} s, {r['wordsPerSecond']:,.0f} words/s, "
        f"WordSim-353 {r['wordsim353']:.4f}, analogies {r['analogies']:.4f}, vocabulary {r['vocabulary']}")
    print(json.dumps(r), flush=True)


def report(a):
    results = [json.loads(l) for l in open(a.results) if l.strip()]
    lines_, tokens = corpus_size(a.corpus)
    groups = {}
    for r in results:
        groups.setdefault((r["method"], r["system"]), []).append(r)
    runs = max(len(g) for g in groups.values())
    med = {k: {f: statistics.median(r[f] for r in g)
               for f in ("seconds", "wall", "wordsPerSecond", "wordsim353", "analogies", "vocabulary")}
           for k, g in groups.items()}
    h = HYPER
    print(f"corpus: {a.corpus}: {lines_} lines, {tokens} tokens; median over {runs} run(s)")
    print(f"hyper-parameters: dim {h['dim']}, window {h['window']}, negative {h['negative']}, sample {h['sample']}, "
          f"min-count {h['min_count']}, epochs {h['epochs']}, alpha {h['alpha']}, seed = run number; "
          f"threads {results[0]['threads']}")
    print("systems: lmkit; gensim-iter: gensim on the iterable LineSentence(corpus) (quality reference); "
          "gensim-file: gensim in corpus_file mode (speed reference)")
    print("words/s = corpus tokens x epochs / training seconds; 'total s': gensim build_vocab + train + save, "
          "LMKit the whole command")
    head = (f"{'method':9} {'system':11} {'train s':>8} {'total s':>8} {'words/s':>10} {'WordSim-353':>11} "
            f"{'analogies':>9} {'vocab':>7}")
    print(head); print("-" * len(head))
    order = {s: i for i, s in enumerate(SYSTEMS)}
    for (method, system), m in sorted(med.items(), key=lambda kv: (kv[0][0] != "skipgram", order.get(kv[0][1], 99))):
        print(f"{method:9} {system:11} {m['seconds']:8.1f} {m['wall']:8.1f} {m['wordsPerSecond']:10,.0f} "
              f"{m['wordsim353']:11.4f} {m['analogies']:9.4f} {m['vocabulary']:7.0f}")
    print()
    print(f"note: {SCHEDULE_NOTE}")
    for method in ("skipgram", "cbow"):
        it, fi = med.get((method, QUALITY_REF)), med.get((method, SPEED_REF))
        if it and fi:
            print(f"  {method}: gensim-iter vs gensim-file: words/s {it['wordsPerSecond'] / fi['wordsPerSecond']:.2f}x, "
                  f"WordSim-353 {it['wordsim353'] - fi['wordsim353']:+.4f}, "
                  f"analogies {it['analogies'] - fi['analogies']:+.4f}")
    print()
    print(f"targets: LMKit words/s ≥ {TARGET_SPEED}x gensim corpus_file ({SPEED_REF}); WordSim-353 Spearman and "
          f"analogy accuracy within {TARGET_QUALITY} of gensim iterable ({QUALITY_REF}) (no more than "
          f"{TARGET_QUALITY} below); quality vs gensim corpus_file is informative only")
    out = []
    for method in ("skipgram", "cbow"):
        lm = med.get((method, "lmkit"))
        if not lm:
            continue
        comparisons = (("words/s", "words/s", "wordsPerSecond", SPEED_REF, ""),
                       ("wordsim353 spearman", "spearman", "wordsim353", QUALITY_REF, ""),
                       ("analogy accuracy", "accuracy", "analogies", QUALITY_REF, ""),
                       ("wordsim353 spearman", "spearman", "wordsim353", SPEED_REF, " (vs gensim corpus_file)"),
                       ("analogy accuracy", "accuracy", "analogies", SPEED_REF, " (vs gensim corpus_file)"))
        for name, unit, field, ref_system, suffix in comparisons:
            ref = med.get((method, ref_system))
            if not ref:
                continue
            x, y = lm[field], ref[field]
            if field == "wordsPerSecond":
                met, how = x >= TARGET_SPEED * y, f"LMKit {x:,.0f}, {ref_system} {y:,.0f}: {x / y:.2f}x"
            else:
                met, how = x >= y - TARGET_QUALITY, f"LMKit {x:.4f}, {ref_system} {y:.4f}: {x - y:+.4f}"
            verdict = ("met" if met else "NOT met") if not suffix else "informative"
            print(f"  {method} {name}{suffix}: {how} -> {verdict}")
            out.append({"name": f"{method} {name}{suffix}", "unit": unit, "lmkit": x, "reference": y,
                        "ratio": x / y if y else float("nan")})
    if not out:
        print("(no LMKit results: reference numbers only)")
    for o in out:
        print(json.dumps(o, ensure_ascii=False))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("corpus")
    c.add_argument("out")
    c.add_argument("--threads", type=int, default=int(os.environ.get("LMKIT_THREADS") or os.cpu_count() or 1))
    t = sub.add_parser("train")
    t.add_argument("--system", choices=SYSTEMS, required=True)
    t.add_argument("--method", choices=["skipgram", "cbow"], required=True)
    t.add_argument("--corpus", required=True)
    t.add_argument("--out", required=True, help="word2vec binary vectors to write")
    t.add_argument("--threads", type=int, required=True)
    t.add_argument("--lmkit", default=".build/release/lmkit", help="the lmkit binary")
    t.add_argument("--seed", type=int, default=1, help="random seed (the benchmark uses the run number, for every system)")
    r = sub.add_parser("report")
    r.add_argument("corpus")
    r.add_argument("results")
    a = p.parse_args()
    {"corpus": lambda: build_corpus(a.out, a.threads), "train": lambda: train(a), "report": lambda: report(a)}[a.command]()


if __name__ == "__main__":
    main()
