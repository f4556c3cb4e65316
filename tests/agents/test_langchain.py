"""langchain-mcp-adapters (MultiServerMCPClient: LangChain tools, prompts as messages,
resources as blobs) against mcp-media over stdio and Streamable HTTP. It pins mcp 1.x, so it
negotiates the legacy era (2025-11-25, initialize)."""
import pytest
from langchain_mcp_adapters.client import MultiServerMCPClient

from conftest import BIN, launch

pytestmark = pytest.mark.anyio

TONE = "media://samples/audio/tone.wav"


def client(kind, target) -> MultiServerMCPClient:
    if kind == "stdio":
        conn = {"transport": "stdio", "command": BIN, "args": target}
    else:
        conn = {"transport": "http", "url": target}
    return MultiServerMCPClient({"media": conn})


async def test_probe_before_listing_tools(transport):
    with launch(transport) as (kind, target):
        c = client(kind, target)
        info = await c.get_server_info(server_name="media")
        assert info["media"].protocolVersion == "2025-11-25"
        async with c.session("media") as session:
            r = await session.call_tool("media_probe", {"uri": TONE})
            assert not r.isError
            assert r.structuredContent["audio"]["channelLayout"] == "stereo"
        tools = {t.name: t for t in await c.get_tools()}
        assert {"media_list", "media_probe", "audio_transcode", "audio_spectrogram"} <= tools.keys()


async def test_strict_mode_arguments_through_langchain_tools(transport):
    """The LangChain tool built from media_list's schema, given "" / None for optionals."""
    with launch(transport) as (kind, target):
        tools = {t.name: t for t in await client(kind, target).get_tools()}
        media_list = tools["media_list"]
        for args in ({"kind": "", "glob": "", "root": "", "cursor": "", "limit": None},
                     {"kind": None, "glob": None, "root": None, "cursor": None, "limit": None}):
            out = await media_list.ainvoke(args)
            text = out[0]["text"] if isinstance(out, list) else str(out)
            assert '"total":' in text and "invalid arguments" not in text, text


async def test_prompt_loads_as_langchain_messages(transport):
    """langchain takes only text prompt messages: the default prompt must be text only."""
    with launch(transport) as (kind, target):
        msgs = await client(kind, target).get_prompt("media", "describe_media", arguments={"uri": TONE})
        assert len(msgs) == 1 and TONE in msgs[0].content


async def test_resources_first_page_is_everything_and_pages_are_exact(transport):
    """get_resources reads only the first page of resources/list: the default page must hold
    the library. With --page-size 5, following cursors on the session gives the same list."""
    with launch(transport) as (kind, target):
        c = client(kind, target)
        blobs = await c.get_resources("media")
        async with c.session("media") as session:
            whole = [str(r.uri) for r in (await session.list_resources()).resources]
    assert len(blobs) == len(whole) > 20
    with launch(transport, "--page-size", "5") as (kind, target):
        async with client(kind, target).session("media") as session:
            paged, cursor = [], None
            while True:
                page = await session.list_resources(cursor=cursor) if cursor else await session.list_resources()
                assert len(page.resources) <= 5
                paged += [str(r.uri) for r in page.resources]
                cursor = page.nextCursor
                if not cursor:
                    break
    assert paged == whole
