//! The request pipeline's bounds and flags, driven through the real binary: the stdio reader
//! never waits on work (`--max-in-flight`, `--max-queued`), blocking jobs are bounded
//! server-wide (`--jobs`), the derived-media cache has the size it is given (`--cache-bytes`),
//! and legacy batches get their progress.

use crate::util::{Server, modern_meta, samples};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A legacy session whose client can answer elicitations.
fn elicitation_session(extra: &[&str]) -> Server {
    let samples = samples();
    let mut args = vec!["--conformance"];
    args.extend_from_slice(extra);
    args.push(samples.to_str().expect("utf-8 path"));
    let mut s = Server::spawn(&args);
    s.initialize("2025-11-25", json!({"elicitation": {}}));
    s
}

/// Starts `test_elicitation` as request `id` and returns the server's elicitation request.
fn start_elicitation(s: &mut Server, id: i64) -> Value {
    s.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "test_elicitation", "arguments": {"message": "Who?"}}}));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(m) = s.next(Duration::from_secs(1))
            && m["method"] == "elicitation/create"
        {
            return m;
        }
    }
    panic!("no elicitation/create request from the server");
}

fn answer_elicitation(s: &mut Server, req: &Value) {
    s.send(&json!({"jsonrpc": "2.0", "id": req["id"],
        "result": {"action": "accept", "content": {"response": "Ada"}}}));
}

#[test]
fn the_stdio_reader_reads_answers_while_every_slot_is_busy() {
    // One slot: the elicitation holds it while it waits for the client's answer.
    let mut s = elicitation_session(&["--max-in-flight", "1"]);
    let elicit = start_elicitation(&mut s, 10);
    // This request must wait for the slot; the answer behind it must still be read.
    s.send(&json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": {}}));
    answer_elicitation(&mut s, &elicit);
    let r = s.response(&json!(10));
    let text = r["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("Ada"), "{r}");
    let list = s.response(&json!(11));
    assert!(list["result"]["tools"].is_array(), "{list}");
}

#[test]
fn a_cancel_behind_a_waiting_request_gets_through() {
    let mut s = elicitation_session(&["--max-in-flight", "1"]);
    start_elicitation(&mut s, 10);
    s.send(&json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": {}}));
    // Cancelling the running request frees the slot for the waiting one.
    s.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 10, "reason": "test"}}),
    );
    let list = s.response(&json!(11));
    assert!(list["result"]["tools"].is_array(), "{list}");
    assert!(
        s.seen
            .iter()
            .all(|m| m["id"] != 10 || m.get("method").is_some()),
        "a cancelled request gets no response"
    );
}

#[test]
fn a_full_connection_answers_server_busy_at_once() {
    let mut s = elicitation_session(&["--max-in-flight", "1", "--max-queued", "1"]);
    let elicit = start_elicitation(&mut s, 10);
    s.send(&json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": {}}));
    let busy = s.request(json!(12), "tools/list", json!({}));
    assert_eq!(busy["error"]["code"], -32000, "{busy}");
    assert!(
        busy["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("busy"),
        "{busy}"
    );
    answer_elicitation(&mut s, &elicit);
    assert!(s.response(&json!(10))["result"].is_object());
    assert!(s.response(&json!(11))["result"]["tools"].is_array());
}

/// Progress tokens of the `notifications/progress` seen, in order.
fn progress_order(s: &Server) -> Vec<String> {
    s.seen
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            m["params"]["progressToken"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn one_job_permit_runs_tool_calls_one_after_the_other() {
    let samples = samples();
    let mut s = Server::spawn(&[
        "--conformance",
        "--jobs",
        "1",
        samples.to_str().expect("utf-8 path"),
    ]);
    for tok in ["a", "b"] {
        let mut meta = modern_meta();
        meta["progressToken"] = json!(tok);
        s.send(&json!({"jsonrpc": "2.0", "id": tok, "method": "tools/call",
            "params": {"name": "test_tool_with_progress", "arguments": {}, "_meta": meta}}));
    }
    s.response(&json!("a"));
    s.response(&json!("b"));
    let order = progress_order(&s);
    assert_eq!(order.len(), 6, "{order:?}");
    // With one permit the second call starts only when the first one's work has ended.
    let first = &order[0];
    assert!(
        order[..3].iter().all(|t| t == first) && order[3..].iter().all(|t| t != first),
        "progress of the two calls interleaved: {order:?}"
    );
}

#[test]
fn legacy_batches_carry_their_progress_over_stdio() {
    let samples = samples();
    let mut s = Server::spawn(&["--conformance", samples.to_str().expect("utf-8 path")]);
    s.initialize("2025-03-26", json!({}));
    s.send(&json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "p"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    ]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let batch = loop {
        assert!(Instant::now() < deadline, "no batch answer");
        if let Some(m) = s.next(Duration::from_secs(1))
            && m.is_array()
        {
            break m;
        }
    };
    let ids: Vec<&Value> = batch
        .as_array()
        .map(|a| a.iter().map(|r| &r["id"]).collect())
        .unwrap_or_default();
    assert_eq!(ids, [&json!(1), &json!(2)]);
    assert_eq!(progress_order(&s), ["p", "p", "p"]);
}

// ---- HTTP: a minimal HTTP/1.1 client over std (one request per connection).

/// The binary serving HTTP on a free loopback port.
struct HttpServer {
    child: std::process::Child,
    addr: String,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_server(extra: &[&str]) -> HttpServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-media"))
        .args(["serve", "--listen", &addr])
        .args(extra)
        .arg(samples())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn mcp-media");
    let s = HttpServer { child, addr };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(&s, "GET", "/healthz", &[], "").is_none() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

/// One request; `Some((status, body))`, or None if the server cannot be reached.
fn http(
    s: &HttpServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut c = TcpStream::connect(&s.addr).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        s.addr,
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).ok()?;
    c.write_all(body.as_bytes()).ok()?;
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|x| x.1.to_string())?;
    Some((status, body))
}

fn modern_read(s: &HttpServer, uri: &str) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read",
        "params": {"uri": uri, "_meta": modern_meta()}})
    .to_string();
    let (status, text) = http(
        s,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", crate::util::MODERN),
            ("Mcp-Method", "resources/read"),
            ("Mcp-Name", uri),
        ],
        &body,
    )
    .expect("the server answers");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("JSON body: {text}"))
}

