"""Video through the official Python SDK client, over stdio and Streamable HTTP, both eras:
video_frames returns images Pillow decodes to the sizes structuredContent states (and their
derived URIs read back byte-identical), video_storyboard one image within the model budget, and
video_clip a resource_link for the user whose resources/read is an MP4 ffprobe plays at the
requested duration and height."""
import base64
import io
import json
import subprocess
import tempfile

import pytest
from mcp import Client
from PIL import Image

from conftest import client

pytestmark = pytest.mark.anyio

MP4 = "media://samples/video/clip_h264_aac.mp4"
WEBM = "media://samples/video/clip_vp9_opus.webm"
PHONE = "media://samples/video/phone_rotated.mp4"


async def check_frames(c, uri, args=None):
    res = await c.call_tool("video_frames", {"uri": uri, **(args or {})})
    assert not res.is_error, res.content
    sc = res.structured_content
    images = [b for b in res.content if b.type == "image"]
    inline = [f for f in sc["frames"] if f["inline"]]
    assert len(images) == len(inline)
    for block, f in zip(images, inline):
        raw = base64.b64decode(block.data)
        assert Image.open(io.BytesIO(raw)).size == (f["width"], f["height"])
        assert len(raw) == f["bytes"]
        read = await c.read_resource(f["uri"])
        assert base64.b64decode(read.contents[0].blob) == raw, f"derived read of {f['uri']} differs"
    return sc


async def check_storyboard(c, uri):
    res = await c.call_tool("video_storyboard", {"uri": uri, "count": 9})
    assert not res.is_error, res.content
    sc = res.structured_content
    [block] = [b for b in res.content if b.type == "image"]
    raw = base64.b64decode(block.data)
    assert len(base64.b64encode(raw)) <= 1024 * 1024
    img = Image.open(io.BytesIO(raw))
    assert img.size == (sc["width"], sc["height"]) and max(img.size) <= 1568
    assert len(sc["frames"]) == 9
    read = await c.read_resource(sc["uri"])
    assert base64.b64decode(read.contents[0].blob) == raw


async def check_clip(c, uri, height):
    res = await c.call_tool("video_clip", {"uri": uri, "start": 0.5, "duration": 1.0, "max_height": height})
    assert not res.is_error, res.content
    [link] = [b for b in res.content if b.type == "resource_link"]
    assert link.mime_type == "video/mp4"
    assert link.annotations.audience == ["user"]
    read = await c.read_resource(str(link.uri))
    data = base64.b64decode(read.contents[0].blob)
    assert read.contents[0].mime_type == "video/mp4"
    with tempfile.NamedTemporaryFile(suffix=".mp4") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                              "stream=height:format=duration", "-of", "json", f.name],
                             check=True, capture_output=True)
    facts = json.loads(out.stdout)
    assert abs(float(facts["format"]["duration"]) - 1.0) <= 0.1
    assert facts["streams"][0]["height"] == height


async def test_frames_storyboard_and_clip_over_stdio(mode):
    async with client(mode) as c:
        sc = await check_frames(c, MP4, {"count": 3})
        assert [f["requested"] for f in sc["frames"]] == pytest.approx([1 / 3, 1, 5 / 3], abs=1e-3)
        sc = await check_frames(c, PHONE, {"times": [0.5]})
        assert (sc["frames"][0]["width"], sc["frames"][0]["height"]) == (270, 480)
        await check_storyboard(c, MP4)
        await check_clip(c, MP4, 120)


async def test_frames_storyboard_and_clip_over_http(http_server, mode):
    async with Client(http_server + "/mcp", mode=mode, raise_exceptions=True) as c:
        await check_frames(c, WEBM, {"times": [0.2, 1.2], "max_width": 160})
        await check_storyboard(c, WEBM)
        await check_clip(c, WEBM, 180)
