//! Hostile and careless HTTP clients: bodies trickled a byte at a time, sessions opened and
//! abandoned by the thousand, `/metrics` read from a foreign page, invented method names.
//! Each ends in a clean refusal, and the server keeps serving everyone else.

use crate::http::{HttpServer, initialize, samples_arg};
use serde_json::json;
use std::io::{Read, Write};

/// Sends the head of a POST announcing `len` body bytes and then only `sent` of them, and
/// reads what the server answers (it must answer and close by itself).
fn trickle(s: &HttpServer, len: usize, sent: &[u8]) -> String {
    let mut c = s.connect();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {len}\r\n\r\n",
        s.addr
    );
    c.write_all(head.as_bytes()).expect("send head");
    c.write_all(sent).expect("send part of the body");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).to_string()
}

#[test]
fn a_body_that_never_completes_gets_408_within_the_body_deadline() {
    let s = HttpServer::spawn(&["--body-timeout-ms", "300", &samples_arg()]);
    let answer = trickle(&s, 100, b"{");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("was not received within 300 ms"),
        "{answer}"
    );
    assert_eq!(s.metric("mcp_media_slow_bodies_total"), 1.0);
    // Everyone else is still served.
    let r = s.modern(json!(1), "tools/list", json!({}));
    assert_eq!(r.status, 200);
}

#[test]
fn a_body_slower_than_the_minimum_rate_gets_408() {
    // A generous deadline: only the rate can end this one.
    let s = HttpServer::spawn(&[
        "--body-timeout-ms",
        "120000",
        "--min-body-rate",
        "1000000",
        &samples_arg(),
    ]);
    let answer = trickle(&s, 100, b"{");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("arrived slower than 1000000 bytes/s"),
        "{answer}"
    );
    assert_eq!(s.metric("mcp_media_slow_bodies_total"), 1.0);
}

