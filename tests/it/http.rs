//! The Streamable HTTP transport, end to end: the real binary on `127.0.0.1:0`, spoken to in raw
//! HTTP/1.1 over `std::net::TcpStream` (response heads parsed by `httparse`, chunked bodies and
//! SSE events parsed here), so status codes, headers and framing are checked byte for byte.
//! Knows nothing of the server's internals: only the wire and `/metrics`.

use crate::schema;
use crate::util::{MODERN, modern, samples, wav_header};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bounds every socket read: it only turns a hang into a failure, it is not a speed check.
const IO_DEADLINE: Duration = Duration::from_secs(60);

/// The real binary serving Streamable HTTP on a free loopback port.
pub struct HttpServer {
    /// The process, when this handle started it (`None`: [`HttpServer::at`]).
    child: Option<Child>,
    pub addr: SocketAddr,
}

impl HttpServer {
    /// `serve --listen 127.0.0.1:0 <args>`; the bound address is read from the startup log
    /// line on stderr ("serving MCP over Streamable HTTP addr=...").
    pub fn spawn(args: &[&str]) -> HttpServer {
        Self::spawn_env(args, &[])
    }

    /// [`HttpServer::spawn`] with extra environment variables (e.g. `LD_PRELOAD`).
    pub fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        Self::spawn_listen("127.0.0.1:0", args, env)
    }

    /// `serve --listen <listen> <args>` with extra environment variables (a fixed port, e.g.
    /// when access tokens must name the server's URL).
    pub fn spawn_listen(listen: &str, args: &[&str], env: &[(&str, &str)]) -> HttpServer {
        Self::try_spawn_listen(listen, args, env).unwrap_or_else(|(stderr, status)| {
            panic!("the server did not start ({status}):\n{stderr}")
        })
    }

    /// [`HttpServer::spawn_listen`] for a server that may refuse to start: `Err` holds what it
    /// wrote to stderr before it exited, and its exit status.
    pub fn try_spawn_listen(
        listen: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<HttpServer, (String, std::process::ExitStatus)> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-media"))
            .args(["serve", "--listen", listen])
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "mcp_media=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcp-media");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut before = String::new();
            // Keep draining stderr so the server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("Streamable HTTP")
                    && let Some(addr) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("addr="))
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(Ok(addr.to_string()));
                }
                if tx.is_some() {
                    before.push_str(&line);
                    before.push('\n');
                }
            }
            // It exited (or closed stderr) before it served.
            if let Some(tx) = tx {
                let _ = tx.send(Err(before));
            }
        });
        let addr = match rx
            .recv_timeout(IO_DEADLINE)
            .expect("the server neither logged its listening address nor exited")
        {
            Ok(addr) => addr.parse().expect("a socket address in the startup log"),
            Err(stderr) => return Err((stderr, child.wait().expect("wait"))),
        };
        Ok(HttpServer {
            child: Some(child),
            addr,
        })
    }

    /// A handle on a server started elsewhere, listening on `addr` (its requests only).
    pub fn at(addr: SocketAddr) -> HttpServer {
        HttpServer { child: None, addr }
    }

    fn child(&self) -> &Child {
        self.child.as_ref().expect("a server this handle started")
    }

    /// Sends a signal (`HUP`, `TERM`, ...) to the server.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child().id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// The server's peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        crate::util::peak_rss_of(self.child().id())
    }

    /// Sends SIGTERM to the server.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Waits for the process to exit by itself (bounded: a hang becomes a failure).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + IO_DEADLINE;
        loop {
            let child = self.child.as_mut().expect("a server this handle started");
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(IO_DEADLINE)).unwrap();
        s
    }

    /// Writes one request (with `Host` and `Content-Length`) on a new connection.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Stream {
        let mut s = self.connect();
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        Stream::read_head(s)
    }

    /// One request, whole response.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        self.send(method, path, headers, body).into_resp()
    }

    /// POST /mcp with a JSON body and the usual Content-Type and Accept.
    pub fn post(&self, headers: &[(&str, &str)], body: &Value) -> Resp {
        self.post_stream(headers, body).into_resp()
    }

    pub fn post_stream(&self, headers: &[(&str, &str)], body: &Value) -> Stream {
        let mut h = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        h.extend_from_slice(headers);
        self.send("POST", "/mcp", &h, &serde_json::to_vec(body).unwrap())
    }

    /// A 2026-07-28 request with the headers the body calls for (production tools declare no
    /// `x-mcp-header` argument, so no `Mcp-Param-*`).
    pub fn modern(&self, id: Value, method: &str, params: Value) -> Resp {
        let name = params
            .get("name")
            .or_else(|| params.get("uri"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut h = vec![("MCP-Protocol-Version", MODERN), ("Mcp-Method", method)];
        if let Some(n) = &name {
            h.push(("Mcp-Name", n));
        }
        self.post(
            &h,
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": modern(params)}),
        )
    }

    /// The value of one counter or gauge on `/metrics`.
    pub fn metric(&self, name: &str) -> f64 {
        let r = self.request("GET", "/metrics", &[], b"");
        assert_eq!(r.status, 200);
        let text = String::from_utf8(r.body).unwrap();
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == name).then(|| v.trim().parse::<f64>().unwrap())
            })
            .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
    }

    /// Polls `/metrics` until `done` holds for the values of `names`, within a generous
    /// deadline (a hang becomes a failure); returns the values.
    pub fn wait_metrics(&self, names: &[&str], done: impl Fn(&[f64]) -> bool) -> Vec<f64> {
        let deadline = Instant::now() + IO_DEADLINE;
        loop {
            let v: Vec<f64> = names.iter().map(|n| self.metric(n)).collect();
            if done(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "metrics {names:?} never reached the expected state: {v:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    /// The JSON-RPC error code of the body.
    pub fn code(&self) -> Option<i64> {
        self.json()["error"]["code"].as_i64()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A response whose head has been read and whose body is read on demand.
pub struct Stream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    r: BufReader<TcpStream>,
    chunked: bool,
    /// Body bytes received but not yet consumed as SSE events.
    pending: Vec<u8>,
    eof: bool,
}

/// One SSE event: its `id:`, `event:`, `retry:` and `data:` fields (data lines joined by `\n`).
#[derive(Debug, Default, Clone)]
pub struct Event {
    pub id: Option<String>,
    /// The event type (`event:`); absent means "message".
    pub event: Option<String>,
    pub retry: Option<String>,
    pub data: Option<String>,
}

impl Event {
    /// The JSON-RPC message in `data:`, which must be a "message" event.
    pub fn json(&self) -> Value {
        assert!(
            matches!(self.event.as_deref(), None | Some("message")),
            "not a message event: {self:?}"
        );
        let d = self.data.as_deref().expect("event without data");
        serde_json::from_str(d).unwrap_or_else(|e| panic!("data is not JSON ({e}): {d:?}"))
    }
}

impl Stream {
    fn read_head(s: TcpStream) -> Stream {
        let mut r = BufReader::new(s);
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let n = r.read_until(b'\n', &mut head).expect("read response head");
            assert!(
                n > 0,
                "connection closed inside the response head: {:?}",
                String::from_utf8_lossy(&head)
            );
        }
        let mut hs = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut hs);
        let parsed = resp.parse(&head).expect("a valid HTTP/1.1 response head");
        assert!(parsed.is_complete());
        assert_eq!(resp.version, Some(1), "HTTP/1.1");
        let status = resp.code.unwrap();
        let headers: Vec<(String, String)> = resp
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let chunked = find_header(&headers, "transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        Stream {
            status,
            headers,
            r,
            chunked,
            pending: vec![],
            eof: false,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The next piece of the body, or None at its end.
    fn next_piece(&mut self) -> Option<Vec<u8>> {
        if self.eof {
            return None;
        }
        if !self.chunked {
            let mut body = Vec::new();
            match find_header(&self.headers, "content-length") {
                Some(n) => {
                    let n: u64 = n.trim().parse().unwrap();
                    (&mut self.r).take(n).read_to_end(&mut body).unwrap();
                    assert_eq!(body.len() as u64, n, "body shorter than Content-Length");
                }
                None => {
                    self.r.read_to_end(&mut body).unwrap();
                }
            }
            self.eof = true;
            return Some(body);
        }
        let mut line = String::new();
        let n = self.r.read_line(&mut line).expect("read a chunk size");
        assert!(n > 0, "connection closed before the last chunk");
        let size_hex = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_hex, 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        if size == 0 {
            // Trailers, then the blank line that ends the body.
            loop {
                let mut t = String::new();
                self.r.read_line(&mut t).unwrap();
                if t == "\r\n" || t.is_empty() {
                    break;
                }
            }
            self.eof = true;
            return None;
        }
        let mut chunk = vec![0; size];
        self.r.read_exact(&mut chunk).expect("read a chunk");
        let mut crlf = [0; 2];
        self.r.read_exact(&mut crlf).unwrap();
        assert_eq!(&crlf, b"\r\n", "chunk not followed by CRLF");
        Some(chunk)
    }

    /// Reads the rest of the body.
    pub fn into_resp(mut self) -> Resp {
        let mut body = std::mem::take(&mut self.pending);
        while let Some(p) = self.next_piece() {
            body.extend(p);
        }
        Resp {
            status: self.status,
            headers: self.headers,
            body,
        }
    }

    /// The next SSE event that carries a field (keep-alive comments are skipped), or None
    /// when the body ends.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8(raw).expect("SSE is UTF-8");
                let mut ev = Event::default();
                let mut any = false;
                for line in text.lines() {
                    if line.is_empty() || line.starts_with(':') {
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value).to_string();
                    any = true;
                    match field {
                        "id" => ev.id = Some(value),
                        "retry" => ev.retry = Some(value),
                        "event" => ev.event = Some(value),
                        "data" => {
                            ev.data = Some(match ev.data.take() {
                                Some(d) => format!("{d}\n{value}"),
                                None => value,
                            })
                        }
                        other => panic!("unexpected SSE field {other:?} in {text:?}"),
                    }
                }
                if any {
                    return Some(ev);
                }
                continue;
            }
            let piece = self.next_piece()?;
            // Normalise CRLF line ends so events split on "\n\n" either way.
            let text = piece.iter().copied().filter(|&b| b != b'\r');
            self.pending.extend(text);
        }
    }

    /// Every remaining event, until the body ends.
    pub fn events(&mut self) -> Vec<Event> {
        let mut out = vec![];
        while let Some(e) = self.next_event() {
            out.push(e);
        }
        assert!(
            self.pending.iter().all(u8::is_ascii_whitespace),
            "an incomplete event at the end of the stream: {:?}",
            String::from_utf8_lossy(&self.pending)
        );
        out
    }
}

