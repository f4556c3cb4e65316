"""The official Python SDK client over Streamable HTTP, in both eras, plus raw HTTP checks."""
import base64
import json
import socket
import urllib.request

import pytest
from mcp import Client, MCPError

from conftest import HANG, SAMPLES, wait_until, wait_until_serving

pytestmark = pytest.mark.anyio


async def test_list_read_probe_over_http(http_server, mode):
    async with Client(http_server + "/mcp", mode=mode, raise_exceptions=True) as c:
        assert c.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        page = await c.list_resources()
        wav = next(r for r in page.resources if str(r.uri) == "media://samples/audio/tone.wav")
        data = (SAMPLES / "audio/tone.wav").read_bytes()
        read = await c.read_resource(str(wav.uri))
        assert base64.b64decode(read.contents[0].blob) == data
        probe = await c.call_tool("media_probe", {"uri": "media://samples/images/photo.jpg"})
        assert probe.structured_content["image"]["orientation"] == 6
        with pytest.raises(MCPError):
            await c.read_resource("media://samples/../Cargo.toml")


async def test_progress_callback_gets_notifications_before_result(http_server, mode):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    async with Client(http_server + "/mcp", mode=mode, raise_exceptions=True) as c:
        res = await c.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        assert not res.is_error
        assert [p for p, _ in seen] == [0, 50, 100]
        assert all(t == 100 for _, t in seen)


def _recv_until(sock, marker: bytes, count: int = 1) -> bytes:
    """Reads until `marker` has been seen `count` times; fails on EOF or after HANG seconds."""
    sock.settimeout(HANG)
    got = b""
    while got.count(marker) < count:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before {marker!r}: {got!r}"
        got += chunk
    return got


def _post(url, body, headers):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers})
    try:
        with urllib.request.urlopen(req, timeout=HANG) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def _long_wav(path, minutes):
    """`minutes` of 48 kHz stereo 16-bit noise (one second repeated): a transcode that takes a while."""
    import random
    import wave

    rnd = random.Random(1)
    second = bytes(rnd.getrandbits(8) for _ in range(48000 * 4))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48000)
        for _ in range(60 * minutes):
            w.writeframes(second)


