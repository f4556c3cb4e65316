//! Faults end cleanly and leak nothing: a saturated job pool, a client that disconnects in the
//! middle of a batch, a disk that fails (EIO) or stalls mid-file (an `LD_PRELOAD` shim,
//! `tests/faults/faultfs.c`, injects both into the real binary). Each run ends with the in-flight gauge, running and waiting jobs back at
//! zero (so no permit, gauge or session is leaked).

use crate::http::{HttpServer, initialize, long_root};
use serde_json::json;
use std::io::{Read, Write};

const IDLE: [&str; 3] = [
    "mcp_media_in_flight",
    "mcp_media_jobs_running",
    "mcp_media_jobs_waiting",
];

#[test]
fn a_saturated_job_pool_answers_everyone_and_returns_to_idle() {
    let (_dir, root) = long_root(1);
    let s = HttpServer::spawn(&["--jobs", "1", &root]);
    // Twelve transcodes at once from twelve connections, one heavy permit.
    let streams: Vec<_> = (0..12)
        .map(|i| {
            s.post_stream(
                &[
                    ("MCP-Protocol-Version", crate::util::MODERN),
                    ("Mcp-Method", "tools/call"),
                    ("Mcp-Name", "audio_transcode"),
                ],
                &json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                    "params": crate::util::modern(json!({"name": "audio_transcode", "arguments": {
                        "uri": "media://long/long.wav", "duration": 5, "sample_rate": 16000,
                        "channels": 1, "chunk_seconds": 5}}))}),
            )
        })
        .collect();
    for (i, st) in streams.into_iter().enumerate() {
        let r = st.into_resp();
        assert_eq!(r.status, 200, "{i}: {r:?}");
        assert_eq!(r.json()["result"]["structuredContent"]["complete"], true);
    }
    s.wait_metrics(&IDLE, |v| v.iter().all(|x| *x == 0.0));
    assert_eq!(s.metric("mcp_media_jobs_completed_total"), 12.0);
}

#[test]
fn a_client_gone_mid_batch_leaves_nothing_running() {
    let (_dir, root) = long_root(1);
    let s = HttpServer::spawn(&[&root]);
    let sid = initialize(&s, "2025-03-26");
    let batch: Vec<_> = (0..4)
        .map(|i| {
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
                "name": "audio_transcode", "arguments": {"uri": "media://long/long.wav",
                "duration": 20, "sample_rate": 16000, "channels": 1, "chunk_seconds": 5},
                "_meta": {"progressToken": i}}})
        })
        .collect();
    let body = serde_json::Value::Array(batch).to_string();
    {
        let mut c = s.connect();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n\
             Content-Length: {}\r\n\r\n",
            s.addr,
            body.len()
        );
        c.write_all(head.as_bytes()).expect("head");
        c.write_all(body.as_bytes()).expect("body");
        // Wait until the batch runs, then go away.
        s.wait_metrics(&["mcp_media_jobs_running"], |v| v[0] >= 1.0);
    }
    // The batch finishes or stops; either way nothing stays running or in flight, and the
    // session still serves.
    s.wait_metrics(&IDLE, |v| v.iter().all(|x| *x == 0.0));
    let r = s.post(
        &[("Mcp-Session-Id", &sid)],
        &json!({"jsonrpc": "2.0", "id": "after", "method": "tools/list"}),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn closing_the_stream_of_a_derived_read_stops_its_render() {
    // Ten minutes to render (far longer than the test needs to close its stream).
    let (_dir, root) = long_root(10);
    let s = HttpServer::spawn(&["--inline-limit", "33554432", &root]);
    let uri = "media://long/long.wav?start=0&duration=600&format=wav&rate=16000&channels=1";
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read",
        "params": crate::util::modern(json!({"uri": uri}))})
    .to_string();
    {
        let mut c = s.connect();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {}\r\n\
             Mcp-Method: resources/read\r\nMcp-Name: {uri}\r\nContent-Length: {}\r\n\r\n",
            s.addr,
            crate::util::MODERN,
            body.len()
        );
        c.write_all(head.as_bytes()).expect("head");
        c.write_all(body.as_bytes()).expect("body");
        s.wait_metrics(&["mcp_media_jobs_running"], |v| v[0] >= 1.0);
    }
    let v = s.wait_metrics(
        &[
            "mcp_media_jobs_cancelled_total",
            "mcp_media_jobs_completed_total",
        ],
        |v| v[0] + v[1] >= 1.0,
    );
    assert_eq!(v, vec![1.0, 0.0], "the render must stop, not finish");
    s.wait_metrics(&IDLE, |v| v.iter().all(|x| *x == 0.0));
}

