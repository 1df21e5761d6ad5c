#!/usr/bin/env python3
"""Reference next-token logits of the real Gemma 3 270M GGUF model, for LMKit's Gemma 3 tests.

Model: ${LMKIT_HOME:-~/.cache/lmkit}/gemma/gemma-3-270m-q4_k_m.gguf (GGUF v3, arch gemma3,
18 blocks, width 640, 4 query heads / 1 KV head of 256, FFN 2048, vocab 262144, sliding window
512, tensors F32/Q8_0/Q5_0/Q4_K/Q6_K). Nothing is downloaded.

Reference: Hugging Face transformers' own Gemma3ForCausalLM (modeling_gemma3.py), float32, CPU,
eager attention, use_cache=False, built from transformers' GGUF support without
`from_pretrained` (which insists on `accelerate` for GGUF files, not in the reference venv):
  config  = AutoConfig.from_pretrained(folder, gguf_file=name)   # Gemma3TextConfig from metadata
  model   = Gemma3ForCausalLM(config)
  weights = transformers.modeling_gguf_pytorch_utils.load_gguf_checkpoint(path,
                return_tensors=True, model_to_load=model)["tensors"]
            (gguf-py's dequantize of every tensor; its Gemma2TensorProcessor subtracts the 1 that
             llama.cpp's converter added to every *norm.weight), then load_state_dict
            (only lm_head.weight is missing: it is tied to the token embeddings).
The weights are thus the Q4_K_M file's weights dequantized exactly (gguf.quants.dequantize), not
the original bfloat16 checkpoint's.

Cross-check (default on; --no-cross-check skips it): a from-scratch PyTorch forward pass written
here from the GGUF tensors alone (`ScratchGemma3`: norms used as stored, x * w, with the +1
already in w; NeoX RoPE with angles in float64; explicit causal and sliding-window masks) must
give the same logits (max abs difference asserted below CROSS_CHECK_TOL; printed), and
transformers' GGUF tokenizer (AutoTokenizer.from_pretrained(folder, gguf_file=name), which adds
BOS) must give the same ids as the sentencepiece tokenizer used here.

Tokenization: sentencepiece with a ModelProto rebuilt from the GGUF vocabulary (BPE, byte
fallback, identity normalizer, no dummy prefix; `gemma_vocab`/`gemma_model_proto` of
tokenizers_golden.py), with BOS (id 2) prepended as llama.cpp does (tokenizer.ggml.add_bos_token
is true). No EOS.

Writes Tests/Fixtures/gguf/gemma_logits.safetensors, keys (i = prompt index 0..5, T_i tokens
including BOS; position t holds the logits that predict token t+1):
  ids.i                 int64   [T_i]      token ids, ids.i[0] = 2 (BOS)
  top.i                 int64   [T_i, 16]  the 16 highest-logit ids at each position, by
                                           decreasing logit (ties: lower id first)
  top_logits.i          float32 [T_i, 16]  their logits
  logsumexp.i           float32 [T_i]      torch.logsumexp of the full 262144-logit row
  last_logits_sample.i  float32 [4096]     logits of ids 0..4095 at the last position
  ppl.ids               int64   [T]        the perplexity excerpt, with BOS
  ppl.nll               float32 [T-1]      -log softmax(logits[t-1])[ids[t]] for t = 1..T-1,
                                           from ONE causal forward pass over all T tokens
                                           (T > 512, so the 15 sliding-window layers matter)
  __metadata__ (strings; keys sorted): prompts (JSON list of the 6 texts), token_counts (JSON),
    ppl_text (the exact excerpt), ppl_source, ppl_offset, ppl_chars, ppl_tokens, ppl_mean_nll
    (float64 mean of ppl.nll, repr), perplexity (exp of it, repr), model (file name, size,
    sha256), reference, tokenizer, config (JSON of the architecture numbers used), generator,
    and the versions of torch, transformers, gguf, numpy, safetensors, sentencepiece.

Perplexity excerpt: the 3000 characters of shakespeare/shakespeare.txt (read as UTF-8; the file
is ASCII) starting at character 4_000_000, cut at the last line break that keeps it within
PPL_MAX_TOKENS (1024) tokens with BOS if it were longer (it is not: see ppl_tokens).

Run with the reference venv (torch 2.13.0+cpu, transformers 5.23.0, gguf 0.19.0, numpy 2.4.6,
safetensors 0.8.0, sentencepiece 0.2.3; pinned in Tools/requirements-reference.txt), 2 threads:
    PY=$(scripts/reference-venv | tail -1)/bin/python
    "$PY" Tools/golden/gemma_reference.py [--out PATH] [--no-cross-check]
About 1.5 minutes on 2 cores with the cross-check, 1 without (loading and dequantizing
dominate). The output is byte-identical across runs with the same versions and thread count.
"""

