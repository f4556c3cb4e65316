"""Makes the image samples that need Pillow (called by generate.sh; run from samples/).

Synthetic and licence-clean: drawn shapes, gradients and seeded noise; the one ICC profile is
Debian's icc-profiles-free `compatibleWithAdobeRGB1998.icc` (zlib licence). Needs Pillow >= 11
(QOI and AVIF writing), ImageMagick at /usr/bin/convert, exiftool, img2webp and heif-enc.
Knows nothing of the server: it only writes files under images/.
"""

import math
import random
import subprocess
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

IMG = Path("images")
CONVERT = "/usr/bin/convert"  # /usr/local/bin/convert may be an unrelated shim
ICC_ADOBE = Path("/usr/share/color/icc/compatibleWithAdobeRGB1998.icc")
TMP = Path("images/.tmp")


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def mix(a, b, mask):
    """Per-pixel blend of two colours (or images) by an L mask (255 = b)."""
    size = mask.size
    ia = a if isinstance(a, Image.Image) else Image.new("RGB", size, a)
    ib = b if isinstance(b, Image.Image) else Image.new("RGB", size, b)
    return Image.composite(ib, ia, mask)


def vgrad(w, h):
    """An L image going 0 (top) to 255 (bottom)."""
    return Image.linear_gradient("L").resize((w, h), Image.BILINEAR)


