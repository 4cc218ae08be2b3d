"""Self-check of the committed parity fixtures: /usr/bin/python3 app/src/test/python/check_parity.py

Loads every .pth back, rebuilds the model from it, reproduces every stored output (float64 math, and float32 to
show the floor a float32 engine can reach), checks key names against DESIGN.md and the published option files,
and checks the files stay small. Exits non-zero on any failure.
"""
import os
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import diffir_ref as ref  # noqa: E402
import gen_parity as gp  # noqa: E402

FAILURES = []


def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg)
    if not cond:
        FAILURES.append(msg)


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def close(name, got, want, tol):
    e = rel(got, want)
    check(e <= tol and got.shape == want.shape, f"{name}: rel err {e:.2e} (<= {tol:.0e}), shape {list(want.shape)}")
    return e


def check_pth(name, kind, cfg):
    with zipfile.ZipFile(gp.pth_path(name)) as z:
        check(any(n.endswith("/data.pkl") for n in z.namelist()), f"{name}.pth is a torch zip with <stem>/data.pkl")
    ck = torch.load(gp.pth_path(name), map_location="cpu")
    check(list(ck.keys()) == ["params", "params_ema"], f"{name}.pth holds params, params_ema")
    p, e = ck["params"], ck["params_ema"]
    want = ref.key_shapes(kind(cfg))
    check([[k, list(v.shape)] for k, v in p.items()] == want, f"{name}.pth params: keys, order, shapes as the module tree")
    check(list(p.keys()) == list(e.keys()), f"{name}.pth params_ema: same keys")
    check(all(v.dtype == torch.float32 for v in list(p.values()) + list(e.values())), f"{name}.pth all float32")
    params = [k for k, _ in kind(cfg).named_parameters()]
    check(all(not torch.equal(p[k], e[k]) for k in params), f"{name}.pth every parameter differs in params_ema")
    ptrs = [v.storage().data_ptr() for v in p.values()]
    dups = sum(1 for k in p if k.startswith(("diffusion.model.", "diffusion.condition.")))
    if name in gp.SHARED_STORAGE:
        check(len(set(ptrs)) == len(ptrs) - dups, f"{name}.pth duplicates share storage (as saved on a CPU)")
    else:
        check(len(set(ptrs)) == len(ptrs), f"{name}.pth every tensor has its own storage (as saved from a GPU run)")
    if kind is ref.DiffIRS2:
        buffers = [k for k in p if k.startswith("diffusion.") and k.count(".") == 1]
        check(buffers == ["diffusion." + b for b in ref.SCHEDULE_BUFFERS], f"{name}.pth has the 12 schedule buffers")
        for sd in (p, e):
            ref.load_reference(kind(cfg), sd)  # raises when a diffusion.* duplicate disagrees
        check(True, f"{name}.pth duplicates diffusion.model.* / diffusion.condition.* equal denoise.* / condition.*")


