#!/usr/bin/env python3
"""Golden renderings of real Hugging Face chat templates, for LMKit's Jinja interpreter.

The templates are llama.cpp's copies of the models' ``chat_template``
(``models/templates/*.jinja`` in the llama-cpp-python 0.3.36 sdist, unpacked by
``scripts/fetch-assets`` into ``${LMKIT_HOME:-~/.cache/lmkit}/llama-cpp/templates/``).
Each is read as transformers reads ``chat_template.jinja``,
``open(..., encoding="utf-8").read()``, and used unchanged: transformers never
strips it (``tokenization_utils_base.py``), so a trailing newline stays (with
``keep_trailing_newline=False``, Jinja drops one final newline itself). The
script asserts that the text is exactly the file's bytes (no ``\\r``).

Rendering is transformers' own: ``transformers.utils.chat_template_utils.
render_jinja_template`` (5.23.0), which ``apply_chat_template(tokenize=False)``
calls with ``tools=None, documents=None`` and the tokenizer's
``special_tokens_map`` as keyword arguments. Its environment
(``_cached_compile_jinja_template``) is::

    ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                  extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    globals: raise_exception(msg) raises jinja2.exceptions.TemplateError(msg),
             strftime_now(fmt) = datetime.now().strftime(fmt),
             dict (a wrapper around dict), namespace (jinja2's Namespace refusing "_" names)

and the template's variables are ``messages``, ``tools``, ``documents``,
``add_generation_prompt`` and the special tokens. Autoescape is off,
``keep_trailing_newline`` False, undefined is jinja2's default ``Undefined``
(prints as "", is falsy; attribute access on it raises ``UndefinedError``).
``AssistantTracker`` only adds the ``{% generation %}`` tag (it renders its
body). To make the output reproducible ``strftime_now`` is pinned to
``datetime(2026, 11, 22)`` by replacing ``chat_template_utils.datetime`` with a
subclass whose ``now()`` returns that date (LC_TIME is "C", so ``%b`` is "Nov").

The script re-renders every case with a plain environment built from the
settings above (jinja2's own ``namespace``/``dict`` globals, no
AssistantTracker; none of the chosen templates has ``{% generation %}``) and
asserts the same text or the same error: that environment is what LMKit must
reproduce.

Only ``bos_token`` and ``eos_token`` are passed, with the values of each
model's ``tokenizer_config.json`` (``TEMPLATES``); a token that is null there
(Qwen's BOS) is not passed at all, as ``special_tokens_map`` leaves it out, so
the template sees it undefined. The other special tokens (unk, pad) are not
passed: none of the chosen templates reads them (asserted on
``features.undeclared_variables``).

Conversations (``CONVERSATIONS``), each with ``add_generation_prompt`` False
and True; no tools, no documents:

- ``single_user``: one user message;
- ``multi_turn``: system, user, assistant, user, with a newline inside a
  message, quotes, ``<b>&</b>`` (no escaping), ``{{ }}`` inside content (data,
  not template code) and non-ASCII text (é, em dash, ï, CJK, an emoji);
- ``multi_turn_no_system``: the same without the system message (Gemma 2
  refuses a system role);
- ``padded_assistant``: user, assistant, user where the assistant's and the
  last user's content have leading/trailing spaces and a newline (``| trim``);
- ``user_user`` and ``assistant_first``: orders some templates reject with
  ``raise_exception``.

An exception is recorded as its class name and ``str()``; every one raised
here is a ``TemplateError`` from ``raise_exception`` (asserted).

Output ``Tests/Fixtures/chat/templates_golden.json`` (compact UTF-8 JSON,
``ensure_ascii=False``, one trailing newline):

- ``meta``: versions, the fixed date, the environment settings, the asset source;
- ``templates``: one object per template, in ``TEMPLATES`` order: ``template``
  (file name), ``model`` (its Hub repository), ``bos_token``/``eos_token``
  (null = not passed), ``bytes``, ``sha256`` (of the file), ``source`` (the
  template text, so tests need not have the asset cache),
  ``renders_without_tools`` (``single_user`` renders with ``tools=None``),
  ``rejects`` (the conversations that raise), ``features`` (see
  ``scan_features``);
- ``cases``: ``template``, ``conversation``, ``bos_token``, ``eos_token``,
  ``add_generation_prompt``, ``messages``, ``rendered`` (string or null) and
  ``error`` (null or ``{"type", "message"}``), templates in ``TEMPLATES``
  order, conversations in ``CONVERSATIONS`` order, False before True.

``features`` is a static inventory of what the template's parsed AST uses
(``jinja2.Environment.parse``, so it counts code in branches that these
conversations never reach): counts of tags, filters, tests, method calls,
global function calls, ``loop.*`` attributes, operators, access forms, slices,
literals, string-literal quoting and escapes, whitespace-control markers, the distinct filter/method call
shapes with constant arguments, and the template's undeclared variables
(``jinja2.meta.find_undeclared_variables``). A summary table (feature, number
of templates using it, occurrences) goes to stdout.

Run:  PY=$(scripts/reference-venv | tail -1)/bin/python; "$PY" Tools/golden/chat_templates.py
"""