def test_closing_the_stream_cancels_the_work(tmp_path):
    """Closing an SSE response stream mid-transcode stops the job (its cancelled-jobs counter moves)."""
    root = tmp_path / "long"
    root.mkdir()
    _long_wav(root / "long.wav", 10)
    proc, port = _spawn(root=root)
    try:
        base = f"http://127.0.0.1:{port}"
        meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, "progressToken": "p"}
        args = {"uri": "media://long/long.wav", "sample_rate": 16000, "channels": 1, "chunk_seconds": 2}
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "audio_transcode", "arguments": args, "_meta": meta}}).encode()
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall((f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                      f"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n"
                      f"Mcp-Method: tools/call\r\nMcp-Name: audio_transcode\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
        got = _recv_until(sock, b"notifications/progress")
        assert b"text/event-stream" in got
        sock.close()

        def metrics():
            text = urllib.request.urlopen(base + "/metrics").read().decode()
            return {l.split()[0]: float(l.split()[1]) for l in text.splitlines() if l and not l.startswith("#")}

        # Wait for the job to end either way, then check that it was cancelled.
        def ended():
            m = metrics()
            return m if m["mcp_media_jobs_cancelled_total"] + m["mcp_media_jobs_completed_total"] >= 1 else None

        m = wait_until(ended, "the transcode ending")
        assert (m["mcp_media_jobs_cancelled_total"], m["mcp_media_jobs_completed_total"]) == (1, 0), m
        wait_until(lambda: metrics()["mcp_media_in_flight"] == 0, "no request in flight")
    finally:
        proc.kill()
        proc.wait()


def test_http_status_codes(http_server):
    url = http_server + "/mcp"
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    ok = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}
    status, _, body = _post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}, ok)
    assert status == 200 and json.loads(body)["result"]["tools"]
    status, _, body = _post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta}}, {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"})
    assert status == 400 and json.loads(body)["error"]["code"] == -32020
    status, _, body = _post(url, {"jsonrpc": "2.0", "id": 3, "method": "ping", "params": {"_meta": meta}}, {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "ping"})
    assert status == 404 and json.loads(body)["error"]["code"] == -32601
    status, _, _ = _post(url, {"jsonrpc": "2.0", "method": "notifications/whatever", "params": {"_meta": meta}}, {"MCP-Protocol-Version": "2026-07-28"})
    assert status == 202
    status, _, _ = _post(url, {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": meta}}, {**ok, "Origin": "http://evil.example.com"})
    assert status == 403
    big = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": meta, "pad": "x" * (5 * 1024 * 1024)}}
    status, _, _ = _post(url, big, ok)
    assert status == 413
    # Legacy session lifecycle: initialize -> id; DELETE -> later requests 404.
    status, headers, body = _post(url, {"jsonrpc": "2.0", "id": 6, "method": "initialize",
                                        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}, {})
    sid = headers["Mcp-Session-Id"]
    assert status == 200 and len(sid) >= 32
    req = urllib.request.Request(url, method="DELETE", headers={"Mcp-Session-Id": sid})
    assert urllib.request.urlopen(req).status == 200
    status, _, _ = _post(url, {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}, {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"})
    assert status == 404
    health = urllib.request.urlopen(http_server + "/healthz").read()
    assert health == b"ok\n"


def _raw(http_server, method, path, headers, body=b""):
    host, port = http_server.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall((head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    return sock


def test_legacy_stream_resumes_with_last_event_id(http_server):
    """2025-11-25: priming event, event ids, and replay of what was missed after a disconnect."""
    url = http_server + "/mcp"
    status, headers, _ = _post(url, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                     "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}, {})
    sid = headers["Mcp-Session-Id"]
    common = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25", "Content-Type": "application/json",
              "Accept": "application/json, text/event-stream"}
    body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "r"}}}).encode()
    sock = _raw(http_server, "POST", "/mcp", common, body)
    got = _recv_until(sock, b"notifications/progress")
    sock.close()  # disconnect after the first progress event: not a cancel in the legacy era
    text = got.decode()
    assert "retry: " in text and "data: \n" in text  # priming event
    ids = [l.split(": ")[1] for l in text.splitlines() if l.startswith("id: ")]
    last = ids[-1]
    assert last.endswith("-1"), ids
    sock = _raw(http_server, "GET", "/mcp", {"Mcp-Session-Id": sid, "Accept": "text/event-stream", "Last-Event-ID": last})
    rest = _recv_until(sock, b'"id":2')
    sock.close()
    events = [json.loads(l[6:]) for l in rest.decode().splitlines() if l.startswith("data: {")]
    progress = [e["params"]["progress"] for e in events if e.get("method") == "notifications/progress"]
    assert progress == [50, 100], events
    assert events[-1]["id"] == 2 and events[-1]["result"]["content"]


def _spawn(*extra, root=SAMPLES):
    from conftest import spawn_http

    proc, base = spawn_http(*extra, root=root)
    return proc, int(base.rsplit(":", 1)[1])


def test_sigterm_closes_streams_and_exits_cleanly():
    """SIGTERM: stop accepting, end the listen stream with its final result, exit 0 promptly."""
    proc, port = _spawn()
    try:
        meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
        body = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen",
                           "params": {"_meta": meta, "notifications": {"resourcesListChanged": True}}}).encode()
        sock = _raw(f"http://127.0.0.1:{port}", "POST", "/mcp", {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                                                               "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "subscriptions/listen"}, body)
        got = _recv_until(sock, b"acknowledged")
        proc.terminate()
        sock.settimeout(HANG)
        while b'"id":9' not in got:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
        assert b'"id":9' in got, got  # the listen request ended with its result
        assert proc.wait(timeout=HANG) == 0
    finally:
        proc.kill()


def test_header_timeout_and_connection_cap():
    proc, port = _spawn("--header-timeout-ms", "300", "--max-connections", "2")
    try:
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its headers
        # The server must drop it (after --header-timeout-ms); a socket timeout means it never did.
        slow.settimeout(HANG)
        try:
            while slow.recv(1024):
                pass
        except ConnectionResetError:
            pass
        # a and b are served and kept alive (HTTP/1.1), holding both slots. A connection the
        # server has not finished closing may hold one for a moment: retry until both are served.
        def hold():
            conn = socket.create_connection(("127.0.0.1", port))
            try:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if b" 200 " in _recv_until(conn, b"ok\n"):
                    return conn
            except (OSError, AssertionError):
                pass
            conn.close()
            return None

        a = wait_until(hold, "a first connection served")
        b = wait_until(hold, "a second connection served")
        # A third is closed on accept, unserved.
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(HANG)
        try:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            got = c.recv(1024)
        except (ConnectionResetError, BrokenPipeError):
            got = b""
        assert got == b"", "a third connection was served past --max-connections 2"
        a.close()
        b.close()
        # Once the server notices the closes, the slots are free again.
        wait_until_serving(f"http://127.0.0.1:{port}")
    finally:
        proc.kill()


def test_batches_only_in_2025_03_26_sessions(http_server):
    url = http_server + "/mcp"
    def session(version):
        _, headers, _ = _post(url, {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                    "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}, {})
        return {"Mcp-Session-Id": headers["Mcp-Session-Id"], "MCP-Protocol-Version": version}
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "method": "notifications/initialized"},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    status, _, body = _post(url, batch, session("2025-03-26"))
    assert status == 200
    answers = json.loads(body)
    assert [a["id"] for a in answers] == [1, 2] and answers[1]["result"]["tools"]
    status, _, body = _post(url, batch, session("2025-06-18"))
    assert status == 400
