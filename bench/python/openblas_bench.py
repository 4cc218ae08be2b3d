"""The OpenBLAS (and PyTorch CPU conv) side of GemmBench and ConvBench, for bench/RESULTS.md.

Debian's python3-torch 1.13 calls OpenBLAS (libopenblas0-pthread) for matmul; 2 threads like ours.
Run: /usr/bin/python3 bench/python/openblas_bench.py [gemm [SHAPE...]] [conv [KIND:SIZE...]]
(default: every GemmBench and ConvBench case). Each number is the best of 5 runs of about 0.5 s,
in GFLOP/s.
"""
import sys
import time

import torch
import torch.nn.functional as F

GEMM_SHAPES = ["256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048",
               "144x65536x48", "48x65536x96", "48x65536x144:TN", "288x16384x96", "1152x1024x384",
               "48x48x65536:NT", "48x48x1024:NT:b8"]


def best_gflops(fn, gflop, runs=5, seconds=0.5):
    fn()
    best = 0.0
    for _ in range(runs):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= seconds:
                break
        best = max(best, gflop * n / dt)
    return best


def gemm(shape):
    parts = shape.split(":")
    m, n, k = map(int, parts[0].split("x"))
    ta = tb = False
    batch = 1
    for p in parts[1:]:
        if p.startswith("b"):
            batch = int(p[1:])
        else:
            ta, tb = p[0] == "T", p[1] == "T"
    # Transposed operands are transposed views, which PyTorch hands to BLAS as transpose flags.
    a = torch.randn(batch, k, m).transpose(1, 2) if ta else torch.randn(batch, m, k)
    b = torch.randn(batch, n, k).transpose(1, 2) if tb else torch.randn(batch, k, n)
    out = torch.empty(batch, m, n)
    if batch == 1:
        a2, b2, o2 = a[0], b[0], out[0]
        fn = lambda: torch.mm(a2, b2, out=o2)
    else:
        fn = lambda: torch.bmm(a, b, out=out)
    return best_gflops(fn, 2.0 * batch * m * n * k / 1e9)


def conv(kind, size, pass_):
    c = 48
    k = 1 if kind == "1x1" else 3
    groups = c if kind.startswith("dw") else 1
    x = torch.randn(1, c, size, size)
    w = torch.randn(c, c // groups, k, k)
    gy = torch.randn(1, c, size, size)
    pad = k // 2
    if pass_ == "forward":
        fn = lambda: F.conv2d(x, w, None, 1, pad, 1, groups)
    elif pass_ == "backwardInput":
        fn = lambda: torch.nn.grad.conv2d_input(x.shape, w, gy, 1, pad, 1, groups)
    else:
        fn = lambda: torch.nn.grad.conv2d_weight(x, w.shape, gy, 1, pad, 1, groups)
    gflop = 2.0 * c * size * size * (c // groups) * k * k / 1e9
    with torch.no_grad():
        return best_gflops(fn, gflop)


CONV_CASES = [f"{kind}:{size}" for kind in ["1x1", "3x3", "dw3x3"] for size in [128, 256]]


if __name__ == "__main__":
    torch.set_num_threads(2)
    args = sys.argv[1:] or ["gemm", "conv"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    # "gemm" and "conv" each take the cases that follow them, or all of theirs when none follow.
    groups, current = {}, None
    for a in args:
        if a in ("gemm", "conv"):
            current = groups.setdefault(a, [])
        else:
            current.append(a)
    for s in groups.get("gemm", None) or (GEMM_SHAPES if "gemm" in groups else []):
        print(f"gemm {s:>20}  {gemm(s):7.1f} GFLOP/s")
    for case in groups.get("conv", None) or (CONV_CASES if "conv" in groups else []):
        kind, size = case.split(":")
        for p in ["forward", "backwardInput", "backwardWeight"]:
            print(f"conv {kind:>5} {int(size):3d} {p:>14}  {conv(kind, int(size), p):7.1f} GFLOP/s")
