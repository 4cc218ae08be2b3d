"""A PyTorch reference of DiffIR (Xia et al., ICCV 2023), written for parity tests of the Java engine.

It follows the published reference code (GitHub Zj-BinXia/DiffIR: S1_arch.py, S2_arch.py, ldm/ddpm.py,
models/DiffIR_S2_model.py of the deblurring, RealSR and inpainting trees) closely enough that
`state_dict()` has exactly the reference key names, order and shapes, and forward math is the same.
Where the reference code and DESIGN.md differ, see REFERENCE_NOTES.md next to this file.

Plain torch only (Debian's python3-torch 1.13: run with /usr/bin/python3). Every function takes its
randomness (diffusion start noise, training eps) as an argument, so results are deterministic.

Module tree (the names are the checkpoint keys):
  DiffIRS1: G (DIRformer), E (CPEN_S1)
  DiffIRS2: G, condition (CPEN_S2), denoise, diffusion (schedule buffers + the SAME condition and
            denoise modules again as diffusion.condition / diffusion.model, hence duplicate keys)
"""
import dataclasses
import json
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

TASKS = ("deblur", "sr", "inpaint")


@dataclass(frozen=True)
class Config:
    """Hyper-parameters with the reference option files' names (`network_g:` section)."""
    task: str = "deblur"                 # deblur | sr | inpaint (which reference tree)
    scale: int = 4                       # SR only (ignored otherwise): 1, 2 or 4 (the reference default is 4)
    inp_channels: int = 3                # deblur 3, inpaint 4 (masked image + mask); SR: image channels
    out_channels: int = 3
    dim: int = 48
    num_blocks: tuple = (3, 5, 6, 6)
    num_refinement_blocks: int = 4
    heads: tuple = (1, 2, 4, 8)
    ffn_expansion_factor: float = 2.0
    bias: bool = False
    LayerNorm_type: str = "WithBias"     # or BiasFree
    n_encoder_res: int = 5
    n_feats: int = 64                    # CPEN width; the reference hard-codes 64 (IPR = 4*64 = 256)
    n_denoise_res: int = 1
    timesteps: int = 4
    linear_start: float = 0.1
    linear_end: float = 0.99

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.task == "sr" and self.scale not in (1, 2, 4):
            raise ValueError(f"SR scale must be 1, 2 or 4, got {self.scale}")
        if self.task == "inpaint" and self.num_refinement_blocks != 0:
            raise ValueError("the inpainting DIRformer has no refinement stage: num_refinement_blocks must be 0")
        if self.LayerNorm_type not in ("WithBias", "BiasFree"):
            raise ValueError(f"LayerNorm_type must be WithBias or BiasFree, got {self.LayerNorm_type!r}")
        if self.dim % 2:
            raise ValueError(f"dim must be even (Downsample halves it before PixelUnshuffle), got {self.dim}")
        if len(self.num_blocks) != 4 or len(self.heads) != 4:
            raise ValueError("num_blocks and heads need 4 entries (one per level)")
        for level, h in enumerate(self.heads):
            if (self.dim * 2 ** level) % h:
                raise ValueError(f"level {level}: {self.dim * 2 ** level} channels do not split into {h} heads")

    @property
    def ipr_dim(self):
        return 4 * self.n_feats

    @property
    def lq_unshuffle(self):
        """PixelUnshuffle factor applied to the LQ image before DIRformer's patch_embed."""
        return {1: 4, 2: 2, 4: 1}[self.scale] if self.task == "sr" else 1

    @property
    def cpen_lq_unshuffle(self):
        """PixelUnshuffle factor applied to the LQ image inside CPEN (GT is always unshuffled by 4)."""
        return {1: 4, 2: 2, 4: 1}[self.scale] if self.task == "sr" else 4

    @property
    def window(self):
        """H and W of the LQ input must be multiples of this (the reference reflect-pads to it at test time)."""
        return 8 * self.lq_unshuffle if self.task == "sr" else 8

    def to_json(self):
        d = dataclasses.asdict(self)
        if self.task != "sr":
            del d["scale"]  # meaningless outside SR
        return json.dumps(d, separators=(",", ":"))