pub(crate) fn samples_arg() -> String {
    samples().to_string_lossy().into_owned()
}

fn modern_body(id: Value, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": modern(params)})
}

pub(crate) const V: (&str, &str) = ("MCP-Protocol-Version", MODERN);

type Headers<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn modern_json_answers_notifications_and_unknown_methods() {
    let s = HttpServer::spawn(&[&samples_arg()]);
    let r = s.modern(json!(1), "tools/list", json!({}));
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let v = r.json();
    assert_eq!(
        (v["jsonrpc"].as_str(), v["id"].as_i64()),
        (Some("2.0"), Some(1))
    );
    let names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"media_probe"), "{names:?}");
    assert_schema_valid(MODERN, std::slice::from_ref(&v), "ListToolsResult");
    // A tool call without a progress token is a plain JSON answer too.
    let r = s.modern(
        json!("p"),
        "tools/call",
        json!({"name": "media_probe", "arguments": {"uri": "media://samples/audio/tone.wav"}}),
    );
    assert_eq!(r.status, 200, "{r:?} {}", String::from_utf8_lossy(&r.body));
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.json()["result"]["structuredContent"]["kind"], "audio");
    // Notifications and responses: 202, no body.
    for body in [
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": modern(json!({"requestId": 99}))}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 5, "result": {}}),
    ] {
        let r = s.post(&[V], &body);
        assert_eq!(r.status, 202, "{body}");
        assert!(r.body.is_empty(), "{body}: {:?}", r.body);
    }
    // Unknown methods, and legacy-only methods on the modern path: 404 + -32601.
    for m in ["no/such/method", "ping", "initialize", "logging/setLevel"] {
        let r = s.modern(json!(m), m, json!({}));
        assert_eq!((r.status, r.code()), (404, Some(-32601)), "{m}");
        assert_eq!(r.json()["id"], m);
        assert_schema_valid(MODERN, &[r.json()], "Result");
    }
    // Unsupported version (header and _meta agree): 400 + -32022 with the supported list.
    let mut body = modern_body(json!(7), "tools/list", json!({}));
    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("1900-01-01");
    let r = s.post(
        &[
            ("MCP-Protocol-Version", "1900-01-01"),
            ("Mcp-Method", "tools/list"),
        ],
        &body,
    );
    assert_eq!((r.status, r.code()), (400, Some(-32022)));
    assert!(
        r.json()["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!(MODERN))
    );
    // Missing client capabilities: 400 + -32602.
    let mut body = modern_body(json!(8), "tools/list", json!({}));
    body["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let r = s.post(&[V, ("Mcp-Method", "tools/list")], &body);
    assert_eq!((r.status, r.code()), (400, Some(-32602)));
    // Malformed JSON: 400 + -32700; a batch outside a 2025-03-26 session: 400.
    let r = s.request(
        "POST",
        "/mcp",
        &[("Content-Type", "application/json"), V],
        b"{not json",
    );
    assert_eq!((r.status, r.code()), (400, Some(-32700)));
    let r = s.post(
        &[V, ("Mcp-Method", "tools/list")],
        &json!([modern_body(json!(1), "tools/list", json!({}))]),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["code"].is_i64());
    // Health and unknown paths.
    let r = s.request("GET", "/healthz", &[], b"");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok\n"[..]));
    assert_eq!(s.request("GET", "/nope", &[], b"").status, 404);
}

#[test]
fn header_body_mismatches_are_400_with_32020() {
    // Production tools declare no x-mcp-header argument; the conformance fixture
    // test_custom_headers does (its `value` mirrors into Mcp-Param-Value).
    let s = HttpServer::spawn(&["--conformance", &samples_arg()]);
    let list = modern_body(json!(1), "tools/list", json!({}));
    let call = modern_body(
        json!(2),
        "tools/call",
        json!({"name": "media_list", "arguments": {}}),
    );
    let read = modern_body(
        json!(3),
        "resources/read",
        json!({"uri": "media://samples/audio/tone.wav?offset=0&length=4"}),
    );
    let probe = modern_body(
        json!(4),
        "tools/call",
        json!({"name": "test_custom_headers", "arguments": {"value": "media://samples/audio/tone.wav"}}),
    );
    let probe_h = [
        V,
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "test_custom_headers"),
    ];
    let cases: Vec<(&str, Headers, &Value)> = vec![
        (
            "no Mcp-Param-Value for the x-mcp-header argument",
            probe_h.to_vec(),
            &probe,
        ),
        (
            "Mcp-Param-Value differs",
            [
                &probe_h[..],
                &[("Mcp-Param-Value", "media://samples/audio/tone.mp3")],
            ]
            .concat(),
            &probe,
        ),
        (
            "no MCP-Protocol-Version",
            vec![("Mcp-Method", "tools/list")],
            &list,
        ),
        (
            "MCP-Protocol-Version differs from _meta",
            vec![
                ("MCP-Protocol-Version", "2025-11-25"),
                ("Mcp-Method", "tools/list"),
            ],
            &list,
        ),
        ("no Mcp-Method", vec![V], &list),
        (
            "Mcp-Method differs",
            vec![V, ("Mcp-Method", "tools/call")],
            &list,
        ),
        (
            "no Mcp-Name on tools/call",
            vec![V, ("Mcp-Method", "tools/call")],
            &call,
        ),
        (
            "Mcp-Name differs",
            vec![V, ("Mcp-Method", "tools/call"), ("Mcp-Name", "media_probe")],
            &call,
        ),
        (
            "Mcp-Name differs from the uri",
            vec![
                V,
                ("Mcp-Method", "resources/read"),
                ("Mcp-Name", "media://samples/audio/tone.wav"),
            ],
            &read,
        ),
        (
            "Mcp-Name with bad base64",
            vec![
                V,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?!!!?="),
            ],
            &call,
        ),
    ];
    for (what, headers, body) in cases {
        let r = s.post(&headers, body);
        assert_eq!((r.status, r.code()), (400, Some(-32020)), "{what}: {r:?}");
        assert_eq!(r.json()["id"], body["id"], "{what}");
        assert_schema_valid(MODERN, &[r.json()], "Result");
    }
    // The matching headers, plain and in the =?base64?...?= form, are accepted.
    for name in ["media_list", "=?base64?bWVkaWFfbGlzdA==?="] {
        let r = s.post(
            &[V, ("Mcp-Method", "tools/call"), ("Mcp-Name", name)],
            &call,
        );
        assert_eq!(r.status, 200, "{name}: {r:?}");
        assert!(r.json()["result"]["structuredContent"].is_object());
    }
    let r = s.post(
        &[
            &probe_h[..],
            // base64 of the uri
            &[(
                "Mcp-Param-Value",
                "=?base64?bWVkaWE6Ly9zYW1wbGVzL2F1ZGlvL3RvbmUud2F2?=",
            )],
        ]
        .concat(),
        &probe,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json()["result"]["content"][0]["text"],
        "value: media://samples/audio/tone.wav"
    );
    // A production tool called without any Mcp-Param-* header (clients that never listed
    // tools send none) is served.
    let plain = modern_body(
        json!(5),
        "tools/call",
        json!({"name": "media_probe", "arguments": {"uri": "media://samples/audio/tone.wav"}}),
    );
    let r = s.post(
        &[V, ("Mcp-Method", "tools/call"), ("Mcp-Name", "media_probe")],
        &plain,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["result"]["structuredContent"]["kind"], "audio");
    let r = s.post(
        &[
            V,
            ("Mcp-Method", "resources/read"),
            (
                "Mcp-Name",
                "media://samples/audio/tone.wav?offset=0&length=4",
            ),
        ],
        &read,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["result"]["contents"][0]["blob"], "UklGRg==");
}

