"""PyTorch eager timings of the ops KernelTiming times, same math and sizes, for the GPU check.

DIRformer level 1: batch 4, C = 48, 256 x 256, GDFN hidden int(48 * 2.66) = 127, one attention head.
float32 with TF32 off (as our backend runs by default), CUDA events, warm-up then the median of many
timed bursts over two rotating input sets of random data: a burst is BURST calls queued back to back
between two events, its time over BURST the time per call (as KernelTiming measures ours, so neither
side counts the host's time to queue its first launch). Writes op,ms lines (names as in KernelTiming).

    python3 torch_eager_bench.py out.csv            # on the GPU machine
    python3 torch_eager_bench.py out.csv --small    # tiny sizes on the CPU, to check the script itself
"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "torch.csv"
    small = "--small" in sys.argv
    dev = torch.device("cpu" if small or not torch.cuda.is_available() else "cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # as our backend: cuDNN algorithms chosen by a timed search
    if small:
        N, C, H, W, HID, COPY, GEMM, WARM, RUNS, BURST = 1, 6, 8, 8, 10, 4096, 32, 1, 3, 2
    else:
        N, C, H, W, HID, COPY, GEMM, WARM, RUNS, BURST = 4, 48, 256, 256, int(48 * 2.66), 256 << 20, 4096, 10, 25, 10
    HW = H * W
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name() if dev.type == 'cuda' else 'cpu'}", flush=True)
    gen = torch.Generator(device="cpu").manual_seed(7)

    def rnd(*shape, grad=False):
        t = (torch.rand(*shape, generator=gen) * 2 - 1).to(dev)
        return t.requires_grad_(grad)

    rows = []

    def timed(name, fn, sets=2):
        """fn(i) runs the op on input set i; median over RUNS bursts of BURST calls, per call."""
        for i in range(WARM):
            fn(i % sets)
        if dev.type == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        times = []
        for i in range(RUNS):
            if dev.type == "cuda":
                start.record()
                for k in range(BURST):
                    fn((i * BURST + k) % sets)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end) / BURST)
            else:
                t0 = time.perf_counter()
                for k in range(BURST):
                    fn((i * BURST + k) % sets)
                times.append((time.perf_counter() - t0) * 1e3 / BURST)
        ms = statistics.median(times)
        rows.append((name, ms))
        print(f"{name:<22} {ms:9.4f} ms", flush=True)

    def guarded(name, body):
        try:
            body()
        except Exception as e:  # a missing op in an old torch must not lose the other rows
            print(f"{name}: failed: {e!r}", flush=True)

    # ceilings
    src, dst = rnd(COPY), torch.empty(COPY, device=dev)
    timed("copy_d2d", lambda i: dst.copy_(src), sets=1)
    a, b2, c = rnd(GEMM, GEMM), rnd(GEMM, GEMM), torch.empty(GEMM, GEMM, device=dev)
    timed(f"sgemm_{GEMM}", lambda i: torch.mm(a, b2, out=c), sets=1)
    del src, dst, a, b2, c

    # elementwise
    x = [rnd(N, C, H, W), rnd(N, C, H, W)]
    y = [rnd(N, C, H, W), rnd(N, C, H, W)]
    out = torch.empty(N, C, H, W, device=dev)
    k = rnd(N, C, 1, 1)
    timed("add", lambda i: torch.add(x[i], y[i], out=out))
    timed("mul_bcast", lambda i: torch.mul(x[i], k, out=out))
    timed("gelu", lambda i: F.gelu(x[i]))
    guarded("gelu_bwd", lambda: timed("gelu_bwd", lambda i: torch.ops.aten.gelu_backward(x[1 - i], x[i])))
    timed("pixel_unshuffle", lambda i: F.pixel_unshuffle(x[i], 2))

    # reductions and rows
    timed("sum_bias_grad", lambda i: x[i].sum(dim=(0, 2, 3)))
    timed("sum_hw", lambda i: x[i].sum(dim=(2, 3)))
    att = [rnd(N, C, C), rnd(N, C, C)]
    timed("softmax_48", lambda i: torch.softmax(att[i], dim=-1))
    q = [rnd(N, C, HW), rnd(N, C, HW)]
    timed("l2norm_rows", lambda i: F.normalize(q[i], dim=-1))
    del att, q

    # convolutions: forward through F.conv2d, gradients through aten.convolution_backward
    def conv(name, cin, cout, ksz, pad, groups):
        xs = [rnd(N, cin, H, W), rnd(N, cin, H, W)]
        w = rnd(cout, cin // groups, ksz, ksz)
        gys = [rnd(N, cout, H, W), rnd(N, cout, H, W)]
        timed(name + "_fwd", lambda i: F.conv2d(xs[i], w, None, 1, pad, 1, groups))

        def bwd(i, mask):
            return torch.ops.aten.convolution_backward(gys[i], xs[i], w, None, [1, 1], [pad, pad], [1, 1], False,
                                                       [0, 0], groups, mask)
        guarded(name + "_bwd", lambda: (timed(name + "_bwd_in", lambda i: bwd(i, [True, False, False])),
                                        timed(name + "_bwd_w", lambda i: bwd(i, [False, True, False]))))

    conv("conv1x1_48_144", C, 3 * C, 1, 0, 1)
    conv("dwconv3_144", 3 * C, 3 * C, 3, 1, 3 * C)
    conv("conv3x3_48", C, C, 3, 1, 1)

    # fused DiffIR ops, written as the reference implementation does them
    def ln_mod(xx, w, b, mod):
        n, c, h, ww = xx.shape
        t = xx.flatten(2).transpose(1, 2)                 # b (h w) c
        mu = t.mean(-1, keepdim=True)
        var = t.var(-1, keepdim=True, unbiased=False)
        t = (t - mu) / torch.sqrt(var + 1e-5) * w + b
        t = t.transpose(1, 2).reshape(n, c, h, ww)
        k1, k2 = mod[:, :c].view(n, c, 1, 1), mod[:, c:].view(n, c, 1, 1)
        return t * k1 + k2

    xg = [rnd(N, C, H, W, grad=True), rnd(N, C, H, W, grad=True)]
    lw, lb, mod = rnd(C, grad=True), rnd(C, grad=True), rnd(N, 2 * C, grad=True)
    timed("ln_mod_fwd", lambda i: ln_mod(xg[i].detach(), lw.detach(), lb.detach(), mod.detach()))
    outs = [ln_mod(xg[i], lw, lb, mod) for i in range(2)]
    timed("ln_mod_bwd", lambda i: torch.autograd.grad(outs[i], (xg[i], lw, lb, mod), y[i], retain_graph=True))
    del outs

    def gdfn(xx, w):
        z = F.conv2d(xx, w, None, 1, 1, 1, 2 * HID)
        a1, a2 = z.chunk(2, dim=1)
        return F.gelu(a1) * a2

    gx_in = [rnd(N, 2 * HID, H, W, grad=True), rnd(N, 2 * HID, H, W, grad=True)]
    dw = rnd(2 * HID, 1, 3, 3, grad=True)
    timed("gdfn_fwd", lambda i: gdfn(gx_in[i].detach(), dw.detach()))
    ggy = [rnd(N, HID, H, W), rnd(N, HID, H, W)]
    outs = [gdfn(gx_in[i], dw) for i in range(2)]
    timed("gdfn_bwd", lambda i: torch.autograd.grad(outs[i], (gx_in[i], dw), ggy[i], retain_graph=True))
    del outs, gx_in, ggy

    def attention(qkv, temperature):
        n, c3, h, ww = qkv.shape
        c = c3 // 3
        qq, kk, vv = qkv.chunk(3, dim=1)
        qq = F.normalize(qq.reshape(n, 1, c, h * ww), dim=-1)
        kk = F.normalize(kk.reshape(n, 1, c, h * ww), dim=-1)
        vv = vv.reshape(n, 1, c, h * ww)
        a = (qq @ kk.transpose(-2, -1)) * temperature
        a = a.softmax(dim=-1)
        return (a @ vv).reshape(n, c, h, ww)

    qkv = [rnd(N, 3 * C, H, W, grad=True), rnd(N, 3 * C, H, W, grad=True)]
    temp = rnd(1, 1, 1, grad=True)
    timed("attn_fwd", lambda i: attention(qkv[i].detach(), temp.detach()))
    outs = [attention(qkv[i], temp) for i in range(2)]
    timed("attn_bwd", lambda i: torch.autograd.grad(outs[i], (qkv[i], temp), y[i], retain_graph=True))
    del outs, qkv

    # optimiser: one Adam step over 1M parameters
    p = torch.nn.Parameter(rnd(1 << 20))
    p.grad = rnd(1 << 20)
    try:
        opt = torch.optim.Adam([p], lr=1e-4, fused=dev.type == "cuda")
    except (TypeError, RuntimeError):
        opt = torch.optim.Adam([p], lr=1e-4)
    timed("adam_1M", lambda i: opt.step(), sets=1)

    with open(out_path, "w") as f:
        for name, ms in rows:
            f.write(f"{name},{ms:.5f}\n")


if __name__ == "__main__":
    main()