/// Builds `tests/faults/faultfs.c` (an `LD_PRELOAD` shim that fails or slows reads of files
/// whose path contains a pattern) into `dir`, with the system C compiler.
fn faultfs(dir: &std::path::Path) -> String {
    let so = dir.join("faultfs.so");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/faults/faultfs.c");
    let ok = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&so)
        .arg(src)
        .arg("-ldl")
        .status()
        .expect("a C compiler (cc) for the fault-injection shim")
        .success();
    assert!(ok, "cc failed to build {src}");
    so.to_string_lossy().into_owned()
}

/// A copy of `root/long.wav` named `name` (the shim picks files by name).
fn copy_long(root: &str, name: &str) {
    let root = std::path::Path::new(root);
    std::fs::copy(root.join("long.wav"), root.join(name)).unwrap();
}

fn read_range(s: &HttpServer, id: i64, uri: &str) -> serde_json::Value {
    let r = s.modern(json!(id), "resources/read", json!({"uri": uri}));
    r.json()
}

#[test]
fn the_disk_failing_mid_file_ends_in_a_clean_error_and_leaks_nothing() {
    let (dir, root) = long_root(1);
    copy_long(&root, "eio_long.wav");
    let so = faultfs(dir.path());
    // Reads of eio_long.wav that start in bytes 2,000,000..3,000,000 fail with EIO, as a bad
    // sector does.
    let s = HttpServer::spawn_env(
        &[&root],
        &[
            ("LD_PRELOAD", &so),
            ("FAULTFS_EIO", "eio_long.wav"),
            ("FAULTFS_EIO_AFTER", "2000000"),
            ("FAULTFS_EIO_UNTIL", "3000000"),
        ],
    );
    // The header is readable: the file is listed and probed.
    let probe = s.modern(
        json!(1),
        "tools/call",
        json!({"name": "media_probe", "arguments": {"uri": "media://long/eio_long.wav"}}),
    );
    let probe = probe.json();
    assert_eq!(
        probe["result"]["structuredContent"]["kind"], "audio",
        "{probe}"
    );
    // A range across the bad sector: a JSON-RPC error naming the I/O failure, not a short blob.
    let v = read_range(
        &s,
        2,
        "media://long/eio_long.wav?offset=1500000&length=1048576",
    );
    assert_eq!(v["error"]["code"], -32603, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("Input/output error"), "{msg}");
    // A transcode that reads into it: an isError result naming the failure.
    let t = s.modern(
        json!(3),
        "tools/call",
        json!({"name": "audio_transcode", "arguments": {"uri": "media://long/eio_long.wav",
            "duration": 20, "sample_rate": 16000, "channels": 1}}),
    );
    let t = t.json();
    assert_eq!(t["result"]["isError"], true, "{t}");
    let text = t["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("Input/output error"), "{text}");
    // The same reads of a healthy file work, and nothing stays held.
    let ok = read_range(&s, 4, "media://long/long.wav?offset=0&length=1048576");
    assert!(ok["result"]["contents"][0]["blob"].is_string(), "{ok}");
    s.wait_metrics(&IDLE, |v| v.iter().all(|x| *x == 0.0));
}

#[test]
fn read_deadline_ms_fails_reads_of_slow_storage_and_only_those() {
    let (dir, root) = long_root(1);
    copy_long(&root, "slow_long.wav");
    let so = faultfs(dir.path());
    // Every read call on slow_long.wav takes 400 ms, as on storage that stalls.
    let env = [
        ("LD_PRELOAD", so.as_str()),
        ("FAULTFS_SLOW", "slow_long.wav"),
        ("FAULTFS_SLOW_MS", "400"),
    ];
    let uri = "media://long/slow_long.wav?offset=0&length=65536";
    let strict = HttpServer::spawn_env(&["--read-deadline-ms", "150", &root], &env);
    let v = read_range(&strict, 1, uri);
    assert_eq!(v["error"]["code"], -32603, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("read deadline"), "{msg}");
    // Healthy files on the same server are unaffected.
    let ok = read_range(&strict, 2, "media://long/long.wav?offset=0&length=65536");
    assert!(ok["result"]["contents"][0]["blob"].is_string(), "{ok}");
    strict.wait_metrics(&IDLE, |v| v.iter().all(|x| *x == 0.0));
    // With the default deadline (30 s) the same slow file is served.
    let patient = HttpServer::spawn_env(&[&root], &env);
    let v = read_range(&patient, 1, uri);
    assert!(v["result"]["contents"][0]["blob"].is_string(), "{v}");
}

#[test]
fn a_read_stuck_in_the_kernel_is_answered_at_the_read_deadline() {
    // Every read call on stuck_long.wav blocks for 10 minutes, as on a hard-mounted network
    // share that stopped answering: nothing can interrupt the call, yet the client gets its
    // answer at the read deadline (before the fix it waited for the call to return), and the
    // server goes on serving other files.
    let (dir, root) = long_root(1);
    copy_long(&root, "stuck_long.wav");
    let so = faultfs(dir.path());
    let env = [
        ("LD_PRELOAD", so.as_str()),
        ("FAULTFS_SLOW", "stuck_long.wav"),
        ("FAULTFS_SLOW_MS", "600000"),
    ];
    let s = HttpServer::spawn_env(&["--read-deadline-ms", "300", &root], &env);
    let v = read_range(&s, 1, "media://long/stuck_long.wav?offset=0&length=65536");
    assert_eq!(v["error"]["code"], -32603, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("read deadline"), "{msg}");
    let ok = read_range(&s, 2, "media://long/long.wav?offset=0&length=65536");
    assert!(ok["result"]["contents"][0]["blob"].is_string(), "{ok}");
    // The stuck read still holds its job (and its permit) while its call blocks.
    assert_eq!(s.metric("mcp_media_jobs_running"), 1.0);
}

#[test]
fn a_batch_answer_streams_each_element_as_it_finishes() {
    // A quick element, then one that runs for seconds: the array opens with the first answer
    // while the second still runs (the answer is not gathered before it is sent).
    let (_dir, root) = long_root(10);
    let s = HttpServer::spawn(&[&root]);
    let sid = initialize(&s, "2025-03-26");
    let batch = json!([
        {"jsonrpc": "2.0", "id": "quick", "method": "ping"},
        {"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": {
            "name": "audio_transcode", "arguments": {"uri": "media://long/long.wav",
            "duration": 600, "sample_rate": 16000, "channels": 1, "chunk_seconds": 60}}}
    ])
    .to_string();
    let mut c = s.connect();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n\
         Content-Length: {}\r\n\r\n",
        s.addr,
        batch.len()
    );
    c.write_all(head.as_bytes()).expect("head");
    c.write_all(batch.as_bytes()).expect("body");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(r#""id":"quick""#) {
        let n = c.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "closed before the first answer: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).to_string();
    assert!(text.contains("application/json"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("\r\n[\r\n"), "the array opened: {text}");
    assert!(!text.contains(r#""id":"slow""#), "{text}");
    // The slow element is still running (the first answer did not wait for it).
    s.wait_metrics(&["mcp_media_jobs_running"], |v| v[0] >= 1.0);
    drop(c);
    // The client left: the batch ends, nothing stays running.
    s.wait_metrics(&IDLE, |v| v.iter().all(|x| *x == 0.0));
}