#[test]
fn http_methods_media_types_body_cap_and_origin_guard() {
    let s = HttpServer::spawn(&[
        "--max-body-bytes",
        "2048",
        "--allow-origin",
        "https://app.example.com",
        &samples_arg(),
    ]);
    // Methods other than POST (and GET/DELETE with a session): 405, with Allow.
    for m in ["PUT", "PATCH"] {
        let r = s.request(m, "/mcp", &[], b"");
        assert_eq!(r.status, 405, "{m}");
        let allow = r.header("allow").unwrap();
        assert!(allow.contains("POST"), "{allow}");
    }
    assert_eq!(
        s.request("GET", "/mcp", &[("Accept", "text/event-stream")], b"")
            .status,
        405
    );
    assert_eq!(s.request("DELETE", "/mcp", &[], b"").status, 405);
    // A body that is not JSON: 415.
    let body = serde_json::to_vec(&modern_body(json!(1), "tools/list", json!({}))).unwrap();
    let r = s.request(
        "POST",
        "/mcp",
        &[
            ("Content-Type", "text/plain"),
            V,
            ("Mcp-Method", "tools/list"),
        ],
        &body,
    );
    assert_eq!(r.status, 415);
    assert!(r.json()["error"]["code"].is_i64());
    let r = s.request(
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json; charset=utf-8"),
            V,
            ("Mcp-Method", "tools/list"),
        ],
        &body,
    );
    assert_eq!(r.status, 200, "a charset parameter is fine");
    // The body cap: just under passes, just over is 413 with a message naming the limit.
    let mut small = modern_body(json!(2), "tools/list", json!({}));
    let base = serde_json::to_vec(&small).unwrap().len();
    small["params"]["pad"] = json!("x".repeat(2048 - base - r#","pad":"""#.len()));
    assert_eq!(serde_json::to_vec(&small).unwrap().len(), 2048);
    let r = s.post(&[V, ("Mcp-Method", "tools/list")], &small);
    assert_eq!(r.status, 200, "{r:?}");
    small["params"]["pad"] = json!("x".repeat(2049 - base - r#","pad":"""#.len()));
    let r = s.post(&[V, ("Mcp-Method", "tools/list")], &small);
    assert_eq!(r.status, 413);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2048"),
        "{r:?}"
    );
    // DNS-rebinding guard: a foreign Origin or Host is 403; loopback and allowed origins pass.
    let ok = [V, ("Mcp-Method", "tools/list")];
    let list = modern_body(json!(3), "tools/list", json!({}));
    for (k, v) in [
        ("Origin", "http://evil.example.com"),
        ("Origin", "https://app.example.com.evil.net"),
        ("Origin", "null"),
        ("Host", "evil.example.com"),
        ("Host", "localhost.evil.net:80"),
    ] {
        let mut h = ok.to_vec();
        h.push((k, v));
        let r = s.post(&h, &list);
        assert_eq!(r.status, 403, "{k}: {v}");
        assert!(r.json()["error"]["code"].is_i64());
    }
    for (k, v) in [
        ("Origin", "http://localhost:5173"),
        ("Origin", "http://127.0.0.1"),
        ("Origin", "https://app.example.com"),
        ("Host", "localhost:9"),
    ] {
        let mut h = ok.to_vec();
        h.push((k, v));
        assert_eq!(s.post(&h, &list).status, 200, "{k}: {v}");
    }
}

pub(crate) fn initialize(s: &HttpServer, version: &str) -> String {
    let r = s.post(
        &[],
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "it", "version": "0"}}}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.json()["result"]["protocolVersion"], version);
    let sid = r
        .header("mcp-session-id")
        .expect("Mcp-Session-Id")
        .to_string();
    assert!(
        sid.len() >= 32 && sid.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sid}"
    );
    let r = s.post(
        &[("Mcp-Session-Id", &sid), ("MCP-Protocol-Version", version)],
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(r.status, 202);
    sid
}