def scene(w, h, seed):
    """A portrait landscape: sky, sun glow, hills, a town with lit windows, a lake, trees."""
    rnd = random.Random(seed)
    horizon = int(h * 0.52)
    sky = mix((38, 86, 168), (206, 222, 236), vgrad(w, horizon))
    img = Image.new("RGB", (w, h))
    img.paste(sky, (0, 0))
    # Sun glow near the top right.
    glow = ImageChops.invert(Image.radial_gradient("L").resize((w, w)))
    glow = glow.point(lambda v: max(0, (v - 128) * 2))
    layer = Image.new("RGB", (w, h), (255, 226, 150))
    mask = Image.new("L", (w, h), 0)
    mask.paste(glow, (int(w * 0.24), -int(w * 0.32)))  # centred on the sun
    img = Image.composite(layer, img, mask)
    d = ImageDraw.Draw(img)
    d.ellipse([w * 0.68, h * 0.09, w * 0.80, h * 0.09 + w * 0.12], fill=(255, 244, 214))
    # Clouds: soft white ellipses.
    clouds = Image.new("L", (w, h), 0)
    dc = ImageDraw.Draw(clouds)
    for _ in range(40):
        cx, cy = rnd.uniform(0, w), rnd.uniform(h * 0.05, h * 0.35)
        rx, ry = rnd.uniform(80, 320), rnd.uniform(30, 90)
        dc.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=rnd.randint(90, 200))
    clouds = clouds.filter(ImageFilter.GaussianBlur(30))
    img = Image.composite(Image.new("RGB", (w, h), (250, 250, 252)), img, clouds)
    d = ImageDraw.Draw(img)
    # Three ranges of hills, far (blue-grey) to near (green).
    for k, (base, col) in enumerate([(0.44, (96, 116, 140)), (0.49, (70, 110, 80)), (0.55, (52, 96, 48))]):
        pts = [(0, h)]
        y0 = h * base
        a1, a2, p1, p2 = rnd.uniform(40, 120), rnd.uniform(10, 50), rnd.uniform(0, 6), rnd.uniform(0, 6)
        for x in range(0, w + 16, 16):
            y = y0 - a1 * math.sin(x / w * 3.1 * (k + 1) + p1) - a2 * math.sin(x / w * 17 + p2)
            pts.append((x, y))
        pts.append((w, h))
        d.polygon(pts, fill=col)
    # Ground: a gradient from the near hills' green to a warm brown at the bottom.
    gy = int(h * 0.58)
    ground = mix((58, 104, 50), (120, 92, 60), vgrad(w, h - gy))
    img.paste(ground, (0, gy))
    d = ImageDraw.Draw(img)
    # Grass: short strokes in varying greens and browns.
    for _ in range(6000):
        gx, gy2 = rnd.uniform(0, w), rnd.uniform(gy, h)
        ln = (gy2 / h) ** 2 * rnd.uniform(8, 40)
        c = (rnd.randint(40, 110), rnd.randint(80, 140), rnd.randint(30, 60))
        d.line([gx, gy2, gx + rnd.uniform(-ln, ln) * 0.4, gy2 - ln], fill=c, width=2)
    # A town on the middle hill: buildings with windows (high-frequency detail).
    x = int(w * 0.05)
    while x < w * 0.95:
        bw, bh = rnd.randint(90, 260), rnd.randint(180, 700)
        top = int(h * 0.56) - bh
        grey = rnd.randint(110, 200)
        d.rectangle([x, top, x + bw, int(h * 0.58)], fill=(grey, grey - 8, grey - 20), outline=(40, 40, 40), width=3)
        for wy in range(top + 20, int(h * 0.56) - 20, 34):
            for wx in range(x + 14, x + bw - 24, 28):
                lit = rnd.random() < 0.35
                d.rectangle([wx, wy, wx + 14, wy + 20], fill=(255, 214, 120) if lit else (52, 60, 74))
        x += bw + rnd.randint(4, 40)
    # A lake with a sky-coloured gradient and ripples.
    lake = Image.new("L", (w, h), 0)
    ImageDraw.Draw(lake).ellipse([w * 0.08, h * 0.66, w * 0.92, h * 0.80], fill=255)
    water = mix((150, 180, 210), (30, 70, 120), vgrad(w, h))
    img = Image.composite(water, img, lake)
    d = ImageDraw.Draw(img)
    for _ in range(160):
        cx, cy = rnd.uniform(w * 0.15, w * 0.85), rnd.uniform(h * 0.675, h * 0.79)
        ln = rnd.uniform(30, 160)
        d.line([cx - ln, cy, cx + ln, cy], fill=(200, 220, 240), width=3)
    # Trees in the foreground: trunks and layered crowns.
    for _ in range(70):
        cx, cy = rnd.uniform(0, w), rnd.uniform(h * 0.6, h * 0.98)
        if w * 0.1 < cx < w * 0.9 and h * 0.65 < cy < h * 0.81:
            continue
        s = (cy / h) ** 2 * rnd.uniform(90, 200)
        d.rectangle([cx - s * 0.08, cy, cx + s * 0.08, cy + s * 0.9], fill=(80, 56, 34))
        for j in range(3):
            g = rnd.randint(60, 120)
            r = s * (0.8 - j * 0.2)
            oy = cy - j * s * 0.35
            d.ellipse([cx - r, oy - r, cx + r, oy + r * 0.7], fill=(30 + j * 10, g, 30 + j * 5))
    # A red kite in the sky: a marker that shows which way is up.
    kx, ky = w * 0.22, h * 0.16
    d.polygon([(kx, ky - 160), (kx + 90, ky), (kx, ky + 200), (kx - 90, ky)], fill=(210, 30, 40))
    d.line([(kx, ky + 200), (kx + 300, h * 0.5)], fill=(40, 40, 40), width=4)
    # Lens softness and sensor noise (seeded, per channel, +-amp).
    img = img.filter(ImageFilter.GaussianBlur(1.4))
    amp = 5
    noise = Image.frombytes("RGB", (w, h), rnd.randbytes(w * h * 3)).point(lambda v: v * (2 * amp + 1) // 256)
    img = ImageChops.subtract(ImageChops.add(img, noise), Image.new("RGB", (w, h), (amp, amp, amp)))
    return img


def phone():
    # Drawn upright (3024x4032), stored rotated 90 degrees counter-clockwise (4032x3024) as a
    # phone held upright does; EXIF Orientation 6 ("rotate 90 CW to display") turns it back.
    upright = scene(3024, 4032, seed=12)
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    assert stored.size == (4032, 3024)
    out = IMG / "phone.jpg"
    stored.save(out, quality=92, subsampling="4:2:0", optimize=False)
    run(
        "exiftool", "-q", "-overwrite_original", "-n",
        "-Orientation=6", "-Make=mcp-media", "-Model=Synthetic Phone",
        "-DateTimeOriginal=2024:06:21 18:42:07", "-CreateDate=2024:06:21 18:42:07",
        "-OffsetTimeOriginal=+02:00",
        "-ExifImageWidth=4032", "-ExifImageHeight=3024",
        # The Eiffel Tower, Paris.
        "-GPSLatitude=48.858222", "-GPSLatitudeRef=N",
        "-GPSLongitude=2.2945", "-GPSLongitudeRef=E",
        "-GPSAltitude=35", "-GPSAltitudeRef=0",
        out,
    )


def patches(colors, cols, cell):
    rows = (len(colors) + cols - 1) // cols
    img = Image.new("RGB", (cols * cell, rows * cell), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for i, c in enumerate(colors):
        x, y = (i % cols) * cell, (i // cols) * cell
        d.rectangle([x, y, x + cell - 1, y + cell - 1], fill=c)
    return img


PATCHES = [
    (230, 20, 20), (20, 200, 40), (20, 40, 220), (0, 200, 220),
    (220, 0, 180), (250, 230, 0), (20, 20, 20), (250, 250, 250),
    (128, 128, 128), (250, 140, 0), (224, 172, 140), (90, 40, 120),
]


def cmyk():
    # Adobe (Photoshop-style) CMYK JPEGs, both with inverted CMYK values and an APP14 marker:
    # ImageMagick codes them as YCCK (Adobe transform 2); Pillow as plain CMYK (transform 0).
    src = TMP / "patches.png"
    patches(PATCHES, 4, 64).save(src)
    run(CONVERT, src, "-colorspace", "CMYK", "-quality", "92", "-strip", IMG / "cmyk.jpg")
    tif = TMP / "cmyk.tif"
    run(CONVERT, src, "-colorspace", "CMYK", "-compress", "none", "-strip", tif)
    with Image.open(tif) as im:
        assert im.mode == "CMYK"
        im.save(IMG / "cmyk_plain.jpg", quality=92)


def icc():
    # Patches whose values mean Adobe RGB (1998). Converted to sRGB (LittleCMS, relative
    # colorimetric): pure red and grey stay (the red primaries are the same); the greens and
    # blue-cyans move by 19 to 100 levels, two of them past sRGB's gamut (red clips to 0).
    # One PNG (iCCP, lossless) and one JPEG (APP2 ICC_PROFILE).
    prof = ICC_ADOBE.read_bytes()
    img = patches([(255, 0, 0), (128, 128, 128), (40, 180, 60), (100, 200, 150),
                   (150, 200, 150), (180, 120, 90), (90, 140, 190), (130, 190, 170)], 4, 48)
    img.save(IMG / "icc_adobergb.png", icc_profile=prof)
    img.save(IMG / "icc_adobergb.jpg", icc_profile=prof, quality=95, subsampling="4:4:4")


def deep16():
    # 16-bit RGBA: smooth 16-bit gradients (8 bits would band) and an alpha ramp.
    run(
        CONVERT, "-size", "128x96", "gradient:#102040-#f0c080",
        "(", "-size", "96x128", "gradient:white-#00000020", "-rotate", "90", ")",
        "-alpha", "off", "-compose", "CopyOpacity", "-composite",
        "-depth", "16", "-define", "png:color-type=6", "-define", "png:bit-depth=16",
        "-define", "png:exclude-chunks=date,time", "PNG64:" + str(IMG / "deep16.png"),
    )


def anim_webp():
    frames = []
    for i, (bg, fg) in enumerate([((200, 40, 40), (255, 255, 255)), ((40, 160, 60), (0, 0, 0)),
                                  ((40, 60, 200), (255, 220, 0)), ((240, 240, 240), (200, 0, 160))]):
        img = Image.new("RGB", (96, 64), bg)
        d = ImageDraw.Draw(img)
        d.ellipse([8 + i * 18, 14, 40 + i * 18, 46], fill=fg)
        p = TMP / f"frame{i}.png"
        img.save(p)
        frames.append(p)
    run("img2webp", "-loop", "0", "-d", "250", "-lossy", "-q", "80", *frames, "-o", IMG / "anim.webp")


def heif():
    # A 640x480 view of the phone scene (a phone's HEIC; no EXIF rotation here).
    small = scene(480, 640, seed=3).transpose(Image.Transpose.ROTATE_90).resize((640, 480))
    src = TMP / "heif_src.png"
    small.save(src)
    run("heif-enc", "-q", "50", "-o", IMG / "photo.heic", src)
    run("heif-enc", "-A", "-q", "50", "-o", IMG / "photo.avif", src)


def small_formats():
    base = scene(120, 160, seed=5).transpose(Image.Transpose.ROTATE_90)  # 160x120, photo-like
    base.save(IMG / "progressive.jpg", quality=85, progressive=True, optimize=True)
    base.convert("L").save(IMG / "gray.jpg", quality=85)
    base.save(IMG / "picture.bmp")
    base.save(IMG / "picture.qoi")
    base.save(IMG / "lossless.webp", lossless=True)
    base.quantize(16).save(IMG / "palette.png", optimize=True)  # 16-colour palette PNG (type 3)
    src = TMP / "interlaced_src.png"
    base.save(src)
    run(CONVERT, src, "-interlace", "PNG", "-define", "png:exclude-chunks=date,time", IMG / "interlaced.png")
    icon = patches(PATCHES[:4], 2, 32).convert("RGBA")  # 64x64, four quadrants
    ImageDraw.Draw(icon).ellipse([4, 4, 59, 59], outline=(0, 0, 0, 255), width=3)
    icon.save(IMG / "icon.ico", sizes=[(16, 16), (32, 32), (64, 64)])


def main():
    TMP.mkdir(parents=True, exist_ok=True)
    try:
        phone()
        cmyk()
        icc()
        deep16()
        anim_webp()
        heif()
        small_formats()
    finally:
        for p in TMP.iterdir():
            p.unlink()
        TMP.rmdir()


if __name__ == "__main__":
    main()
