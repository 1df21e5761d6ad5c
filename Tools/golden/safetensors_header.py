"""Deterministic safetensors files for the golden scripts of this folder."""

import json
import struct


def canonicalize_header(path):
    """safetensors writes __metadata__ in hash order; rewrite the header with
    sorted metadata keys so that regenerating gives a byte-identical file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    new = {"__metadata__": dict(sorted(meta.items()))}
    new.update(header)
    text = json.dumps(new, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as safetensors does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