import os

# Before importing transformers: never reach a hub, no progress bars.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import gguf  # noqa: E402
import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from safetensors_header import canonicalize_header  # noqa: E402
from tokenizers_golden import gemma_model_proto, gemma_vocab  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
GGUF_DIR = CACHE / "gemma"
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
SHAKESPEARE = CACHE / "shakespeare" / "shakespeare.txt"
OUT = ROOT / "Tests" / "Fixtures" / "gguf" / "gemma_logits.safetensors"
GENERATOR = "Tools/golden/gemma_reference.py"

THREADS = 2
TOP_K = 16
SAMPLE_IDS = 4096
BOS = 2
PPL_OFFSET = 4_000_000
PPL_CHARS = 3000
PPL_MAX_TOKENS = 1024
CROSS_CHECK_TOL = 2e-3

PROMPTS = [
    "The Eiffel Tower is located in the city of",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) +",
    "Il était une fois, dans un petit village au bord de la mer, une jeune fille qui",
    "机器学习是人工智能的一个分支，它使计算机能够",
    "Привет! Как у тебя дела? Сегодня я",
    "I ❤️ café ☕! Fibonacci: 1, 1, 2, 3, 5, 8,",
]

# Architecture numbers the GGUF metadata gives (checked) or llama.cpp hard-codes for gemma3
# (layer pattern, local RoPE base, query scale), as used by ScratchGemma3.
ARCH = {
    "n_layer": 18,
    "n_embd": 640,
    "n_head": 4,
    "n_head_kv": 1,
    "head_dim": 256,
    "n_ff": 2048,
    "n_vocab": 262144,
    "rms_eps": 1e-6,  # gemma3.attention.layer_norm_rms_epsilon (float32 9.99999997e-07)
    "rope_base_global": 1_000_000.0,  # gemma3.rope.freq_base
    "rope_base_local": 10_000.0,  # not in the file; llama.cpp rope_freq_base_train_swa
    "sliding_window": 512,  # gemma3.attention.sliding_window; key j visible from i iff i - j < 512
    "global_layers": [5, 11, 17],  # not in the file; every 6th layer (llama.cpp set_swa_pattern(6))
    "query_scale": "1/sqrt(256)",  # not in the file; llama.cpp 1/sqrt(n_embd_head_k), HF query_pre_attn_scalar 256
    "embed_scale": "sqrt(640) as float32",
    "activation": "gelu tanh approximation",
    "final_logit_softcapping": None,
    "tied_output": True,
}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# GGUF reading and the from-scratch forward pass (cross-check)


def check_metadata(reader):
    def field(key):
        return reader.fields[key].contents()

    a = ARCH
    assert field("general.architecture") == "gemma3"
    assert field("gemma3.block_count") == a["n_layer"]
    assert field("gemma3.embedding_length") == a["n_embd"]
    assert field("gemma3.feed_forward_length") == a["n_ff"]
    assert field("gemma3.attention.head_count") == a["n_head"]
    assert field("gemma3.attention.head_count_kv") == a["n_head_kv"]
    assert field("gemma3.attention.key_length") == a["head_dim"]
    assert field("gemma3.attention.value_length") == a["head_dim"]
    assert field("gemma3.attention.sliding_window") == a["sliding_window"]
    assert field("gemma3.rope.freq_base") == a["rope_base_global"]
    assert abs(field("gemma3.attention.layer_norm_rms_epsilon") - a["rms_eps"]) < 1e-12
    assert field("tokenizer.ggml.bos_token_id") == BOS
    assert field("tokenizer.ggml.add_bos_token") is True
    assert field("tokenizer.ggml.add_eos_token") is False
    assert "output.weight" not in {t.name for t in reader.tensors}  # tied output
    for key in reader.fields:  # no RoPE scaling, no softcapping, no layer pattern in the file
        assert "scaling" not in key and "softcap" not in key and "pattern" not in key, key


def gguf_weights(reader):
    """name -> float32 tensor in numpy/torch order ([out, in] for matrices)."""
    out = {}
    for t in reader.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type)
        out[t.name] = torch.from_numpy(np.array(w, dtype=np.float32))  # a writable copy
    return out