fn list_in_session(s: &HttpServer, sid: &str) -> u16 {
    s.post(
        &[
            ("Mcp-Session-Id", sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .status
}

#[test]
fn a_full_session_table_evicts_the_least_recently_used_idle_session() {
    let s = HttpServer::spawn(&["--max-sessions", "2", &samples_arg()]);
    let a = initialize(&s, "2025-11-25");
    let b = initialize(&s, "2025-11-25");
    // A is used again: B is now the least recently used.
    assert_eq!(list_in_session(&s, &a), 200);
    let c = initialize(&s, "2025-11-25");
    assert_eq!(list_in_session(&s, &b), 404, "B was evicted");
    assert_eq!(list_in_session(&s, &a), 200);
    assert_eq!(list_in_session(&s, &c), 200);
    assert_eq!(s.metric("mcp_media_sessions_evicted_total"), 1.0);
    assert_eq!(s.metric("mcp_media_sessions"), 2.0);
}

#[test]
fn a_session_with_an_open_stream_is_not_evicted() {
    let s = HttpServer::spawn(&["--max-sessions", "2", &samples_arg()]);
    let a = initialize(&s, "2025-11-25");
    // A keeps its GET stream open: it is busy even though it is the oldest.
    let stream = s.send(
        "GET",
        "/mcp",
        &[
            ("Mcp-Session-Id", &a),
            ("Accept", "text/event-stream"),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        b"",
    );
    assert_eq!(stream.status, 200);
    let b = initialize(&s, "2025-11-25");
    let _c = initialize(&s, "2025-11-25");
    assert_eq!(list_in_session(&s, &b), 404, "the idle session made room");
    assert_eq!(list_in_session(&s, &a), 200, "the busy one stayed");
    drop(stream);
}

#[test]
fn metrics_refuse_a_foreign_host_and_keep_labels_to_a_fixed_set() {
    let s = HttpServer::spawn(&[&samples_arg()]);
    let r = s.request("GET", "/metrics", &[("Host", "evil.example")], b"");
    assert_eq!(r.status, 403);
    let r = s.request(
        "GET",
        "/metrics",
        &[("Origin", "https://evil.example")],
        b"",
    );
    assert_eq!(r.status, 403);
    let sid = initialize(&s, "2025-11-25");
    for i in 0..5 {
        let r = s.post(
            &[("Mcp-Session-Id", &sid)],
            &json!({"jsonrpc": "2.0", "id": i, "method": format!("x/invented-{i}")}),
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["error"]["code"], -32601);
    }
    let text = String::from_utf8(s.request("GET", "/metrics", &[], b"").body).unwrap();
    assert!(!text.contains("invented"), "{text}");
    assert!(
        text.contains("mcp_media_requests_total{method=\"other\",status=\"200\"} 5"),
        "{text}"
    );
}

#[test]
fn a_huge_batch_is_bounded_by_count_and_answer_bytes() {
    let s = HttpServer::spawn(&[&samples_arg()]);
    let sid = initialize(&s, "2025-03-26");
    // 3,000 reads of a 520 KB file would answer about 2 GB.
    let batch: Vec<serde_json::Value> = (0..3000)
        .map(|i| {
            json!({"jsonrpc": "2.0", "id": i, "method": "resources/read",
                "params": {"uri": "media://samples/audio/tone.wav"}})
        })
        .collect();
    let r = s.post(
        &[("Mcp-Session-Id", &sid)],
        &serde_json::Value::Array(batch),
    );
    assert_eq!(r.status, 200);
    let answers = r.json();
    let answers = answers.as_array().expect("an array");
    assert_eq!(answers.len(), 3000, "every request is answered");
    let served = answers.iter().filter(|a| a.get("result").is_some()).count();
    assert!(served > 0 && served <= 64, "{served} served");
    let refused = &answers[2999];
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not run"),
        "{refused}"
    );
    // The answer stays near the 32 MiB bound, so memory does too.
    assert!(r.body.len() < 40 * 1024 * 1024, "{} bytes", r.body.len());
    // Streamed element by element: the server never holds the whole answer (about 33 MiB;
    // gathered and then framed as one array it held it twice, over 64 MiB).
    let peak = s.peak_rss();
    eprintln!("peak RSS serving the batch: {} MiB", peak >> 20);
    assert!(peak < 48 * 1024 * 1024, "peak RSS {peak} bytes");
    // And the session still works.
    let ok = s.post(
        &[("Mcp-Session-Id", &sid)],
        &json!({"jsonrpc": "2.0", "id": "after", "method": "tools/list"}),
    );
    assert_eq!(ok.status, 200);
}

#[test]
fn max_batch_bytes_total_bounds_batch_answers_server_wide() {
    // Four reads of a 520 KB file answer about 700 KB each (read into memory).
    let batch_of = |uri: &str| {
        serde_json::Value::Array(
            (0..4)
                .map(|i| {
                    json!({"jsonrpc": "2.0", "id": i, "method": "resources/read",
                        "params": {"uri": uri}})
                })
                .collect(),
        )
    };
    let files = batch_of("media://samples/audio/tone.wav");
    // Derived audio is rendered into memory: 3 s of 48 kHz stereo WAV, 576 KB each.
    let derived = batch_of("media://samples/audio/tone.wav?format=wav&rate=48000");
    let results = |batch: &serde_json::Value, args: &[&str]| {
        let s = HttpServer::spawn(args);
        let sid = initialize(&s, "2025-03-26");
        let r = s.post(&[("Mcp-Session-Id", &sid)], batch);
        assert_eq!(r.status, 200);
        let v = r.json();
        v.as_array().expect("an array").clone()
    };
    let samples = samples_arg();
    // The default budget (128 MiB) holds all four.
    let all = results(&files, &[&samples]);
    assert!(all.iter().all(|a| a.get("result").is_some()), "{all:.300?}");
    // Over HTTP each answer holds its share only until it is written. With one job at a time
    // at most three answers are held at once (one being written, one waiting to be, one just
    // made: about 2.1 MB), so a 2.2 MB budget serves all four (2.8 MB in all) to a client that
    // reads. (With more jobs, more answers can be made before the first is written: how many
    // depends on timing.)
    let some = results(
        &files,
        &[
            "--jobs",
            "1",
            "--max-batch-bytes-total",
            "2200000",
            &samples,
        ],
    );
    assert!(
        some.iter().all(|a| a.get("result").is_some()),
        "{some:.300?}"
    );
    // The budget bounds memory: a blob streamed from its file (reads over 1 MiB are) holds
    // none of its bytes, so a budget below one answer still serves such reads...
    let big_files = batch_of("media://samples/images/phone.jpg");
    let streamed = results(&big_files, &["--max-batch-bytes-total", "500000", &samples]);
    assert!(
        streamed.iter().all(|a| a.get("result").is_some()),
        "{streamed:.300?}"
    );
    // ...but not answers held in memory: the first is dropped for a retryable error, and the
    // rest are not run.
    let none = results(&derived, &["--max-batch-bytes-total", "500000", &samples]);
    assert_eq!(none.len(), 4);
    for (i, a) in none.iter().enumerate() {
        assert_eq!(a["error"]["code"], -32000, "{a:.300}");
        assert_eq!(a["id"], i, "{a:.300}");
        let m = a["error"]["message"].as_str().unwrap();
        assert!(m.contains("budget for batch answers"), "{m}");
    }
}

#[test]
fn the_open_file_limit_is_raised_to_the_hard_limit_at_start() {
    // Connections, streamed answers and replayed events each hold a descriptor: a server
    // started with the common soft limit of 1024 (here 256) would fail opens long before its
    // own bounds. It raises the soft limit to the hard one.
    let hard = std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_owned))
        .unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 256 && exec "$0" serve --stdio "$1""#)
        .arg(env!("CARGO_BIN_EXE_mcp-media"))
        .arg(crate::util::samples())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::{BufRead, Write};
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"ping"}}"#).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(r#""id":1"#), "{line}");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        .unwrap();
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    let want = if hard == "unlimited" {
        "1048576".to_string()
    } else {
        hard.parse::<u64>().unwrap().min(1 << 20).to_string()
    };
    assert_eq!(soft, want, "soft open-file limit after start (hard {hard})");
}
