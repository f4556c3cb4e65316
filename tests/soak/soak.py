#!/usr/bin/env python3
"""Soak test for mcp-media over Streamable HTTP (stdlib only; not part of tests/run or CI).

Starts the release binary on 127.0.0.1 (port chosen by the OS) serving samples/ plus a temp
root with generated WAVs, runs N client threads for a set time with a mix of requests (whole
and ranged resources/read, media_probe, audio_transcode with SSE progress, transcodes
cancelled by closing the stream, legacy sessions opened, used and deleted, reads abandoned
mid-body), samples the server's RSS (/proc/PID/status VmRSS), open descriptors
(/proc/PID/fd) and /metrics every few seconds, then idles and checks that descriptors return
to their start and RSS returns near its start.

Pass criteria (exit status 0 only if all hold):
  - after the idle period, open descriptors <= descriptors at start (before any load);
  - after the idle period, RSS - start RSS <= max(64 MiB, 25% of peak RSS)
    + bytes still held by the derived-media cache (mcp_media_cache_bytes, a deliberate,
    bounded retention: --cache-bytes, 256 MiB by default);
  - no request failed in a way the mix did not ask for (errors by kind are listed);
  - the server is still alive and answers /healthz at the end.

It knows nothing of the server's internals: only the wire, /metrics and /proc.
Loopback only; bounded by --minutes and --max-requests.

Usage: cargo build --release && python3 tests/soak/soak.py --minutes 30
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
MIB = 1 << 20
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "soak", "version": "0"},
}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = [
    "audio/tone.flac", "audio/tone.mp3", "audio/tone.ogg", "audio/tone.opus",
    "audio/tone.m4a", "audio/tone.wav", "audio/hires_24_96.flac",
    "audio/surround_5_1.flac", "audio/voice_16k.wav", "images/photo.jpg",
    "video/clip_h264_aac.mp4",
]
IO_TIMEOUT = 120


class Failure(Exception):
    """An outcome the mix did not ask for; its text is the error kind."""


def write_wav(path, seconds, rate=48000, channels=2):
    """`seconds` of 16-bit noise (one second repeated)."""
    x = 1
    frames = []
    for _ in range(rate * channels):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        frames.append(((x >> 16) & 0xFFFF) // 4 - 8192)
    second = struct.pack("<%dh" % len(frames), *frames)
    data_len = len(second) * seconds
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVEfmt ")
        f.write(struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16))
        f.write(b"data" + struct.pack("<I", data_len))
        for _ in range(seconds):
            f.write(second)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = Counter()
        self.errors = Counter()
        self.requests = 0

    def ok(self, op, n=1):
        with self.lock:
            self.ops[op] += 1
            self.requests += n

    def err(self, kind, n=1):
        with self.lock:
            self.errors[kind] += 1
            self.requests += n


class Client:
    """One simulated client: a keep-alive connection plus fresh ones for streams it drops."""

    def __init__(self, addr, rng, stats, long_seconds):
        self.addr = addr
        self.rng = rng
        self.stats = stats
        self.long_seconds = long_seconds
        self.conn = None
        self.next_id = 0

    def new_conn(self):
        c = http.client.HTTPConnection(self.addr[0], self.addr[1], timeout=IO_TIMEOUT)
        c.connect()
        return c

    def keepalive(self):
        if self.conn is None:
            self.conn = self.new_conn()
        return self.conn

    def drop_keepalive(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    @staticmethod
    def hard_close(conn, resp=None):
        """Closes a connection at once (the server sees EOF/RST mid-stream)."""
        try:
            if conn.sock is not None:
                conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if resp is not None:
            resp.close()
        conn.close()

    def post(self, conn, body, headers):
        self.next_id += 1
        body["id"] = self.next_id
        h = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        h.update(headers)
        conn.request("POST", "/mcp", json.dumps(body).encode(), h)
        return conn.getresponse()

    def modern_post(self, conn, method, params, name=None):
        params = dict(params)
        params["_meta"] = dict(META, **params.get("_meta", {}))
        h = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
        if name is not None:
            h["Mcp-Name"] = name
        return self.post(conn, {"jsonrpc": "2.0", "method": method, "params": params}, h)

    # ---- operations -------------------------------------------------------------------------

    def json_result(self, resp, what):
        body = resp.read()
        if resp.status != 200:
            raise Failure(f"{what}: HTTP {resp.status}")
        msg = json.loads(body)
        if "error" in msg:
            raise Failure(f"{what}: JSON-RPC {msg['error'].get('code')}")
        if msg["result"].get("isError"):
            raise Failure(f"{what}: isError")
        return msg["result"]

    def read_blob(self, uri, expect_min):
        resp = self.modern_post(self.keepalive(), "resources/read", {"uri": uri}, uri)
        body = resp.read()
        if resp.status != 200:
            raise Failure(f"read: HTTP {resp.status}")
        # Bodies run to 11 MiB: check the envelope's head and the size, not the whole JSON.
        if b'"error"' in body[:200]:
            code = json.loads(body).get("error", {}).get("code")
            raise Failure(f"read: JSON-RPC {code}")
        if b'"result"' not in body[:200] or b'"blob"' not in body:
            raise Failure("read: not a blob result")
        if len(body) < expect_min * 4 // 3:
            raise Failure("read: short body")

    def op_read_small(self):
        self.read_blob("media://samples/" + self.rng.choice(SAMPLES), 1)

    def op_read_mid(self):
        self.read_blob("media://soak/mid.wav", 7 * MIB)

    def op_read_range(self):
        length = self.rng.randint(64 * 1024, 4 * MIB)
        offset = self.rng.randint(0, self.long_seconds * 192000 - length)
        self.read_blob(f"media://soak/long.wav?offset={offset}&length={length}", length)

    def op_probe(self):
        uri = self.rng.choice(["media://samples/" + s for s in SAMPLES] + ["media://soak/long.wav"])
        resp = self.modern_post(
            self.keepalive(), "tools/call", {"name": "media_probe", "arguments": {"uri": uri}},
            "media_probe")
        self.json_result(resp, "probe")

    def transcode_args(self, start, duration, chunk):
        args = {"uri": "media://soak/long.wav", "start": start, "duration": duration,
                "sample_rate": self.rng.choice([16000, 24000]), "channels": 1,
                "chunk_seconds": chunk}
        if self.rng.random() < 0.3:
            args["format"] = "opus"
        return args

    def op_transcode(self):
        """A short stretch with progress over SSE, to the end; then reads its first chunk."""
        start = round(self.rng.uniform(0, self.long_seconds - 30), 1)
        args = self.transcode_args(start, self.rng.choice([4, 8, 12]), 2)
        conn = self.keepalive()
        resp = self.modern_post(
            conn, "tools/call",
            {"name": "audio_transcode", "arguments": args, "_meta": {"progressToken": "t"}},
            "audio_transcode")
        if resp.status != 200:
            resp.read()
            raise Failure(f"transcode: HTTP {resp.status}")
        events = sse_events(resp)
        if not events:
            raise Failure("transcode: no events")
        last = events[-1]
        if "result" not in last or last["result"].get("isError"):
            raise Failure("transcode: no result")
        progress = [e for e in events[:-1] if e.get("method") == "notifications/progress"]
        chunks = last["result"]["structuredContent"]["chunks"]
        if len(progress) != len(chunks):
            raise Failure("transcode: progress count")
        self.read_blob(chunks[0]["uri"], 1)

    def op_transcode_cancel(self):
        """A long transcode whose stream is closed after its first progress event."""
        start = round(self.rng.uniform(0, self.long_seconds / 2), 1)
        args = self.transcode_args(start, self.long_seconds / 2, 2)
        conn = self.new_conn()
        try:
            resp = self.modern_post(
                conn, "tools/call",
                {"name": "audio_transcode", "arguments": args, "_meta": {"progressToken": "c"}},
                "audio_transcode")
            if resp.status != 200 or resp.getheader("content-type") != "text/event-stream":
                raise Failure(f"cancel: HTTP {resp.status} {resp.getheader('content-type')}")
            ev = next_event(resp)
            if ev is None or ev.get("method") != "notifications/progress":
                raise Failure("cancel: no progress before close")
        finally:
            self.hard_close(conn)

    def op_disconnect_read(self):
        """A whole-file read abandoned after its first 64 KiB."""
        conn = self.new_conn()
        try:
            resp = self.modern_post(conn, "resources/read", {"uri": "media://soak/mid.wav"},
                                    "media://soak/mid.wav")
            if resp.status != 200:
                raise Failure(f"disconnect: HTTP {resp.status}")
            resp.read(64 * 1024)
        finally:
            self.hard_close(conn)

    def op_legacy(self):
        """initialize, initialized, list + probe, a transcode (dropped mid-stream half the
        time: legacy streams are resumable, so DELETE is what stops it), then DELETE."""
        conn = self.new_conn()
        sid = None
        try:
            resp = self.post(conn, {"jsonrpc": "2.0", "method": "initialize", "params": {
                "protocolVersion": LEGACY, "capabilities": {},
                "clientInfo": {"name": "soak", "version": "0"}}}, {})
            self.json_result(resp, "legacy init")
            sid = resp.getheader("mcp-session-id")
            if not sid:
                raise Failure("legacy: no session id")
            h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY}
            body = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
            conn.request("POST", "/mcp", body.encode(), dict(h, **{
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream"}))
            r = conn.getresponse()
            r.read()
            if r.status != 202:
                raise Failure(f"legacy initialized: HTTP {r.status}")
            self.json_result(self.post(conn, {"jsonrpc": "2.0", "method": "tools/list"}, h),
                             "legacy list")
            self.json_result(self.post(conn, {"jsonrpc": "2.0", "method": "tools/call", "params": {
                "name": "media_probe", "arguments": {"uri": "media://samples/audio/tone.mp3"}}},
                h), "legacy probe")
            drop = self.rng.random() < 0.5
            start = round(self.rng.uniform(0, self.long_seconds - 60), 1)
            args = self.transcode_args(start, 40 if drop else 6, 2)
            resp = self.post(conn, {"jsonrpc": "2.0", "method": "tools/call", "params": {
                "name": "audio_transcode", "arguments": args, "_meta": {"progressToken": 1}}}, h)
            if resp.status != 200:
                resp.read()
                raise Failure(f"legacy transcode: HTTP {resp.status}")
            if drop:
                next_event(resp)  # the priming event
                next_event(resp)
                self.hard_close(conn, resp)
                conn = self.new_conn()
            else:
                events = sse_events(resp)
                if not events or "result" not in events[-1]:
                    raise Failure("legacy transcode: no result")
            conn.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid})
            r = conn.getresponse()
            r.read()
            sid = None
            if r.status != 200:
                raise Failure(f"legacy delete: HTTP {r.status}")
        finally:
            if sid is not None:
                try:
                    c2 = self.new_conn()
                    c2.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid})
                    c2.getresponse().read()
                    c2.close()
                except OSError:
                    pass
            conn.close()

    OPS = [
        ("read_small", 20, 1), ("read_mid", 8, 1), ("read_range", 14, 1), ("probe", 20, 1),
        ("transcode", 14, 2), ("transcode_cancel", 8, 1), ("disconnect_read", 6, 1),
        ("legacy", 6, 7),
    ]

    def run(self, deadline, stop, budget):
        names = [o[0] for o in self.OPS]
        weights = [o[1] for o in self.OPS]
        cost = {o[0]: o[2] for o in self.OPS}
        while time.monotonic() < deadline and not stop.is_set() and budget.take():
            op = self.rng.choices(names, weights)[0]
            try:
                getattr(self, "op_" + op)()
                self.stats.ok(op, cost[op])
            except Failure as e:
                self.stats.err(str(e), cost[op])
                self.drop_keepalive()
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                self.stats.err(f"{op}: {type(e).__name__}", cost[op])
                self.drop_keepalive()
        self.drop_keepalive()


class Budget:
    """A bound on operations across all clients."""

    def __init__(self, n):
        self.n = n
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            if self.n <= 0:
                return False
            self.n -= 1
            return True


def next_event(resp):
    """The next SSE event's JSON data (None at the end of the stream; {} for empty data)."""
    data = None
    while True:
        line = resp.readline()
        if not line:
            return None if data is None else parse_data(data)
        line = line.rstrip(b"\r\n")
        if not line:
            if data is not None:
                return parse_data(data)
            continue
        if line.startswith(b"data:"):
            data = (data or b"") + line[5:].lstrip()


