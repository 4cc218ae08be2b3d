"""Shared helpers for the fixture generators: deterministic inputs and a safetensors writer.

Run the generators with Debian's python3-torch (/usr/bin/python3); see gen_all.py.
The fixtures are small committed files under engine/src/test/resources/fixtures/.
"""
import json
import os
import struct

import torch

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(ROOT, "..", "resources", "fixtures"))


def save(name, tensors):
    """Writes {name: tensor} as F32 safetensors to fixtures/<name>.safetensors, keys in given order."""
    os.makedirs(OUT_DIR, exist_ok=True)
    header, blobs, at = {}, [], 0
    for key, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().cpu()
        raw = t.numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path = os.path.join(OUT_DIR, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return path


def gen(seed):
    g = torch.Generator().manual_seed(seed)
    return g


def randn(g, *shape, requires_grad=True):
    return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_(requires_grad)


def forward_backward(fn, inputs, g):
    """Runs fn(*inputs) in float64, back-propagates a random upstream gradient, returns (out, gout, grads).

    Computing the reference in float64 keeps the fixture's own rounding far below the test tolerance.
    """
    out = fn(*inputs)
    gout = torch.randn(out.shape, generator=g, dtype=torch.float64)
    out.backward(gout)
    return out, gout, [None if (x is None or x.grad is None) else x.grad for x in inputs]