# Published configurations (the option files under each reference tree's options/ or configs/).
GOPRO = Config(task="deblur", dim=48, num_blocks=(3, 5, 6, 6), num_refinement_blocks=4, heads=(1, 2, 4, 8),
               ffn_expansion_factor=2, LayerNorm_type="WithBias", n_encoder_res=5)


def realsr(scale):
    return Config(task="sr", scale=scale, dim=64, num_blocks=(13, 1, 1, 1), num_refinement_blocks=13,
                  heads=(1, 2, 4, 8), ffn_expansion_factor=2.2, LayerNorm_type="BiasFree", n_encoder_res=9)


INPAINT_PLACE2 = Config(task="inpaint", inp_channels=4, dim=52, num_blocks=(1, 1, 1, 9), num_refinement_blocks=0,
                        heads=(1, 2, 4, 8), ffn_expansion_factor=1.8, LayerNorm_type="WithBias", n_encoder_res=5)
INPAINT_BIG = dataclasses.replace(INPAINT_PLACE2, num_blocks=(1, 1, 1, 20), n_encoder_res=8)


def lrelu():
    return nn.LeakyReLU(0.1)


# ---------------------------------------------------------------- DIRformer

class LayerNorm(nn.Module):
    """Per-pixel LayerNorm over channels (eps 1e-5, biased variance). BiasFree does not centre x."""

    def __init__(self, dim, kind):
        super().__init__()
        self.body = _LayerNormBody(dim, with_bias=(kind == "WithBias"))

    def forward(self, x):
        return self.body(x)


class _LayerNormBody(nn.Module):
    def __init__(self, dim, with_bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        if with_bias:
            self.bias = nn.Parameter(torch.zeros(dim))
        else:
            self.bias = None

    def forward(self, x):
        var = x.var(1, keepdim=True, unbiased=False)
        w = self.weight.view(1, -1, 1, 1)
        if self.bias is None:
            return x / torch.sqrt(var + 1e-5) * w
        mu = x.mean(1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-5) * w + self.bias.view(1, -1, 1, 1)


def modulation(dim, ipr_dim):
    """The IPR projection [k1, k2] = Linear(ipr); the Sequential wrapper gives the key `kernel.0.weight`."""
    return nn.Sequential(nn.Linear(ipr_dim, dim * 2, bias=False))


def modulate(kernel, x, ipr):
    """x * k1 + k2, broadcast over H and W."""
    k = kernel(ipr).view(x.shape[0], 2 * x.shape[1], 1, 1)
    k1, k2 = k.chunk(2, dim=1)
    return x * k1 + k2


class Attention(nn.Module):
    """MDTA: transposed (channel-by-channel) attention per head, with L2-normalised q and k over pixels."""

    def __init__(self, dim, num_heads, bias, ipr_dim):
        super().__init__()
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.kernel = modulation(dim, ipr_dim)
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, kernel_size=3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)

    def forward(self, x, ipr):
        b, c, h, w = x.shape
        x = modulate(self.kernel, x, ipr)
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(b, self.num_heads, c // self.num_heads, h * w) for t in (q, k, v))
        q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # F.normalize(dim=-1), eps 1e-12
        k = k / k.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.temperature, dim=-1)
        return self.project_out((attn @ v).reshape(b, c, h, w))


class FeedForward(nn.Module):
    """GDFN: 1x1 expand to 2*hidden, depthwise 3x3, gelu(first half) * second half, 1x1 project back."""

    def __init__(self, dim, ffn_expansion_factor, bias, ipr_dim):
        super().__init__()
        hidden = int(dim * ffn_expansion_factor)  # truncation, as the reference
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, kernel_size=3, padding=1, groups=hidden * 2, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)
        self.kernel = modulation(dim, ipr_dim)  # registered last, as in the reference (key order)

    def forward(self, x, ipr):
        x = self.project_in(modulate(self.kernel, x, ipr))
        x1, x2 = self.dwconv(x).chunk(2, dim=1)
        return self.project_out(F.gelu(x1) * x2)  # exact (erf) GELU