import hashlib
import importlib.metadata
import json
import locale
import os
import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import jinja2
import jinja2.ext
import jinja2.meta
import jinja2.nodes as nodes
import transformers
from jinja2.sandbox import ImmutableSandboxedEnvironment
from transformers.utils import chat_template_utils

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("LMKIT_HOME") or Path.home() / ".cache" / "lmkit")
TEMPLATE_DIR = CACHE / "llama-cpp" / "templates"
OUT = ROOT / "Tests" / "Fixtures" / "chat" / "templates_golden.json"

FIXED_NOW = datetime(2026, 11, 22)

# file stem -> (Hub repository, bos_token, eos_token) from the repository's
# tokenizer_config.json; None = null there, so transformers does not pass it.
TEMPLATES = {
    "meta-llama-Llama-3.1-8B-Instruct": ("meta-llama/Llama-3.1-8B-Instruct", "<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct": ("meta-llama/Llama-3.2-3B-Instruct", "<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.3-70B-Instruct": ("meta-llama/Llama-3.3-70B-Instruct", "<|begin_of_text|>", "<|eot_id|>"),
    "Qwen-Qwen2.5-7B-Instruct": ("Qwen/Qwen2.5-7B-Instruct", None, "<|im_end|>"),
    "Qwen-Qwen3-0.6B": ("Qwen/Qwen3-0.6B", None, "<|im_end|>"),
    "google-gemma-2-2b-it": ("google/gemma-2-2b-it", "<bos>", "<eos>"),
    "mistralai-Mistral-Nemo-Instruct-2407": ("mistralai/Mistral-Nemo-Instruct-2407", "<s>", "</s>"),
    "HuggingFaceTB-SmolLM3-3B": ("HuggingFaceTB/SmolLM3-3B", None, "<|im_end|>"),
    "microsoft-Phi-3.5-mini-instruct": ("microsoft/Phi-3.5-mini-instruct", "<s>", "<|endoftext|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B": (
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "ibm-granite-granite-3.3-2B-Instruct": ("ibm-granite/granite-3.3-2b-instruct", "<|end_of_text|>", "<|end_of_text|>"),
    # Three more plain chat templates, each exercising something the others do not:
    # LFM2.5: `| default`, `messages[1:]`, namespace counters, `content.split(...)[-1] | trim`.
    "LFM2.5-Instruct": ("LiquidAI/LFM2.5-1.2B-Instruct", "<|startoftext|>", "<|im_end|>"),
    # Kimi K2: literal text between `{%- -%}` tags (whitespace control), loop.first, message.get.
    "moonshotai-Kimi-K2": ("moonshotai/Kimi-K2-Instruct", "[BOS]", "[EOS]"),
    # Mistral Small 3.2: strftime_now in a default system prompt, selectattr/equalto, `message == list[-1]`.
    "Mistral-Small-3.2-24B-Instruct-2506": ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "<s>", "</s>"),
}

CONVERSATIONS = {
    "single_user": [
        {"role": "user", "content": "Hello! Who are you?"},
    ],
    "multi_turn": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Hi! Can you help me?\nIt's about spelling: Café — naïve? 日本語 😀"},
        {"role": "assistant", "content": "Of course; what would you like to know?"},
        {"role": "user", "content": 'Is "naïve" spelled right? (Yes/no, <b>brief</b> & {{ not code }}.)'},
    ],
    # multi_turn without the system message, for templates that refuse one (Gemma 2)
    "multi_turn_no_system": [
        {"role": "user", "content": "Hi! Can you help me?\nIt's about spelling: Café — naïve? 日本語 😀"},
        {"role": "assistant", "content": "Of course; what would you like to know?"},
        {"role": "user", "content": 'Is "naïve" spelled right? (Yes/no, <b>brief</b> & {{ not code }}.)'},
    ],
    "padded_assistant": [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "   The answer is 4.  \n"},
        {"role": "user", "content": "  And 3 + 3?  "},
    ],
    "user_user": [
        {"role": "user", "content": "Hello!"},
        {"role": "user", "content": "Are you there?"},
    ],
    "assistant_first": [
        {"role": "assistant", "content": "How can I help you today?"},
        {"role": "user", "content": "Tell me a joke."},
    ],
}


class FixedDatetime(datetime):
    """``datetime`` whose ``now()`` is FIXED_NOW: transformers' strftime_now calls ``datetime.now()``."""

    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


def read_template(stem):
    """The file's bytes and the text as transformers reads chat_template.jinja (text mode, UTF-8)."""
    path = TEMPLATE_DIR / f"{stem}.jinja"
    with open(path, encoding="utf-8") as f:
        source = f.read()
    raw = path.read_bytes()
    # Text mode would turn \r\n into \n; none of these files has a \r, so the text is the bytes.
    assert source.encode("utf-8") == raw, f"{path}: text mode changed the template"
    return raw, source


def outcome(render):
    try:
        return render(), None
    except Exception as e:  # noqa: BLE001 - every exception is part of the golden
        return None, {"type": type(e).__name__, "message": str(e)}


def render_transformers(source, messages, add_generation_prompt, tokens):
    rendered, _ = chat_template_utils.render_jinja_template(
        conversations=[messages], tools=None, documents=None, chat_template=source,
        add_generation_prompt=add_generation_prompt, **tokens)
    return rendered[0]


def plain_environment():
    """The environment LMKit reproduces: transformers' settings with jinja2's own globals."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    return env


# ---------------------------------------------------------------------------
# Feature inventory


def expr_shape(node):
    """A constant argument as its repr, anything else as <expr>."""
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const):
        return repr(-node.node.value)
    return "<expr>"


def call_shape(name, args, kwargs):
    parts = [expr_shape(a) for a in args] + [f"{k.key}={expr_shape(k.value)}" for k in kwargs]
    return f"{name}({', '.join(parts)})"


def slice_shape(s):
    def part(n):
        return "" if n is None else ("<expr>" if expr_shape(n) == "<expr>" else expr_shape(n))
    text = f"{part(s.start)}:{part(s.stop)}"
    return f"[{text}:{part(s.step)}]" if s.step is not None else f"[{text}]"


BINARY_OPS = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//",
              nodes.Mod: "%", nodes.Pow: "**", nodes.And: "and", nodes.Or: "or", nodes.Not: "not",
              nodes.Neg: "unary -", nodes.Pos: "unary +", nodes.Concat: "~", nodes.CondExpr: "x if c else y"}
COMPARE_OPS = {"eq": "==", "ne": "!=", "gt": ">", "gteq": ">=", "lt": "<", "lteq": "<=", "in": "in", "notin": "not in"}


COUNTED = ("tags", "filters", "tests", "methods", "functions", "loop_attributes", "operators", "access",
           "literals", "string_literals", "whitespace_control")
FEATURE_CATEGORIES = COUNTED + ("filter_calls", "method_calls", "slices", "undeclared_variables")


def scan_features(env, source):
    ast = env.parse(source)
    f = {k: Counter() for k in COUNTED}
    filter_shapes, method_shapes, slices = set(), set(), set()
    method_getattrs = set()
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Getattr):
            method_getattrs.add(id(call.node))
            f["methods"][call.node.attr] += 1
            method_shapes.add(call_shape("." + call.node.attr, call.args, call.kwargs))
        elif isinstance(call.node, nodes.Name):
            f["functions"][call.node.name] += 1
        else:
            f["functions"]["<computed callee>"] += 1
        if call.dyn_args is not None or call.dyn_kwargs is not None:
            f["functions"]["*args/**kwargs"] += 1
    for node in ast.find_all(nodes.Node):
        t = type(node)
        if t is nodes.For:
            f["tags"]["for"] += 1
            if node.test is not None:
                f["tags"]["for ... if (filtered loop)"] += 1
            if node.else_:
                f["tags"]["for ... else"] += 1
            if node.recursive:
                f["tags"]["for ... recursive"] += 1
            if isinstance(node.target, nodes.Tuple):
                f["tags"]["for a, b in (unpacking)"] += 1
        elif t is nodes.If:
            f["tags"]["if"] += 1
            f["tags"]["elif"] += len(node.elif_)
            if node.else_:
                f["tags"]["else"] += 1
        elif t is nodes.Assign:
            if isinstance(node.target, nodes.NSRef):
                f["tags"]["set ns.attr ="] += 1
            elif isinstance(node.target, nodes.Tuple):
                f["tags"]["set a, b ="] += 1
            else:
                f["tags"]["set"] += 1
        elif t is nodes.AssignBlock:
            f["tags"]["set ... endset (block)"] += 1
        elif t is nodes.Macro:
            f["tags"]["macro"] += 1
        elif t is nodes.CallBlock:
            # AssistantTracker's {% generation %} parses to a CallBlock of an extension method
            if isinstance(node.call.node, nodes.ExtensionAttribute):
                f["tags"]["generation"] += 1
            else:
                f["tags"]["call"] += 1
        elif t is nodes.FilterBlock:
            f["tags"]["filter (block)"] += 1  # its Filter node is counted below
        elif t is nodes.Break:
            f["tags"]["break"] += 1
        elif t is nodes.Continue:
            f["tags"]["continue"] += 1
        elif t in (nodes.With, nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block):
            f["tags"][t.__name__.lower()] += 1
        elif t is nodes.Filter:
            f["filters"][node.name] += 1
            filter_shapes.add(call_shape(node.name, node.args, node.kwargs))
        elif t is nodes.Test:
            f["tests"][node.name] += 1
        elif t is nodes.Compare:
            for op in node.ops:
                f["operators"][COMPARE_OPS[op.op]] += 1
        elif t in BINARY_OPS:
            f["operators"][BINARY_OPS[t]] += 1
        elif t is nodes.Getattr:
            if isinstance(node.node, nodes.Name) and node.node.name == "loop":
                f["loop_attributes"][node.attr] += 1
            elif id(node) not in method_getattrs:
                f["access"]["x.attr"] += 1
        elif t is nodes.Getitem:
            arg = node.arg
            if isinstance(arg, nodes.Slice):
                f["access"]["x[a:b] (slice)"] += 1
                slices.add(slice_shape(arg))
            elif isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                f["access"]["x['key']"] += 1
            elif isinstance(arg, nodes.Neg) or (isinstance(arg, nodes.Const) and isinstance(arg.value, int)
                                                 and arg.value < 0):
                f["access"]["x[-n] (negative index)"] += 1
            elif isinstance(arg, nodes.Const):
                f["access"]["x[n]"] += 1
            else:
                f["access"]["x[expr]"] += 1
        elif t is nodes.List:
            f["literals"]["[list]"] += 1
        elif t is nodes.Dict:
            f["literals"]["{dict}"] += 1
        elif t is nodes.Tuple and node.ctx == "load":
            f["literals"]["(tuple)"] += 1
        elif t is nodes.Const:
            v = node.value
            kind = ("none" if v is None else "bool" if isinstance(v, bool) else "int" if isinstance(v, int)
                    else "float" if isinstance(v, float) else "string" if isinstance(v, str) else type(v).__name__)
            f["literals"][kind] += 1
    # Lexer-level syntax the AST does not keep: quoting, escapes, markers.
    for _, kind, value in env.lex(source):
        if kind == "string":
            f["string_literals"]["'single'" if value[0] == "'" else '"double"'] += 1
            if "\n" in value:
                f["string_literals"]["raw newline inside"] += 1
            for escape in re.findall(r"\\.", value, flags=re.S):
                f["string_literals"]["escape " + escape] += 1
    for marker in ("{%-", "-%}", "{{-", "-}}", "{%+", "+%}", "{#"):
        n = source.count(marker)
        if n:
            f["whitespace_control"][marker] += n
    if re.search(r"\{%-?\s*raw\s*-?%\}", source):
        f["tags"]["raw"] += 1
    out = {k: dict(sorted(v.items())) for k, v in f.items()}
    out = {k: v for k, v in out.items() if v}
    out["filter_calls"] = sorted(filter_shapes)
    out["method_calls"] = sorted(method_shapes)
    out["slices"] = sorted(slices)
    # Context variables the template reads, plus locals jinja2 cannot prove are set first
    out["undeclared_variables"] = sorted(jinja2.meta.find_undeclared_variables(ast))
    return out


def summary_table(templates):
    """Rows (category, name, number of templates, occurrences, templates) over all templates."""
    per_feature = {}
    for t in templates:
        for cat, counts in t["features"].items():
            if isinstance(counts, dict):
                items = counts.items()
            else:
                items = ((name, 1) for name in counts)
            for name, n in items:
                key = (cat, name)
                users, total = per_feature.get(key, ([], 0))
                per_feature[key] = (users + [t["template"]], total + n)
    rows = [(cat, name, len(users), total, users) for (cat, name), (users, total) in per_feature.items()]
    rows.sort(key=lambda r: (FEATURE_CATEGORIES.index(r[0]), -r[2], r[1]))
    return rows


# ---------------------------------------------------------------------------


def main():
    locale.setlocale(locale.LC_TIME, "C")  # %b / %B in English whatever the user's locale
    chat_template_utils.datetime = FixedDatetime
    plain = plain_environment()

    missing = [s for s in TEMPLATES if not (TEMPLATE_DIR / f"{s}.jinja").is_file()]
    if missing:
        sys.exit(f"chat_templates: {TEMPLATE_DIR} lacks {', '.join(missing)}.jinja; run scripts/fetch-assets")

    templates, cases = [], []
    for stem, (model, bos, eos) in TEMPLATES.items():
        raw, source = read_template(stem)
        tokens = {k: v for k, v in (("bos_token", bos), ("eos_token", eos)) if v is not None}
        compiled_plain = plain.from_string(source)
        rejects = []
        for conv_name, messages in CONVERSATIONS.items():
            for gp in (False, True):
                rendered, error = outcome(lambda: render_transformers(source, messages, gp, tokens))
                check = outcome(lambda: compiled_plain.render(
                    messages=messages, tools=None, documents=None, add_generation_prompt=gp, **tokens))
                assert check == (rendered, error), (stem, conv_name, gp, check, (rendered, error))
                if error is not None:
                    assert error["type"] == "TemplateError", (stem, conv_name, gp, error)
                    if conv_name not in rejects:
                        rejects.append(conv_name)
                cases.append({
                    "template": f"{stem}.jinja", "conversation": conv_name,
                    "bos_token": bos, "eos_token": eos, "add_generation_prompt": gp,
                    "messages": messages, "rendered": rendered, "error": error,
                })
        features = scan_features(plain, source)
        unpassed = {"unk_token", "pad_token", "sep_token", "cls_token", "mask_token"}
        assert not unpassed & set(features["undeclared_variables"]), (stem, features["undeclared_variables"])
        templates.append({
            "template": f"{stem}.jinja", "model": model, "bos_token": bos, "eos_token": eos,
            "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "source": source,
            "renders_without_tools": "single_user" not in rejects, "rejects": rejects,
            "features": features,
        })

    out = {
        "meta": {
            "generator": "Tools/golden/chat_templates.py",
            "transformers": transformers.__version__,
            "jinja2": jinja2.__version__,
            "markupsafe": importlib.metadata.version("MarkupSafe"),
            "python": sys.version.split()[0],
            "renderer": "transformers.utils.chat_template_utils.render_jinja_template",
            "environment": {
                "class": "jinja2.sandbox.ImmutableSandboxedEnvironment",
                "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": False,
                "autoescape": False, "extensions": ["AssistantTracker (generation tag)", "jinja2.ext.loopcontrols"],
                "filters": {"tojson": "json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)"},
                "globals": {"raise_exception": "raises jinja2.exceptions.TemplateError(message)",
                            "strftime_now": "FIXED_NOW.strftime(format), C locale"},
                "variables": "messages, tools=None, documents=None, add_generation_prompt, bos_token, eos_token "
                             "(a null token is not passed)",
            },
            "strftime_now_date": FIXED_NOW.isoformat(),
            "template_source": "llama-cpp-python==0.3.36 sdist, vendor/llama.cpp/models/templates/",
            "template_encoding": "UTF-8, used byte-exact (not stripped)",
            "conversations": list(CONVERSATIONS),
        },
        "templates": templates,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(data)

    print_report(templates, cases)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(data.encode('utf-8'))} bytes, {len(cases)} cases, "
          f"transformers {transformers.__version__}, jinja2 {jinja2.__version__})")


def print_report(templates, cases):
    print(f"{'template':45} {'renders':8} rejects")
    for t in templates:
        print(f"{t['template']:45} {str(t['renders_without_tools']):8} {', '.join(t['rejects']) or '-'}")
    print()
    print("errors:")
    for c in cases:
        if c["error"] is not None:
            print(f"  {c['template']:45} {c['conversation']:17} gp={c['add_generation_prompt']!s:5} "
                  f"{c['error']['type']}: {c['error']['message']}")
    print()
    n = len(templates)
    print(f"features (templates using it out of {n}, occurrences):")
    category = None
    for cat, name, users, total, who in summary_table(templates):
        if cat != category:
            print(f"  [{cat}]")
            category = cat
        names = "   " + ", ".join(w.removesuffix(".jinja") for w in who) if users <= 3 else ""
        print(f"    {name:40} {users:3} {total:5}{names}")


if __name__ == "__main__":
    main()