#[test]
fn legacy_session_lifecycle() {
    let s = HttpServer::spawn(&[&samples_arg()]);
    let sid = initialize(&s, "2025-11-25");
    let other = initialize(&s, "2025-11-25");
    assert_ne!(sid, other, "session ids must be unique");
    let h = [
        ("Mcp-Session-Id", sid.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let r = s.post(
        &h,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(r.status, 200);
    assert!(r.json()["result"]["tools"].is_array());
    let r = s.post(&h, &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}));
    assert_eq!((r.status, r.json()["result"].clone()), (200, json!({})));
    // Without a session, a legacy request other than initialize is refused.
    let r = s.post(
        &[("MCP-Protocol-Version", "2025-11-25")],
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    );
    assert_eq!(r.status, 400);
    // An unknown session: 404.
    let r = s.post(
        &[
            ("Mcp-Session-Id", "00ff"),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(s.metric("mcp_media_sessions"), 2.0);
    // DELETE ends it: later POST, GET and DELETE get 404; the other session lives on.
    assert_eq!(
        s.request("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"")
            .status,
        200
    );
    let r = s.post(
        &h,
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        s.request("GET", "/mcp", &[("Mcp-Session-Id", &sid)], b"")
            .status,
        404
    );
    assert_eq!(
        s.request("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"")
            .status,
        404
    );
    assert_eq!(s.metric("mcp_media_sessions"), 1.0);
    let r = s.post(
        &[
            ("Mcp-Session-Id", &other),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        &json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}),
    );
    assert_eq!(r.status, 200);
}

pub(crate) fn transcode_args(uri: &str, chunk_seconds: f64) -> Value {
    json!({"name": "audio_transcode", "arguments": {
        "uri": uri, "sample_rate": 16000, "channels": 1, "chunk_seconds": chunk_seconds}})
}

/// Validates messages received over HTTP against the official schema of `version`: each
/// one as a JSON-RPC message, notifications as server notifications, and results as `def`.
fn assert_schema_valid(version: &str, messages: &[Value], def: &str) {
    let root = schema::schema(version);
    let mut errors = vec![];
    for m in messages {
        errors.extend(schema::check(&root, "JSONRPCMessage", m));
        if m.get("method").is_some() {
            errors.extend(schema::check(&root, "ServerNotification", m));
        } else if let Some(r) = m.get("result") {
            errors.extend(schema::check(&root, def, r));
        }
    }
    assert!(errors.is_empty(), "{version}: {errors:#?}");
}

/// Checks a transcode's SSE events: progress for `token`, one per chunk, then the response.
fn check_transcode_events(events: &[Event], id: &Value, token: &Value) -> usize {
    let (last, progress) = events.split_last().expect("at least one event");
    let resp = last.json();
    assert_eq!(&resp["id"], id, "the final event is the response: {resp}");
    let chunks = resp["result"]["structuredContent"]["chunks"]
        .as_array()
        .unwrap_or_else(|| panic!("{resp}"))
        .len();
    let mut prev = 0.0;
    for e in progress {
        let n = e.json();
        assert_eq!(n["method"], "notifications/progress", "{n}");
        assert_eq!(&n["params"]["progressToken"], token);
        let p = n["params"]["progress"].as_f64().unwrap();
        assert!(p > prev, "progress must increase: {prev} then {p}");
        prev = p;
    }
    assert_eq!(progress.len(), chunks, "one progress event per chunk");
    chunks
}

#[test]
fn modern_progress_switches_to_sse_and_the_response_is_the_last_event() {
    let s = HttpServer::spawn(&[&samples_arg()]);
    let mut params = modern(transcode_args("media://samples/audio/tone.flac", 0.5));
    params["_meta"]["progressToken"] = json!("tok");
    let mut st = s.post_stream(
        &[
            V,
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "audio_transcode"),
        ],
        &json!({"jsonrpc": "2.0", "id": "sse", "method": "tools/call", "params": params}),
    );
    assert_eq!(st.status, 200);
    assert_eq!(st.header("content-type"), Some("text/event-stream"));
    assert_eq!(st.header("cache-control"), Some("no-cache"));
    assert_eq!(st.header("x-accel-buffering"), Some("no"));
    let events = st.events();
    // Modern streams are not resumable: no event ids, no retry.
    assert!(
        events.iter().all(|e| e.id.is_none() && e.retry.is_none()),
        "{events:?}"
    );
    let n = check_transcode_events(&events, &json!("sse"), &json!("tok"));
    let messages: Vec<Value> = events.iter().map(Event::json).collect();
    assert_schema_valid(MODERN, &messages, "CallToolResult");
    assert!(n >= 4, "tone.flac in 0.5 s chunks: {n}");
    // The same call without a progress token is a single JSON answer.
    let r = s.modern(
        json!("json"),
        "tools/call",
        transcode_args("media://samples/audio/tone.flac", 0.5),
    );
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        r.json()["result"]["structuredContent"]["chunks"]
            .as_array()
            .unwrap()
            .len(),
        n
    );
}

#[test]
fn legacy_sse_events_carry_ids_and_replay_after_last_event_id() {
    let s = HttpServer::spawn(&[&samples_arg()]);
    for version in ["2025-11-25", "2025-06-18"] {
        let sid = initialize(&s, version);
        let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
            "name": "audio_transcode", "_meta": {"progressToken": 3},
            "arguments": {"uri": "media://samples/audio/tone.wav", "sample_rate": 16000, "channels": 1, "chunk_seconds": 1}}});
        let mut st = s.post_stream(
            &[("Mcp-Session-Id", &sid), ("MCP-Protocol-Version", version)],
            &body,
        );
        assert_eq!(st.status, 200);
        assert_eq!(st.header("content-type"), Some("text/event-stream"));
        let mut events = st.events();
        if version == "2025-11-25" {
            // The priming event: an id, a retry delay and empty data.
            let prime = events.remove(0);
            assert!(prime.retry.is_some(), "{prime:?}");
            assert_eq!(prime.data.as_deref(), Some(""));
            assert!(prime.id.as_deref().unwrap().ends_with("-0"), "{prime:?}");
        }
        let ids: Vec<(String, u64)> = events
            .iter()
            .map(|e| {
                let id = e.id.as_deref().unwrap_or_else(|| panic!("no id: {e:?}"));
                let (stream, seq) = id.split_once('-').unwrap();
                (stream.to_string(), seq.parse().unwrap())
            })
            .collect();
        assert!(ids.iter().all(|(stream, _)| *stream == ids[0].0), "{ids:?}");
        let seqs: Vec<u64> = ids.iter().map(|(_, q)| *q).collect();
        assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
        let n = check_transcode_events(&events, &json!(9), &json!(3));
        let messages: Vec<Value> = events.iter().map(Event::json).collect();
        assert_schema_valid("2025-11-25", &messages, "CallToolResult");
        assert_eq!(n, 3, "tone.wav is 3 s long");
        // GET with Last-Event-ID replays what came after that event, response last.
        let after = events[0].id.clone().unwrap();
        let mut replay = s.send(
            "GET",
            "/mcp",
            &[
                ("Mcp-Session-Id", &sid),
                ("Accept", "text/event-stream"),
                ("Last-Event-ID", &after),
            ],
            b"",
        );
        assert_eq!(replay.status, 200);
        assert_eq!(replay.header("content-type"), Some("text/event-stream"));
        let again = replay.events();
        let got: Vec<(Option<String>, Option<String>)> = again
            .iter()
            .map(|e| (e.id.clone(), e.data.clone()))
            .collect();
        let want: Vec<(Option<String>, Option<String>)> = events[1..]
            .iter()
            .map(|e| (e.id.clone(), e.data.clone()))
            .collect();
        assert_eq!(got, want, "{version}");
    }
}

