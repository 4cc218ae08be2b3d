"""Checks diffir_ref.py and the parity fixtures against the upstream DiffIR code itself.

    /usr/bin/python3 app/src/test/python/check_upstream.py /path/to/DiffIR-checkout

The checkout is the public repository GitHub Zj-BinXia/DiffIR (not part of this project). Its arch files import
basicsr, einops and tqdm, which Debian's torch does not have: this script copies the few files it needs into a
temporary folder next to minimal stand-ins for those imports (a registry decorator, the four einops patterns the
arch files use, a pass-through tqdm), and imports them from there. Nothing from the checkout is kept.

It checks, for every tree (motion deblurring, RealSR, inpainting):
  1. the upstream state_dict keys, order and shapes equal diffir_ref's for the published configurations;
  2. with random weights, upstream and diffir_ref agree (float64) on S1 forward, S2 inference from a given noise,
     the S2 training forward with a given eps, and the joint-loss gradients of every parameter;
  3. the committed parity fixtures load strictly into upstream modules (their hard-coded CPEN width 64 / IPR 256
     patched to the fixtures' 4 / 16) and upstream reproduces every stored output and gradient.
Exits non-zero on any mismatch.
"""
import contextlib
import importlib
import os
import shutil
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import diffir_ref as ref  # noqa: E402
import gen_parity as gp  # noqa: E402
from check_parity import FAILURES, check, rel  # noqa: E402

TREES = {  # tree -> (package holding the archs, files to copy)
    "DiffIR-demotionblur": ("DiffIR.archs", ["DiffIR/archs/S1_arch.py", "DiffIR/archs/S2_arch.py",
                                             "DiffIR/archs/common.py", "DiffIR/archs/attention.py",
                                             "ldm/ddpm.py", "ldm/util2.py"]),
    "DiffIR-RealSR": ("DiffIR.archs", ["DiffIR/archs/S1_arch.py", "DiffIR/archs/S2_arch.py", "DiffIR/archs/common.py",
                                       "DiffIR/archs/attention.py", "ldm/ddpm.py", "ldm/util2.py"]),
    "DiffIR-inpainting": ("archs", ["archs/S1_arch.py", "archs/S2_arch.py", "archs/common.py", "ldm/ddpm.py",
                                    "ldm/util2.py"]),
}

STUBS = {
    "basicsr/__init__.py": "",
    "basicsr/utils/__init__.py": "",
    "basicsr/utils/registry.py": "class _R:\n    def register(self, *a, **k):\n        return lambda c: c\n"
                                 "ARCH_REGISTRY = _R()\n",
    "tqdm/__init__.py": "def tqdm(it, *a, **k):\n    return it\n",
    "ldm/util.py": "def exists(x):\n    return x is not None\n"
                   "def default(v, d):\n    return v if v is not None else (d() if callable(d) else d)\n"
                   "log_txt_as_img = ismap = isimage = mean_flat = count_params = instantiate_from_config = None\n",
    "ldm/ddim.py": "DDIMSampler = None\n",
    "einops/__init__.py": '''
def rearrange(x, pattern, **k):
    p = " ".join(pattern.split())
    if p == "b c h w -> b (h w) c":
        b, c, h, w = x.shape
        return x.reshape(b, c, h * w).transpose(1, 2)
    if p == "b (h w) c -> b c h w":
        b, n, c = x.shape
        return x.transpose(1, 2).reshape(b, c, k["h"], k["w"])
    if p == "b (head c) h w -> b head c (h w)":
        b, c, h, w = x.shape
        return x.reshape(b, k["head"], c // k["head"], h * w)
    if p == "b head c (h w) -> b (head c) h w":
        b, hd, c, n = x.shape
        return x.reshape(b, hd * c, k["h"], k["w"])
    raise NotImplementedError(pattern)
def repeat(*a, **k):
    raise NotImplementedError("einops.repeat")
''',
}

