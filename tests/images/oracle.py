#!/usr/bin/env python3
"""Independent image oracle for the Rust integration tests: what Pillow says an image is and
what its pixels are, so our decoder is checked against a second implementation.

  oracle.py info FILE        -> {"format", "width", "height", "stored_width", "stored_height",
                                 "orientation", "mode", "frames", "has_icc"}
                                (width/height as displayed, after ImageOps.exif_transpose)
  oracle.py decode FILE OUT  -> writes the displayed image (first frame) as raw 8-bit sRGB RGB,
                                row-major, no header; prints {"width", "height"}
  oracle.py mae A B          -> decodes both as above (sizes must match) and prints the mean
                                absolute error per channel on 0..255: {"r", "g", "b", "mean"}

Decoding rules (the ones the server must also follow): EXIF orientation applied; an embedded
ICC profile converted to sRGB with LittleCMS (ImageCms, relative colorimetric intent);
CMYK (Adobe/inverted, as Pillow reads it) to RGB by Pillow's (255-C)(255-K)/255; 16-bit samples
reduced to 8 bits by Pillow (it keeps the high byte); alpha composited over white. HEIC/HEIF,
which Pillow cannot read, goes through libheif's `heif-convert` to a temporary PNG.

Needs Pillow >= 11.2 (AVIF, QOI). Errors: a message on stderr and exit status 1 (2 for usage).
Knows nothing of the server.
"""

import io
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageChops, ImageCms, ImageOps, ImageStat

HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def is_heif(path):
    with open(path, "rb") as f:
        head = f.read(12)
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def open_image(path, tmp):
    """Opens FILE with Pillow; HEIC/HEIF through heif-convert. Returns (image, format name)."""
    if is_heif(path):
        png = os.path.join(tmp, "heif.png")
        subprocess.run(
            ["heif-convert", path, png], check=True, stdout=subprocess.DEVNULL, timeout=60
        )
        im = Image.open(png)
        im.load()
        return im, "HEIF"
    im = Image.open(path)
    return im, im.format


def orientation_of(im):
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block means no orientation, as for the server
        return 1


def info(path):
    with tempfile.TemporaryDirectory() as tmp:
        im, fmt = open_image(path, tmp)
        stored = im.size
        shown = ImageOps.exif_transpose(im).size
        return {
            "format": fmt,
            "width": shown[0],
            "height": shown[1],
            "stored_width": stored[0],
            "stored_height": stored[1],
            "orientation": orientation_of(im),
            "mode": im.mode,
            "frames": getattr(im, "n_frames", 1),
            "has_icc": bool(im.info.get("icc_profile")),
        }


SRGB = ImageCms.createProfile("sRGB")


def to_srgb(im):
    """The displayed first frame as 8-bit sRGB RGB, alpha composited over white."""
    icc = im.info.get("icc_profile")
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey: Pillow's convert would clip, so scale 0..65535 to 0..255 first.
        im = im.convert("I").point(lambda v: v * (1 / 257) + 0.5).convert("L")
    alpha = None
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    ):
        im = im.convert("RGBA")
        alpha = im.getchannel("A")
        im = im.convert("RGB")
    elif im.mode == "P":
        im = im.convert("RGB")
    if icc:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode not in ("RGB", "CMYK", "L"):
            im = im.convert("RGB")
        im = ImageCms.profileToProfile(
            im,
            src,
            SRGB,
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode="RGB",
        )
    im = im.convert("RGB")
    if alpha is not None:
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        rgba = im.copy()
        rgba.putalpha(alpha)
        im = Image.alpha_composite(white, rgba).convert("RGB")
    return im


def decode(path):
    with tempfile.TemporaryDirectory() as tmp:
        im, _ = open_image(path, tmp)
        out = to_srgb(im)
        out.load()
        return out


def mae(a, b):
    ia, ib = decode(a), decode(b)
    if ia.size != ib.size:
        raise ValueError(f"sizes differ: {a} is {ia.size}, {b} is {ib.size}")
    r, g, b_ = ImageStat.Stat(ImageChops.difference(ia, ib)).mean
    return {"r": r, "g": g, "b": b_, "mean": (r + g + b_) / 3}


def main(argv):
    if len(argv) == 3 and argv[1] == "info":
        result = info(argv[2])
    elif len(argv) == 4 and argv[1] == "decode":
        im = decode(argv[2])
        with open(argv[3], "wb") as f:
            f.write(im.tobytes())
        result = {"width": im.size[0], "height": im.size[1]}
    elif len(argv) == 4 and argv[1] == "mae":
        result = mae(argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # one line for the calling test, not a traceback
        print(f"oracle: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