def parse_data(data):
    return json.loads(data) if data else {}


def sse_events(resp):
    if resp.getheader("content-type") != "text/event-stream":
        return [json.loads(resp.read())]
    out = []
    while True:
        ev = next_event(resp)
        if ev is None:
            return out
        if ev:
            out.append(ev)


# ---- the server and its sampling ---------------------------------------------------------------

def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def metrics(addr):
    c = http.client.HTTPConnection(addr[0], addr[1], timeout=30)
    try:
        c.request("GET", "/metrics", headers={"Connection": "close"})
        r = c.getresponse()
        text = r.read().decode()
    finally:
        c.close()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        k, v = line.rsplit(" ", 1)
        if "{" in k:
            base = k.split("{", 1)[0]
            out[base] = out.get(base, 0.0) + float(v)
        else:
            out[k] = float(v)
    return out


def healthz(addr):
    try:
        c = http.client.HTTPConnection(addr[0], addr[1], timeout=10)
        c.request("GET", "/healthz", headers={"Connection": "close"})
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


class Sampler:
    HEAD = ("{:>7} {:>6} {:>9} {:>7} {:>6} {:>9} {:>4} {:>5} {:>5} {:>5} {:>9}".format(
        "t(s)", "phase", "requests", "req/s", "errors", "RSS(MiB)", "fds", "conns", "sess",
        "jobs", "cache(MiB)"))

    def __init__(self, pid, addr, stats):
        self.pid, self.addr, self.stats = pid, addr, stats
        self.rows = []
        self.t0 = time.monotonic()
        self.last = (self.t0, 0)

    def sample(self, phase):
        now = time.monotonic()
        fds = proc_fds(self.pid)  # before our own /metrics connection opens
        rss = proc_rss_kib(self.pid) / 1024
        try:
            m = metrics(self.addr)
        except (OSError, http.client.HTTPException) as e:
            m = {}
            self.stats.err(f"metrics: {type(e).__name__}")
        with self.stats.lock:
            reqs = self.stats.requests
            errors = sum(self.stats.errors.values())
        rate = (reqs - self.last[1]) / max(now - self.last[0], 1e-9)
        self.last = (now, reqs)
        row = dict(t=now - self.t0, phase=phase, requests=reqs, rate=rate,
                   errors=errors, rss=rss, fds=fds,
                   conns=m.get("mcp_media_connections", -1), sess=m.get("mcp_media_sessions", -1),
                   jobs=m.get("mcp_media_jobs_running", -1),
                   cache=m.get("mcp_media_cache_bytes", 0) / MIB, metrics=m)
        self.rows.append(row)
        print("{:>7.0f} {:>6} {:>9} {:>7.1f} {:>6} {:>9.1f} {:>4} {:>5.0f} {:>5.0f} {:>5.0f} {:>9.1f}".format(
            row["t"], phase, reqs, rate, row["errors"], rss, fds, row["conns"], row["sess"],
            row["jobs"], row["cache"]), flush=True)
        return row


