"""Shared helpers for the fixture generators of every module: deterministic inputs, a safetensors writer,
and the runner of a folder's generators.

Run the generators with Debian's python3-torch (/usr/bin/python3); see gen_all.py.
The engine's fixtures are small committed files under engine/src/test/resources/fixtures/; the app and
kernels generators import this module too (from engine/src/test/python) and write their own folders.
"""
import glob
import json
import os
import runpy
import struct

import torch

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.normpath(os.path.join(ROOT, "..", "resources", "fixtures"))


def save(name, tensors, out_dir=None, meta=None):
    """Writes {name: tensor} as F32 safetensors to <out_dir>/<name>.safetensors (default OUT_DIR), keys in given
    order, with meta's values as strings in the __metadata__ entry when given."""
    out_dir = out_dir or OUT_DIR
    os.makedirs(out_dir, exist_ok=True)
    header, blobs, at = {}, [], 0
    if meta is not None:
        header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    for key, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().cpu()
        raw = t.numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path = os.path.join(out_dir, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return path


def run_generators(folder):
    """Runs every gen_*.py of a folder but gen_all.py, in name order."""
    for script in sorted(glob.glob(os.path.join(folder, "gen_*.py"))):
        if os.path.basename(script) == "gen_all.py":
            continue
        print("running", os.path.basename(script))
        runpy.run_path(script, run_name="__main__")


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