def rms_norm(x, w, eps):
    # w as stored in the GGUF: Gemma's (1 + weight) with the 1 already added.
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(T, base, dim):
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float(), ang.sin().float()


def rope_neox(x, cos, sin):
    # x [T, H, D]; pairs (i, i + D/2) rotate together (rotate_half / llama.cpp NEOX).
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos[:, None, :] + rot * sin[:, None, :]


class ScratchGemma3:
    """Gemma 3 text forward pass from the GGUF tensors alone (one sequence, no cache)."""

    def __init__(self, w):
        self.w = w
        a = ARCH
        self.eps = a["rms_eps"]
        self.embed_scale = torch.tensor(math.sqrt(a["n_embd"]), dtype=torch.float32)

    def hidden(self, ids):
        a, w = ARCH, self.w
        T, H, Hkv, D = len(ids), a["n_head"], a["n_head_kv"], a["head_dim"]
        x = w["token_embd.weight"][torch.as_tensor(ids)] * self.embed_scale
        pos = torch.arange(T)
        causal = pos[None, :] <= pos[:, None]
        window = causal & (pos[:, None] - pos[None, :] < a["sliding_window"])
        tables = {
            "global": rope_tables(T, a["rope_base_global"], D),
            "local": rope_tables(T, a["rope_base_local"], D),
        }
        scale = 1.0 / math.sqrt(D)
        for i in range(a["n_layer"]):
            p = f"blk.{i}."
            is_global = i in a["global_layers"]
            cos, sin = tables["global" if is_global else "local"]
            mask = causal if is_global else window

            h = rms_norm(x, w[p + "attn_norm.weight"], self.eps)
            q = (h @ w[p + "attn_q.weight"].T).view(T, H, D)
            k = (h @ w[p + "attn_k.weight"].T).view(T, Hkv, D)
            v = (h @ w[p + "attn_v.weight"].T).view(T, Hkv, D)
            q = rope_neox(rms_norm(q, w[p + "attn_q_norm.weight"], self.eps), cos, sin)
            k = rope_neox(rms_norm(k, w[p + "attn_k_norm.weight"], self.eps), cos, sin)
            k = k.repeat_interleave(H // Hkv, dim=1)
            v = v.repeat_interleave(H // Hkv, dim=1)
            s = torch.einsum("thd,shd->hts", q, k) * scale
            s = s.masked_fill(~mask, float("-inf"))
            o = torch.einsum("hts,shd->thd", torch.softmax(s, dim=-1), v).reshape(T, H * D)
            o = o @ w[p + "attn_output.weight"].T
            x = x + rms_norm(o, w[p + "post_attention_norm.weight"], self.eps)

            h = rms_norm(x, w[p + "ffn_norm.weight"], self.eps)
            g = F.gelu(h @ w[p + "ffn_gate.weight"].T, approximate="tanh")
            u = h @ w[p + "ffn_up.weight"].T
            f = (g * u) @ w[p + "ffn_down.weight"].T
            x = x + rms_norm(f, w[p + "post_ffw_norm.weight"], self.eps)
        return rms_norm(x, w["output_norm.weight"], self.eps)

    def logits(self, ids):
        return self.hidden(ids) @ self.w["token_embd.weight"].T


# ---------------------------------------------------------------------------------------------
# The reference: transformers' Gemma3ForCausalLM with transformers' GGUF loading


def load_transformers_model():
    from transformers import AutoConfig, Gemma3ForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    config = AutoConfig.from_pretrained(str(GGUF_DIR), gguf_file=GGUF_NAME)
    config._attn_implementation = "eager"
    a = ARCH
    assert config.model_type == "gemma3_text"
    assert (config.num_hidden_layers, config.hidden_size, config.intermediate_size) == (
        a["n_layer"], a["n_embd"], a["n_ff"])
    assert (config.num_attention_heads, config.num_key_value_heads, config.head_dim) == (
        a["n_head"], a["n_head_kv"], a["head_dim"])
    assert config.vocab_size == a["n_vocab"] and config.sliding_window == a["sliding_window"]
    assert config.query_pre_attn_scalar == 256 and config.hidden_activation == "gelu_pytorch_tanh"
    assert config.final_logit_softcapping is None and config.attn_logit_softcapping is None
    assert config.tie_word_embeddings
    assert [i for i, t in enumerate(config.layer_types) if t == "full_attention"] == a["global_layers"]
    rp = config.rope_parameters
    assert rp["full_attention"] == {"rope_type": "default", "rope_theta": a["rope_base_global"]}, rp
    assert rp["sliding_attention"] == {"rope_type": "default", "rope_theta": a["rope_base_local"]}, rp

    model = Gemma3ForCausalLM(config).eval()
    tensors = load_gguf_checkpoint(str(GGUF_DIR / GGUF_NAME), return_tensors=True,
                                   model_to_load=model)["tensors"]
    state = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in tensors.items()}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["lm_head.weight"] and not result.unexpected_keys, result
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    return model, config


def tokenizer():
    pieces, scores, types = gemma_vocab(GGUF_DIR / GGUF_NAME)
    sp = spm.SentencePieceProcessor(model_proto=gemma_model_proto(pieces, scores, types).SerializeToString())
    return sp


def encode(sp, text):
    ids = [BOS] + sp.encode(text)
    assert sp.decode(ids[1:]) == text, text
    return ids


def ppl_excerpt(sp):
    text = SHAKESPEARE.read_text(encoding="utf-8")[PPL_OFFSET:PPL_OFFSET + PPL_CHARS]
    assert len(text) == PPL_CHARS
    ids = encode(sp, text)
    while len(ids) > PPL_MAX_TOKENS:  # cut at the last line break before the end
        text = text[: text.rindex("\n", 0, len(text) - 1) + 1]
        ids = encode(sp, text)
    return text, ids


def top_k(row, k):
    """k highest logits of a float32 row, by decreasing logit, ties broken by lower id."""
    vals, idx = torch.topk(row, k + 32)  # a margin so that ties at the k-th value are seen
    order = np.lexsort((idx.numpy(), -vals.numpy().astype(np.float64)))[:k]
    assert vals[k + 31] < vals[order[-1]] or k + 32 >= row.numel()
    return idx.numpy()[order].astype(np.int64), vals.numpy()[order].astype(np.float32)


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-cross-check", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    path = GGUF_DIR / GGUF_NAME
    reader = gguf.GGUFReader(str(path))
    check_metadata(reader)
    sp = tokenizer()
    prompt_ids = [encode(sp, p) for p in PROMPTS]
    ppl_text, ppl_ids = ppl_excerpt(sp)
    print(f"token counts {[len(i) for i in prompt_ids]} (sum {sum(len(i) for i in prompt_ids)}), "
          f"ppl excerpt {len(ppl_text)} chars, {len(ppl_ids)} tokens")

    model, config = load_transformers_model()
    t_load = time.time()
    print(f"transformers model loaded in {t_load - t0:.1f} s")

    def ref_logits(ids):
        out = model(input_ids=torch.tensor([ids]), use_cache=False)
        return out.logits[0].float()

    tensors, last_rows, token_counts = {}, [], []
    for i, ids in enumerate(prompt_ids):
        logits = ref_logits(ids)
        tops = [top_k(row, TOP_K) for row in logits]
        tensors[f"ids.{i}"] = np.array(ids, dtype=np.int64)
        tensors[f"top.{i}"] = np.stack([t[0] for t in tops])
        tensors[f"top_logits.{i}"] = np.stack([t[1] for t in tops])
        tensors[f"logsumexp.{i}"] = torch.logsumexp(logits, dim=-1).numpy().astype(np.float32)
        tensors[f"last_logits_sample.{i}"] = logits[-1, :SAMPLE_IDS].numpy().astype(np.float32).copy()
        last_rows.append(logits[-1])
        token_counts.append(len(ids))
        print(f"prompt {i}: {len(ids)} tokens, last-position top-1 {tops[-1][0][0]} "
              f"{sp.decode([int(tops[-1][0][0])])!r} ({tops[-1][1][0]:.4f})")

    logits = ref_logits(ppl_ids)
    target = torch.tensor(ppl_ids[1:])
    lse = torch.logsumexp(logits[:-1], dim=-1)
    nll = (lse - logits[:-1].gather(1, target[:, None])[:, 0]).numpy().astype(np.float32)
    del logits
    tensors["ppl.ids"] = np.array(ppl_ids, dtype=np.int64)
    tensors["ppl.nll"] = nll
    mean_nll = float(np.mean(nll.astype(np.float64)))
    ppl = math.exp(mean_nll)
    t_ref = time.time()
    print(f"perplexity {ppl:.4f} (mean NLL {mean_nll:.6f} over {len(nll)} tokens; "
          f"tokens 1..511: {np.mean(nll[:511].astype(np.float64)):.4f}, "
          f"512..: {np.mean(nll[511:].astype(np.float64)):.4f}); reference passes {t_ref - t_load:.1f} s")

    if not args.no_cross_check:
        cross_check(reader, prompt_ids, ppl_text, ppl_ids, last_rows, nll, tensors)
        print(f"cross-check done in {time.time() - t_ref:.1f} s")

    metadata = {
        "prompts": json.dumps(PROMPTS, ensure_ascii=False),
        "token_counts": json.dumps(token_counts),
        "ppl_text": ppl_text,
        "ppl_source": f"shakespeare/shakespeare.txt characters [{PPL_OFFSET}, {PPL_OFFSET + len(ppl_text)})",
        "ppl_offset": str(PPL_OFFSET),
        "ppl_chars": str(len(ppl_text)),
        "ppl_tokens": str(len(ppl_ids)),
        "ppl_mean_nll": repr(mean_nll),
        "perplexity": repr(ppl),
        "model": json.dumps({"file": f"gemma/{GGUF_NAME}", "bytes": path.stat().st_size,
                             "sha256": sha256_file(path)}),
        "reference": "transformers Gemma3ForCausalLM, float32, CPU, eager attention, use_cache=False; "
                     "config from AutoConfig.from_pretrained(gguf_file=...), weights from "
                     "load_gguf_checkpoint (gguf.quants.dequantize, norm weights minus 1); "
                     f"torch.set_num_threads({THREADS}), deterministic algorithms",
        "tokenizer": "sentencepiece ModelProto rebuilt from the GGUF vocabulary (BPE, byte fallback, "
                     "identity normalizer, no dummy prefix), BOS 2 prepended, no EOS",
        "config": json.dumps(ARCH),
        "top": f"top {TOP_K} by decreasing logit, ties broken by lower id",
        "generator": GENERATOR,
        "torch": torch.__version__,
        "transformers": version("transformers"),
        "gguf": version("gguf"),
        "numpy": np.__version__,
        "safetensors": version("safetensors"),
        "sentencepiece": version("sentencepiece"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(args.out), metadata=metadata)
    canonicalize_header(args.out)
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} "
          f"({args.out.stat().st_size} bytes, sha256 {sha256_file(args.out)}) in {time.time() - t0:.1f} s")


