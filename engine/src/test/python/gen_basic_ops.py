"""Reference values for the basic ops (elementwise, reductions, matmul, shape ops, losses).

For every case `name`: inputs `name.in0`, `name.in1`, ..., the output `name.out` (or `name.out0`,
`name.out1`, ... for ops with several outputs), the upstream gradient `name.gout` (`name.gout0`, ...)
and the input gradients `name.grad0`, `name.grad1`, ...  Inputs and upstream gradients are rounded
to float32 first and the reference is computed from them in float64, so the only rounding left in
the fixture is the final store to float32.

Run with Debian's PyTorch: /usr/bin/python3 engine/src/test/python/gen_basic_ops.py
"""
import math

import torch
import torch.nn.functional as F

from fixture_io import save

torch.manual_seed(0)
G = torch.Generator().manual_seed(20240607)
OUT = {}


def f32(t):
    """Rounds to float32 and back, so Java sees exactly the reference's inputs."""
    return t.to(torch.float32).to(torch.float64)


def randn(*shape):
    return f32(torch.randn(shape, generator=G, dtype=torch.float64))


def uniform(lo, hi, *shape):
    return f32(lo + (hi - lo) * torch.rand(*shape, generator=G, dtype=torch.float64))


def away_from_zero(*shape, margin=0.1):
    """Normal-ish values with |x| >= margin, so kinks at 0 (relu, abs, ...) stay outside finite differences."""
    x = torch.randn(*shape, generator=G, dtype=torch.float64)
    return f32(torch.sign(x) * (margin + x.abs()))


