"""Fixtures for nn layers (Linear, Conv2d, channel LayerNorm, Sequential naming), optimisers (Adam,
AdamW, SGD trajectories and state), learning-rate schedules, EMA and gradient-norm clipping.

Run with Debian's PyTorch: /usr/bin/python3 engine/src/test/python/gen_nn_optim.py
Layer references run in float64; optimiser trajectories run PyTorch's own optimisers in float64.
"""
import math

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import _LRScheduler

from fixture_io import forward_backward, gen, randn, save
from gen_norm_fused import layer_norm_ref


# ---------------------------------------------------------------- layers

def prefixed(prefix, d):
    return {prefix + k: v for k, v in d.items()}


def linear_case(g, batch_shape, n_in, n_out, bias):
    x = randn(g, *batch_shape, n_in)
    w = randn(g, n_out, n_in)
    b = randn(g, n_out) if bias else None
    inputs = [x, w] + ([b] if bias else [])
    out, gout, grads = forward_backward(lambda x, w, *b: F.linear(x, w, b[0] if b else None), inputs, g)
    d = {"x": x, "weight": w, "out": out, "gout": gout, "gx": grads[0], "gweight": grads[1]}
    if bias:
        d.update({"bias": b, "gbias": grads[2]})
    return d


def conv_case(g, n, c, h, w_, o, k, stride, padding, groups, bias):
    x = randn(g, n, c, h, w_)
    w = randn(g, o, c // groups, k, k)
    b = randn(g, o) if bias else None
    inputs = [x, w] + ([b] if bias else [])
    fn = lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, stride=stride, padding=padding, groups=groups)
    out, gout, grads = forward_backward(fn, inputs, g)
    d = {"x": x, "weight": w, "out": out, "gout": gout, "gx": grads[0], "gweight": grads[1]}
    if bias:
        d.update({"bias": b, "gbias": grads[2]})
    return d


def layer_norm_case(g, with_bias, modulated):
    n, c, h, w = 2, 5, 3, 7
    x = randn(g, n, c, h, w)
    weight = randn(g, c)
    bias = randn(g, c) if with_bias else None
    mod = randn(g, n, 2 * c) if modulated else None
    inputs = [x, weight] + ([bias] if with_bias else []) + ([mod] if modulated else [])

    def fn(x, weight, *rest):
        rest = list(rest)
        b = rest.pop(0) if with_bias else None
        m = rest.pop(0) if modulated else None
        return layer_norm_ref(x, weight, b, m)

    out, gout, grads = forward_backward(fn, inputs, g)
    d = {"x": x, "body.weight": weight, "out": out, "gout": gout, "gx": grads[0], "gweight": grads[1]}
    i = 2
    if with_bias:
        d.update({"body.bias": bias, "gbias": grads[i]})
        i += 1
    if modulated:
        d.update({"mod": mod, "gmod": grads[i]})
    return d


def sequential_case(g):
    """An MLP like CPEN's tail; its PyTorch state-dict keys are stored as 'sd.<key>'."""
    torch.manual_seed(7)
    seq = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LeakyReLU(0.1), torch.nn.Linear(8, 8),
                              torch.nn.GELU(), torch.nn.Linear(8, 3, bias=False)).double()
    x = randn(g, 2, 6)
    out, gout, grads = forward_backward(lambda x: seq(x), [x], g)
    d = {"x": x, "out": out, "gout": gout, "gx": grads[0]}
    d.update(prefixed("sd.", dict(seq.state_dict())))
    d.update(prefixed("grad.", {k: p.grad for k, p in seq.named_parameters()}))
    return d


def gen_layers():
    g = gen(301)
    d = {}
    d.update(prefixed("bias3d.", linear_case(g, (2, 3), 7, 5, True)))
    d.update(prefixed("nobias2d.", linear_case(g, (3,), 4, 6, False)))
    save("nn_linear", d)

    g = gen(302)
    d = {}
    d.update(prefixed("grouped.", conv_case(g, 2, 6, 7, 9, 4, 3, 2, 1, 2, True)))
    d.update(prefixed("depthwise.", conv_case(g, 2, 6, 5, 7, 6, 3, 1, 1, 6, False)))
    d.update(prefixed("pointwise.", conv_case(g, 3, 5, 4, 3, 7, 1, 1, 0, 1, True)))
    save("nn_conv2d", d)

    g = gen(303)
    d = {}
    d.update(prefixed("withbias.", layer_norm_case(g, True, False)))
    d.update(prefixed("biasfree.", layer_norm_case(g, False, False)))
    d.update(prefixed("withbias_mod.", layer_norm_case(g, True, True)))
    d.update(prefixed("biasfree_mod.", layer_norm_case(g, False, True)))
    save("nn_layernorm", d)

    save("nn_sequential", sequential_case(gen(304)))


# ---------------------------------------------------------------- optimisers

SHAPES = [(3, 5), (7,), (2, 3, 3)]
STEPS = 5
SKIP = (1, 2)  # (step, parameter) whose gradient is None: PyTorch skips that parameter


