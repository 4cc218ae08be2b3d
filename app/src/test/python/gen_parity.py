"""Writes the DiffIR parity fixtures into app/src/test/resources/parity/ (see README.md here).

    /usr/bin/python3 app/src/test/python/gen_parity.py          # regenerate and self-check
    /usr/bin/python3 app/src/test/python/gen_parity.py --check  # only self-check the committed files

Tiny random-weight models in the reference module layout, saved as reference-style .pth checkpoints
({'params': sd, 'params_ema': sd_ema}, as basicsr's save_network writes them), plus inputs and outputs
as safetensors. The math runs in float64 on the float32 weights and inputs; results are stored float32.
"""
import copy
import gzip
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "engine", "src", "test", "python")))
import diffir_ref as ref  # noqa: E402
import fixture_io  # noqa: E402

OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "resources", "parity"))
BATCH = 2

# Tiny configs (dim must be even: Downsample halves it). The CPEN width n_feats is 4 (IPR of 16 floats) instead
# of the reference's fixed 64 (256): with 64 the CPEN alone is ~0.75M parameters (3 MB per copy). The ffn
# factors give odd hidden sizes (2.66: 5, 10, 21, 42; 2.2: 4, 8, 17, 35; 1.8: 3, 7, 14, 28) to catch vector-tail
# and truncation bugs; heads give 2 to 8 channels per head.
DEBLUR = ref.Config(task="deblur", dim=2, num_blocks=(1, 2, 1, 1), num_refinement_blocks=1, heads=(1, 2, 2, 4),
                    ffn_expansion_factor=2.66, LayerNorm_type="WithBias", n_encoder_res=1, n_feats=4)
SR4 = ref.Config(task="sr", scale=4, dim=2, num_blocks=(2, 1, 1, 1), num_refinement_blocks=1, heads=(1, 1, 2, 2),
                 ffn_expansion_factor=2.2, LayerNorm_type="BiasFree", n_encoder_res=2, n_feats=4)
INPAINT = ref.Config(task="inpaint", inp_channels=4, dim=2, num_blocks=(1, 1, 1, 1), num_refinement_blocks=0,
                     heads=(1, 2, 2, 2), ffn_expansion_factor=1.8, LayerNorm_type="WithBias", n_encoder_res=1,
                     n_feats=4)

DEBLUR_HW = (16, 24)   # latent 2x3
SR_LR_HW = (8, 8)      # HR 32x32
INPAINT_HW = (16, 24)


# ---------------------------------------------------------------- files

def save_fixture(name, tensors, meta):
    """A parity fixture: F32 safetensors with the config and a description in __metadata__."""
    fixture_io.save(name, tensors, OUT_DIR, meta)