def case(name, fn, *inputs, grads=None):
    """Records fn(*inputs) and the gradients of sum(out * gout) for each input (all by default)."""
    xs = [x.clone().requires_grad_(grads is None or i in grads) for i, x in enumerate(inputs)]
    out = fn(*xs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    gouts = [randn(*o.shape) for o in outs]
    torch.autograd.backward(outs, gouts)
    for i, x in enumerate(xs):
        OUT["%s.in%d" % (name, i)] = x.detach()
        if x.grad is not None:
            OUT["%s.grad%d" % (name, i)] = x.grad
    if len(outs) == 1:
        OUT[name + ".out"], OUT[name + ".gout"] = outs[0].detach(), gouts[0]
    else:
        for k, (o, g) in enumerate(zip(outs, gouts)):
            OUT["%s.out%d" % (name, k)], OUT["%s.gout%d" % (name, k)] = o.detach(), g


def gelu_exact(x):
    # 0.5 x erfc(-x / sqrt 2): unlike 0.5 x (1 + erf(x / sqrt 2)) this keeps full relative accuracy
    # for x << 0, where 1 + erf(.) cancels even in float64.
    return 0.5 * x * torch.special.erfc(-x / math.sqrt(2.0))


def elementwise():
    # Broadcasting binary ops, odd sizes, batch 2; "_same" variants hit the same-shape fast path.
    case("add", torch.add, randn(2, 3, 5), randn(3, 1))
    case("add_same", torch.add, randn(2, 3, 7), randn(2, 3, 7))
    case("sub", torch.sub, randn(2, 1, 5), randn(3, 5))
    case("sub_same", torch.sub, randn(3, 5, 7), randn(3, 5, 7))
    case("mul", torch.mul, randn(2, 3, 5), randn(2, 1, 5))
    case("mul_same", torch.mul, randn(2, 5, 7), randn(2, 5, 7))
    case("div", torch.div, randn(2, 3, 5), uniform(0.5, 2.0, 1, 5) * torch.sign(randn(1, 5)))
    case("div_same", torch.div, randn(2, 3, 7), uniform(0.5, 2.0, 2, 3, 7))
    case("div_scalar_first", torch.div, uniform(-1, 1, 1), uniform(0.5, 2.0, 2, 3, 5))
    a, b = randn(2, 3, 5), randn(3, 5)
    b = torch.where((a - b).abs() < 0.05, b + 0.1, b)  # no ties within finite differences
    case("maximum", torch.maximum, a, b)
    a, b = randn(2, 5, 7), randn(2, 5, 7)
    b = torch.where((a - b).abs() < 0.05, b + 0.1, b)
    case("maximum_same", torch.maximum, a, b)

    # Tensor-scalar ops.
    case("add_scalar", lambda x: x + 1.7, randn(2, 3, 5))
    case("mul_scalar", lambda x: x * -0.3, randn(2, 3, 5))
    case("rsub_scalar", lambda x: 2.5 - x, randn(2, 3, 5))
    case("rdiv_scalar", lambda x: 1.5 / x, away_from_zero(2, 3, 5, margin=0.5))
    case("pow2", lambda x: x ** 2, randn(2, 3, 5))
    case("pow3", lambda x: x ** 3, randn(2, 3, 5))
    case("pow_half", lambda x: x ** 0.5, uniform(0.2, 3.0, 2, 3, 5))
    case("pow_neg", lambda x: x ** -1.5, uniform(0.5, 3.0, 2, 3, 5))
    x = randn(2, 3, 5)
    case("clamp_min", lambda x: torch.clamp(x, min=-0.2), torch.where((x + 0.2).abs() < 0.05, x + 0.1, x))
    x = randn(2, 3, 5)
    case("clamp_max", lambda x: torch.clamp(x, max=0.3), torch.where((x - 0.3).abs() < 0.05, x + 0.1, x))

    # Unary ops.
    case("neg", torch.neg, randn(2, 3, 5))
    case("exp", torch.exp, randn(2, 3, 5))
    case("log", torch.log, uniform(0.3, 4.0, 2, 3, 5))
    case("sqrt", torch.sqrt, uniform(0.3, 4.0, 2, 3, 5))
    case("abs", torch.abs, away_from_zero(2, 3, 5))
    case("square", torch.square, randn(2, 3, 5))
    case("tanh", torch.tanh, 2 * randn(2, 3, 5))
    case("sigmoid", torch.sigmoid, 3 * randn(2, 3, 5))
    case("relu", torch.relu, away_from_zero(2, 3, 5))
    case("leaky_relu", lambda x: F.leaky_relu(x, 0.1), away_from_zero(2, 3, 5))
    # GELU over [-8, 8] plus random values, and the far negative tail alone, where only a relatively
    # accurate erfc keeps the (tiny) values right.
    wide = f32(torch.cat([torch.linspace(-8, 8, 41, dtype=torch.float64), 3 * torch.randn(49, generator=G, dtype=torch.float64)]))
    case("gelu", gelu_exact, wide.view(2, 5, 9))
    case("gelu_tail", gelu_exact, f32(torch.linspace(-8, -3, 21, dtype=torch.float64)).view(3, 7))
    probe = torch.linspace(-4, 4, 17, dtype=torch.float64)
    assert torch.allclose(gelu_exact(probe), F.gelu(probe), rtol=1e-12, atol=1e-15)


def reductions():
    x = randn(3, 4, 5)
    case("sum_all", lambda x: x.sum(), x)
    case("sum_02_keep", lambda x: x.sum(dim=(0, 2), keepdim=True), randn(3, 4, 5))
    case("sum_02", lambda x: x.sum(dim=(0, 2)), randn(3, 4, 5))
    case("sum_last", lambda x: x.sum(dim=-1), randn(2, 3, 7))
    case("mean_all", lambda x: x.mean(), randn(3, 4, 5))
    case("mean_1_keep", lambda x: x.mean(dim=1, keepdim=True), randn(3, 4, 5))
    case("mean_12", lambda x: x.mean(dim=(1, 2)), randn(3, 4, 5))
    case("global_avg_pool", lambda x: F.adaptive_avg_pool2d(x, 1), randn(2, 3, 5, 7))


def matmuls():
    case("matmul_2d", torch.matmul, randn(3, 4), randn(4, 5))
    case("matmul_batched_shared_b", torch.matmul, randn(2, 3, 4), randn(4, 5))
    case("matmul_shared_a", torch.matmul, randn(3, 4), randn(2, 4, 5))
    case("matmul_4d", torch.matmul, randn(2, 3, 4, 5), randn(2, 3, 5, 3))
    case("matmul_ta", lambda a, b: a.transpose(-1, -2) @ b, randn(2, 4, 3), randn(2, 4, 5))
    case("matmul_tb", lambda a, b: a @ b.transpose(-1, -2), randn(2, 3, 4), randn(2, 5, 4))
    case("matmul_tab", lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2), randn(2, 4, 3), randn(2, 5, 4))
    case("matmul_tb_shared", lambda a, b: a @ b.transpose(-1, -2), randn(2, 3, 4), randn(5, 4))
    case("matmul_ta_shared", lambda a, b: a.transpose(-1, -2) @ b, randn(2, 4, 3), randn(4, 5))
    case("matmul_shared_a_tb", lambda a, b: a @ b.transpose(-1, -2), randn(3, 4), randn(2, 5, 4))
    case("matmul_shared_a_ta", lambda a, b: a.transpose(-1, -2) @ b, randn(4, 3), randn(2, 4, 5))
    case("linear", F.linear, randn(2, 3, 4), randn(5, 4), randn(5))


