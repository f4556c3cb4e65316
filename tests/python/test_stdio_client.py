"""The official Python SDK client against the real server over stdio, in both protocol eras."""
import base64
import pathlib
import shutil

import pytest
from mcp import MCPError

from conftest import SAMPLES, client

pytestmark = pytest.mark.anyio


async def all_resources(c):
    out, cursor = [], None
    while True:
        page = await c.list_resources(cursor=cursor)
        out.extend(page.resources)
        cursor = page.next_cursor
        if not cursor:
            return out


async def test_era_negotiation(mode):
    async with client(mode) as c:
        expected = "2026-07-28" if mode == "auto" else "2025-11-25"
        assert c.protocol_version == expected
        assert c.server_info.name == "local.mcp-media/mcp-media"
        tools = {t.name for t in (await c.list_tools()).tools}
        assert {"media_list", "media_probe"} <= tools


async def test_list_paginates_and_read_matches_bytes(mode):
    async with client(mode, "--page-size", "3") as c:
        resources = await all_resources(c)
        assert len(resources) >= 10, [r.uri for r in resources]
        uris = [str(r.uri) for r in resources]
        assert uris == sorted(uris, key=lambda u: u.encode())
        for r in resources[:8]:
            assert r.size and r.mime_type and r.name
            rel = str(r.title).split("/", 1)[1]
            data = (SAMPLES / rel).read_bytes()
            assert r.size == len(data)
            read = await c.read_resource(str(r.uri))
            blob = read.contents[0].blob
            assert base64.b64decode(blob) == data, r.uri


async def test_probe_image_and_list_filters(mode):
    async with client(mode) as c:
        res = await c.call_tool("media_list", {"kind": "image", "limit": 100})
        assert not res.is_error
        sc = res.structured_content
        assert sc["total"] >= 1 and all(i["kind"] == "image" for i in sc["items"])
        png = next(i for i in sc["items"] if i["mimeType"] == "image/png")
        probe = await c.call_tool("media_probe", {"uri": png["uri"]})
        assert not probe.is_error
        img = probe.structured_content["image"]
        assert img["width"] > 0 and img["height"] > 0 and img["format"] == "png"


async def test_traversal_and_bad_input_are_refused_and_server_keeps_serving(mode):
    async with client(mode) as c:
        for uri in ["media://samples/../Cargo.toml", "media://samples/%2e%2e/Cargo.toml", "file:///etc/passwd", "media://samples/nope.wav"]:
            with pytest.raises(MCPError) as e:
                await c.read_resource(uri)
            assert e.value.code in (-32602, -32002)
        res = await c.call_tool("media_probe", {"uri": "media://samples/../../etc/passwd"})
        assert res.is_error
        res = await c.call_tool("media_probe", {"uri": "media://samples/bad/empty.wav"})
        assert res.is_error
        assert (await c.list_tools()).tools


async def test_symlink_escape_refused(mode, tmp_path: pathlib.Path):
    root = tmp_path / "lib"
    root.mkdir()
    shutil.copy(next(SAMPLES.rglob("*.png")), root / "ok.png")
    (tmp_path / "secret.png").write_bytes((root / "ok.png").read_bytes())
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    async with client(mode, root=root) as c:
        uris = [str(r.uri) for r in await all_resources(c)]
        assert uris == ["media://lib/ok.png"]
        with pytest.raises(MCPError):
            await c.read_resource("media://lib/link.png")
        assert (await c.read_resource("media://lib/ok.png")).contents


async def test_audio_transcode_progress_then_chunk_wav(mode):
    """Progress notifications arrive before the result; a chunk URI reads as a WAV whose
    header says the requested rate and channels."""
    import struct

    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    async with client(mode) as c:
        res = await c.call_tool(
            "audio_transcode",
            {"uri": "media://samples/audio/tone.mp3", "sample_rate": 16000, "channels": 1, "chunk_seconds": 1},
            progress_callback=on_progress,
        )
        assert not res.is_error
        sc = res.structured_content
        assert len(sc["chunks"]) == 3 and sc["sampleRate"] == 16000
        assert [round(p) for p, _, _ in seen] == [1, 2, 3]
        # Both eras (2026-07-28 and 2025-11-25) have resource_link.
        links = [b for b in res.content if b.type == "resource_link"]
        assert len(links) == 3 and all(l.mime_type == "audio/wav" for l in links)
        read = await c.read_resource(sc["chunks"][1]["uri"])
        wav = base64.b64decode(read.contents[0].blob)
        assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
        channels, rate = struct.unpack("<HI", wav[22:28])
        assert (channels, rate) == (1, 16000)
        assert len(wav) == sc["chunks"][1]["size"]
