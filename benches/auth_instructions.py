#!/usr/bin/env python3
"""What authorization costs per request, in user-space instructions (deterministic, unlike
requests/s on a shared machine): each server variant runs under `valgrind --tool=callgrind`,
answers 100 and then (fresh) 1,100 requests on one keep-alive connection, and the difference of
the two totals / 1,000 is the cost of one request (start-up cancels out).

    tests/python/.venv/bin/python benches/auth_instructions.py [list,read] [off,static,jwt,offjwt]

Variants: off (no authorization), static (--auth-tokens), jwt (--oauth-issuer: a loopback issuer
served here with the keys of benches/auth-keys.json; RS256 tokens minted with PyJWT, which the
Python SDK's venv has), offjwt (no authorization, sent the JWT anyway: the header's own cost).
Needs valgrind and target/release/mcp-media. Note: valgrind hides the CPU's SHA extensions, so
SHA-256 runs in software here (far more instructions than on the real CPU). About 5 minutes.
"""
import base64, hashlib, json, os, socket, subprocess, sys, tempfile, threading, time, http.server
import jwt as pyjwt
from cryptography.hazmat.primitives.serialization import load_der_private_key
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("MCP_MEDIA_BIN", os.path.join(REPO, "target/release/mcp-media"))
keys = json.load(open(os.path.join(REPO, "benches/auth-keys.json")))
WORK = tempfile.mkdtemp(prefix="auth-instructions-")
lib = os.path.join(WORK, "plib2"); os.makedirs(lib)
open(f"{lib}/small.wav","wb").write(b"RIFF\0\0\0\0WAVEfmt " + b"\x5a"*4080)
token = "bench-3q2+7w-Zk9vT1mX4pLr8sQ0aYc6uEoNhJgBfWdVi"
json.dump([{"subject":"bench","sha256":hashlib.sha256(token.encode()).hexdigest(),"scopes":["media:read","media:transform"]}], open(os.path.join(WORK, "tokens.json"),"w"))
# issuer
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"keys": keys["keys"]} if self.path.endswith("/jwks") else {"issuer": ISS, "jwks_uri": ISS + "/jwks"}).encode()
        self.send_response(200); self.send_header("Content-Type","application/json"); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self,*a): pass
srv = http.server.HTTPServer(("127.0.0.1",0), H); ISS = f"http://127.0.0.1:{srv.server_port}"
threading.Thread(target=srv.serve_forever, daemon=True).start()
META = '{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
def req(port, method, name, params, bearer):
    body = '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}' % (method, params)
    h = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\nContent-Length: {len(body)}\r\n"
    if name: h += f"Mcp-Name: {name}\r\n"
    if bearer: h += f"Authorization: Bearer {bearer}\r\n"
    return (h + "\r\n" + body).encode()
def roundtrips(port, data, n):
    s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
    for _ in range(n):
        s.sendall(data)
        ln = 0
        while True:
            line = f.readline()
            assert line, "closed"
            if line == b"\r\n": break
            if line.lower().startswith(b"http/1.1 ") and not line.startswith(b"HTTP/1.1 200"): raise SystemExit(line)
            if line.lower().startswith(b"content-length:"): ln = int(line.split(b":")[1])
        f.read(ln)
    s.close()
def measure(mode, case, n):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = os.path.join(WORK, f"{mode}-{case}-{n}.out")
    extra = {"off": [], "offjwt": [], "static": ["--auth-tokens", os.path.join(WORK, "tokens.json")], "jwt": ["--oauth-issuer", ISS]}[mode]
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", BIN, "serve", "--listen", f"127.0.0.1:{port}", *extra, lib], stderr=subprocess.DEVNULL)
    bearer = {"off": None, "static": token}.get(mode)
    if mode in ("jwt", "offjwt"):
        der = base64.b64decode(keys["der"]["bench-RS256"]); k = load_der_private_key(der, None)
        now = int(time.time())
        bearer = pyjwt.encode({"iss": ISS, "aud": f"http://127.0.0.1:{port}/mcp", "sub": "bench", "scope": "media:read media:transform", "iat": now, "exp": now + 86400}, k, algorithm="RS256", headers={"kid": "bench-RS256", "typ": "at+jwt"})
    for _ in range(600):
        try: socket.create_connection(("127.0.0.1", port)).close(); break
        except OSError: time.sleep(0.1)
    if case == "list": data = req(port, "tools/list", None, '{"_meta":%s}' % META, bearer)
    else: data = req(port, "resources/read", "media://plib2/small.wav", '{"uri":"media://plib2/small.wav","_meta":%s}' % META, bearer)
    roundtrips(port, data, n)
    p.terminate(); p.wait()
    total = 0
    for fn in os.listdir(WORK):
        if fn.startswith(os.path.basename(out)):
            for line in open(os.path.join(WORK, fn)):
                if line.startswith("totals:") or line.startswith("summary:"):
                    total += int(line.split()[1]); break
    return total
res = {}
CASES = sys.argv[1].split(",") if len(sys.argv) > 1 else ["list", "read"]
MODES = sys.argv[2].split(",") if len(sys.argv) > 2 else ["off", "static", "jwt", "offjwt"]
for case in CASES:
    for mode in MODES:
        a = measure(mode, case, 100); b = measure(mode, case, 1100)
        res[(mode, case)] = (b - a) / 1000
        print(mode, case, f"{(b-a)/1000:.0f} instructions/request", flush=True)
for case in CASES:
    off = res[("off", case)]
    print(case, " ".join(f"{m} {res[(m, case)]:.0f} (+{res[(m, case)] - off:.0f}, x{res[(m, case)] / off:.3f})" for m in MODES))