def shapes():
    case("reshape", lambda x: x.reshape(5, 6), randn(2, 3, 5))
    case("permute", lambda x: x.permute(0, 2, 3, 1), randn(2, 3, 4, 5))
    case("transpose", lambda x: x.transpose(1, 3), randn(2, 3, 4, 5))
    case("narrow_inner", lambda x: x.narrow(1, 1, 3), randn(2, 5, 3))
    case("narrow_leading", lambda x: x.narrow(0, 1, 3), randn(5, 3))
    case("concat", lambda a, b, c: torch.cat([a, b, c], dim=1), randn(2, 1, 3), randn(2, 2, 3), randn(2, 3, 3))
    case("split", lambda x: torch.split(x, [1, 2, 2], dim=2), randn(2, 3, 5))
    case("chunk", lambda x: torch.chunk(x, 3, dim=1), randn(2, 6, 5))
    case("expand", lambda x: x.expand(2, 3, 4, 5), randn(3, 1, 5))
    case("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), randn(2, 8, 3, 5))
    case("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), randn(2, 3, 6, 10))
    case("upsample_nearest2", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), randn(2, 3, 3, 5))
    case("upsample_nearest4", lambda x: F.interpolate(x, scale_factor=4, mode="nearest"), randn(2, 1, 3, 5))


def losses():
    pred, target = randn(2, 3, 5, 7), randn(2, 3, 5, 7)
    pred = torch.where((pred - target).abs() < 0.05, pred + 0.1, pred)  # |x| has a kink at 0
    case("l1_loss", F.l1_loss, pred, target)
    case("mse_loss", F.mse_loss, randn(2, 3, 5, 7), randn(2, 3, 5, 7))
    log_input = f32(torch.log_softmax(randn(3, 7), dim=1))
    target = torch.softmax(randn(3, 7), dim=1)
    target[0, 2] = 0.0  # exact zeros contribute 0 (0 log 0 = 0)
    target[2, 5] = 0.0
    target = f32(target)
    for reduction in ["mean", "sum", "batchmean"]:
        # PyTorch's gradient with respect to a zero target is NaN, so only the input's is compared here.
        case("kl_div_" + reduction, lambda i, t: F.kl_div(i, t, reduction=reduction), log_input, target, grads={0})
    positive = f32(torch.softmax(randn(3, 7), dim=1).clamp(min=0.02))
    case("kl_div_positive", lambda i, t: F.kl_div(i, t, reduction="batchmean"), log_input, positive)


def main():
    elementwise()
    reductions()
    matmuls()
    shapes()
    losses()
    print("basic_ops:", len(OUT), "tensors ->", save("basic_ops", OUT))


if __name__ == "__main__":
    main()