def check_design_keys():
    """Names cited in DESIGN.md section 4, on the published configs."""
    s1 = ref.DiffIRS1(ref.GOPRO).state_dict()
    s2 = ref.DiffIRS2(ref.GOPRO).state_dict()
    for k in ("G.encoder_level1.0.attn.qkv.weight", "G.latent.3.ffn.kernel.0.weight", "G.down1_2.body.0.weight",
              "condition.E.0.weight", "condition.mlp.2.bias", "denoise.resmlp.0.weight", "diffusion.betas",
              "diffusion.posterior_mean_coef1", "diffusion.condition.E.0.weight", "diffusion.model.resmlp.0.weight",
              "G.patch_embed.proj.weight"):
        check(k in s2, f"GoPro S2 has {k}")
    check("E.E.0.weight" in s1 and "E.mlp.2.bias" in s1, "GoPro S1 has E.E.0.weight, E.mlp.2.bias")
    check(tuple(s2["denoise.resmlp.0.weight"].shape) == (256, 513), "denoise.resmlp.0: Linear(513, 256)")
    check(tuple(s2["denoise.resmlp.2.resmlp.0.weight"].shape) == (256, 256), "denoise.resmlp.2.resmlp.0: Linear(256,256)")
    check(tuple(s1["E.E.0.weight"].shape) == (64, 96, 3, 3) and tuple(s2["condition.E.0.weight"].shape) == (64, 48, 3, 3),
          "GoPro CPEN inputs: 96 (S1), 48 (S2)")
    uniq = sum(p.numel() for p in ref.DiffIRS2(ref.GOPRO).parameters())
    check(abs(uniq - 26.9e6) < 0.1e6, f"GoPro S2 unique parameters {uniq / 1e6:.2f}M (DESIGN.md: 26.9M)")
    expected_first_conv = {"realsr_x4": (51, 3), "realsr_x2": (60, 12), "realsr_x1": (96, 48), "inpaint_place2": (112, 64)}
    for name, (c1, c2) in expected_first_conv.items():
        cfg = ref.realsr(int(name[-1])) if name.startswith("realsr") else ref.INPAINT_PLACE2
        a, b = ref.DiffIRS1(cfg).state_dict(), ref.DiffIRS2(cfg).state_dict()
        check(a["E.E.0.weight"].shape[1] == c1 and b["condition.E.0.weight"].shape[1] == c2,
              f"{name}: CPEN first conv takes {c1} (S1) / {c2} (S2) channels")
    sr = ref.DiffIRS2(ref.realsr(4)).state_dict()
    check(all(k in sr for k in ("G.tail.0.0.weight", "G.tail.0.0.bias", "G.tail.0.2.weight", "G.tail.1.weight",
                                "G.tail.1.bias")) and "G.output.weight" not in sr, "RealSR: G.tail.*, no G.output")
    check("G.encoder_level1.0.norm1.body.bias" not in sr, "RealSR: BiasFree norms have no bias")
    check(sr["G.tail.0.0.weight"].shape == (512, 128, 3, 3), "RealSR tail conv 2d -> 8d (128 -> 512)")
    check(sr["G.encoder_level1.0.ffn.project_in.weight"].shape[0] == 2 * int(64 * 2.2), "RealSR ffn hidden int(64*2.2)=140")
    inp = ref.DiffIRS2(ref.INPAINT_PLACE2).state_dict()
    check(not any(k.startswith("G.refinement") for k in inp) and inp["G.patch_embed.proj.weight"].shape[1] == 4,
          "inpainting: 4 input channels, no refinement")


def reproduce_s1():
    f, _ = gp.load_safetensors("s1_deblur_forward")
    m = gp.load_pth("s1_deblur", ref.DiffIRS1, gp.DEBLUR, "params_ema")
    with torch.no_grad():
        out, ipr = gp.f64(m)(f["lq"].double(), f["gt"].double())
        out32, _ = m(f["lq"], f["gt"])
    close("s1_deblur_forward out", out, f["out"], 1e-6)
    close("s1_deblur_forward ipr", ipr, f["ipr"], 1e-6)
    check(rel(out32, f["out"]) < 1e-6, f"s1_deblur_forward reachable in float32 (PyTorch float32: {rel(out32, f['out']):.1e})")
    change = rel(f["out"], f["lq"])
    check(change > 0.05, f"s1_deblur_forward: DIRformer changes the input noticeably (|out-lq|/|lq| = {change:.2f})")


def reproduce_infer(name, cfg):
    f, _ = gp.load_safetensors(name + "_infer")
    m = gp.load_pth(name, ref.DiffIRS2, cfg, "params_ema")
    with torch.no_grad():
        out, ipr, c, steps = gp.f64(m).infer(f["lq"].double(), f["noise"].double())
        out32, *_ = m.infer(f["lq"], f["noise"])
    close(f"{name}_infer out", out, f["out"], 1e-6)
    close(f"{name}_infer ipr", ipr, f["ipr"], 1e-6)
    close(f"{name}_infer steps", torch.stack(steps), f["steps"], 1e-6)
    close(f"{name}_infer c", c, f["c"], 1e-6)
    check(rel(out32, f["out"]) < 1e-6, f"{name}_infer reachable in float32 (PyTorch float32: {rel(out32, f['out']):.1e})")
    with torch.no_grad():  # the IPR must matter, or a Java bug in the diffusion would go unseen
        other, *_ = gp.f64(m).infer(f["lq"].double(), -f["noise"].double())
    check(rel(other, f["out"]) > 1e-3, f"{name}_infer: output depends on the noise ({rel(other, f['out']):.1e})")
    with torch.no_grad():
        no_prior = gp.f64(m).G(f["lq"].double(), torch.zeros_like(f["ipr"]).double())
    check(rel(no_prior, f["out"]) > 1e-2, f"{name}_infer: output depends on the IPR ({rel(no_prior, f['out']):.1e})")
    check(f["out"].abs().max() < 20, f"{name}_infer: output magnitude sane (max {f['out'].abs().max():.1f})")
    wrong = gp.load_pth(name, ref.DiffIRS2, cfg, "params")
    with torch.no_grad():
        out_p, *_ = gp.f64(wrong).infer(f["lq"].double(), f["noise"].double())
    check(rel(out_p, f["out"]) > 1e-2, f"{name}_infer: params and params_ema give different outputs")


