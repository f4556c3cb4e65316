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


HANG = 60
"""Seconds an event-based wait may take before it counts as a hang (never a speed check)."""


def wait_until(check, what: str):
    """Polls `check()` until it returns a true value (returned), failing after HANG seconds."""
    import time

    deadline = time.monotonic() + HANG
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {HANG} s"
        time.sleep(0.02)


def wait_until_serving(base: str):
    """Waits until the server at `base` answers /healthz."""
    import urllib.request

    def up():
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=HANG) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until(up, f"{base} serving")


def spawn_http(*extra: str, root: pathlib.Path = SAMPLES):
    """Starts the real binary over HTTP on a free loopback port with `extra` arguments; returns
    the process and its base URL once /healthz answers."""
    import socket
    import subprocess

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", *extra, str(root)],
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base)
    return proc, base


@pytest.fixture
def http_server():
    """The real binary serving Streamable HTTP on a free loopback port; yields the base URL."""
    proc, base = spawn_http("--conformance")
    yield base
    proc.terminate()
    assert proc.wait(timeout=10) == 0, "server did not shut down cleanly on SIGTERM"


def serve_http(*extra: str):
    """Runs the real binary over HTTP with `extra` arguments; yields the MCP URL and, afterwards,
    checks that it stopped cleanly (a generator for fixtures)."""
    proc, base = spawn_http(*extra)
    yield base + "/mcp"
    proc.terminate()
    assert proc.wait(timeout=10) == 0