def start_server(binary, roots, extra, log_path):
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", *extra, *roots],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        env=dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "mcp_media=info")))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited at start-up (see {log_path})")
        with open(log_path, "rb") as f:
            for line in f.read().decode(errors="replace").splitlines():
                if "Streamable HTTP" in line:
                    for w in line.split():
                        if w.startswith("addr="):
                            host, port = w[5:].rsplit(":", 1)
                            return proc, (host, int(port))
        time.sleep(0.05)
    proc.kill()
    sys.exit("the server did not log its address")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0, help="load duration (default 30)")
    ap.add_argument("--clients", type=int, default=16, help="client threads (default 16)")
    ap.add_argument("--sample-secs", type=float, default=5.0, help="sampling interval (default 5)")
    ap.add_argument("--idle-secs", type=float, default=45.0, help="idle time after the load (default 45)")
    ap.add_argument("--long-minutes", type=int, default=10, help="length of the generated long WAV")
    ap.add_argument("--max-requests", type=int, default=5_000_000, help="bound on operations")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "mcp-media"))
    ap.add_argument("--json", help="also write the samples and summary to this file")
    ap.add_argument("server_args", nargs="*", help="more server arguments (after --)")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit(f"{a.bin} not found: run `cargo build --release` first (or pass --bin)")

    tmp = tempfile.mkdtemp(prefix="mcp-soak-")
    try:
        root = os.path.join(tmp, "soak")
        os.mkdir(root)
        write_wav(os.path.join(root, "long.wav"), a.long_minutes * 60)
        write_wav(os.path.join(root, "mid.wav"), 40)  # 7.3 MiB: read whole, under the 8 MiB limit
        log_path = os.path.join(tmp, "server.log")
        proc, addr = start_server(
            a.bin, [os.path.join(REPO, "samples"), "soak=" + root], a.server_args, log_path)
        try:
            code = soak(a, proc, addr, log_path)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(code)