class Upstream:
    """The upstream S1/S2 modules of one tree, imported from a temporary copy; n_feats patches the CPEN width."""

    def __init__(self, checkout, tree, n_feats=64):
        pkg, files = TREES[tree]
        self.dir = tempfile.mkdtemp(prefix="diffir-upstream-")
        for rel_path in files:
            src = os.path.join(checkout, tree, rel_path)
            dst = os.path.join(self.dir, rel_path)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(src) as f:
                text = f.read()
            if n_feats != 64 and rel_path.endswith("_arch.py"):  # the width is a literal in the arch files
                for old, new in (("n_feats=64", f"n_feats={n_feats}"), ("nn.Linear(256,", f"nn.Linear({4 * n_feats},")):
                    if old not in text:
                        raise RuntimeError(f"{tree}/{rel_path}: expected '{old}' to patch")
                    text = text.replace(old, new)
            with open(dst, "w") as f:
                f.write(text)
        for rel_path, text in STUBS.items():
            dst = os.path.join(self.dir, rel_path)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "w") as f:
                f.write(text)
        for d in {os.path.dirname(p) for p in files}:
            parts = d.split("/")
            for i in range(1, len(parts) + 1):
                init = os.path.join(self.dir, *parts[:i], "__init__.py")
                if not os.path.exists(init):
                    open(init, "w").close()
        for name in list(sys.modules):
            if name.split(".")[0] in ("DiffIR", "archs", "ldm", "basicsr", "einops", "tqdm"):
                del sys.modules[name]
        sys.path.insert(0, self.dir)
        try:
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                self.S1 = importlib.import_module(pkg + ".S1_arch").DiffIRS1
                self.S2 = importlib.import_module(pkg + ".S2_arch").DiffIRS2
        finally:
            sys.path.remove(self.dir)
            shutil.rmtree(self.dir)

    @staticmethod
    def kwargs(cfg, stage):
        k = dict(n_encoder_res=cfg.n_encoder_res, inp_channels=cfg.inp_channels, out_channels=cfg.out_channels,
                 dim=cfg.dim, num_blocks=list(cfg.num_blocks), num_refinement_blocks=cfg.num_refinement_blocks,
                 heads=list(cfg.heads), ffn_expansion_factor=cfg.ffn_expansion_factor, bias=cfg.bias,
                 LayerNorm_type=cfg.LayerNorm_type)
        if cfg.task == "sr":
            k["scale"] = cfg.scale
        if stage == 2:
            k.update(n_denoise_res=cfg.n_denoise_res, linear_start=cfg.linear_start, linear_end=cfg.linear_end,
                     timesteps=cfg.timesteps)
        return k

    def build(self, cfg, stage):
        with contextlib.redirect_stdout(open(os.devnull, "w")):
            return (self.S1 if stage == 1 else self.S2)(**self.kwargs(cfg, stage))


@contextlib.contextmanager
def first_randn(name, value):
    """The upstream DDPM draws its start noise with torch.randn / torch.randn_like: hand out `value` the first time."""
    original = getattr(torch, name)
    calls = []

    def fake(*a, **k):
        calls.append(1)
        return value.clone() if len(calls) == 1 else original(*a, **k)

    setattr(torch, name, fake)
    try:
        yield
    finally:
        setattr(torch, name, original)


def upstream_infer(up, lq, noise):
    up.eval()
    with torch.no_grad(), first_randn("randn", noise), contextlib.redirect_stdout(open(os.devnull, "w")):
        out = up(lq)
    return out[0] if isinstance(out, tuple) else out  # the inpainting S2 returns (out, None)


def upstream_train(up, up_s1_E, lq, gt, eps):
    """DiffIR_S2_model.optimize_parameters, joint stage: returns (out, IPR_S2, loss) with the graph kept."""
    up.train()
    _, s1_ipr = up_s1_E(lq, gt)
    with first_randn("randn_like", eps):
        out, pred_list = up(lq, s1_ipr[0])
    loss, _, _ = ref.joint_loss(out, gt, pred_list[-1], s1_ipr[0])
    return out, pred_list[-1], loss


