"""Shared fixtures for the agent-framework tests: the real mcp-media binary, reached over stdio
or Streamable HTTP (`serve --listen 127.0.0.1:<free port>`), with optional extra server args.

Each framework has its own venv and requirements file (they pin incompatible `mcp` versions);
tests/run runs each test file in its framework's venv. No model is involved: the tests call the
frameworks' MCP client layers directly."""
import contextlib
import os
import pathlib
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("MCP_MEDIA_BIN", str(ROOT / "target" / "debug" / "mcp-media"))
SAMPLES = ROOT / "samples"


@contextlib.contextmanager
def launch(transport: str, *extra: str):
    """Yields ("stdio", [args]) to spawn, or ("http", url) of a running server."""
    if transport == "stdio":
        yield "stdio", ["serve", "--stdio", *extra, str(SAMPLES)]
        return
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", *extra, str(SAMPLES)],
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        yield "http", base + "/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["stdio", "http"])
def transport(request) -> str:
    return request.param


@pytest.fixture
def anyio_backend():
    return "asyncio"
