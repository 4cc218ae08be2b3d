"""Fixtures for the normalisation and fused DiffIR kernels (NormOpsTest, FusedOpsTest).

Each case stores its inputs, the output, a random upstream gradient `gy` and the input gradients,
all computed in float64 with the reference DiffIR/Restormer math (S2_arch.py): channel LayerNorm in
both flavours with the dynamic modulation, GDFN's gated depthwise conv, MDTA's transposed attention.
Shapes are odd-sized with batch 2; rows are long enough to reach the kernels' vector loops. Run: /usr/bin/python3 engine/src/test/python/gen_norm_fused.py
"""
import torch
import torch.nn.functional as F

from fixture_io import forward_backward, gen, randn, save


def case(out, prefix, fn, inputs, names, g):
    y, gy, grads = forward_backward(fn, inputs, g)
    for name, x, gx in zip(names, inputs, grads):
        out[prefix + name] = x
        if gx is not None:
            out[prefix + "g" + name] = gx
    out[prefix + "y"] = y
    out[prefix + "gy"] = gy


def softmax_cases():
    g, out = gen(101), {}
    x = (randn(g, 2, 3, 19) * 3).detach().requires_grad_(True)
    case(out, "softmax.", lambda t: torch.softmax(t, dim=-1), [x], ["x"], g)
    x = (randn(g, 2, 3, 19) * 3).detach().requires_grad_(True)
    case(out, "log_softmax.", lambda t: torch.log_softmax(t, dim=-1), [x], ["x"], g)
    save("softmax", out)


def l2_normalize_cases():
    g, out = gen(102), {}
    x = randn(g, 2, 3, 19)
    case(out, "l2.", lambda t: F.normalize(t, dim=-1, eps=1e-12), [x], ["x"], g)
    # eps 0.5 with some rows scaled far below it: the clamped branch of F.normalize.
    scale = torch.tensor([1.0, 0.05, 1.0, 0.02, 2.0], dtype=torch.float64).view(5, 1)
    x = (randn(g, 5, 9) * scale).detach().requires_grad_(True)
    case(out, "l2_clamped.", lambda t: F.normalize(t, dim=-1, eps=0.5), [x], ["x"], g)
    save("l2_normalize", out)


def layer_norm_ref(x, w, b, mod):
    """Restormer's LayerNorm on NCHW (per pixel over C), then x*k1 + k2 when mod is given."""
    t = x.permute(0, 2, 3, 1)
    var = t.var(-1, keepdim=True, unbiased=False)
    if b is None:  # BiasFree: x is not centred, var still about the mean
        y = t / torch.sqrt(var + 1e-5) * w
    else:
        mu = t.mean(-1, keepdim=True)
        y = (t - mu) / torch.sqrt(var + 1e-5) * w + b
    y = y.permute(0, 3, 1, 2)
    if mod is not None:
        k1, k2 = mod.view(mod.shape[0], -1, 1, 1).chunk(2, dim=1)
        y = y * k1 + k2
    return y


def layer_norm_cases():
    g, out = gen(103), {}
    for with_bias in (True, False):
        for modulated in (False, True):
            for c in (6, 9):
                prefix = "%s%s_c%d." % ("with_bias" if with_bias else "bias_free", "_mod" if modulated else "", c)
                # An offset mean makes BiasFree differ visibly from WithBias.
                x = (randn(g, 2, c, 5, 7) + 0.7).detach().requires_grad_(True)
                w = (1 + 0.3 * randn(g, c)).detach().requires_grad_(True)
                b = (0.2 * randn(g, c)).detach().requires_grad_(True) if with_bias else None
                m = randn(g, 2, 2 * c) if modulated else None
                inputs, names = [x, w], ["x", "w"]
                if with_bias:
                    inputs.append(b)
                    names.append("b")
                if modulated:
                    inputs.append(m)
                    names.append("mod")
                fn = lambda *a, wb=with_bias, md=modulated: layer_norm_ref(
                    a[0], a[1], a[2] if wb else None, a[-1] if md else None)
                case(out, prefix, fn, inputs, names, g)
    save("layer_norm", out)


def gated_dwconv_ref(x, w, b):
    k = w.shape[-1]
    z = F.conv2d(x, w, b, stride=1, padding=k // 2, groups=x.shape[1])
    z1, z2 = z.chunk(2, dim=1)
    return F.gelu(z1) * z2


def gated_dwconv_cases():
    g, out = gen(104), {}
    for hd, k, bias in ((3, 3, True), (5, 3, False), (3, 5, True)):
        prefix = "hd%d_k%d%s." % (hd, k, "_bias" if bias else "")
        x = randn(g, 2, 2 * hd, 5, 21)  # W 21: vector interior plus borders
        w = (0.5 * randn(g, 2 * hd, 1, k, k)).detach().requires_grad_(True)
        inputs, names = [x, w], ["x", "w"]
        if bias:
            inputs.append((0.3 * randn(g, 2 * hd)).detach().requires_grad_(True))
            names.append("b")
        case(out, prefix, lambda *a: gated_dwconv_ref(a[0], a[1], a[2] if len(a) > 2 else None), inputs, names, g)
    save("gated_dwconv", out)


def channel_attention_ref(qkv, temperature, heads):
    """MDTA's attention core: rearrange 'b (head c) h w -> b head c (h w)', normalise, softmax, A v."""
    n, c3, h, w = qkv.shape
    q, k, v = qkv.chunk(3, dim=1)
    q, k, v = (t.reshape(n, heads, c3 // 3 // heads, h * w) for t in (q, k, v))
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    attn = (q @ k.transpose(-2, -1)) * temperature
    attn = attn.softmax(dim=-1)
    return (attn @ v).reshape(n, c3 // 3, h, w)


def channel_attention_cases():
    g, out = gen(105), {}
    for c, heads in ((6, 1), (6, 3), (9, 3)):
        prefix = "c%d_h%d." % (c, heads)
        qkv = randn(g, 2, 3 * c, 5, 7)
        t = (1 + 0.5 * randn(g, heads, 1, 1)).detach().requires_grad_(True)
        case(out, prefix, lambda a, b, hh=heads: channel_attention_ref(a, b, hh), [qkv, t], ["qkv", "t"], g)
    save("channel_attention", out)


if __name__ == "__main__":
    softmax_cases()
    l2_normalize_cases()
    layer_norm_cases()
    gated_dwconv_cases()
    channel_attention_cases()
