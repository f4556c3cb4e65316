//! The request pipeline's bounds and flags, driven through the real binary: the stdio reader
//! never waits on work (`--max-in-flight`, `--max-queued`), blocking jobs are bounded
//! server-wide (`--jobs`), the derived-media cache has the size it is given (`--cache-bytes`),
//! and legacy batches get their progress.

use crate::http::{HttpServer, initialize, samples_arg};
use crate::util::{Server, modern_meta, samples};
use serde_json::{Value, json};
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

const SEGMENT: &str =
    "media://samples/audio/tone.flac?start=0&duration=1&format=wav&rate=16000&channels=1";

#[test]
fn cache_bytes_sets_the_derived_media_cache_size() {
    // A 1 s 16 kHz mono WAV is 32 KB: a 1,000-byte cache cannot keep it, so a second read
    // renders again; the default cache serves it from memory.
    let read = |s: &HttpServer| {
        let r = s.modern(json!(1), "resources/read", json!({"uri": SEGMENT}));
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.json()["result"]["contents"][0]["blob"].is_string());
    };
    let small = HttpServer::spawn(&["--cache-bytes", "1000", &samples_arg()]);
    read(&small);
    read(&small);
    assert_eq!(small.metric("mcp_media_cache_capacity_bytes"), 1000.0);
    assert_eq!(small.metric("mcp_media_cache_hits_total"), 0.0);
    assert_eq!(small.metric("mcp_media_cache_entries"), 0.0);

    let default = HttpServer::spawn(&[&samples_arg()]);
    read(&default);
    read(&default);
    assert_eq!(
        default.metric("mcp_media_cache_capacity_bytes"),
        (256 * 1024 * 1024) as f64
    );
    assert_eq!(default.metric("mcp_media_cache_hits_total"), 1.0);
    assert_eq!(default.metric("mcp_media_cache_entries"), 1.0);
}

#[test]
fn legacy_http_batches_stream_their_progress() {
    let s = HttpServer::spawn(&["--conformance", &samples_arg()]);
    let sid = initialize(&s, "2025-03-26");
    // More progress than any internal queue holds would once block for ever.
    let calls: Vec<Value> = (1..=40)
        .map(|i| {
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "test_tool_with_progress", "arguments": {},
                       "_meta": {"progressToken": i}}})
        })
        .collect();
    let r = s.post(
        &[
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-03-26"),
        ],
        &Value::Array(calls),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let text = String::from_utf8_lossy(&r.body).to_string();
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
    // Each answer is its own event, sent as its call finishes (never gathered into one).
    assert!(!events.iter().any(Value::is_array), "no gathered array");
    let mut answered: Vec<i64> = events
        .iter()
        .filter(|e| e.get("result").is_some())
        .filter_map(|e| e["id"].as_i64())
        .collect();
    answered.sort_unstable();
    assert_eq!(answered, (1..=40).collect::<Vec<_>>());
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

#[test]
fn cheap_requests_never_wait_behind_heavy_work() {
    // One heavy permit, held by an elicitation that waits on the client.
    let mut s = elicitation_session(&["--jobs", "1"]);
    let elicit = start_elicitation(&mut s, 10);
    let probe = s.request(
        json!(11),
        "tools/call",
        json!({"name": "media_probe", "arguments": {"uri": "media://samples/audio/tone.wav"}}),
    );
    assert_eq!(
        probe["result"]["structuredContent"]["kind"], "audio",
        "{probe}"
    );
    let list = s.request(json!(12), "resources/list", json!({}));
    assert!(list["result"]["resources"].is_array(), "{list}");
    let read = s.request(
        json!(13),
        "resources/read",
        json!({"uri": "media://samples/audio/tone.wav?offset=0&length=4"}),
    );
    assert!(read["result"]["contents"][0]["blob"].is_string(), "{read}");
    answer_elicitation(&mut s, &elicit);
    assert!(s.response(&json!(10))["result"].is_object());
}

/// A legacy session whose client declares elicitation.
fn http_elicitation_session(s: &HttpServer) -> String {
    let r = s.post(
        &[],
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "it", "version": "0"}}}),
    );
    let sid = r.header("mcp-session-id").expect("a session").to_string();
    let ok = s.post(
        &[("Mcp-Session-Id", &sid)],
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(ok.status, 202);
    sid
}

