"""Images through the official Python SDK client, over stdio and Streamable HTTP, both eras:
image_transform returns an image that Pillow decodes to the size structuredContent states, fit
for a model by default, and a resources/read of its derived URI gives the same bytes."""
import base64
import io

import pytest
from mcp import Client
from PIL import Image

from conftest import SAMPLES, client

pytestmark = pytest.mark.anyio

IMAGES = sorted(
    p for p in (SAMPLES / "images").iterdir()
    if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp", ".ico", ".qoi"}
)


def uri_of(path) -> str:
    from urllib.parse import quote
    return "media://samples/" + quote(str(path.relative_to(SAMPLES)))


async def check_transform(c, path, args=None):
    res = await c.call_tool("image_transform", {"uri": uri_of(path), **(args or {})})
    assert not res.is_error, (path, res.content)
    sc = res.structured_content
    blocks = [b for b in res.content if b.type == "image"]
    assert len(blocks) == 1
    raw = base64.b64decode(blocks[0].data)
    assert blocks[0].mime_type == sc["mimeType"]
    img = Image.open(io.BytesIO(raw))
    assert img.size == (sc["width"], sc["height"]), path
    assert len(raw) == sc["bytes"]
    read = await c.read_resource(sc["uri"])
    assert base64.b64decode(read.contents[0].blob) == raw, f"derived read of {sc['uri']} differs"
    return sc, img, raw


async def test_every_sample_image_is_fit_for_a_model_over_stdio(mode):
    async with client(mode) as c:
        for path in IMAGES:
            sc, img, raw = await check_transform(c, path)
            assert max(img.size) <= 1568, path
            assert sc["width"] <= sc["sourceWidth"] and sc["height"] <= sc["sourceHeight"], path
            assert len(base64.b64encode(raw)) <= 1024 * 1024, path


async def test_resize_and_format_over_http(http_server, mode):
    async with Client(http_server + "/mcp", mode=mode, raise_exceptions=True) as c:
        photo = SAMPLES / "images" / "photo.jpg"
        sc, img, _ = await check_transform(c, photo, {"max_width": 200, "format": "png"})
        assert img.format == "PNG" and sc["format"] == "png"
        assert sc["width"] == 200
        # photo.jpg is stored 640x480 with EXIF orientation 6: displayed 480x640.
        assert abs(sc["height"] - 200 * 640 / 480) <= 1
