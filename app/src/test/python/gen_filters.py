"""Reference for 2-D convolution with reflect borders (numpy's pad mode 'reflect', which is
PyTorch's 'reflect' and OpenCV's BORDER_REFLECT_101), written as a direct sum in float64.

Run: /usr/bin/python3 app/src/test/python/gen_filters.py
Writes app/src/test/resources/fixtures/convolution.json.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "fixtures"))


def convolve_reflect(img, k):
    """out[y, x] = sum_ij k[i, j] * in[y + r - i, x + r - j] per channel (a true convolution)."""
    r = k.shape[0] // 2
    c, h, w = img.shape
    out = np.zeros((c, h, w))
    for ch in range(c):
        p = np.pad(img[ch].astype(np.float64), r, mode="reflect")
        for i in range(k.shape[0]):
            for j in range(k.shape[1]):
                # in[y + r - i] is p[y + 2r - i]
                out[ch] += k[i, j] * p[2 * r - i:2 * r - i + h, 2 * r - j:2 * r - j + w]
    return out


def main():
    rng = np.random.default_rng(11)
    cases = []
    for shape, size in (((3, 13, 11), 7), ((2, 4, 9), 9), ((1, 17, 16), 3)):
        img = rng.uniform(0, 1, shape).astype(np.float32)
        k = rng.uniform(0, 1, (size, size))
        k[rng.uniform(0, 1, k.shape) < 0.5] = 0  # sparse like a motion kernel, and asymmetric
        k = (k / k.sum()).astype(np.float32)
        out = convolve_reflect(img, k.astype(np.float64))
        cases.append({"shape": list(shape), "size": size, "input": img.ravel().tolist(), "kernel": k.ravel().tolist(),
                      "output": out.astype(np.float32).ravel().tolist()})
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "convolution.json")
    with open(path, "w") as f:
        json.dump({"cases": cases}, f, separators=(",", ":"))
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
