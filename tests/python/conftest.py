"""Shared fixtures: the real mcp-media binary, spawned over stdio by the official Python SDK."""
import os
import pathlib

import pytest
from mcp import Client, StdioServerParameters

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MCP_MEDIA_BIN", str(ROOT / "target" / "debug" / "mcp-media"))
SAMPLES = ROOT / "samples"


def params(*extra: str, root: pathlib.Path = SAMPLES) -> StdioServerParameters:
    return StdioServerParameters(command=BIN, args=["serve", "--stdio", *extra, str(root)])


def client(mode: str, *extra: str, root: pathlib.Path = SAMPLES, **kw) -> Client:
    return Client(params(*extra, root=root), mode=mode, raise_exceptions=True, **kw)


@pytest.fixture(params=["auto", "legacy"])
def mode(request) -> str:
    """Both eras: 'auto' probes server/discover (2026-07-28); 'legacy' uses initialize."""
    return request.param


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def http_server():
    """The real binary serving Streamable HTTP on a free loopback port; yields the MCP URL."""
    import socket
    import subprocess
    import time
    import urllib.request

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([BIN, "serve", "--conformance", "--listen", f"127.0.0.1:{port}", str(SAMPLES)],
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield base
    proc.terminate()
    assert proc.wait(timeout=10) == 0, "server did not shut down cleanly on SIGTERM"
