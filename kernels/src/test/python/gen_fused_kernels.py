"""Fixtures for the fused CUDA kernels' CPU-emulated tests (FusedKernelsEmulatedTest).

Run with Debian's PyTorch: /usr/bin/python3 kernels/src/test/python/gen_fused_kernels.py
Writes kernels/src/test/resources/fixtures/fused_*.safetensors: inputs, outputs, a random upstream
gradient and the input gradients, all computed in float64 with the reference DiffIR composition
(to_3d / LayerNorm / to_4d then x*k1 + k2; grouped Conv2d, chunk, gelu, mul; rearranged
F.normalize, q @ k^T * temperature, softmax, @ v) and stored as float32.
Shapes are odd on purpose and sized so that the kernels run several tiles, chunks and blocks.
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "engine", "src", "test", "python")))
import fixture_io  # noqa: E402

fixture_io.OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "resources", "fixtures"))
EPS = 1e-5


def to_3d(x):  # 'b c h w -> b (h w) c'
    b, c, h, w = x.shape
    return x.reshape(b, c, h * w).transpose(1, 2)


def to_4d(x, h, w):  # 'b (h w) c -> b c h w'
    b, hw, c = x.shape
    return x.transpose(1, 2).reshape(b, c, h, w)


def layer_norm(x, weight, bias, mod):
    """DiffIR's WithBias_LayerNorm (bias given) or BiasFree_LayerNorm, then the modulation x*k1 + k2."""
    h, w = x.shape[-2:]
    t = to_3d(x)
    sigma = t.var(-1, keepdim=True, unbiased=False)
    if bias is not None:
        mu = t.mean(-1, keepdim=True)
        y = (t - mu) / torch.sqrt(sigma + EPS) * weight + bias
    else:
        y = t / torch.sqrt(sigma + EPS) * weight
    y = to_4d(y, h, w)
    if mod is not None:
        k1, k2 = mod.reshape(mod.shape[0], -1, 1, 1).chunk(2, dim=1)
        y = y * k1 + k2
    return y


def gen_layer_norm(name, n, c, h, w, with_bias, with_mod, seed):
    g = fixture_io.gen(seed)
    x = fixture_io.randn(g, n, c, h, w) * 1.5 + 0.7  # an offset mean exercises the centring
    x = x.detach().requires_grad_(True)
    weight = fixture_io.randn(g, c)
    bias = fixture_io.randn(g, c) if with_bias else None
    mod = fixture_io.randn(g, n, 2 * c) if with_mod else None
    out, gout, grads = fixture_io.forward_backward(layer_norm, [x, weight, bias, mod], g)
    t = to_3d(x.detach())
    mean = t.mean(-1).reshape(n, h, w)
    rstd = (1.0 / torch.sqrt(t.var(-1, unbiased=False) + EPS)).reshape(n, h, w)
    d = {"x": x, "weight": weight, "out": out, "mean": mean, "rstd": rstd, "gout": gout, "gx": grads[0], "gweight": grads[1]}
    if with_bias:
        d["bias"], d["gbias"] = bias, grads[2]
    if with_mod:
        d["mod"], d["gmod"] = mod, grads[3]
    fixture_io.save(name, d)


