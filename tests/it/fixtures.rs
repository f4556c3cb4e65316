//! The conformance fixtures over stdio, in both eras: progress, logs, cancellation, MRTR with a
//! sealed requestState, and a legacy server-to-client elicitation round trip.

use crate::util::{HANG, Server, modern, modern_meta, samples};
use serde_json::{Value, json};

fn spawn() -> Server {
    Server::spawn(&["--conformance", &samples().to_string_lossy()])
}

#[test]
fn progress_notifications_arrive_before_the_result() {
    let mut s = spawn();
    let mut params = json!({"name": "test_tool_with_progress", "arguments": {}});
    let mut meta = modern_meta();
    meta["progressToken"] = json!("tok-1");
    params["_meta"] = meta;
    let r = s.request(json!(1), "tools/call", params);
    assert!(r["result"]["content"].is_array());
    let progress: Vec<Value> = s
        .take_backlog()
        .into_iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(values, vec![0.0, 50.0, 100.0]);
    assert!(
        progress
            .iter()
            .all(|p| p["params"]["progressToken"] == "tok-1" && p["params"]["total"] == 100.0)
    );
    // Without a token: no progress at all.
    s.request(
        json!(2),
        "tools/call",
        modern(json!({"name": "test_tool_with_progress", "arguments": {}})),
    );
    assert!(
        s.take_backlog()
            .iter()
            .all(|m| m["method"] != "notifications/progress")
    );
}

#[test]
fn cancelled_request_gets_no_response_and_stops() {
    let mut s = spawn();
    let mut params = json!({"name": "test_tool_with_progress", "arguments": {}});
    let mut meta = modern_meta();
    meta["progressToken"] = json!(7);
    params["_meta"] = meta;
    s.send(&json!({"jsonrpc": "2.0", "id": "slow", "method": "tools/call", "params": params}));
    // Wait for the first progress notification, then cancel.
    let first = s.next(HANG).unwrap();
    assert_eq!(first["method"], "notifications/progress");
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "slow", "reason": "test"}}));
    assert!(s.request(json!("after"), "tools/list", modern(json!({})))["result"].is_object());
    // On stdin EOF the server lets in-flight requests finish (the grace is far longer than
    // this tool takes) before it closes stdout: so everything the cancelled request would
    // still have produced is in what follows.
    let (rest, status) = s.finish();
    assert!(status.success(), "{status}");
    for m in &rest {
        assert_ne!(m["id"], "slow", "a cancelled request was answered: {m}");
        assert!(
            m["params"]["progress"].as_f64().unwrap_or(0.0) < 100.0,
            "work went on after cancel: {m}"
        );
    }
}

#[test]
fn cancelling_a_request_that_waits_on_the_client_ends_it_without_a_response() {
    // Race-free: the tool is blocked on the client's answer when the cancel arrives.
    let mut s = spawn();
    s.initialize("2025-11-25", json!({"elicitation": {}}));
    s.send(&json!({"jsonrpc": "2.0", "id": "w", "method": "tools/call", "params": {"name": "test_elicitation", "arguments": {"message": "Who?"}}}));
    let (req, _) = s.wait_for(|m| m["method"] == "elicitation/create");
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "w"}}));
    // A late answer to the server's question must not revive the cancelled call.
    s.send(&json!({"jsonrpc": "2.0", "id": req["id"], "result": {"action": "accept", "content": {"response": "Ada"}}}));
    assert!(s.request(json!("after"), "tools/list", json!({}))["result"].is_object());
    // Everything the server still writes before it closes stdout (in-flight work gets a grace
    // period on EOF) is in `rest`.
    let (rest, status) = s.finish();
    assert!(status.success(), "{status}");
    assert!(
        rest.iter().all(|m| m["id"] != "w"),
        "a cancelled request was answered: {rest:?}"
    );
}