def trajectory(name, make, lr_at):
    g = gen(400 + sum(map(ord, name)))
    params = [torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_(True) for s in SHAPES]
    d = {f"p{i}": p.detach().clone() for i, p in enumerate(params)}
    opt = make(params)
    lrs = []
    for t in range(STEPS):
        lr = lr_at(t)
        lrs.append(lr)
        for group in opt.param_groups:
            group["lr"] = lr
        for i, p in enumerate(params):
            if (t, i) == SKIP:
                p.grad = None
                continue
            grad = torch.randn(*SHAPES[i], generator=g, dtype=torch.float64) * (0.5 + i)
            p.grad = grad
            d[f"g{t}.{i}"] = grad
        opt.step()
        for i, p in enumerate(params):
            d[f"after{t}.p{i}"] = p.detach().clone()
    for i, p in enumerate(params):
        for k, v in opt.state[p].items():
            if v is None:  # SGD without momentum keeps momentum_buffer None
                continue
            d[f"state.p{i}.{k}"] = v.clone() if torch.is_tensor(v) else torch.tensor(float(v))
    d["lrs"] = torch.tensor(lrs, dtype=torch.float64)
    save("optim_" + name, d)


def gen_optimisers():
    lr_at = lambda t: 0.05 * (1 - 0.1 * t)  # a changing rate checks setLr between steps
    trajectory("adam", lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.999), eps=1e-8), lr_at)
    trajectory("adam_s2", lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1), lr_at)
    trajectory("adamw", lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1), lr_at)
    trajectory("sgd_plain", lambda p: torch.optim.SGD(p, lr=0.05), lr_at)
    trajectory("sgd_momentum", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), lr_at)
    trajectory("sgd_nesterov", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02), lr_at)


# ---------------------------------------------------------------- schedules (basicsr's formulas on PyTorch's stepping)

def position(epoch, cumulative):
    for i, c in enumerate(cumulative):
        if epoch <= c:
            return i


class CosineRestartCyclic(_LRScheduler):
    """basicsr/Restormer/DiffIR CosineAnnealingRestartCyclicLR (CosineAnnealingRestartLR when eta_mins are equal)."""

    def __init__(self, optimizer, periods, restart_weights, eta_mins):
        self.periods, self.restart_weights, self.eta_mins = periods, restart_weights, eta_mins
        self.cumulative = [sum(periods[:i + 1]) for i in range(len(periods))]
        super().__init__(optimizer)

    def get_lr(self):
        idx = position(self.last_epoch, self.cumulative)
        restart = 0 if idx == 0 else self.cumulative[idx - 1]
        eta_min = self.eta_mins[idx]
        return [eta_min + self.restart_weights[idx] * 0.5 * (base - eta_min)
                * (1 + math.cos(math.pi * (self.last_epoch - restart) / self.periods[idx])) for base in self.base_lrs]


def epochs(make_scheduler, base, count):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = make_scheduler(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(count):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return torch.tensor(out, dtype=torch.float64)


def basicsr_iterations(make_scheduler, base, iters, warmup):
    """basicsr's update_learning_rate: step schedulers from iteration 2 on; linear warm-up below warmup_iter."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = make_scheduler(opt)
    out = []
    for it in range(1, iters + 1):
        if it > 1:
            sched.step()
        if it < warmup:
            opt.param_groups[0]["lr"] = base / warmup * it
        out.append(opt.param_groups[0]["lr"])
        opt.step()
    return torch.tensor(out, dtype=torch.float64)


def gen_schedules():
    base = 2e-4
    multistep = lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 6, 6, 10], gamma=0.5)
    restart = lambda o: CosineRestartCyclic(o, [5, 7, 4], [1, 0.5, 0.25], [1e-5] * 3)
    cyclic = lambda o: CosineRestartCyclic(o, [6, 9], [1, 0.8], [2.85e-4, 1e-6])
    save("optim_schedules", {
        "multistep": epochs(multistep, base, 14),
        "restart": epochs(restart, base, 16),
        "cyclic": epochs(cyclic, base, 15),
        "cyclic_iterations": basicsr_iterations(cyclic, base, 16, -1),
        "cyclic_warmup_iterations": basicsr_iterations(cyclic, base, 16, 5),
    })


# ---------------------------------------------------------------- EMA and clipping

def gen_ema():
    g = gen(501)
    decay = 0.9
    src = [torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    ema = [torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    d = {"ema0.a": ema[0].clone(), "ema0.b": ema[1].clone()}
    for t in range(3):
        src = [s + 0.3 * torch.randn(s.shape, generator=g, dtype=torch.float64) for s in src]
        d[f"src{t}.a"], d[f"src{t}.b"] = src
        for e, s in zip(ema, src):
            e.mul_(decay).add_(s, alpha=1 - decay)  # basicsr's model_ema
        d[f"ema{t + 1}.a"], d[f"ema{t + 1}.b"] = [e.clone() for e in ema]
    save("optim_ema", d)


def gen_clip():
    g = gen(502)
    d = {}
    for case, scale in (("clip", 0.3), ("noclip", 3.0)):
        params = [torch.zeros(*s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
        for i, p in enumerate(params):
            p.grad = torch.randn(*SHAPES[i], generator=g, dtype=torch.float64)
            d[f"{case}.g{i}"] = p.grad.clone()
        total = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
        max_norm = float(total) * scale
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        d[f"{case}.max_norm"] = torch.tensor(max_norm)
        d[f"{case}.norm"] = norm.detach().clone()
        for i, p in enumerate(params):
            d[f"{case}.clipped{i}"] = p.grad.clone()
    save("optim_clip", d)


if __name__ == "__main__":
    gen_layers()
    gen_optimisers()
    gen_schedules()
    gen_ema()
    gen_clip()
