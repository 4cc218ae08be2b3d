"""Reference values for the metrics and for MATLAB-style bicubic resizing.

Run with Debian's python3 (numpy): /usr/bin/python3 app/src/test/python/gen_metrics.py
Writes app/src/test/resources/fixtures/{metrics,imresize}.json.

Metrics follow basicsr (basicsr/metrics/psnr_ssim.py, metric_util.py, utils/color_util.py):
images are quantised as tensor2img does, (clip(x, 0, 1) * 255 in float32).round(); the Y channel
is to_y_channel's (float32 codes / 255, BT.601 dot product in float64 + 16, / 255, cast to float32,
* 255 in float32); SSIM uses an 11x11 Gaussian (sigma 1.5) window over 'valid' positions in float64.
cv2 and scipy are not needed: the window filtering is written out here.

imresize is MATLAB's bicubic (Keys a = -0.5, kernel widened by 1/scale when shrinking, symmetric
borders), written here as one resampling matrix per axis, in float64.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "fixtures"))


# ---------------------------------------------------------------- metrics

def codes(img):
    """CHW float32 in any range -> CHW uint8 as basicsr's tensor2img (clamp, *255 float32, round half even)."""
    x = np.clip(img.astype(np.float32), 0, 1)
    return np.round(x * np.float32(255.0)).astype(np.uint8)


def planes(img, crop, y):
    u = codes(img)
    if crop:
        u = u[:, crop:-crop, crop:-crop]
    if not y:
        return u.astype(np.float64)
    f = u.astype(np.float32) / np.float32(255.0)
    if f.shape[0] == 3:
        r, g, b = f[0].astype(np.float64), f[1].astype(np.float64), f[2].astype(np.float64)
        yy = (b * 24.966 + g * 128.553 + r * 65.481 + 16.0) / 255.0
        f = yy.astype(np.float32)[None]
    return (f * np.float32(255.0)).astype(np.float64)


def psnr(a, b, crop, y):
    p, q = planes(a, crop, y), planes(b, crop, y)
    mse = np.mean((p - q) ** 2)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 * 255.0 / mse)


def gauss_window():
    x = np.arange(11) - 5.0
    g = np.exp(-x * x / (2 * 1.5 ** 2))
    g /= g.sum()
    return np.outer(g, g)


def filter_valid(p, win):
    h, w = p.shape
    out = np.zeros((h - 10, w - 10))
    for i in range(11):
        for j in range(11):
            out += win[i, j] * p[i:i + h - 10, j:j + w - 10]
    return out


def ssim_plane(x, y):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    win = gauss_window()
    mu1, mu2 = filter_valid(x, win), filter_valid(y, win)
    s11 = filter_valid(x * x, win) - mu1 ** 2
    s22 = filter_valid(y * y, win) - mu2 ** 2
    s12 = filter_valid(x * y, win) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return m.mean()


def ssim(a, b, crop, y):
    p, q = planes(a, crop, y), planes(b, crop, y)
    return float(np.mean([ssim_plane(p[c], q[c]) for c in range(p.shape[0])]))


def smooth(rng, c, h, w):
    """A natural-ish image: a few random low-frequency waves plus texture, in [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((c, h, w))
    for ch in range(c):
        for _ in range(3):
            fy, fx, ph = rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3), rng.uniform(0, 6.3)
            img[ch] += np.sin(fy * yy + fx * xx + ph)
    img = (img - img.min()) / (img.max() - img.min())
    return np.clip(0.85 * img + 0.15 * rng.uniform(0, 1, img.shape), 0, 1).astype(np.float32)


def metric_cases():
    rng = np.random.default_rng(20231001)
    cases = []

    def add(name, a, b):
        results = []
        for crop in (0, 3):
            for y in (False, True):
                results.append({"crop": crop, "y": y, "psnr": psnr(a, b, crop, y), "ssim": ssim(a, b, crop, y)})
        cases.append({"name": name, "shape": list(a.shape), "a": a.ravel().tolist(), "b": b.ravel().tolist(), "results": results})

    a = smooth(rng, 3, 23, 19)
    add("rgb_noisy", a, np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32))
    a = smooth(rng, 1, 17, 29)
    add("gray_blurred", a, (0.5 * a + 0.25 * np.roll(a, 1, 2) + 0.25 * np.roll(a, -1, 1)).astype(np.float32))
    # Out-of-range values and exact half steps exercise clamping and round-half-even.
    a = smooth(rng, 3, 20, 21)
    b = a.copy()
    b[0, :5, :] = ((np.arange(5 * 21).reshape(5, 21) % 256) + 0.5) / 255.0
    b[1, :, :3] = -0.2
    b[2, -4:, :] = 1.3
    add("rgb_clamped", a, b.astype(np.float32))
    a = smooth(rng, 3, 31, 29)
    add("rgb_shifted", a, np.clip(a * 0.9 + 0.07, 0, 1).astype(np.float32))
    return cases


# ---------------------------------------------------------------- imresize

def cubic(x):
    a = np.abs(x)
    return np.where(a <= 1, 1.5 * a ** 3 - 2.5 * a ** 2 + 1,
                    np.where(a <= 2, -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2, 0.0))


def resample_matrix(n_in, scale):
    """(n_out x n_in) matrix of MATLAB's bicubic imresize along one axis, symmetric borders folded in."""
    n_out = int(np.ceil(n_in * scale))
    shrink = scale < 1
    width = 4.0 / scale if shrink else 4.0
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        u = (o + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinate of output o
        left = int(np.floor(u - width / 2))
        idx = np.arange(left, left + int(np.ceil(width)) + 2)
        wts = scale * cubic((u - idx) * scale) if shrink else cubic(u - idx)
        wts = wts / wts.sum()
        for j, wt in zip(idx, wts):
            k = j - 1  # 0-based, then mirror with the edge repeated
            while k < 0 or k >= n_in:
                k = -k - 1 if k < 0 else 2 * n_in - 1 - k
            m[o, k] += wt
    return m


def imresize(img, scale):
    c, h, w = img.shape
    mh, mw = resample_matrix(h, scale), resample_matrix(w, scale)
    return np.stack([mh @ img[ch].astype(np.float64) @ mw.T for ch in range(c)])


def imresize_cases():
    rng = np.random.default_rng(7)
    cases = []
    for shape, scales in (((3, 19, 23), (0.5, 0.25, 2.0)), ((2, 16, 20), (0.5, 0.25)), ((1, 9, 13), (0.5, 3.0))):
        img = smooth(rng, *shape)
        outputs = []
        for s in scales:
            out = imresize(img, s)
            outputs.append({"scale": s, "shape": list(out.shape), "values": out.astype(np.float32).ravel().tolist()})
        cases.append({"shape": list(shape), "input": img.ravel().tolist(), "outputs": outputs})
    return cases


def compare_with_torch():
    """Reports how far PyTorch's antialiased bicubic is from MATLAB's (it is not used as the reference)."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return
    rng = np.random.default_rng(3)
    img = smooth(rng, 3, 32, 32)
    ref = imresize(img, 0.25)
    t = F.interpolate(torch.from_numpy(img)[None].double(), scale_factor=0.25, mode="bicubic", antialias=True)[0].numpy()
    print("torch antialiased bicubic vs MATLAB imresize x1/4: max |diff| %.2e (interior %.2e)"
          % (np.abs(t - ref).max(), np.abs(t - ref)[:, 2:-2, 2:-2].max()))


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    write("metrics", {"cases": metric_cases()})
    write("imresize", {"cases": imresize_cases()})
    compare_with_torch()