def compare_keys(up, tree, configs):
    for name, cfg in configs:
        for stage, mine in ((1, ref.DiffIRS1), (2, ref.DiffIRS2)):
            theirs = [[k, list(v.shape)] for k, v in up.build(cfg, stage).state_dict().items()]
            check(theirs == ref.key_shapes(mine(cfg)), f"{tree} {name} S{stage}: {len(theirs)} keys, order and shapes equal")


def compare_math(up, tree, cfg, hw, seed):
    """Random weights (full CPEN width), float64: S1 forward, S2 inference, S2 training forward and gradients."""
    gen = torch.Generator().manual_seed(seed)
    lr_hw = hw if cfg.task != "sr" else (hw[0] // cfg.scale, hw[1] // cfg.scale)
    lq = torch.rand(2, cfg.inp_channels, *lr_hw, generator=gen, dtype=torch.float64)
    gt = torch.rand(2, cfg.out_channels, *hw, generator=gen, dtype=torch.float64)
    noise = torch.randn(2, cfg.ipr_dim, generator=gen, dtype=torch.float64)

    s1 = gp.randomize_(ref.DiffIRS1(cfg), gen).double()
    u1 = up.build(cfg, 1).double()
    u1.load_state_dict(s1.state_dict(), strict=True)
    u1.eval()
    with torch.no_grad():
        mine, _ = s1(lq, gt)
        theirs = u1(lq, gt)
    theirs = theirs[0] if isinstance(theirs, tuple) else theirs
    check(rel(mine, theirs) < 1e-12, f"{tree} {cfg.task}{cfg.scale if cfg.task == 'sr' else ''} S1 forward "
                                     f"(rel {rel(mine, theirs):.0e})")

    s2 = gp.randomize_(ref.DiffIRS2(cfg), gen).double()
    u2 = up.build(cfg, 2).double()
    u2.load_state_dict(s2.state_dict(), strict=True)
    with torch.no_grad():
        mine = s2.infer(lq, noise)[0]
    theirs = upstream_infer(u2, lq, noise)
    check(rel(mine, theirs) < 1e-12, f"{tree} S2 inference from given noise (rel {rel(mine, theirs):.0e})")

    out, ipr, loss = upstream_train(u2, u1.E, lq, gt, noise)
    loss.backward()
    s2.train()
    with torch.no_grad():
        ipr_s1 = s1.E(lq, gt)
    m_out, m_ipr, _, _ = s2.train_forward(lq, ipr_s1, noise)
    m_loss, _, _ = ref.joint_loss(m_out, gt, m_ipr, ipr_s1)
    m_loss.backward()
    check(rel(m_out, out) < 1e-12 and rel(m_ipr, ipr) < 1e-12, f"{tree} S2 training forward with given eps")
    up_grads = dict(u2.named_parameters())
    worst = max(rel(p.grad, up_grads[k].grad) for k, p in s2.named_parameters())
    check(worst < 1e-10, f"{tree} S2 joint-loss gradients of all {len(up_grads)} parameters (worst rel {worst:.0e})")


def compare_fixtures(checkout):
    """The committed fixtures, through upstream modules patched to the fixtures' CPEN width."""
    def load(up, name, stage, cfg, key):
        m = up.build(cfg, stage)
        m.load_state_dict(torch.load(gp.pth_path(name), map_location="cpu")[key], strict=True)
        return m.double()

    up = Upstream(checkout, "DiffIR-demotionblur", n_feats=gp.DEBLUR.n_feats)
    f, _ = gp.load_safetensors("s1_deblur_forward")
    s1 = load(up, "s1_deblur", 1, gp.DEBLUR, "params_ema").eval()
    with torch.no_grad():
        out = s1(f["lq"].double(), f["gt"].double())
    check(rel(out, f["out"]) < 1e-6, f"upstream reproduces s1_deblur_forward (rel {rel(out, f['out']):.0e})")
    for name, tree, cfg in (("s2_deblur", "DiffIR-demotionblur", gp.DEBLUR), ("s2_sr4", "DiffIR-RealSR", gp.SR4),
                            ("s2_inpaint", "DiffIR-inpainting", gp.INPAINT)):
        up_t = Upstream(checkout, tree, n_feats=cfg.n_feats)
        f, _ = gp.load_safetensors(name + "_infer")
        out = upstream_infer(load(up_t, name, 2, cfg, "params_ema"), f["lq"].double(), f["noise"].double())
        check(rel(out, f["out"]) < 1e-6, f"upstream reproduces {name}_infer (rel {rel(out, f['out']):.0e})")

    f, _ = gp.load_safetensors("s2_deblur_train_joint")
    s2 = load(up, "s2_deblur", 2, gp.DEBLUR, "params")
    out, ipr, loss = upstream_train(s2, s1.E, f["lq"].double(), f["gt"].double(), f["eps"].double())
    loss.backward()
    check(rel(loss.reshape(1), f["loss"]) < 1e-6 and rel(out, f["out"]) < 1e-6,
          f"upstream reproduces s2_deblur_train_joint loss {loss.item():.6f}")
    worst = max(rel(p.grad, f["grad." + k]) for k, p in s2.named_parameters())
    check(worst < 1e-6, f"upstream reproduces every joint gradient (worst rel {worst:.0e})")

    f, _ = gp.load_safetensors("s2_deblur_train_encoder")  # encoder stage: net_g.diffusion(lq, S1_IPR[0]) only
    s2 = load(up, "s2_deblur", 2, gp.DEBLUR, "params").train()
    lq, gt = f["lq"].double(), f["gt"].double()
    _, s1_ipr = s1.E(lq, gt)
    with first_randn("randn_like", f["eps"].double()):
        _, pred_list = s2.diffusion(lq, s1_ipr[0])
    loss = ref.encoder_loss(pred_list[-1], s1_ipr[0])
    loss.backward()
    check(rel(loss.reshape(1), f["loss"]) < 1e-6, f"upstream reproduces s2_deblur_train_encoder loss {loss.item():.6f}")
    named = [(k, p) for k, p in s2.named_parameters() if "denoise" in k or "condition" in k]  # optimizer_e
    check(["grad." + k for k, _ in named] == [k for k in f if k.startswith("grad.")],
          "encoder-stage gradients are exactly optimizer_e's parameters")
    worst = max(rel(p.grad, f["grad." + k]) for k, p in named)
    check(worst < 1e-6, f"upstream reproduces every encoder-stage gradient (worst rel {worst:.0e})")


def main():
    if len(sys.argv) != 2 or not os.path.isdir(os.path.join(sys.argv[1], "DiffIR-demotionblur")):
        sys.exit("usage: check_upstream.py /path/to/checkout/of/Zj-BinXia/DiffIR")
    checkout = sys.argv[1]
    tiny = dict(dim=4, num_blocks=(1, 2, 1, 1), heads=(1, 2, 2, 4), n_encoder_res=1, n_denoise_res=2)
    cases = {
        "DiffIR-demotionblur": ([("gopro", ref.GOPRO)],
                                [(ref.Config(task="deblur", num_refinement_blocks=1, ffn_expansion_factor=2.66, **tiny),
                                  (16, 24))]),
        "DiffIR-RealSR": ([(f"realsr_x{s}", ref.realsr(s)) for s in (4, 2, 1)],
                          [(ref.Config(task="sr", scale=s, num_refinement_blocks=2, ffn_expansion_factor=2.2,
                                       LayerNorm_type="BiasFree", **tiny), (32, 32)) for s in (4, 2, 1)]),
        "DiffIR-inpainting": ([("place2", ref.INPAINT_PLACE2), ("big", ref.INPAINT_BIG)],
                              [(ref.Config(task="inpaint", inp_channels=4, num_refinement_blocks=0,
                                           ffn_expansion_factor=1.8, **tiny), (16, 24))]),
    }
    torch.manual_seed(0)
    for tree, (published, tiny_cases) in cases.items():
        up = Upstream(checkout, tree)
        compare_keys(up, tree, published)
        for i, (cfg, hw) in enumerate(tiny_cases):
            compare_math(up, tree, cfg, hw, seed=10 + i)
    compare_fixtures(checkout)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all upstream checks passed")


if __name__ == "__main__":
    main()