def cross_check(reader, prompt_ids, ppl_text, ppl_ids, last_rows, nll, tensors):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(GGUF_DIR), gguf_file=GGUF_NAME)
    for text, ids in zip(PROMPTS, prompt_ids):
        assert tok(text).input_ids == ids, (text, tok(text).input_ids, ids)
    assert tok(ppl_text).input_ids == ppl_ids
    print("transformers' GGUF tokenizer gives the same ids on every prompt and the excerpt")

    scratch = ScratchGemma3(gguf_weights(reader))
    worst = 0.0
    for i, ids in enumerate(prompt_ids):
        logits = scratch.logits(ids)
        top, top_logits = tensors[f"top.{i}"], tensors[f"top_logits.{i}"]
        mine = logits.gather(1, torch.from_numpy(top)).numpy()
        d = max(float(np.abs(mine - top_logits).max()),
                float((logits[-1] - last_rows[i]).abs().max()),
                float(np.abs(torch.logsumexp(logits, -1).numpy() - tensors[f"logsumexp.{i}"]).max()))
        worst = max(worst, d)
        assert int(logits[-1].argmax()) == int(top[-1, 0])
        print(f"  prompt {i}: max |scratch - transformers| {d:.2e}")
    logits = scratch.logits(ppl_ids)
    lse = torch.logsumexp(logits[:-1], dim=-1)
    mine = (lse - logits[:-1].gather(1, torch.tensor(ppl_ids[1:])[:, None])[:, 0]).numpy()
    d = float(np.abs(mine - nll).max())
    worst = max(worst, d)
    print(f"  ppl excerpt: max |NLL difference| {d:.2e}, scratch mean NLL "
          f"{np.mean(mine.astype(np.float64)):.6f}")
    print(f"cross-check: max abs difference {worst:.2e} (tolerance {CROSS_CHECK_TOL})")
    assert worst < CROSS_CHECK_TOL, worst


if __name__ == "__main__":
    main()
