"""The official Python SDK client against mcp-media with static bearer tokens (--auth-tokens):
listing and calling tools with a token, in both eras, and an auth error without one."""
import hashlib
import json

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import serve_http

pytestmark = pytest.mark.anyio

FULL = "py-full-token-0123456789"
READER = "py-read-token-0123456789"


@pytest.fixture
def auth_server(tmp_path):
    """The real binary with two static tokens; yields the MCP URL."""
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps([
        {"subject": "full", "sha256": hashlib.sha256(FULL.encode()).hexdigest(),
         "scopes": ["media:read", "media:transform"]},
        {"subject": "reader", "sha256": hashlib.sha256(READER.encode()).hexdigest(),
         "scopes": ["media:read"]},
    ]))
    yield from serve_http("--auth-tokens", str(tokens))


def with_token(url: str, token: str | None, mode: str, statuses: list | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = create_mcp_http_client(headers=headers)
    if statuses is not None:
        async def seen(response):
            statuses.append((response.status_code, response.headers.get("www-authenticate")))
        http.event_hooks["response"].append(seen)
    transport = streamable_http_client(url, http_client=http)
    return Client(transport, mode=mode, raise_exceptions=True)


async def test_a_token_lists_and_calls_tools(auth_server, mode):
    async with with_token(auth_server, FULL, mode) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"media_list", "media_probe", "audio_transcode"} <= names
        probe = await c.call_tool("media_probe", {"uri": "media://samples/images/photo.jpg"})
        assert not probe.is_error
        assert probe.structured_content["image"]["orientation"] == 6


async def test_a_read_only_token_sees_only_read_tools(auth_server, mode):
    async with with_token(auth_server, READER, mode) as c:
        names = sorted(t.name for t in (await c.list_tools()).tools)
        assert names == ["media_list", "media_probe"]


async def test_without_a_token_the_client_gets_an_auth_error(auth_server, mode):
    statuses = []
    # The SDK reports a refused HTTP response as an MCPError (in its task groups).
    with pytest.raises(BaseException) as e:
        async with with_token(auth_server, None, mode, statuses) as c:
            await c.list_tools()
    assert "MCPError" in repr(e.value), repr(e.value)
    assert statuses, "the client made a request"
    assert all(s == 401 for s, _ in statuses), statuses
    challenge = statuses[0][1]
    assert challenge.startswith('Bearer resource_metadata="http://127.0.0.1:'), challenge
    assert challenge.endswith('/.well-known/oauth-protected-resource/mcp", scope="media:read"'), challenge
