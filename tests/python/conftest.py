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
