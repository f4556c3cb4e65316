"""Makes the decode fixtures and PIL's reference decodings of them.

Run from this directory with Pillow 13 (python3 -m venv /tmp/venv-img &&
/tmp/venv-img/bin/pip install pillow numpy), with Debian's libgs-common (CMYK profile) and
icc-profiles-free (Adobe RGB profile) installed:

    /tmp/venv-img/bin/python gen.py

ref_*.png is what PIL gives: Image.open, ImageCms.profileToProfile(im, embedded, sRGB,
outputMode='RGB' or 'RGBA') when a profile is embedded, ImageOps.exif_transpose, convert('RGB').
"""

import io
import subprocess

from PIL import Image, ImageCms, ImageOps

W, H = 48, 32
CMYK_ICC = "/usr/share/color/icc/ghostscript/default_cmyk.icc"
ADOBE_ICC = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"


def base():
    im = Image.new("RGB", (W, H))
    px = im.load()
    for y in range(H):
        for x in range(W):
            px[x, y] = (x * 255 // (W - 1), y * 255 // (H - 1), (x * 7 + y * 13) % 256)
    # Saturated patches (where profiles differ most), on a 4 px grid so JPEG keeps them.
    patches = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    for i, c in enumerate(patches):
        for y in range(0, 8):
            for x in range(i * 8, i * 8 + 8):
                px[x, y] = c
    return im


def srgb(im):
    icc = im.info.get("icc_profile")
    if icc:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if im.mode == "RGBA" else "RGB"
        im = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode=mode)
    im = ImageOps.exif_transpose(im)
    return im if im.mode == "RGBA" else im.convert("RGB")


def ref(name):
    im = Image.open(name)
    srgb(im).save("ref_" + name.rsplit(".", 1)[0] + ".png")


b = base()
b.save("base.png")

cmyk = b.convert("CMYK")
cmyk.save("cmyk_adobe.jpg", quality=95)
ref("cmyk_adobe.jpg")
cmyk.save("cmyk_icc.jpg", quality=95, icc_profile=open(CMYK_ICC, "rb").read())
ref("cmyk_icc.jpg")

b.save("adobergb.jpg", quality=95, icc_profile=open(ADOBE_ICC, "rb").read())
ref("adobergb.jpg")
a = b.convert("RGBA")
a.putalpha(Image.linear_gradient("L").resize((W, H)))
a.save("adobergb_alpha.png", icc_profile=open(ADOBE_ICC, "rb").read())
ref("adobergb_alpha.png")

exif = Image.Exif()
exif[0x0112] = 6
b.save("orient6.jpg", quality=95, exif=exif.tobytes())
ref("orient6.jpg")

# 16-bit, interlaced PNG and progressive JPEG by ImageMagick (always /usr/bin/convert).
subprocess.run(["/usr/bin/convert", "base.png", "-depth", "16", "PNG48:rgb16.png"], check=True)
subprocess.run(["/usr/bin/convert", "base.png", "-interlace", "PNG", "interlaced.png"], check=True)
subprocess.run(["/usr/bin/convert", "base.png", "-quality", "95", "-interlace", "JPEG",
                "progressive.jpg"], check=True)
ref("progressive.jpg")
subprocess.run(["/usr/bin/convert", "base.png", "-depth", "16", "-compress", "LZW",
                "lzw16.tif"], check=True)

# Animations: 6 frames of solid colours, red channel 0, 50, ..., 250.
frames = [Image.new("RGB", (W, H), (i * 50, 100, 200)) for i in range(6)]
frames[0].save("anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
frames[0].save("anim.webp", save_all=True, append_images=frames[1:], duration=100, loop=0,
               lossless=True)

# Palette PNG, lossy WebP (PIL's libwebp decode is the reference).
subprocess.run(["/usr/bin/convert", "base.png", "PNG8:palette.png"], check=True)
b.save("lossy.webp", quality=90)
ref("lossy.webp")

# EXIF with camera, date and GPS (52 22' 12.5" N, 4 53' 30" W, 12.5 m).
e = Image.Exif()
e[0x010F] = "Acme"
e[0x0110] = "Phone 12"
e.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
e.get_ifd(0x8825).update({1: "N", 2: (52.0, 22.0, 12.5), 3: "W", 4: (4.0, 53.0, 30.0),
                          5: b"\x00", 6: 12.5})
b.save("gps.jpg", quality=80, exif=e)

ref("palette.png")
# The CMYK profile through relative colorimetric intent (moxcms's result for any intent with
# this profile; PIL's default above is perceptual, which LittleCMS handles differently).
im = Image.open("cmyk_icc.jpg")
src = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode="RGB",
                          renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
                          ).save("ref_cmyk_icc_relative.png")
