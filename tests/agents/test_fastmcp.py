"""fastmcp's Client (the layer fastmcp agents and pydantic-ai-style toolsets call) against
mcp-media over stdio and Streamable HTTP. fastmcp 4.2 with mcp 2.x negotiates 2026-07-28."""
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport, StreamableHttpTransport

from conftest import BIN, launch

pytestmark = pytest.mark.anyio

TONE = "media://samples/audio/tone.wav"


def client(kind, target) -> Client:
    if kind == "stdio":
        return Client(StdioTransport(BIN, target))
    return Client(StreamableHttpTransport(target))


async def test_probe_before_listing_tools(transport):
    """The first request is tools/call: over HTTP no Mcp-Param-* header can be known."""
    with launch(transport) as (kind, target):
        async with client(kind, target) as c:
            assert c.protocol_version == "2026-07-28"
            r = await c.call_tool("media_probe", {"uri": TONE})
            assert r.structured_content["audio"]["channelLayout"] == "stereo"
            assert r.structured_content["audio"]["channelNames"] == ["FL", "FR"]
            tools = {t.name: t for t in await c.list_tools()}
            assert {"media_list", "media_probe", "audio_transcode", "audio_spectrogram"} <= tools.keys()
            assert "x-mcp-header" not in str(tools["media_probe"].input_schema)


async def test_strict_mode_arguments(transport):
    """"" and None for every optional argument, as strict-schema clients send them."""
    with launch(transport) as (kind, target):
        async with client(kind, target) as c:
            plain = await c.call_tool("media_list", {})
            for args in ({"kind": "", "glob": "", "root": "", "cursor": "", "limit": None},
                         {"kind": None, "glob": None, "root": None, "cursor": None, "limit": None}):
                r = await c.call_tool("media_list", args)
                assert not r.is_error
                assert r.structured_content["total"] == plain.structured_content["total"] > 20
            r = await c.call_tool("media_list", {"kind": "audio", "glob": "", "root": None, "cursor": "", "limit": None})
            assert all(i["kind"] == "audio" for i in r.structured_content["items"])


async def test_prompt_text_by_default_and_embedded_on_request(transport):
    with launch(transport) as (kind, target):
        async with client(kind, target) as c:
            p = await c.get_prompt("describe_media", {"uri": TONE})
            assert [m.content.type for m in p.messages] == ["text"]
            assert TONE in p.messages[0].content.text
            p = await c.get_prompt("describe_media", {"uri": TONE, "embed": "resource"})
            assert [m.content.type for m in p.messages] == ["text", "resource"]
            assert str(p.messages[1].content.resource.uri) == TONE


async def test_resources_all_pages(transport):
    """With --page-size 5 the list takes several pages; fastmcp follows every cursor."""
    with launch(transport) as (kind, target):
        async with client(kind, target) as c:
            whole = [str(r.uri) for r in await c.list_resources()]
            first = await c.list_resources_mcp()
            assert first.next_cursor is None, "the default page holds the whole sample library"
    with launch(transport, "--page-size", "5") as (kind, target):
        async with client(kind, target) as c:
            first = await c.list_resources_mcp()
            assert len(first.resources) == 5 and first.next_cursor
            paged = [str(r.uri) for r in await c.list_resources()]
    assert len(whole) > 20
    assert paged == whole