/// A value of `/metrics` (the first sample line of `name`).
fn metric(s: &HttpServer, name: &str) -> f64 {
    let (_, text) = http(s, "GET", "/metrics", &[], "").expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

const SEGMENT: &str =
    "media://samples/audio/tone.flac?start=0&duration=1&format=wav&rate=16000&channels=1";

#[test]
fn cache_bytes_sets_the_derived_media_cache_size() {
    // A 1 s 16 kHz mono WAV is 32 KB: a 1,000-byte cache cannot keep it, so a second read
    // renders again; the default cache serves it from memory.
    let small = http_server(&["--cache-bytes", "1000"]);
    for _ in 0..2 {
        assert!(modern_read(&small, SEGMENT)["result"]["contents"][0]["blob"].is_string());
    }
    assert_eq!(metric(&small, "mcp_media_cache_capacity_bytes"), 1000.0);
    assert_eq!(metric(&small, "mcp_media_cache_hits_total"), 0.0);
    assert_eq!(metric(&small, "mcp_media_cache_entries"), 0.0);

    let default = http_server(&[]);
    for _ in 0..2 {
        assert!(modern_read(&default, SEGMENT)["result"]["contents"][0]["blob"].is_string());
    }
    assert_eq!(
        metric(&default, "mcp_media_cache_capacity_bytes"),
        (256 * 1024 * 1024) as f64
    );
    assert_eq!(metric(&default, "mcp_media_cache_hits_total"), 1.0);
    assert_eq!(metric(&default, "mcp_media_cache_entries"), 1.0);
}

#[test]
fn legacy_http_batches_stream_their_progress() {
    let s = http_server(&["--conformance"]);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "it", "version": "0"}}})
    .to_string();
    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{init}",
        s.addr,
        init.len()
    );
    c.write_all(req.as_bytes()).expect("send");
    let mut raw = String::new();
    c.read_to_string(&mut raw).expect("read");
    let sid = raw
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("mcp-session-id")
                .then(|| v.trim().to_string())
        })
        .expect("a session id");
    // More progress than any internal queue holds would once block for ever.
    let calls: Vec<Value> = (1..=40)
        .map(|i| {
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "test_tool_with_progress", "arguments": {},
                       "_meta": {"progressToken": i}}})
        })
        .collect();
    let body = Value::Array(calls).to_string();
    let (status, text) = http(
        &s,
        "POST",
        "/mcp",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-03-26"),
        ],
        &body,
    )
    .expect("the batch is answered");
    assert_eq!(status, 200, "{text}");
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    let progress = events
        .iter()
        .filter(|e| e["method"] == "notifications/progress")
        .count();
    assert_eq!(progress, 120, "three progress notifications per call");
    let answer = events
        .iter()
        .find(|e| e.is_array())
        .expect("the batch answer");
    assert_eq!(answer.as_array().map(Vec::len), Some(40));
}

#[test]
fn max_scan_entries_bounds_the_scan_and_media_list_says_so() {
    let samples = samples();
    let list = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.push(samples.to_str().expect("utf-8 path"));
        let mut s = Server::spawn(&args);
        let r = s.request(
            json!(1),
            "tools/call",
            crate::util::modern(json!({"name": "media_list", "arguments": {}})),
        );
        r["result"]["structuredContent"].clone()
    };
    let full = list(&[]);
    assert!(full.get("truncated").is_none(), "{full}");
    let cut = list(&["--max-scan-entries", "3"]);
    assert_eq!(cut["truncated"], true, "{cut}");
    assert!(
        cut["total"].as_u64() < full["total"].as_u64(),
        "{cut} vs {full}"
    );
}