def gated_dw_conv(x, weight, bias):
    z = F.conv2d(x, weight, bias, padding=weight.shape[-1] // 2, groups=x.shape[1])
    z1, z2 = z.chunk(2, dim=1)
    return F.gelu(z1) * z2


def gen_gdfn(name, n, hd, h, w, k, with_bias, seed):
    g = fixture_io.gen(seed)
    x = fixture_io.randn(g, n, 2 * hd, h, w)
    weight = (fixture_io.randn(g, 2 * hd, 1, k, k) * 0.5).detach().requires_grad_(True)
    bias = fixture_io.randn(g, 2 * hd) if with_bias else None
    out, gout, grads = fixture_io.forward_backward(gated_dw_conv, [x, weight, bias], g)
    d = {"x": x, "weight": weight, "out": out, "gout": gout, "gx": grads[0], "gweight": grads[1]}
    if with_bias:
        d["bias"], d["gbias"] = bias, grads[2]
    fixture_io.save(name, d)


def channel_attention(qkv, temperature, heads):
    b, c3, h, w = qkv.shape
    c = c3 // 3
    q, k, v = qkv.chunk(3, dim=1)
    q = q.reshape(b, heads, c // heads, h * w)  # 'b (head c) h w -> b head c (h w)'
    k = k.reshape(b, heads, c // heads, h * w)
    v = v.reshape(b, heads, c // heads, h * w)
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    attn = (q @ k.transpose(-2, -1)) * temperature
    attn = attn.softmax(dim=-1)
    out = attn @ v
    return out.reshape(b, c, h, w), attn


def gen_attention(name, n, c, heads, h, w, seed, zero_q_row=False):
    g = fixture_io.gen(seed)
    qkv = fixture_io.randn(g, n, 3 * c, h, w)
    if zero_q_row:  # a q row of norm 0: F.normalize clamps it to 1e-12
        with torch.no_grad():
            qkv[0, 1].zero_()
    temperature = (torch.rand(heads, 1, 1, generator=g, dtype=torch.float64) * 2 + 0.5).requires_grad_(True)
    out, gout, grads = fixture_io.forward_backward(lambda a, t: channel_attention(a, t, heads)[0], [qkv, temperature], g)
    with torch.no_grad():
        _, attn = channel_attention(qkv, temperature, heads)
        q, k, _ = qkv.chunk(3, dim=1)
        qn = q.reshape(n, c, h * w).norm(dim=-1).clamp_min(1e-12)
        kn = k.reshape(n, c, h * w).norm(dim=-1).clamp_min(1e-12)
    fixture_io.save(name, {"qkv": qkv, "temperature": temperature, "out": out, "attn": attn,
                           "norms": torch.cat([qn, kn], dim=1), "gout": gout, "gqkv": grads[0], "gtemp": grads[1]})


if __name__ == "__main__":
    gen_layer_norm("fused_ln_wb_mod", 3, 9, 7, 13, True, True, 101)        # scalar path (H*W = 91)
    gen_layer_norm("fused_ln_bf_plain", 1, 5, 7, 13, False, False, 102)
    gen_layer_norm("fused_ln_wb_plain_v4", 2, 9, 24, 26, True, False, 103)  # vector path, 2 tiles per image
    gen_layer_norm("fused_ln_bf_mod_v4", 3, 5, 8, 12, False, True, 104)
    gen_layer_norm("fused_ln_wb_mod_c130_v4", 2, 130, 5, 8, True, True, 105)  # streaming kernels, vector path
    gen_layer_norm("fused_ln_bf_mod_c100", 1, 100, 3, 7, False, True, 106)    # registers forward, streaming backward
    gen_layer_norm("fused_ln_wb_c48", 2, 48, 9, 10, True, False, 107)          # the level-1 channel count
    gen_gdfn("fused_gdfn_k3_bias", 3, 5, 7, 13, 3, True, 201)
    gen_gdfn("fused_gdfn_k3_tiles", 1, 3, 37, 70, 3, False, 202)           # 2 x 3 tiles, partial edges
    gen_gdfn("fused_gdfn_k5_bias", 2, 2, 9, 11, 5, True, 203)
    gen_gdfn("fused_gdfn_k1", 2, 3, 5, 6, 1, False, 204)
    # Rows of a multiple of 4 floats: the float4-staged kernels (_v4).
    gen_gdfn("fused_gdfn_k3_v4", 2, 2, 35, 68, 3, True, 205)               # 2 x 3 tiles, partial edges
    gen_gdfn("fused_gdfn_k5_v4", 1, 2, 9, 12, 5, True, 206)
    gen_gdfn("fused_gdfn_k1_v4", 2, 3, 5, 8, 1, False, 207)
    gen_gdfn("fused_gdfn_k3_strip_v4", 2, 1, 33, 132, 3, True, 208)        # rows of 5 tiles (the backward walks them)
    gen_attention("fused_attn_h3_c9", 3, 9, 3, 7, 13, 301)                  # c = 3, scalar path
    gen_attention("fused_attn_h1_c5", 1, 5, 1, 7, 13, 302)
    gen_attention("fused_attn_h2_c96_v4", 1, 96, 2, 8, 12, 303)             # c = 48: one 48-row tile
    gen_attention("fused_attn_h1_c70_v4", 2, 70, 1, 6, 10, 304)             # c = 70: 2 x 2 tiles of 36
    gen_attention("fused_attn_zero_row", 2, 6, 2, 5, 7, 305, zero_q_row=True)
    # The kernels built for a fixed r (one tile of 4r rows, aligned pixel rows), batch > 1:
    gen_attention("fused_attn_h1_c48_v4", 2, 48, 1, 8, 12, 306)             # r = 12, several Gram chunks
    gen_attention("fused_attn_h2_c32_v4", 2, 32, 2, 4, 8, 307)              # c = 16: r = 4 (apply only)
    gen_attention("fused_attn_h2_c64_v4", 2, 64, 2, 4, 4, 308)              # c = 32: r = 8
    gen_attention("fused_attn_h1_c64_v4", 2, 64, 1, 4, 4, 309)              # c = 64: r = 16
    # The pipelined kernels (c = 4r, r = 12, 8, 4) over more 32-pixel stages than their ring of
    # shared buffers, with a partial last stage:
    gen_attention("fused_attn_h1_c48_long_v4", 2, 48, 1, 5, 20, 310)        # 100 pixels: 4 stages
    gen_attention("fused_attn_h1_c32_long_v4", 2, 32, 1, 8, 17, 311)        # 136 pixels: 5 stages
    gen_attention("fused_attn_h1_c16_long_v4", 2, 16, 1, 12, 22, 312)       # 264 pixels: 9 stages