/// Starts an elicitation in session `sid`; returns its open stream once the server asked.
fn http_elicit(s: &HttpServer, sid: &str, id: i64) -> crate::http::Stream {
    let mut st = s.post_stream(
        &[("Mcp-Session-Id", sid)],
        &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "test_elicitation", "arguments": {"message": "Who?"}}}),
    );
    loop {
        let e = st.next_event().expect("an elicitation request");
        // Skip the priming event (an id and empty data).
        if e.data.as_deref().is_some_and(|d| !d.is_empty())
            && e.json()["method"] == "elicitation/create"
        {
            return st;
        }
    }
}

fn transcode_in_session(s: &HttpServer, sid: &str) -> Value {
    let r = s.post(
        &[("Mcp-Session-Id", sid)],
        &json!({"jsonrpc": "2.0", "id": 50, "method": "tools/call", "params": {
            "name": "audio_transcode", "arguments": {"uri": "media://samples/audio/tone.wav",
            "sample_rate": 16000, "channels": 1, "chunk_seconds": 1}}}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

#[test]
fn one_client_cannot_take_the_whole_heavy_pool() {
    // Two heavy permits, one per client by default.
    let s = HttpServer::spawn(&["--conformance", "--jobs", "2", &samples_arg()]);
    let a = http_elicitation_session(&s);
    let b = http_elicitation_session(&s);
    let _a1 = http_elicit(&s, &a, 1);
    // A's second heavy call waits for A's share (no answer can start yet: send, don't read).
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "test_elicitation", "arguments": {"message": "Again?"}}})
    .to_string();
    let mut _a2 = s.connect();
    std::io::Write::write_all(
        &mut _a2,
        format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nMcp-Session-Id: {a}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            s.addr,
            body.len()
        )
        .as_bytes(),
    )
    .expect("send");
    s.wait_metrics(&["mcp_media_jobs_waiting"], |v| v[0] == 1.0);
    // ...so B's transcode gets the other permit and finishes.
    let done = transcode_in_session(&s, &b);
    assert_eq!(
        done["result"]["structuredContent"]["complete"], true,
        "{done}"
    );
    assert_eq!(
        s.metric("mcp_media_jobs_waiting"),
        1.0,
        "A's second call still waits"
    );
}

#[test]
fn jobs_per_client_lets_one_client_use_more_of_the_pool() {
    let s = HttpServer::spawn(&[
        "--conformance",
        "--jobs",
        "2",
        "--jobs-per-client",
        "2",
        &samples_arg(),
    ]);
    let a = http_elicitation_session(&s);
    let _a1 = http_elicit(&s, &a, 1);
    // With a share of two, A's second elicitation runs at once.
    let _a2 = http_elicit(&s, &a, 2);
    assert_eq!(s.metric("mcp_media_jobs_running"), 2.0);
    assert_eq!(s.metric("mcp_media_jobs_waiting"), 0.0);
}

#[test]
fn a_request_cancelled_while_it_waits_for_a_slot_never_runs() {
    let mut s = elicitation_session(&["--max-in-flight", "1"]);
    let elicit = start_elicitation(&mut s, 10);
    // 11 waits for the only slot; it is cancelled there.
    s.send(&json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": {}}));
    s.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 11, "reason": "test"}}),
    );
    // 12 queues behind it; slots are granted in order, so 11 would answer before 12.
    s.send(&json!({"jsonrpc": "2.0", "id": 12, "method": "ping"}));
    answer_elicitation(&mut s, &elicit);
    assert!(s.response(&json!(10))["result"].is_object());
    assert!(s.response(&json!(12))["result"].is_object());
    assert!(
        s.seen.iter().all(|m| m["id"] != 11),
        "the cancelled request ran: {:?}",
        s.seen
    );
}