def soak(a, proc, addr, log_path):
    stats = Stats()
    print(f"server pid {proc.pid} on {addr[0]}:{addr[1]}; {a.clients} clients for "
          f"{a.minutes} min, then {a.idle_secs:.0f} s idle", flush=True)
    sampler = Sampler(proc.pid, addr, stats)
    print(Sampler.HEAD, flush=True)
    time.sleep(1.0)
    start = sampler.sample("start")
    stop = threading.Event()
    budget = Budget(a.max_requests)
    load_s = a.minutes * 60
    deadline = time.monotonic() + load_s
    clients = [Client(addr, random.Random(a.seed * 1000 + i), stats, a.long_minutes * 60)
               for i in range(a.clients)]
    threads = [threading.Thread(target=c.run, args=(deadline, stop, budget), daemon=True)
               for c in clients]
    t_load = time.monotonic()
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(min(a.sample_secs, max(1.0, deadline - time.monotonic() + 0.1)))
            if proc.poll() is not None:
                print("the server exited during the load", flush=True)
                stop.set()
                break
            sampler.sample("load")
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join(timeout=IO_TIMEOUT + 10)
    load_elapsed = time.monotonic() - t_load
    load_rows = [r for r in sampler.rows if r["phase"] == "load"]
    idle_end = time.monotonic() + a.idle_secs
    while time.monotonic() < idle_end and proc.poll() is None:
        time.sleep(min(a.sample_secs, max(0.1, idle_end - time.monotonic())))
        sampler.sample("idle")
    alive = proc.poll() is None and healthz(addr)
    end = sampler.rows[-1]
    # Descriptors: the least of a few looks (a closing /metrics connection may linger briefly).
    fds_after = end["fds"]
    for _ in range(3):
        if not alive or fds_after <= start["fds"]:
            break
        time.sleep(1)
        fds_after = min(fds_after, proc_fds(proc.pid))

    peak = max(r["rss"] for r in sampler.rows)
    half = load_rows[len(load_rows) // 2:] or load_rows
    plateau = statistics.median(r["rss"] for r in half) if half else float("nan")
    q2 = load_rows[len(load_rows) // 4: len(load_rows) // 2]
    q4 = load_rows[3 * len(load_rows) // 4:]
    drift = (statistics.median(r["rss"] for r in q4) - statistics.median(r["rss"] for r in q2)
             if q2 and q4 else float("nan"))
    cache = end["cache"]
    tolerance = max(64.0, 0.25 * peak) + cache
    rss_ok = end["rss"] - start["rss"] <= tolerance
    fds_ok = fds_after <= start["fds"]
    unexpected = sum(stats.errors.values())
    with open(log_path, "rb") as f:
        log = f.read().decode(errors="replace").splitlines()
    warns = sum(" WARN " in l for l in log)
    errs = sum(" ERROR " in l for l in log)
    m = end["metrics"]

    print("\n== summary ==")
    print(f"load: {load_elapsed:.0f} s, {stats.requests} requests, "
          f"{stats.requests / max(load_elapsed, 1e-9):.1f} req/s; operations: "
          + ", ".join(f"{k} {v}" for k, v in sorted(stats.ops.items())))
    print(f"server: jobs completed {m.get('mcp_media_jobs_completed_total', 0):.0f}, cancelled "
          f"{m.get('mcp_media_jobs_cancelled_total', 0):.0f}, stream cancellations "
          f"{m.get('mcp_media_stream_cancellations_total', 0):.0f}, MiB sent "
          f"{m.get('mcp_media_bytes_sent_total', 0) / MIB:.0f}, log WARN {warns} ERROR {errs}")
    print(f"RSS MiB: start {start['rss']:.1f}, peak {peak:.1f}, plateau (median of the 2nd "
          f"half of the load) {plateau:.1f}, drift (4th - 2nd quarter medians) {drift:+.1f}, "
          f"after {a.idle_secs:.0f} s idle {end['rss']:.1f}; cache holds {cache:.1f}")
    print(f"RSS after idle - start = {end['rss'] - start['rss']:.1f} MiB; allowed "
          f"max(64, 25% of peak) + cache = {tolerance:.1f} MiB: {'ok' if rss_ok else 'FAIL'}")
    print(f"fds: start {start['fds']}, peak {max(r['fds'] for r in sampler.rows)}, after idle "
          f"{fds_after}: {'ok' if fds_ok else 'FAIL'}")
    print("errors by kind: " + (", ".join(f"{k}: {v}" for k, v in stats.errors.most_common())
                                or "none"))
    print(f"server alive at the end: {'yes' if alive else 'NO'}")
    ok = rss_ok and fds_ok and unexpected == 0 and alive
    print("PASS" if ok else "FAIL", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": [{k: v for k, v in r.items() if k != "metrics"}
                                for r in sampler.rows],
                       "summary": dict(requests=stats.requests, load_s=load_elapsed,
                                       ops=stats.ops, errors=stats.errors,
                                       rss_start=start["rss"], rss_peak=peak,
                                       rss_plateau=plateau, rss_drift=drift,
                                       rss_after_idle=end["rss"], cache_mib=cache,
                                       fds_start=start["fds"], fds_after=fds_after,
                                       passed=ok)}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    main()
