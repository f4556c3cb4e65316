//! SIGTERM over HTTP: requests in flight get their final answer within the shutdown grace, or
//! past it a "shutting down" error (-32000); nothing is cut silently, and the process exits 0.

use crate::http::{HttpServer, V, long_root, transcode_args};
use crate::util::modern;
use serde_json::{Value, json};

/// Starts a transcode of `minutes` of audio with progress and returns its SSE stream after
/// the first progress event.
fn start(s: &HttpServer, chunk_seconds: f64) -> crate::http::Stream {
    let mut params = modern(transcode_args("media://long/long.wav", chunk_seconds));
    params["_meta"]["progressToken"] = json!("t");
    let mut st = s.post_stream(
        &[
            V,
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "audio_transcode"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}),
    );
    let first = st.next_event().expect("a first event").json();
    assert_eq!(first["method"], "notifications/progress", "{first}");
    st
}

fn last_message(st: &mut crate::http::Stream) -> Value {
    let events = st.events();
    events.last().expect("a final event").json()
}

#[test]
fn past_the_grace_a_running_request_gets_a_shutdown_error_and_the_process_exits_0() {
    let (_dir, root) = long_root(30);
    let mut s = HttpServer::spawn(&["--shutdown-grace-ms", "200", &root]);
    let mut st = start(&s, 2.0);
    s.terminate();
    let last = last_message(&mut st);
    assert_eq!(last["id"], 1, "{last}");
    assert_eq!(last["error"]["code"], -32000, "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("shutting down"),
        "{last}"
    );
    assert!(s.wait_exit().success());
}

#[test]
fn within_the_grace_a_running_request_finishes_with_its_result() {
    let (_dir, root) = long_root(1);
    let mut s = HttpServer::spawn(&["--shutdown-grace-ms", "60000", &root]);
    let mut st = start(&s, 5.0);
    s.terminate();
    let last = last_message(&mut st);
    assert_eq!(last["id"], 1, "{last}");
    let chunks = last["result"]["structuredContent"]["chunks"]
        .as_array()
        .map(Vec::len);
    assert_eq!(chunks, Some(12), "the whole minute, in 5 s chunks: {last}");
    assert!(s.wait_exit().success());
}
