#!/usr/bin/env python3
"""Self-check of oracle.py against every file of samples/images/: runs its CLI (info, decode,
mae) and asserts what Pillow must say about each sample and a few pixel facts (orientation
applied, ICC converted, CMYK converted, alpha over white). Exit status 0 when all hold.
`--table` prints the Markdown table recorded in tests/images/README.md.

Run: tests/images/check_oracle.sh (or this file with a Python that has Pillow).
Knows nothing of the server.
"""

import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "samples" / "images"
ORACLE = Path(__file__).with_name("oracle.py")

# name: (format, width, height, stored_width, stored_height, orientation, mode, frames, has_icc)
EXPECT = {
    "alpha.png": ("PNG", 64, 48, 64, 48, 1, "P", 1, False),
    "anim.gif": ("GIF", 32, 32, 32, 32, 1, "P", 3, False),
    "anim.webp": ("WEBP", 96, 64, 96, 64, 1, "RGB", 4, False),
    "café au lait #1.png": ("PNG", 24, 24, 24, 24, 1, "P", 1, False),
    "cmyk.jpg": ("JPEG", 256, 192, 256, 192, 1, "CMYK", 1, False),
    "cmyk_plain.jpg": ("JPEG", 256, 192, 256, 192, 1, "CMYK", 1, False),
    "deep16.png": ("PNG", 128, 96, 128, 96, 1, "RGBA", 1, False),
    "gray.jpg": ("JPEG", 160, 120, 160, 120, 1, "L", 1, False),
    "icc_adobergb.jpg": ("JPEG", 192, 96, 192, 96, 1, "RGB", 1, True),
    "icc_adobergb.png": ("PNG", 192, 96, 192, 96, 1, "RGB", 1, True),
    "icon.ico": ("ICO", 64, 64, 64, 64, 1, "RGBA", 1, False),
    "interlaced.png": ("PNG", 160, 120, 160, 120, 1, "RGB", 1, False),
    "lossless.webp": ("WEBP", 160, 120, 160, 120, 1, "RGB", 1, False),
    "palette.png": ("PNG", 160, 120, 160, 120, 1, "P", 1, False),
    "phone.jpg": ("JPEG", 3024, 4032, 4032, 3024, 6, "RGB", 1, False),
    "photo.avif": ("AVIF", 640, 480, 640, 480, 1, "RGB", 1, False),
    "photo.heic": ("HEIF", 640, 480, 640, 480, 1, "RGB", 1, False),
    "photo.jpg": ("JPEG", 480, 640, 640, 480, 6, "RGB", 1, False),
    "picture.bmp": ("BMP", 160, 120, 160, 120, 1, "RGB", 1, False),
    "picture.qoi": ("QOI", 160, 120, 160, 120, 1, "RGB", 1, False),
    "picture.webp": ("WEBP", 160, 120, 160, 120, 1, "RGB", 1, False),
    "progressive.jpg": ("JPEG", 160, 120, 160, 120, 1, "RGB", 1, False),
    "scan.tif": ("TIFF", 96, 64, 96, 64, 1, "RGB", 1, False),
}
KEYS = ("format", "width", "height", "stored_width", "stored_height", "orientation", "mode", "frames", "has_icc")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL {what}", file=sys.stderr)


def oracle(*args, ok=True):
    p = subprocess.run([sys.executable, str(ORACLE), *map(str, args)], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"oracle {args} failed: {p.stderr}")
    return p


class Decoded:
    def __init__(self, name, tmp):
        out = Path(tmp) / (name + ".rgb")
        dims = json.loads(oracle("decode", IMAGES / name, out).stdout)
        self.w, self.h = dims["width"], dims["height"]
        self.data = out.read_bytes()

    def px(self, x, y):
        i = (y * self.w + x) * 3
        if not (0 <= x < self.w and 0 <= y < self.h and i + 3 <= len(self.data)):
            return (-1, -1, -1)  # outside: fails every colour check instead of crashing
        return tuple(self.data[i : i + 3])


def near(a, b, tol):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def png_ihdr(name):
    raw = (IMAGES / name).read_bytes()
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", raw[16:29])
    return {"depth": depth, "color_type": ctype, "interlace": interlace}


