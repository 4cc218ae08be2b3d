"""Fixtures for matmul (all transposes, shared batch) and conv2d (kernel 1/3/5, stride 1/2,
padding 0/1/2, groups 1/2/depthwise, with and without bias): inputs, output, upstream gradient
and input gradients, computed in float64 by PyTorch.

Run: /usr/bin/python3 engine/src/test/python/gen_gemm_conv.py
"""
import torch
import torch.nn.functional as F

from fixture_io import forward_backward, gen, randn, save

# name: (a shape, b shape, transA, transB); odd sizes, batch > 1, one operand shared in some.
MATMULS = {
    "nn": ((2, 7, 13), (2, 13, 5), False, False),
    "tn_shared_b": ((3, 13, 7), (13, 5), True, False),
    "nt_shared_a": ((7, 13), (3, 5, 13), False, True),
    "tt": ((2, 13, 7), (2, 5, 13), True, True),
    "nn_4d": ((2, 3, 9, 17), (2, 3, 17, 11), False, False),
}

# name: (N, C, H, W, O, K, stride, padding, groups, bias)
CONVS = {
    "k3_s1_p1_bias": (2, 3, 9, 11, 5, 3, 1, 1, 1, True),
    "k1_s1_p0": (2, 4, 9, 7, 6, 1, 1, 0, 1, False),
    "k1_s1_p0_g2_bias": (2, 4, 9, 7, 6, 1, 1, 0, 2, True),
    "k1_s2_p0": (2, 4, 9, 11, 3, 1, 2, 0, 1, False),
    "k1_s1_p1": (2, 3, 5, 7, 4, 1, 1, 1, 1, True),
    "k3_s2_p1_g2": (2, 6, 11, 9, 4, 3, 2, 1, 2, False),
    "k3_s1_p0": (2, 3, 9, 9, 4, 3, 1, 0, 1, False),
    "k5_s1_p2_bias": (2, 3, 13, 10, 4, 5, 1, 2, 1, True),
    "k5_s2_p2_g2": (2, 4, 11, 9, 6, 5, 2, 2, 2, False),
    "k3_s1_p1_g4_mult2": (2, 4, 7, 9, 8, 3, 1, 1, 4, True),
    "k3_s1_p1_wide": (2, 8, 5, 37, 12, 3, 1, 1, 1, False),
    "dw_k3_s1_p1_bias": (2, 5, 9, 11, 5, 3, 1, 1, 5, True),
    "dw_k3_s1_p1_wide": (2, 6, 7, 45, 6, 3, 1, 1, 6, False),
    "dw_k3_s2_p1": (2, 6, 10, 13, 6, 3, 2, 1, 6, False),
    "dw_k5_s1_p2_bias": (2, 4, 8, 9, 4, 5, 1, 2, 4, True),
    "dw_k3_s1_p0": (2, 3, 7, 21, 3, 3, 1, 0, 3, False),
}


def matmul_fixtures():
    g = gen(11)
    out = {}
    for name, (ash, bsh, ta, tb) in MATMULS.items():
        a, b = randn(g, *ash), randn(g, *bsh)
        fn = lambda a, b: (a.transpose(-1, -2) if ta else a) @ (b.transpose(-1, -2) if tb else b)
        y, gy, (ga, gb) = forward_backward(fn, [a, b], g)
        out.update({f"{name}.a": a, f"{name}.b": b, f"{name}.out": y, f"{name}.gout": gy,
                    f"{name}.ga": ga, f"{name}.gb": gb,
                    f"{name}.trans": torch.tensor([float(ta), float(tb)])})
    save("gemm_matmul", out)


def conv_fixtures():
    g = gen(12)
    out = {}
    for name, (n, c, h, w, o, k, stride, pad, groups, has_bias) in CONVS.items():
        x, wt = randn(g, n, c, h, w), randn(g, o, c // groups, k, k)
        bias = randn(g, o) if has_bias else None
        inputs = [x, wt] + ([bias] if has_bias else [])
        fn = lambda x, wt, b=None: F.conv2d(x, wt, b, stride=stride, padding=pad, groups=groups)
        y, gy, grads = forward_backward(fn, inputs, g)
        t = {"x": x, "w": wt, "out": y, "gout": gy, "gx": grads[0], "gw": grads[1],
             "config": torch.tensor([float(stride), float(pad), float(groups)])}
        if has_bias:
            t.update({"bias": bias, "gbias": grads[2]})
        out.update({f"{name}.{key}": v for key, v in t.items()})
    save("gemm_conv", out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    matmul_fixtures()
    conv_fixtures()