/// A temporary media root `long` holding `long.wav` of `minutes` (see [`long_wav`]); keep the
/// directory alive while the server runs.
pub(crate) fn long_root(minutes: u32) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("long");
    std::fs::create_dir_all(&root).unwrap();
    long_wav(&root, minutes);
    let root = root.to_string_lossy().to_string();
    (dir, root)
}

/// Writes `minutes` of 48 kHz stereo 16-bit noise as `dir/long.wav` (one second repeated).
fn long_wav(dir: &Path, minutes: u32) {
    let second: Vec<u8> = {
        let mut x: u32 = 1;
        (0..48_000 * 2)
            .flat_map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((x >> 16) as i16 / 4).to_le_bytes()
            })
            .collect()
    };
    let data_len = second.len() as u32 * 60 * minutes;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("long.wav")).unwrap());
    f.write_all(&wav_header(48000, 2, 1, 16, data_len, None))
        .unwrap();
    for _ in 0..60 * minutes {
        f.write_all(&second).unwrap();
    }
    f.flush().unwrap();
}

const JOBS: [&str; 2] = [
    "mcp_media_jobs_cancelled_total",
    "mcp_media_jobs_completed_total",
];

#[test]
fn closing_a_modern_sse_stream_cancels_the_transcode() {
    let (_dir, root) = long_root(10);
    let s = HttpServer::spawn(&[&root]);
    let mut params = modern(transcode_args("media://long/long.wav", 2.0));
    params["_meta"]["progressToken"] = json!("c");
    let mut st = s.post_stream(
        &[
            V,
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "audio_transcode"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}),
    );
    assert_eq!(st.header("content-type"), Some("text/event-stream"));
    let first = st.next_event().expect("a first event").json();
    assert_eq!(first["method"], "notifications/progress");
    assert_eq!(s.metric("mcp_media_jobs_running"), 1.0);
    drop(st); // the client goes away mid-transcode
    // Wait for the job to end either way, then check which way it ended.
    let v = s.wait_metrics(&JOBS, |v| v[0] + v[1] >= 1.0);
    assert_eq!(
        v,
        vec![1.0, 0.0],
        "closing the stream must cancel the job, not let it finish (cancelled, completed)"
    );
    let v = s.wait_metrics(
        &[
            "mcp_media_stream_cancellations_total",
            "mcp_media_in_flight",
            "mcp_media_jobs_running",
        ],
        |v| v[1] == 0.0 && v[2] == 0.0,
    );
    assert_eq!(v[0], 1.0);
}