class TransformerBlock(nn.Module):
    def __init__(self, dim, num_heads, cfg):
        super().__init__()
        self.norm1 = LayerNorm(dim, cfg.LayerNorm_type)
        self.attn = Attention(dim, num_heads, cfg.bias, cfg.ipr_dim)
        self.norm2 = LayerNorm(dim, cfg.LayerNorm_type)
        self.ffn = FeedForward(dim, cfg.ffn_expansion_factor, cfg.bias, cfg.ipr_dim)

    def forward(self, x, ipr):
        x = x + self.attn(self.norm1(x), ipr)
        return x + self.ffn(self.norm2(x), ipr)


class Blocks(nn.ModuleList):
    """A run of transformer blocks; keys `<level>.<i>.*` as the reference's nn.Sequential."""

    def __init__(self, n, dim, num_heads, cfg):
        super().__init__([TransformerBlock(dim, num_heads, cfg) for _ in range(n)])

    def forward(self, x, ipr):
        for block in self:
            x = block(x, ipr)
        return x


class PatchEmbed(nn.Module):
    def __init__(self, in_c, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_c, dim, kernel_size=3, padding=1, bias=False)  # never biased in the reference

    def forward(self, x):
        return self.proj(x)


class Resample(nn.Module):
    """Downsample: conv3x3 C->C/2 + PixelUnshuffle(2). Upsample: conv3x3 C->2C + PixelShuffle(2). No bias."""

    def __init__(self, n_feat, down):
        super().__init__()
        if down:
            self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))
        else:
            self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat * 2, 3, padding=1, bias=False), nn.PixelShuffle(2))

    def forward(self, x):
        return self.body(x)


def sr_tail(ch, out_channels):
    """The RealSR output head: twice (conv3x3 ch->4ch + bias, PixelShuffle 2), then conv3x3 ch->out + bias.

    Always a x4 upsampler, whatever the scale (x2 and x1 unshuffle the input first)."""
    up = nn.Sequential(nn.Conv2d(ch, 4 * ch, 3, padding=1), nn.PixelShuffle(2),
                       nn.Conv2d(ch, 4 * ch, 3, padding=1), nn.PixelShuffle(2))
    return nn.Sequential(up, nn.Conv2d(ch, out_channels, 3, padding=1))


class DIRformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, nb, hd = cfg.dim, cfg.num_blocks, cfg.heads
        self.patch_embed = PatchEmbed(cfg.inp_channels * cfg.lq_unshuffle ** 2, d)
        self.encoder_level1 = Blocks(nb[0], d, hd[0], cfg)
        self.down1_2 = Resample(d, down=True)
        self.encoder_level2 = Blocks(nb[1], 2 * d, hd[1], cfg)
        self.down2_3 = Resample(2 * d, down=True)
        self.encoder_level3 = Blocks(nb[2], 4 * d, hd[2], cfg)
        self.down3_4 = Resample(4 * d, down=True)
        self.latent = Blocks(nb[3], 8 * d, hd[3], cfg)
        self.up4_3 = Resample(8 * d, down=False)
        self.reduce_chan_level3 = nn.Conv2d(8 * d, 4 * d, kernel_size=1, bias=cfg.bias)
        self.decoder_level3 = Blocks(nb[2], 4 * d, hd[2], cfg)
        self.up3_2 = Resample(4 * d, down=False)
        self.reduce_chan_level2 = nn.Conv2d(4 * d, 2 * d, kernel_size=1, bias=cfg.bias)
        self.decoder_level2 = Blocks(nb[1], 2 * d, hd[1], cfg)
        self.up2_1 = Resample(2 * d, down=False)  # level 1 keeps 2d channels: no reduction conv
        self.decoder_level1 = Blocks(nb[0], 2 * d, hd[0], cfg)
        if cfg.task != "inpaint":  # the inpainting tree has no refinement module at all
            self.refinement = Blocks(cfg.num_refinement_blocks, 2 * d, hd[0], cfg)
        if cfg.task == "sr":
            self.tail = sr_tail(2 * d, cfg.out_channels)
        else:
            self.output = nn.Conv2d(2 * d, cfg.out_channels, kernel_size=3, padding=1, bias=cfg.bias)

    def forward(self, inp, ipr):
        cfg = self.cfg
        h, w = inp.shape[-2:]
        if h % cfg.window or w % cfg.window:
            raise ValueError(f"DIRformer input {h}x{w} must be a multiple of {cfg.window} (pad it first)")
        feat = F.pixel_unshuffle(inp, cfg.lq_unshuffle) if cfg.lq_unshuffle > 1 else inp
        e1 = self.encoder_level1(self.patch_embed(feat), ipr)
        e2 = self.encoder_level2(self.down1_2(e1), ipr)
        e3 = self.encoder_level3(self.down2_3(e2), ipr)
        lat = self.latent(self.down3_4(e3), ipr)
        d3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(lat), e3], 1)), ipr)
        d2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)), ipr)
        d1 = self.decoder_level1(torch.cat([self.up2_1(d2), e1], 1), ipr)
        if cfg.task == "inpaint":
            return self.output(d1)  # no residual
        d1 = self.refinement(d1, ipr)
        if cfg.task == "sr":
            return self.tail(d1) + F.interpolate(inp, scale_factor=cfg.scale, mode="nearest")
        return self.output(d1) + inp


# ---------------------------------------------------------------- CPEN, denoise, diffusion

class ResBlock(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n, n, 3, padding=1), lrelu(), nn.Conv2d(n, n, 3, padding=1))

    def forward(self, x):
        return self.body(x) + x


class CPEN(nn.Module):
    """Compact IR prior extraction: convs (with bias), global average pool, 2-layer MLP -> IPR (B x 4*n_feats).

    S1 sees [LQ part, PixelUnshuffle(4)(GT)]; S2 sees the LQ part only."""

    def __init__(self, cfg, with_gt):
        super().__init__()
        self.cfg, self.with_gt = cfg, with_gt
        n = cfg.n_feats
        in_c = cfg.inp_channels * cfg.cpen_lq_unshuffle ** 2 + (cfg.out_channels * 16 if with_gt else 0)
        layers = [nn.Conv2d(in_c, n, 3, padding=1), lrelu()]
        layers += [ResBlock(n) for _ in range(cfg.n_encoder_res)]
        layers += [nn.Conv2d(n, 2 * n, 3, padding=1), lrelu(),
                   nn.Conv2d(2 * n, 2 * n, 3, padding=1), lrelu(),
                   nn.Conv2d(2 * n, 4 * n, 3, padding=1), lrelu(),
                   nn.AdaptiveAvgPool2d(1)]
        self.E = nn.Sequential(*layers)
        self.mlp = nn.Sequential(nn.Linear(4 * n, 4 * n), lrelu(), nn.Linear(4 * n, 4 * n), lrelu())

    def forward(self, lq, gt=None):
        if (gt is not None) != self.with_gt:
            raise ValueError("CPEN_S1 needs (lq, gt); CPEN_S2 takes lq only")
        u = self.cfg.cpen_lq_unshuffle
        x = F.pixel_unshuffle(lq, u) if u > 1 else lq
        if gt is not None:
            x = torch.cat([x, F.pixel_unshuffle(gt, 4)], dim=1)
        return self.mlp(self.E(x).flatten(1))


class ResMLP(nn.Module):
    """Linear + LReLU (no residual add, despite the reference's class name)."""

    def __init__(self, n):
        super().__init__()
        self.resmlp = nn.Sequential(nn.Linear(n, n), lrelu())

    def forward(self, x):
        return self.resmlp(x)