def reproduce_training():
    s1 = gp.load_pth("s1_deblur", ref.DiffIRS1, gp.DEBLUR, "params_ema").double()
    for stage in ("joint", "encoder"):
        f, _ = gp.load_safetensors("s2_deblur_train_" + stage)
        lq, gt, eps = f["lq"].double(), f["gt"].double(), f["eps"].double()
        with torch.no_grad():
            ipr_s1 = s1.E(lq, gt)
        close(f"train_{stage} ipr_s1", ipr_s1, f["ipr_s1"], 1e-6)
        m = gp.load_pth("s2_deblur", ref.DiffIRS2, gp.DEBLUR, "params").double().train()
        if stage == "joint":
            out, ipr_s2, c, steps = m.train_forward(lq, ipr_s1, eps)
            loss, l_pix, l_abs = ref.joint_loss(out, gt, ipr_s2, ipr_s1)
            close("train_joint out", out, f["out"], 1e-6)
            close("train_joint l_pix", l_pix.reshape(1), f["l_pix"], 1e-6)
            close("train_joint l_abs", l_abs.reshape(1), f["l_abs"], 1e-6)
        else:
            ipr_s2, c, steps = m.diffusion.train_forward(lq, ipr_s1, eps)
            loss = ref.encoder_loss(ipr_s2, ipr_s1)
        close(f"train_{stage} ipr_s2", ipr_s2, f["ipr_s2"], 1e-6)
        close(f"train_{stage} steps", torch.stack(steps), f["steps"], 1e-6)
        close(f"train_{stage} loss", loss.reshape(1), f["loss"], 1e-6)
        loss.backward()
        named = ref.trainable_parameters(m, encoder_only=(stage == "encoder"))
        grad_keys = [k for k in f if k.startswith("grad.")]
        check(grad_keys == ["grad." + k for k, _ in named], f"train_{stage}: one grad per trainable parameter, in order "
                                                            f"({len(grad_keys)})")
        worst = max(rel(p.grad, f["grad." + k]) for k, p in named)
        check(worst <= 1e-6, f"train_{stage}: every gradient reproduced (worst rel err {worst:.1e})")
        zero = [k for k, p in named if p.grad.abs().max() == 0]
        check(not zero, f"train_{stage}: no all-zero gradient {zero}")
        m32 = gp.load_pth("s2_deblur", ref.DiffIRS2, gp.DEBLUR, "params").train()
        ipr_s1 = ipr_s1.float()
        if stage == "joint":
            out, ipr_s2, _, _ = m32.train_forward(f["lq"], ipr_s1, f["eps"])
            loss = ref.joint_loss(out, f["gt"], ipr_s2, ipr_s1)[0]
        else:
            loss = ref.encoder_loss(m32.diffusion.train_forward(f["lq"], ipr_s1, f["eps"])[0], ipr_s1)
        loss.backward()
        worst32 = max(rel(p.grad, f["grad." + k]) for k, p in ref.trainable_parameters(m32, stage == "encoder"))
        check(worst32 < 3e-5, f"train_{stage} reachable in float32 (PyTorch float32: loss {rel(loss.reshape(1), f['loss']):.1e}, "
                              f"worst gradient {worst32:.1e})")


def check_sizes():
    total = 0
    for n in sorted(os.listdir(gp.OUT_DIR)):
        size = os.path.getsize(os.path.join(gp.OUT_DIR, n))
        total += size
        print(f"      {n:40s} {size / 1024:7.1f} KiB")
    check(total < 1.6 * 2 ** 20, f"fixtures total {total / 2 ** 20:.2f} MiB (< 1.6)")


def main():
    torch.manual_seed(0)
    check_design_keys()
    check_pth("s1_deblur", ref.DiffIRS1, gp.DEBLUR)
    for name, cfg in (("s2_deblur", gp.DEBLUR), ("s2_sr4", gp.SR4), ("s2_inpaint", gp.INPAINT)):
        check_pth(name, ref.DiffIRS2, cfg)
    reproduce_s1()
    for name, cfg in (("s2_deblur", gp.DEBLUR), ("s2_sr4", gp.SR4), ("s2_inpaint", gp.INPAINT)):
        reproduce_infer(name, cfg)
    reproduce_training()
    check_sizes()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