#[test]
fn closing_a_legacy_sse_stream_does_not_cancel_it() {
    // Legacy streams are resumable, so a dropped connection is not a cancel.
    let (_dir, root) = long_root(2);
    let s = HttpServer::spawn(&[&root]);
    let sid = initialize(&s, "2025-11-25");
    let mut args = transcode_args("media://long/long.wav", 2.0);
    args["_meta"] = json!({"progressToken": "l"});
    let mut st = s.post_stream(
        &[
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": args}),
    );
    let prime = st.next_event().unwrap();
    assert_eq!(prime.data.as_deref(), Some(""));
    let first = st.next_event().unwrap().json();
    assert_eq!(first["method"], "notifications/progress");
    drop(st);
    let v = s.wait_metrics(&JOBS, |v| v[0] + v[1] >= 1.0);
    assert_eq!(v, vec![0.0, 1.0], "(cancelled, completed)");
    assert_eq!(s.metric("mcp_media_stream_cancellations_total"), 0.0);
}

#[test]
fn legacy_get_stream_is_sse_and_one_per_session_and_batches_only_for_2025_03_26() {
    let s = HttpServer::spawn(&[&samples_arg()]);
    let sid = initialize(&s, "2025-11-25");
    let get = |sid: &str| {
        s.send(
            "GET",
            "/mcp",
            &[("Mcp-Session-Id", sid), ("Accept", "text/event-stream")],
            b"",
        )
    };
    let first = get(&sid);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("text/event-stream"));
    let second = get(&sid);
    assert_eq!(second.status, 409, "a second GET stream on one session");
    drop(second);
    drop(first);
    // Batches: answered as a JSON array in a 2025-03-26 session (requests only), refused later.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    ]);
    let old = initialize(&s, "2025-03-26");
    let r = s.post(
        &[
            ("Mcp-Session-Id", &old),
            ("MCP-Protocol-Version", "2025-03-26"),
        ],
        &batch,
    );
    assert_eq!(r.status, 200);
    let answers = r.json();
    let ids: Vec<&Value> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, [&json!(1), &json!(2)]);
    let r = s.post(
        &[
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        &batch,
    );
    assert_eq!(r.status, 400);
}

