//! Faults end cleanly and leak nothing: a saturated job pool, a client that disconnects in the
//! middle of a batch. Each run ends with the in-flight gauge, running and waiting jobs back at
//! zero (so no permit, gauge or session is leaked).

use crate::http::{HttpServer, initialize, long_root};
use serde_json::json;
use std::io::Write;

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
