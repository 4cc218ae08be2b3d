"""PyTorch eager timings of the three fused DiffIR ops, unfused exactly as the reference DiffIR
writes them, at the DIRformer level-1 size. Run on the GPU machine:

    python3 kernels/src/test/python/torch_fused_bench.py [--runs 100] [--warmup 10]

Prints one JSON line per (op, pass): {"op", "pass" ("fwd" or "fwd+bwd"), "torch_ms" (median of
--runs timings with CUDA events after --warmup untimed runs), "floor_bytes" (the fewest bytes the
fused kernel must move; see kernels/FUSED_KERNELS.md), "shape"}. A first line {"meta": ...}
names the device and versions. Float32 throughout, TF32 off (the fused kernels are float32).

Sizes: batch 4, C = 48, 256 x 256; GDFN hidden Hd = int(48 * 2.66) = 127 (254 channels in);
attention heads 1 (c = 48).
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F

N, C, H, W = 4, 48, 256, 256
SMOKE = False
HD = int(C * 2.66)
HEADS = 1
F32 = 4


# ------------------------------------------------------------------- the reference compositions

def to_3d(x):  # rearrange 'b c h w -> b (h w) c'
    b, c, h, w = x.shape
    return x.reshape(b, c, h * w).transpose(1, 2)


def to_4d(x, h, w):  # rearrange 'b (h w) c -> b c h w'
    b, hw, c = x.shape
    return x.transpose(1, 2).reshape(b, c, h, w)


def with_bias_layer_norm(x, weight, bias):  # DiffIR WithBias_LayerNorm.forward
    mu = x.mean(-1, keepdim=True)
    sigma = x.var(-1, keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(sigma + 1e-5) * weight + bias


def modulated_layer_norm(x, weight, bias, k_v):
    h, w = x.shape[-2:]
    y = to_4d(with_bias_layer_norm(to_3d(x), weight, bias), h, w)  # LayerNorm.forward
    k_v1, k_v2 = k_v.view(-1, 2 * x.shape[1], 1, 1).chunk(2, dim=1)
    return y * k_v1 + k_v2  # the block's x*k1 + k2


def gated_dw_conv(x, weight):  # FeedForward: self.dwconv(x).chunk(2, dim=1); F.gelu(x1) * x2
    x1, x2 = F.conv2d(x, weight, None, stride=1, padding=1, groups=x.shape[1]).chunk(2, dim=1)
    return F.gelu(x1) * x2


def channel_attention(qkv, temperature, heads):  # Attention.forward after qkv_dwconv, before project_out
    b, c3, h, w = qkv.shape
    q, k, v = qkv.chunk(3, dim=1)
    q = q.reshape(b, heads, -1, h * w)  # 'b (head c) h w -> b head c (h w)'
    k = k.reshape(b, heads, -1, h * w)
    v = v.reshape(b, heads, -1, h * w)
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    attn = (q @ k.transpose(-2, -1)) * temperature
    attn = attn.softmax(dim=-1)
    out = attn @ v
    return out.reshape(b, -1, h, w)  # 'b head c (h w) -> b (head c) h w'


# ------------------------------------------------------------------- timing

def time_ms(fn, runs, warmup, reset=None):
    if SMOKE:  # CPU syntax/shape check only: one call, no timing
        if reset:
            reset()
        fn()
        return 0.0
    for _ in range(warmup):
        if reset:
            reset()
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        if reset:
            reset()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def bench(name, f, inputs, floor_fwd, floor_bwd, runs, warmup):
    grads = [t for t in inputs if t.requires_grad]
    with torch.no_grad():
        out = f(*inputs)
    gout = torch.randn_like(out)

    def forward():
        with torch.no_grad():
            f(*inputs)

    def forward_backward():
        f(*inputs).backward(gout)

    def clear():
        for t in grads:
            t.grad = None

    shape = list(inputs[0].shape)
    print(json.dumps({"op": name, "pass": "fwd", "torch_ms": round(time_ms(forward, runs, warmup), 4),
                      "floor_bytes": floor_fwd, "shape": shape}), flush=True)
    print(json.dumps({"op": name, "pass": "fwd+bwd", "torch_ms": round(time_ms(forward_backward, runs, warmup, clear), 4),
                      "floor_bytes": floor_fwd + floor_bwd, "shape": shape}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--smoke", action="store_true", help="run each op once on the CPU at a small size (no timing)")
    a = ap.parse_args()
    global SMOKE, N, H, W
    if a.smoke:
        SMOKE, N, H, W = True, 1, 16, 16
    elif a.runs < 50:
        raise SystemExit("--runs must be >= 50")
    elif not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cpu" if SMOKE else "cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    print(json.dumps({"meta": {"device": "cpu (smoke)" if SMOKE else torch.cuda.get_device_name(), "torch": torch.__version__,
                               "cuda": torch.version.cuda, "runs": a.runs, "warmup": a.warmup}}), flush=True)

    def randn(*shape, grad=True):
        return torch.randn(*shape, generator=g, device=dev).requires_grad_(grad)

    px, plane = N * H * W, N * C * H * W
    # LayerNorm (WithBias, modulated). Forward: read x, write out, mean, rstd. Backward: read x, gy,
    # mean, rstd, write gx (parameter gradients are a few KB).
    ln_fwd = (2 * plane + 2 * px) * F32
    ln_bwd = (3 * plane + 2 * px) * F32
    bench("modulated_layernorm", modulated_layer_norm, [randn(N, C, H, W), randn(C), randn(C), randn(N, 2 * C)],
          ln_fwd, ln_bwd, a.runs, a.warmup)
    # GDFN: forward reads x (2Hd planes), writes out (Hd); backward reads x and gy, writes gx.
    gd_in, gd_out = N * 2 * HD * H * W, N * HD * H * W
    bench("gated_dwconv", gated_dw_conv, [randn(N, 2 * HD, H, W), randn(2 * HD, 1, 3, 3, grad=False).mul_(0.3).requires_grad_(True)],
          (gd_in + gd_out) * F32, (2 * gd_in + gd_out) * F32, a.runs, a.warmup)
    # MDTA: forward reads q, k, v, writes out; backward reads q, k, v, gy, writes gq, gk, gv.
    bench("channel_attention", lambda qkv, t: channel_attention(qkv, t, HEADS),
          [randn(N, 3 * C, H, W), (torch.rand(HEADS, 1, 1, generator=g, device=dev) + 0.5).requires_grad_(True)],
          4 * plane * F32, 7 * plane * F32, a.runs, a.warmup)


if __name__ == "__main__":
    main()