class Denoise(nn.Module):
    """x0 = MLP(concat[c, t / (10*T), x_t]): Linear(2*ipr+1 -> ipr), LReLU, then n_denoise_res ResMLPs."""

    def __init__(self, cfg):
        super().__init__()
        self.max_period = cfg.timesteps * 10
        ipr = cfg.ipr_dim
        self.resmlp = nn.Sequential(nn.Linear(2 * ipr + 1, ipr), lrelu(), *[ResMLP(ipr) for _ in range(cfg.n_denoise_res)])

    def forward(self, x, t, c):
        # the reference divides a float32 t (`t.float() / max_period`) whatever the model's dtype
        tt = torch.full((x.shape[0], 1), t, dtype=torch.float32, device=x.device) / self.max_period
        return self.resmlp(torch.cat([c, tt.to(x.dtype), x], dim=1))


SCHEDULE_BUFFERS = ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
                    "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
                    "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
                    "posterior_mean_coef1", "posterior_mean_coef2")


def schedule(cfg):
    """The reference's 12 schedule buffers: computed in float64, stored float32 (ldm/ddpm.py register_schedule)."""
    betas = torch.linspace(cfg.linear_start ** 0.5, cfg.linear_end ** 0.5, cfg.timesteps, dtype=torch.float64) ** 2
    alphas = 1.0 - betas
    ac = torch.cumprod(alphas, 0)
    ac_prev = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
    post_var = betas * (1.0 - ac_prev) / (1.0 - ac)  # v_posterior = 0
    values = dict(betas=betas, alphas_cumprod=ac, alphas_cumprod_prev=ac_prev, sqrt_alphas_cumprod=ac.sqrt(),
                  sqrt_one_minus_alphas_cumprod=(1.0 - ac).sqrt(), log_one_minus_alphas_cumprod=(1.0 - ac).log(),
                  sqrt_recip_alphas_cumprod=(1.0 / ac).sqrt(), sqrt_recipm1_alphas_cumprod=(1.0 / ac - 1).sqrt(),
                  posterior_variance=post_var, posterior_log_variance_clipped=post_var.clamp_min(1e-20).log(),
                  posterior_mean_coef1=betas * ac_prev.sqrt() / (1.0 - ac),
                  posterior_mean_coef2=(1.0 - ac_prev) * alphas.sqrt() / (1.0 - ac))
    return {k: values[k].to(torch.float32) for k in SCHEDULE_BUFFERS}


class Diffusion(nn.Module):
    """The DDPM on the IPR: x0-prediction, reverse steps return the posterior mean (no noise, no clamp).

    Holds the schedule buffers and, as submodules, the model's own denoise (`model`) and CPEN_S2
    (`condition`): the same objects as DiffIRS2.denoise / .condition, so the checkpoint has them twice."""

    def __init__(self, cfg, denoise, condition):
        super().__init__()
        self.num_timesteps = cfg.timesteps
        self.model = denoise
        self.condition = condition
        for name, value in schedule(cfg).items():
            self.register_buffer(name, value)

    def reverse(self, x, c):
        """Steps t = T-1 .. 0: x0 = denoise(x_t, t, c); x_{t-1} = coef1[t] x0 + coef2[t] x_t. Returns all x_{t-1}."""
        steps = []
        for t in reversed(range(self.num_timesteps)):
            x0 = self.model(x, t, c)
            x = self.posterior_mean_coef1[t] * x0 + self.posterior_mean_coef2[t] * x
            steps.append(x)
        return steps

    def infer(self, lq, noise):
        """Inference from a given start noise x_{T-1} (B x ipr). Returns (IPR, c, steps)."""
        c = self.condition(lq)
        steps = self.reverse(noise, c)
        return steps[-1], c, steps

    def train_forward(self, lq, ipr_s1, eps):
        """Training: x_{T-1} = sqrt(ac[T-1]) IPR_S1 + sqrt(1-ac[T-1]) eps, then the same steps. Returns (IPR, c, steps)."""
        t = self.num_timesteps - 1
        x = self.sqrt_alphas_cumprod[t] * ipr_s1 + self.sqrt_one_minus_alphas_cumprod[t] * eps
        c = self.condition(lq)
        steps = self.reverse(x, c)
        return steps[-1], c, steps