#[test]
fn legacy_request_with_an_unsupported_protocol_version_header_is_400() {
    // 2025-06-18 and 2025-11-25 transports: "If the server receives a request with an invalid
    // or unsupported MCP-Protocol-Version, it MUST respond with 400 Bad Request."
    let s = HttpServer::spawn(&[&samples_arg()]);
    let sid = initialize(&s, "2025-11-25");
    for bad in ["1999-01-01", "not-a-version"] {
        let r = s.post(
            &[("Mcp-Session-Id", &sid), ("MCP-Protocol-Version", bad)],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        );
        assert_eq!(r.status, 400, "MCP-Protocol-Version: {bad}");
    }
}

#[test]
fn legacy_notifications_cancelled_stops_the_transcode_and_its_stream() {
    let (_dir, root) = long_root(2);
    let s = HttpServer::spawn(&[&root]);
    let sid = initialize(&s, "2025-11-25");
    let h = [
        ("Mcp-Session-Id", sid.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let mut args = transcode_args("media://long/long.wav", 2.0);
    args["_meta"] = json!({"progressToken": "x"});
    let mut st = s.post_stream(
        &h,
        &json!({"jsonrpc": "2.0", "id": "job", "method": "tools/call", "params": args}),
    );
    assert_eq!(st.next_event().unwrap().data.as_deref(), Some(""));
    assert_eq!(
        st.next_event().unwrap().json()["method"],
        "notifications/progress"
    );
    let r = s.post(
        &h,
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "job", "reason": "test"}}),
    );
    assert_eq!(r.status, 202);
    let v = s.wait_metrics(&JOBS, |v| v[0] + v[1] >= 1.0);
    assert_eq!(v, vec![1.0, 0.0], "(cancelled, completed)");
    // The stream ends, and never carries a response to the cancelled request.
    let rest = st.events();
    assert!(
        rest.iter().all(|e| e.json().get("id").is_none()),
        "a cancelled request was answered: {rest:?}"
    );
}