def main():
    table = "--table" in sys.argv
    names = sorted(p.name for p in IMAGES.iterdir() if p.is_file())
    check(sorted(EXPECT) == names, f"samples/images has {names}, the table lists {sorted(EXPECT)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        decoded = {}
        for name in names:
            info = json.loads(oracle("info", IMAGES / name).stdout)
            got = tuple(info[k] for k in KEYS)
            check(got == EXPECT.get(name), f"{name}: info {got} != {EXPECT.get(name)}")
            d = Decoded(name, tmp)
            decoded[name] = d
            check((d.w, d.h) == (info["width"], info["height"]), f"{name}: decode size {d.w}x{d.h}")
            check(len(d.data) == d.w * d.h * 3, f"{name}: {len(d.data)} bytes of RGB")
            same = json.loads(oracle("mae", IMAGES / name, IMAGES / name).stdout)
            check(same["mean"] == 0, f"{name}: mae with itself {same}")
            rows.append((name, info))

        # Orientation applied: the phone scene has sky on top, ground below, the red kite top left.
        ph = decoded["phone.jpg"]
        top, bottom, kite = ph.px(1500, 100), ph.px(1500, 3950), ph.px(665, 645)
        check(top[2] > top[0] + 60, f"phone.jpg top is sky blue: {top}")
        check(bottom[2] < bottom[1], f"phone.jpg bottom is ground: {bottom}")
        check(kite[0] > 150 and kite[1] < 80, f"phone.jpg kite is red: {kite}")

        # ICC converted: patch centres equal LittleCMS's sRGB values, not the stored ones.
        srgb = [(255, 0, 0), (129, 129, 129), (0, 181, 42), (0, 201, 149),
                (124, 201, 149), (199, 121, 88), (53, 141, 193), (93, 191, 171)]
        for name, tol in (("icc_adobergb.png", 1), ("icc_adobergb.jpg", 4)):
            d = decoded[name]
            for i, want in enumerate(srgb):
                got = d.px((i % 4) * 48 + 24, (i // 4) * 48 + 24)
                check(near(got, want, tol), f"{name} patch {i}: {got} != {want} (+-{tol})")

        # CMYK converted: patch centres near the RGB colours they were made from.
        source = [(230, 20, 20), (20, 200, 40), (20, 40, 220), (0, 200, 220),
                  (220, 0, 180), (250, 230, 0), (20, 20, 20), (250, 250, 250),
                  (128, 128, 128), (250, 140, 0), (224, 172, 140), (90, 40, 120)]
        for name in ("cmyk.jpg", "cmyk_plain.jpg"):
            d = decoded[name]
            for i, want in enumerate(source):
                got = d.px((i % 4) * 64 + 32, (i // 4) * 64 + 32)
                check(near(got, want, 12), f"{name} patch {i}: {got} vs source {want}")
        m = json.loads(oracle("mae", IMAGES / "cmyk.jpg", IMAGES / "cmyk_plain.jpg").stdout)
        check(m["mean"] < 2, f"cmyk.jpg vs cmyk_plain.jpg: {m}")

        # Alpha composited over white.
        check(decoded["alpha.png"].px(0, 0) == (255, 255, 255), "alpha.png corner is white")
        d16 = decoded["deep16.png"]
        check(d16.px(64, 2) != d16.px(64, 93), "deep16.png: alpha ramp changes the composite")

        # HEIC and AVIF come from the same picture.
        m = json.loads(oracle("mae", IMAGES / "photo.heic", IMAGES / "photo.avif").stdout)
        check(m["mean"] < 8, f"photo.heic vs photo.avif: {m}")

        # mae refuses different sizes.
        p = oracle("mae", IMAGES / "phone.jpg", IMAGES / "photo.jpg", ok=False)
        check(p.returncode == 1 and "sizes differ" in p.stderr, f"mae of different sizes: {p.returncode} {p.stderr}")

    # Container facts Pillow does not report.
    check(png_ihdr("deep16.png") == {"depth": 16, "color_type": 6, "interlace": 0}, "deep16.png is 16-bit RGBA")
    check(png_ihdr("interlaced.png")["interlace"] == 1, "interlaced.png is Adam7")
    check(png_ihdr("palette.png")["color_type"] == 3, "palette.png is a palette PNG")
    check((IMAGES / "cmyk.jpg").read_bytes().find(b"Adobe") > 0, "cmyk.jpg has an Adobe marker")

    if table:
        print("| file | format | displayed | stored | orientation | mode | frames | ICC |")
        print("|---|---|---|---|---|---|---|---|")
        for name, i in rows:
            print(f"| `{name}` | {i['format']} | {i['width']}x{i['height']} | {i['stored_width']}x{i['stored_height']} "
                  f"| {i['orientation']} | {i['mode']} | {i['frames']} | {'yes' if i['has_icc'] else 'no'} |")
    print(f"oracle self-check: {len(names)} samples, {len(failures)} failures", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
