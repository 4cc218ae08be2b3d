"""Small test images for the image I/O tests, written by independent encoders (PIL, and a tiny PNG
writer below for 16-bit files PIL cannot make). Pixel values follow the formulas the Java tests
recompute; see ImageFilesTest.

Run: /usr/bin/python3 app/src/test/python/gen_images.py
Writes app/src/test/resources/images/.
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "images"))
W, H = 13, 9  # odd sizes on purpose


def v8(c):
    y, x = np.mgrid[0:H, 0:W]
    return ((x * 7 + y * 13 + c * 50) % 256).astype(np.uint8)


def v16(c):
    y, x = np.mgrid[0:H, 0:W]
    return ((x * 2671 + y * 4099 + c * 13001) % 65536).astype(np.uint16)


def alpha8():
    y, x = np.mgrid[0:H, 0:W]
    return ((x * 31 + y * 17) % 256).astype(np.uint8)


def png16(path, planes):
    """A 16-bit PNG (gray for one plane, RGB for three) by hand: IHDR, one IDAT, IEND."""
    color_type = 0 if len(planes) == 1 else 2
    pix = np.stack(planes, axis=-1).astype(">u2")  # H x W x C, big-endian
    raw = b"".join(b"\x00" + pix[r].tobytes() for r in range(H))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", W, H, 16, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PALETTE = [(255, 0, 0), (0, 128, 255), (20, 200, 40), (250, 250, 250)]


def palette_indices():
    y, x = np.mgrid[0:H, 0:W]
    return ((x + 2 * y) % 4).astype(np.uint8)


def truncate(src, dst, fraction):
    with open(os.path.join(OUT, src), "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, dst), "wb") as f:
        f.write(data[: int(len(data) * fraction)])


def main():
    os.makedirs(OUT, exist_ok=True)
    p = lambda n: os.path.join(OUT, n)
    Image.fromarray(v8(0), "L").save(p("gray8.png"))
    rgb = np.stack([v8(c) for c in range(3)], axis=-1)
    Image.fromarray(rgb, "RGB").save(p("rgb8.png"))
    Image.fromarray(np.dstack([rgb, alpha8()]), "RGBA").save(p("rgba8.png"))
    Image.fromarray(np.dstack([v8(0), alpha8()]), "LA").save(p("gray_alpha8.png"))
    png16(p("gray16.png"), [v16(0)])
    png16(p("rgb16.png"), [v16(c) for c in range(3)])
    pal = Image.fromarray(palette_indices(), "P")
    pal.putpalette([v for c in PALETTE for v in c])
    pal.save(p("palette.png"), transparency=3)  # index 3 fully transparent
    pal.save(p("palette.gif"))
    Image.fromarray(rgb, "RGB").save(p("rgb8.bmp"))
    # A smooth photo-like JPEG (exact values depend on the codec; tests compare loosely).
    y, x = np.mgrid[0:16, 0:24]
    smooth = np.stack([(x * 10) % 256, (y * 15) % 256, ((x + y) * 6) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(smooth, "RGB").save(p("smooth.jpg"), quality=95)
    Image.fromarray(smooth, "RGB").save(p("smooth.png"))
    noisy = np.random.default_rng(5).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(noisy, "RGB").save(p("noisy.jpg"), quality=90)
    # Broken files.
    truncate("smooth.png", "truncated.png", 0.6)
    truncate("noisy.jpg", "truncated.jpg", 0.8)  # cut inside the entropy-coded data
    truncate("palette.gif", "truncated.gif", 0.7)
    truncate("rgb8.bmp", "truncated.bmp", 0.9)
    with open(p("rgb8.png"), "rb") as f:
        data = bytearray(f.read())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # a flipped byte inside the compressed pixels: the CRC no longer matches
    with open(p("corrupt_crc.png"), "wb") as f:
        f.write(bytes(data))
    with open(p("not_an_image.png"), "w") as f:
        f.write("this is a text file with a .png name\n")
    open(p("empty.png"), "wb").close()
    for n in sorted(os.listdir(OUT)):
        print(n, os.path.getsize(p(n)))


if __name__ == "__main__":
    main()