/// Reads until EOF or a reset; returns what was read. A hang fails after [`IO_DEADLINE`].
fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut got = vec![];
    let mut buf = [0; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
}

#[test]
fn slow_headers_are_dropped_and_connections_are_capped() {
    let s = HttpServer::spawn(&[
        "--header-timeout-ms",
        "300",
        "--max-connections",
        "2",
        &samples_arg(),
    ]);
    // A client that never finishes its headers is dropped (read_until_closed fails on a hang).
    let mut slow = s.connect();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    read_until_closed(&mut slow);
    // Two kept-alive connections hold both slots (a connection the server has not finished
    // closing may still hold one for a moment: retry until both are served).
    let hold_one = || -> Option<BufReader<TcpStream>> {
        let mut c = s.connect();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .ok()?;
        let mut r = BufReader::new(c);
        let mut status = String::new();
        r.read_line(&mut status).ok()?;
        status.starts_with("HTTP/1.1 200").then_some(r)
    };
    let deadline = Instant::now() + IO_DEADLINE;
    let mut held = vec![];
    while held.len() < 2 {
        match hold_one() {
            Some(c) => held.push(c),
            None => {
                assert!(Instant::now() < deadline, "no free connection slot");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    // A third is closed on accept, unserved.
    let mut third = s.connect();
    // The write may already fail if the server closed the socket first.
    let _ = third.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_eq!(
        read_until_closed(&mut third),
        b"",
        "a third connection was served past --max-connections 2"
    );
    drop(held);
    // Once the server sees them closed, the slots serve again.
    loop {
        let mut c = s.connect();
        let _ =
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        if read_until_closed(&mut c).starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "slots never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn deleting_a_legacy_session_cancels_its_work() {
    let (_dir, root) = long_root(2);
    let s = HttpServer::spawn(&[&root]);
    let sid = initialize(&s, "2025-11-25");
    let mut args = transcode_args("media://long/long.wav", 2.0);
    args["_meta"] = json!({"progressToken": "d"});
    let mut st = s.post_stream(
        &[
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": args}),
    );
    assert_eq!(st.next_event().unwrap().data.as_deref(), Some(""));
    assert_eq!(
        st.next_event().unwrap().json()["method"],
        "notifications/progress"
    );
    let r = s.request("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
    assert_eq!(r.status, 200);
    let v = s.wait_metrics(&JOBS, |v| v[0] + v[1] >= 1.0);
    assert_eq!(v, vec![1.0, 0.0], "(cancelled, completed)");
    let rest = st.events();
    assert!(
        rest.iter().all(|e| e.json().get("id").is_none()),
        "a request of a deleted session was answered: {rest:?}"
    );
}