def load_safetensors(name):
    with open(os.path.join(OUT_DIR, name + ".safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for k, e in header.items():
        a, b = e["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e["shape"])
    return out, meta


def pth_path(name):
    return os.path.join(OUT_DIR, name + ".pth")


# ---------------------------------------------------------------- weights

KERNEL_GAIN = 2.0   # the IPR -> (k1, k2) modulation Linears: makes the output depend clearly on the IPR
PRIOR_GAIN = 2.45   # CPEN and denoise: keeps activations from shrinking layer by layer (LeakyReLU)


def randomize_(model, gen):
    """Random weights everywhere, including what the reference initialises to constants (LayerNorm weight 1,
    bias 0, temperature 1), so a parameter wired to the wrong place shows. Weights uniform(+-gain/sqrt(fan_in))
    (gain 1 is PyTorch's default init), biases uniform(+-0.2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".norm" in name and name.endswith("body.weight"):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)                 # (0.5, 1.5)
            elif ".norm" in name and name.endswith("body.bias"):
                p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 0.6)         # (-0.3, 0.3)
            elif name.endswith("temperature"):
                p.copy_(torch.rand(p.shape, generator=gen) * 1.5 + 0.5)           # (0.5, 2.0)
            elif p.dim() == 1:
                p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 0.4)
            else:
                gain = KERNEL_GAIN if ".kernel." in name else 1.0 if name.startswith("G.") else PRIOR_GAIN
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * gain * p[0].numel() ** -0.5)
        # Level 1 has only dim = 2 channels, and a LayerNorm over two nearly equal channels is ill-conditioned
        # (BiasFree: x / sqrt(var + 1e-5) amplifies float32 rounding ~1e3x), which would make the fixtures
        # unreachable in float32. Inputs are >= 0, so sign-split patch_embed rows keep the two channels apart.
        w = model.G.patch_embed.proj.weight
        if w.shape[0] == 2:
            w[0].abs_()
            w[1].abs_().neg_()
    return model


def make_model(kind, cfg, seed):
    """Returns (train model with 'params', EMA model with 'params_ema'), both float32, different weights."""
    gen = torch.Generator().manual_seed(seed)
    model = randomize_(kind(cfg), gen)
    ema = copy.deepcopy(model)
    with torch.no_grad():
        for p in ema.parameters():  # unique parameters: shared condition/denoise stay shared
            p.mul_(1 + 0.1 * torch.randn(p.shape, generator=gen))
    return model, ema


# Checkpoints saved from a GPU run give every tensor its own storage; saved on a CPU, the duplicate diffusion.*
# entries share storage with condition.* / denoise.*. The Java reader must take both.
SHARED_STORAGE = ("s2_sr4", "s2_inpaint")


def save_pth(name, model, ema):
    own = name not in SHARED_STORAGE
    torch.save({"params": ref.reference_state_dict(model, own), "params_ema": ref.reference_state_dict(ema, own)},
               pth_path(name))


def load_pth(name, kind, cfg, key):
    sd = torch.load(pth_path(name), map_location="cpu")[key]
    return ref.load_reference(kind(cfg), sd)


def f64(model):
    return copy.deepcopy(model).double()


def rand_image(gen, c, hw):
    return torch.rand(BATCH, c, *hw, generator=gen, dtype=torch.float32)


def meta_for(cfg, weights, what):
    return {"config": cfg.to_json(), "weights": weights, "what": what, "math": "float64 on float32 weights/inputs"}


# ---------------------------------------------------------------- fixtures

def s1_deblur(gen):
    model, ema = make_model(ref.DiffIRS1, DEBLUR, seed=101)
    save_pth("s1_deblur", model, ema)
    lq, gt = rand_image(gen, 3, DEBLUR_HW), rand_image(gen, 3, DEBLUR_HW)
    with torch.no_grad():
        out, ipr = f64(ema)(lq.double(), gt.double())
    save_fixture("s1_deblur_forward", {"lq": lq, "gt": gt, "ipr": ipr, "out": out},
                     meta_for(DEBLUR, "s1_deblur.pth params_ema", "DiffIRS1 forward: ipr = E(lq, gt); out = G(lq, ipr)"))


def s2_infer(name, cfg, seed, inputs):
    """S2 inference from a given start noise with params_ema; also keeps c and every reverse step's result."""
    model, ema = make_model(ref.DiffIRS2, cfg, seed)
    save_pth(name, model, ema)
    noise = torch.randn(BATCH, cfg.ipr_dim, generator=inputs["gen"])
    lq = inputs["lq"]
    with torch.no_grad():
        out, ipr, c, steps = f64(ema).infer(lq.double(), noise.double())
    save_fixture(name + "_infer", {"lq": lq, "noise": noise, "c": c, "steps": torch.stack(steps), "ipr": ipr,
                                       "out": out},
                     meta_for(cfg, name + ".pth params_ema",
                              "DiffIRS2 inference: c = condition(lq); x = noise; for t = T-1..0: x = coef1[t] "
                              "denoise(x, t, c) + coef2[t] x (steps[i] is x after t = T-1-i); ipr = x; out = G(lq, ipr)"))


def s2_deblur_training(gen):
    """One joint step and one encoder-stage step: S2 = s2_deblur.pth params, frozen S1 = s1_deblur.pth params_ema."""
    s1 = f64(load_pth("s1_deblur", ref.DiffIRS1, DEBLUR, "params_ema"))
    s2 = load_pth("s2_deblur", ref.DiffIRS2, DEBLUR, "params")
    lq, gt = rand_image(gen, 3, DEBLUR_HW), rand_image(gen, 3, DEBLUR_HW)
    eps = torch.randn(BATCH, DEBLUR.ipr_dim, generator=gen)
    with torch.no_grad():
        ipr_s1 = s1.E(lq.double(), gt.double())
    common = {"lq": lq, "gt": gt, "eps": eps, "ipr_s1": ipr_s1}

    model = f64(s2).train()
    out, ipr_s2, c, steps = model.train_forward(lq.double(), ipr_s1, eps.double())
    loss, l_pix, l_abs = ref.joint_loss(out, gt.double(), ipr_s2, ipr_s1)
    loss.backward()
    grads = {"grad." + k: p.grad for k, p in ref.trainable_parameters(model)}
    missing = [k for k, g in grads.items() if g is None]
    if missing:
        raise AssertionError(f"no gradient for {missing}")
    save_fixture("s2_deblur_train_joint",
                     {**common, "c": c, "steps": torch.stack(steps), "ipr_s2": ipr_s2, "out": out,
                      "loss": loss.reshape(1), "l_pix": l_pix.reshape(1), "l_abs": l_abs.reshape(1), **grads},
                     meta_for(DEBLUR, "S2: s2_deblur.pth params; frozen S1: s1_deblur.pth params_ema",
                              "joint stage: ipr_s1 = S1.E(lq, gt); x = sqrt_alphas_cumprod[T-1] ipr_s1 + "
                              "sqrt_one_minus_alphas_cumprod[T-1] eps; reverse steps as inference; out = G(lq, ipr_s2); "
                              "loss = L1(out, gt) + L1(ipr_s2, ipr_s1); grad.<name> for every parameter"))

    model = f64(s2).train()
    ipr_s2, c, steps = model.diffusion.train_forward(lq.double(), ipr_s1, eps.double())
    loss = ref.encoder_loss(ipr_s2, ipr_s1)
    loss.backward()
    grads = {"grad." + k: p.grad for k, p in ref.trainable_parameters(model, encoder_only=True)}
    if any(p.grad is not None for k, p in model.named_parameters() if k.startswith("G.")):
        raise AssertionError("encoder stage must not touch G")
    save_fixture("s2_deblur_train_encoder",
                     {**common, "c": c, "steps": torch.stack(steps), "ipr_s2": ipr_s2, "loss": loss.reshape(1),
                      **grads},
                     meta_for(DEBLUR, "S2: s2_deblur.pth params; frozen S1: s1_deblur.pth params_ema",
                              "encoder stage: same diffusion as the joint step, no G; loss = L1(ipr_s2, ipr_s1); "
                              "grad.<name> for the condition.* and denoise.* parameters"))


def published_keys():
    """Key names and shapes of the published configurations' state dicts (no weights), gzipped JSON."""
    out = {}
    for name, cfg in (("gopro", ref.GOPRO), ("realsr_x4", ref.realsr(4)), ("realsr_x2", ref.realsr(2)),
                      ("realsr_x1", ref.realsr(1)), ("inpaint_place2", ref.INPAINT_PLACE2)):
        for stage, kind in (("s1", ref.DiffIRS1), ("s2", ref.DiffIRS2)):
            out[f"{name}_{stage}"] = {"config": json.loads(cfg.to_json()), "keys": ref.key_shapes(kind(cfg))}
    text = json.dumps(out, separators=(",", ":")) + "\n"
    with open(os.path.join(OUT_DIR, "reference_keys.json.gz"), "wb") as f:
        f.write(gzip.compress(text.encode(), mtime=0))  # mtime 0: byte-identical on regeneration


def generate():
    os.makedirs(OUT_DIR, exist_ok=True)
    gen = torch.Generator().manual_seed(2023)
    s1_deblur(gen)
    s2_infer("s2_deblur", DEBLUR, 202, {"gen": gen, "lq": rand_image(gen, 3, DEBLUR_HW)})
    s2_deblur_training(gen)
    s2_infer("s2_sr4", SR4, 303, {"gen": gen, "lq": rand_image(gen, 3, SR_LR_HW)})
    img, mask = rand_image(gen, 3, INPAINT_HW), (torch.rand(BATCH, 1, *INPAINT_HW, generator=gen) < 0.3).float()
    s2_infer("s2_inpaint", INPAINT, 404, {"gen": gen, "lq": torch.cat([img * (1 - mask), mask], 1)})
    published_keys()


if __name__ == "__main__":
    if "--check" not in sys.argv:
        generate()
    import check_parity
    check_parity.main()