#[test]
fn logs_only_when_asked_modern_and_after_set_level_legacy() {
    let mut s = spawn();
    s.request(
        json!(1),
        "tools/call",
        modern(json!({"name": "test_logging_tool", "arguments": {}})),
    );
    assert!(
        s.take_backlog()
            .iter()
            .all(|m| m["method"] != "notifications/message")
    );
    let mut params = json!({"name": "test_logging_tool", "arguments": {}});
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/logLevel"] = json!("info");
    params["_meta"] = meta;
    s.request(json!(2), "tools/call", params);
    assert!(
        s.take_backlog()
            .iter()
            .any(|m| m["method"] == "notifications/message")
    );
    let mut l = spawn();
    l.initialize("2025-11-25", json!({}));
    l.request(json!(1), "logging/setLevel", json!({"level": "warning"}));
    l.request(
        json!(2),
        "tools/call",
        json!({"name": "test_tool_with_logging", "arguments": {}}),
    );
    assert!(
        l.take_backlog()
            .iter()
            .all(|m| m["method"] != "notifications/message")
    );
    l.request(json!(3), "logging/setLevel", json!({"level": "debug"}));
    l.request(
        json!(4),
        "tools/call",
        json!({"name": "test_tool_with_logging", "arguments": {}}),
    );
    let logs: Vec<Value> = l
        .take_backlog()
        .into_iter()
        .filter(|m| m["method"] == "notifications/message")
        .collect();
    assert_eq!(logs.len(), 3);
    assert_eq!(logs[0]["params"]["data"], "Tool execution started");
}

#[test]
fn mrtr_round_trip_and_tampered_state() {
    let mut s = spawn();
    let r = s.request(
        json!(1),
        "tools/call",
        modern(json!({"name": "test_input_required_result_request_state", "arguments": {}})),
    );
    let res = &r["result"];
    assert_eq!(res["resultType"], "input_required");
    assert_eq!(
        res["inputRequests"]["confirm"]["method"],
        "elicitation/create"
    );
    let state = res["requestState"].as_str().unwrap().to_string();
    assert!(
        !state.contains("request-state"),
        "state must be sealed, not plain: {state}"
    );
    let answer = json!({"confirm": {"action": "accept", "content": {"ok": true}}});
    let ok = s.request(
        json!(2),
        "tools/call",
        modern(
            json!({"name": "test_input_required_result_request_state", "arguments": {},
        "inputResponses": answer, "requestState": state}),
        ),
    );
    assert!(
        ok["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("state-ok"),
        "{ok}"
    );
    let mut bad = state.clone().into_bytes();
    bad[5] = if bad[5] == b'A' { b'B' } else { b'A' };
    let e = s.request(
        json!(3),
        "tools/call",
        modern(
            json!({"name": "test_input_required_result_request_state", "arguments": {},
        "inputResponses": answer, "requestState": String::from_utf8(bad).unwrap()}),
        ),
    );
    assert_eq!(e["error"]["code"], -32602);
    // A state minted for one tool is refused by another.
    let e = s.request(
        json!(4),
        "tools/call",
        modern(
            json!({"name": "test_input_required_result_tampered_state", "arguments": {},
        "inputResponses": answer, "requestState": state}),
        ),
    );
    assert_eq!(e["error"]["code"], -32602);
}

#[test]
fn legacy_elicitation_is_a_real_server_to_client_request() {
    let mut s = spawn();
    s.initialize("2025-11-25", json!({"elicitation": {}}));
    s.send(&json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": "test_elicitation", "arguments": {"message": "Who?"}}}));
    let req = s.next(HANG).unwrap();
    assert_eq!(req["method"], "elicitation/create");
    assert_eq!(req["params"]["message"], "Who?");
    s.send(&json!({"jsonrpc": "2.0", "id": req["id"], "result": {"action": "accept", "content": {"response": "Ada"}}}));
    let r = s.response(&json!(10));
    let t = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(t.contains("action=accept") && t.contains("Ada"), "{t}");
}

#[test]
fn fixture_content_and_resources() {
    let mut s = spawn();
    let img = s.request(
        json!(1),
        "tools/call",
        modern(json!({"name": "test_image_content", "arguments": {}})),
    );
    let data = img["result"]["content"][0]["data"].as_str().unwrap();
    let png = mcp_media::protocol::frame::base64_decode(data).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let t = s.request(
        json!(2),
        "resources/read",
        modern(json!({"uri": "test://template/42/data"})),
    );
    let text: Value =
        serde_json::from_str(t["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["id"], "42");
    let e = s.request(
        json!(3),
        "resources/read",
        modern(json!({"uri": "test://nonexistent"})),
    );
    assert_eq!(
        (
            e["error"]["code"].as_i64(),
            e["error"]["data"]["uri"].as_str()
        ),
        (Some(-32602), Some("test://nonexistent"))
    );
    let e = s.request(
        json!(4),
        "tools/call",
        modern(json!({"name": "test_missing_capability", "arguments": {}})),
    );
    assert_eq!(e["error"]["code"], -32021);
    assert_eq!(
        e["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}})
    );
}