# ---------------------------------------------------------------- the two stages

class DiffIRS1(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.G = DIRformer(cfg)
        self.E = CPEN(cfg, with_gt=True)

    def forward(self, lq, gt):
        """Returns (restored image, IPR_S1)."""
        ipr = self.E(lq, gt)
        return self.G(lq, ipr), ipr


class DiffIRS2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.G = DIRformer(cfg)
        self.condition = CPEN(cfg, with_gt=False)
        self.denoise = Denoise(cfg)
        self.diffusion = Diffusion(cfg, self.denoise, self.condition)

    def infer(self, lq, noise):
        """Inference: returns (out, IPR, c, steps) from a given start noise (B x ipr)."""
        ipr, c, steps = self.diffusion.infer(lq, noise)
        return self.G(lq, ipr), ipr, c, steps

    def train_forward(self, lq, ipr_s1, eps):
        """The training forward (joint stage): returns (out, IPR_S2, c, steps); gradients flow through all steps."""
        ipr, c, steps = self.diffusion.train_forward(lq, ipr_s1, eps)
        return self.G(lq, ipr), ipr, c, steps


# ---------------------------------------------------------------- losses (DiffIR_S2_model.optimize_parameters)

def l1(a, b):
    return (a - b).abs().mean()


def joint_loss(out, gt, ipr_s2, ipr_s1):
    """Joint stage: L1(out, GT) + L1(IPR_S2, IPR_S1.detach()) (KDLoss weight 1; its KL term is logged, not used)."""
    l_pix, l_abs = l1(out, gt), l1(ipr_s2, ipr_s1.detach())
    return l_pix + l_abs, l_pix, l_abs


def encoder_loss(ipr_s2, ipr_s1):
    """Encoder stage (first encoder_iter iterations): L1(IPR_S2, IPR_S1.detach()) only."""
    return l1(ipr_s2, ipr_s1.detach())


def trainable_parameters(model, encoder_only=False):
    """(name, param) as the reference optimisers see them: named_parameters() (duplicates listed once, under
    condition.* / denoise.*); the encoder stage's optimizer_e keeps names containing 'denoise' or 'condition'."""
    named = list(model.named_parameters())
    if encoder_only:
        named = [(k, v) for k, v in named if "denoise" in k or "condition" in k]
    return named


# ---------------------------------------------------------------- checkpoints

def reference_state_dict(model, own_storage=True):
    """The state dict as basicsr's save_network writes it: the module's own OrderedDict (with its _metadata), every
    value a float32 CPU tensor. own_storage=True is a checkpoint saved from a GPU run (`param.cpu()` copies, so the
    duplicate diffusion.* entries have storages of their own); False is one saved on the CPU, where `.cpu()` is a
    no-op and each duplicate shares its storage with the primary entry (torch.save then writes it once)."""
    sd = model.state_dict()
    for k in list(sd.keys()):
        v = sd[k].detach().to(torch.float32)
        sd[k] = v.clone() if own_storage else v
    return sd


def load_reference(model, sd):
    """Strict load; refuses a checkpoint whose duplicate diffusion.* entries disagree with the primary ones."""
    for k, v in sd.items():
        for dup, primary in (("diffusion.model.", "denoise."), ("diffusion.condition.", "condition.")):
            if k.startswith(dup) and not torch.equal(v, sd[primary + k[len(dup):]]):
                raise ValueError(f"checkpoint key {k} differs from {primary + k[len(dup):]}")
    model.load_state_dict(sd, strict=True)
    return model


def key_shapes(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]
