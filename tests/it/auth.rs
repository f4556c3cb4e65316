//! Authorization over Streamable HTTP, end to end with static bearer tokens: the real binary
//! (`--auth-tokens`), raw HTTP/1.1 (see `http`). Challenges (401/403 `WWW-Authenticate`),
//! RFC 9728 metadata, scope filtering, sessions bound to their subject, per-subject limits
//! (429 + `Retry-After`), SIGHUP reload, `hash-token`, and the non-loopback refusal.

use crate::http::{HttpServer, Resp};
use crate::util::{MODERN, modern, samples};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789";
const READER: &str = "reader-token-0123456789";

/// The overall deadline of event-based waits (a hang becomes a failure, not a speed check).
const HANG: Duration = Duration::from_secs(60);

/// A tokens file: (token, subject, scopes).
fn tokens_file(entries: &[(&str, &str, &[&str])]) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    write_tokens(f.path(), entries);
    f
}

fn write_tokens(path: &std::path::Path, entries: &[(&str, &str, &[&str])]) {
    let list: Vec<Value> = entries
        .iter()
        .map(|(token, subject, scopes)| {
            json!({"subject": subject, "sha256": mcp_media::auth::tokens::hash_token(token), "scopes": scopes})
        })
        .collect();
    std::fs::write(path, serde_json::to_vec(&list).unwrap()).unwrap();
}

const FULL: &[&str] = &["media:read", "media:transform"];
const READ: &[&str] = &["media:read"];

/// Alice and Bob with every scope, a reader with read only.
fn standard_tokens() -> tempfile::NamedTempFile {
    tokens_file(&[
        (ALICE, "alice", FULL),
        (BOB, "bob", FULL),
        (READER, "reader", READ),
    ])
}

fn serve(tokens: &tempfile::NamedTempFile, extra: &[&str]) -> HttpServer {
    let path = tokens.path().to_str().unwrap().to_string();
    let root = samples().to_str().unwrap().to_string();
    let mut args = vec!["--auth-tokens", &path];
    args.extend_from_slice(extra);
    args.push(&root);
    HttpServer::spawn(&args)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A 2026-07-28 request with its headers and `token` (if any).
pub(crate) fn call(s: &HttpServer, token: Option<&str>, method: &str, params: Value) -> Resp {
    let name = params
        .get("name")
        .or_else(|| params.get("uri"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let auth = token.map(bearer);
    let mut h = vec![("MCP-Protocol-Version", MODERN), ("Mcp-Method", method)];
    if let Some(n) = &name {
        h.push(("Mcp-Name", n));
    }
    if let Some(a) = &auth {
        h.push(("Authorization", a));
    }
    s.post(
        &h,
        &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": modern(params)}),
    )
}

pub(crate) fn tool_names(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{r:?}");
    let mut names: Vec<String> = r.json()["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// A legacy session opened with `token`: its id.
pub(crate) fn legacy_session(s: &HttpServer, token: &str, version: &str, caps: Value) -> String {
    let auth = bearer(token);
    let r = s.post(
        &[("Authorization", &auth)],
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": caps, "clientInfo": {"name": "it", "version": "0"}}}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let sid = r.header("mcp-session-id").expect("session id").to_string();
    let r = s.post(
        &[
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", version),
            ("Authorization", &auth),
        ],
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(r.status, 202, "{r:?}");
    sid
}

/// A request on a legacy session with `token`.
pub(crate) fn in_session(s: &HttpServer, token: &str, sid: &str, body: &Value) -> Resp {
    let auth = bearer(token);
    s.post(
        &[
            ("Mcp-Session-Id", sid),
            ("MCP-Protocol-Version", "2025-11-25"),
            ("Authorization", &auth),
        ],
        body,
    )
}

fn metadata_url(s: &HttpServer) -> String {
    format!("http://{}/.well-known/oauth-protected-resource/mcp", s.addr)
}

/// The parameters of a `WWW-Authenticate: Bearer k="v", ...` challenge (values unescaped).
pub(crate) fn challenge(r: &Resp) -> std::collections::BTreeMap<String, String> {
    let h = r.header("www-authenticate").expect("WWW-Authenticate");
    let rest = h.strip_prefix("Bearer ").expect("the Bearer scheme");
    let mut out = std::collections::BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == ',') {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "a quoted value in {h:?}");
        let mut v = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => v.extend(chars.next()),
                '"' => break,
                c => v.push(c),
            }
        }
        out.insert(key, v);
    }
    out
}

#[test]
fn no_token_or_a_wrong_token_gets_401_with_the_challenge() {
    let t = standard_tokens();
    let s = serve(&t, &[]);
    let list = json!({});
    // No token.
    let r = call(&s, None, "tools/list", list.clone());
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"media:read\"",
            metadata_url(&s)
        )
    );
    assert_eq!(r.code(), Some(-32600));
    // A wrong token.
    let r = call(&s, Some("not-a-token"), "tools/list", list.clone());
    assert_eq!(r.status, 401);
    let c = challenge(&r);
    assert_eq!(c["error"], "invalid_token");
    assert_eq!(c["resource_metadata"], metadata_url(&s));
    assert_eq!(c["scope"], "media:read");
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    // Another scheme is no bearer token; the scheme's case does not matter.
    let basic = format!("Basic {ALICE}");
    let r = s.post(
        &[
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/list"),
            ("Authorization", &basic),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": modern(json!({}))}),
    );
    assert_eq!(r.status, 401);
    let lower = format!("bearer {ALICE}");
    let r = s.post(
        &[
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/list"),
            ("Authorization", &lower),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": modern(json!({}))}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    // GET and DELETE need a token too; /healthz does not.
    assert_eq!(s.request("GET", "/mcp", &[], b"").status, 401);
    assert_eq!(
        s.request("DELETE", "/mcp", &[("Mcp-Session-Id", "00")], b"")
            .status,
        401
    );
    assert_eq!(s.request("GET", "/healthz", &[], b"").status, 200);
    // A legacy initialize without a token is refused the same way.
    let r = s.post(
        &[],
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "it", "version": "0"}}}),
    );
    assert_eq!(r.status, 401);
    assert!(r.header("mcp-session-id").is_none());
    assert_eq!(
        s.metric("mcp_media_refused_total{reason=\"unauthorized\"}"),
        6.0
    );
}

#[test]
fn a_token_in_the_query_string_is_never_used() {
    let t = standard_tokens();
    let s = serve(&t, &[]);
    for q in [
        format!("/mcp?access_token={ALICE}"),
        format!("/mcp?token={ALICE}&authorization=Bearer%20{ALICE}"),
    ] {
        let r = s.request(
            "POST",
            &q,
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
                ("MCP-Protocol-Version", MODERN),
                ("Mcp-Method", "tools/list"),
            ],
            &serde_json::to_vec(
                &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": modern(json!({}))}),
            )
            .unwrap(),
        );
        assert_eq!(r.status, 401, "{q}: {r:?}");
        assert!(
            !challenge(&r).contains_key("error"),
            "no token was presented"
        );
    }
}

#[test]
fn protected_resource_metadata_is_served_at_both_well_known_paths() {
    let t = standard_tokens();
    let s = serve(&t, &[]);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = s.request("GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let doc = r.json();
        assert_eq!(doc["resource"], format!("http://{}/mcp", s.addr), "{path}");
        assert_eq!(
            doc["scopes_supported"],
            json!(["media:read", "media:transform"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["resource_name"], "mcp-media");
        // Static tokens only: no authorization server issues them.
        assert!(doc.get("authorization_servers").is_none(), "{doc}");
    }
    assert_eq!(
        s.request(
            "GET",
            "/.well-known/oauth-protected-resource/other",
            &[],
            b""
        )
        .status,
        404
    );

    // Behind a proxy: --public-url names the resource and the metadata URL.
    let s = serve(&t, &["--public-url", "https://Media.Example.COM/base/mcp"]);
    let r = s.request(
        "GET",
        "/.well-known/oauth-protected-resource/base/mcp",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["resource"], "https://media.example.com/base/mcp");
    let r = s.request("GET", "/.well-known/oauth-protected-resource/mcp", &[], b"");
    assert_eq!(r.json()["resource"], "https://media.example.com/base/mcp");
    let r = call(&s, None, "tools/list", json!({}));
    assert_eq!(r.status, 401);
    assert_eq!(
        challenge(&r)["resource_metadata"],
        "https://media.example.com/.well-known/oauth-protected-resource/base/mcp"
    );
}

#[test]
fn a_read_only_token_sees_read_tools_and_is_refused_transforms_with_403() {
    let t = standard_tokens();
    let s = serve(&t, &[]);
    let read_tools = tool_names(&call(&s, Some(READER), "tools/list", json!({})));
    assert_eq!(read_tools, vec!["media_list", "media_probe"]);
    let all = tool_names(&call(&s, Some(ALICE), "tools/list", json!({})));
    assert!(
        all.len() > 2 && all.contains(&"audio_transcode".to_string()),
        "{all:?}"
    );
    // The list stays the same for the same scopes (rendered once per variant).
    assert_eq!(
        tool_names(&call(&s, Some(READER), "tools/list", json!({}))),
        read_tools
    );

    let transcode = json!({"name": "audio_transcode", "arguments": {
        "uri": "media://samples/audio/tone.wav", "format": "wav", "duration": 0.1}});
    let r = call(&s, Some(READER), "tools/call", transcode.clone());
    assert_eq!(r.status, 403, "{r:?}");
    let c = challenge(&r);
    assert_eq!(c["error"], "insufficient_scope");
    assert_eq!(c["scope"], "media:transform");
    assert_eq!(c["resource_metadata"], metadata_url(&s));
    assert!(c["error_description"].contains("media:transform"));
    assert_eq!(r.json()["id"], 1);
    assert_eq!(r.code(), Some(-32600));
    // Reading is within the read scope; a derived (rendered) read is not.
    let probe =
        json!({"name": "media_probe", "arguments": {"uri": "media://samples/audio/tone.wav"}});
    let r = call(&s, Some(READER), "tools/call", probe);
    assert_eq!(r.status, 200);
    assert!(
        r.json()["result"]["isError"] != json!(true),
        "{:?}",
        r.json()
    );
    let r = call(
        &s,
        Some(READER),
        "resources/read",
        json!({"uri": "media://samples/audio/tone.wav"}),
    );
    assert_eq!(r.status, 200);
    assert!(r.json()["result"]["contents"].is_array());
    let r = call(
        &s,
        Some(READER),
        "resources/read",
        json!({"uri": "media://samples/audio/tone.wav?start=0&duration=0.1"}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(challenge(&r)["scope"], "media:transform");
    // Templates: only the byte-range one for a reader.
    let templates = |token| {
        let r = call(&s, Some(token), "resources/templates/list", json!({}));
        assert_eq!(r.status, 200);
        r.json()["result"]["resourceTemplates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["uriTemplate"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        templates(READER),
        vec!["media://{root}/{+path}{?offset,length}"]
    );
    assert!(templates(ALICE).len() > 1);
    // A full token may transform.
    let r = call(&s, Some(ALICE), "tools/call", transcode);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.json()["result"]["isError"] != json!(true),
        "{:?}",
        r.json()
    );

    // A legacy (2025-03-26) batch: refused whole if any element needs a scope not granted.
    let sid = legacy_session(&s, READER, "2025-03-26", json!({}));
    let auth = bearer(READER);
    let h = [
        ("Mcp-Session-Id", sid.as_str()),
        ("MCP-Protocol-Version", "2025-03-26"),
        ("Authorization", auth.as_str()),
    ];
    let r = s.post(
        &h,
        &json!([
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "video_frames", "arguments": {}}}
        ]),
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(challenge(&r)["scope"], "media:transform");
    let r = s.post(
        &h,
        &json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        s.metric("mcp_media_refused_total{reason=\"insufficient_scope\"}"),
        3.0
    );
}

#[test]
fn a_session_answers_only_to_the_subject_that_opened_it() {
    let t = standard_tokens();
    let s = serve(&t, &[]);
    let sid = legacy_session(&s, ALICE, "2025-11-25", json!({}));
    let list = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});
    // Bob's valid token on Alice's session id: not found.
    let r = in_session(&s, BOB, &sid, &list);
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.code(), Some(-32600));
    let auth = bearer(BOB);
    let h = [
        ("Mcp-Session-Id", sid.as_str()),
        ("Authorization", auth.as_str()),
    ];
    assert_eq!(s.request("GET", "/mcp", &h, b"").status, 404);
    assert_eq!(s.request("DELETE", "/mcp", &h, b"").status, 404);
    // No token at all: 401.
    let r = s.post(&[("Mcp-Session-Id", &sid)], &list);
    assert_eq!(r.status, 401);
    // Alice's session is untouched by all that.
    let r = in_session(&s, ALICE, &sid, &list);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["id"], 5);
    let auth = bearer(ALICE);
    let h = [
        ("Mcp-Session-Id", sid.as_str()),
        ("Authorization", auth.as_str()),
    ];
    assert_eq!(s.request("DELETE", "/mcp", &h, b"").status, 200);
    assert_eq!(in_session(&s, ALICE, &sid, &list).status, 404);
}

#[test]
fn a_subject_at_its_session_cap_loses_its_own_oldest_session_only() {
    let t = standard_tokens();
    let s = serve(&t, &["--max-sessions-per-subject", "2"]);
    let bob = legacy_session(&s, BOB, "2025-11-25", json!({}));
    let a1 = legacy_session(&s, ALICE, "2025-11-25", json!({}));
    let a2 = legacy_session(&s, ALICE, "2025-11-25", json!({}));
    assert_eq!(s.metric("mcp_media_sessions_evicted_total"), 0.0);
    let a3 = legacy_session(&s, ALICE, "2025-11-25", json!({}));
    assert_eq!(s.metric("mcp_media_sessions_evicted_total"), 1.0);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(
        in_session(&s, ALICE, &a1, &ping).status,
        404,
        "the oldest went"
    );
    assert_eq!(in_session(&s, ALICE, &a2, &ping).status, 200);
    assert_eq!(in_session(&s, ALICE, &a3, &ping).status, 200);
    assert_eq!(in_session(&s, BOB, &bob, &ping).status, 200, "bob's stays");
    assert_eq!(s.metric("mcp_media_sessions"), 3.0);
}

#[test]
fn a_subject_past_its_rate_gets_429_with_retry_after() {
    let t = standard_tokens();
    // One request per 100 s after a burst of 2: the third is refused whatever the timing.
    let s = serve(
        &t,
        &[
            "--rate-limit-per-subject",
            "0.01",
            "--rate-limit-burst",
            "2",
        ],
    );
    for _ in 0..2 {
        assert_eq!(call(&s, Some(ALICE), "tools/list", json!({})).status, 200);
    }
    let r = call(&s, Some(ALICE), "tools/list", json!({}));
    assert_eq!(r.status, 429, "{r:?}");
    let after: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=100).contains(&after), "{after}");
    let err = &r.json()["error"];
    assert_eq!(err["code"], -32600);
    assert_eq!(err["data"]["retryAfterSeconds"], after);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains(&format!("retry after {after} s")),
        "{err}"
    );
    // Another subject has its own bucket.
    assert_eq!(call(&s, Some(BOB), "tools/list", json!({})).status, 200);
    assert_eq!(
        s.metric("mcp_media_refused_total{reason=\"rate_limited\"}"),
        1.0
    );
}

#[test]
fn a_subject_at_its_job_cap_gets_429_until_its_job_ends() {
    let t = standard_tokens();
    let s = serve(&t, &["--conformance", "--max-jobs-per-subject", "1"]);
    // Alice's first transform job waits for her answer to its sampling request.
    let sid = legacy_session(&s, ALICE, "2025-11-25", json!({"sampling": {}}));
    let auth = bearer(ALICE);
    let h = [
        ("Mcp-Session-Id", sid.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
        ("Authorization", auth.as_str()),
    ];
    let mut stream = s.post_stream(
        &h,
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "test_sampling", "arguments": {"prompt": "hi"}}}),
    );
    assert_eq!(stream.status, 200);
    // (Resumable streams begin with a priming event without data.)
    let ask = std::iter::from_fn(|| stream.next_event())
        .find(|e| e.data.as_deref().is_some_and(|d| !d.is_empty()))
        .expect("the sampling request")
        .json();
    assert_eq!(ask["method"], "sampling/createMessage");
    // Meanwhile her next transform request is refused; reads and Bob are not limited.
    let simple = json!({"name": "test_simple_text", "arguments": {}});
    let r = call(&s, Some(ALICE), "tools/call", simple.clone());
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["error"]["data"]["retryAfterSeconds"], 1);
    assert_eq!(r.json()["id"], 1);
    assert_eq!(call(&s, Some(ALICE), "tools/list", json!({})).status, 200);
    assert_eq!(
        call(&s, Some(BOB), "tools/call", simple.clone()).status,
        200
    );
    assert_eq!(s.metric("mcp_media_refused_total{reason=\"job_cap\"}"), 1.0);
    // Her answer ends the job, and with it the refusal.
    let r = s.post(
        &h,
        &json!({"jsonrpc": "2.0", "id": ask["id"], "result": {
            "role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"}}),
    );
    assert_eq!(r.status, 202);
    let done = stream
        .events()
        .into_iter()
        .map(|e| e.json())
        .find(|m| m["id"] == 7)
        .expect("the tool's answer");
    assert_eq!(done["result"]["content"][0]["text"], "LLM response: hello");
    let deadline = Instant::now() + HANG;
    loop {
        let r = call(&s, Some(ALICE), "tools/call", simple.clone());
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 429);
        assert!(Instant::now() < deadline, "the job slot never came back");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reloads_the_tokens_file_and_a_bad_file_keeps_the_old_tokens() {
    let t = tokens_file(&[(ALICE, "alice", FULL)]);
    let s = serve(&t, &[]);
    let ok = "mcp_media_auth_token_reloads_total{result=\"ok\"}";
    let failed = "mcp_media_auth_token_reloads_total{result=\"failed\"}";
    assert_eq!(call(&s, Some(ALICE), "tools/list", json!({})).status, 200);
    assert_eq!(call(&s, Some(BOB), "tools/list", json!({})).status, 401);
    // A file that does not load keeps the tokens in force.
    std::fs::write(t.path(), "[{\"subject\": \"bob\"}]").unwrap();
    s.signal("HUP");
    s.wait_metrics(&[failed], |v| v[0] == 1.0);
    assert_eq!(call(&s, Some(ALICE), "tools/list", json!({})).status, 200);
    assert_eq!(s.metric("mcp_media_auth_tokens"), 1.0);
    // A good one replaces them: the new token works, the removed one no longer does.
    write_tokens(t.path(), &[(BOB, "bob", READ)]);
    s.signal("HUP");
    s.wait_metrics(&[ok], |v| v[0] == 1.0);
    assert_eq!(call(&s, Some(BOB), "tools/list", json!({})).status, 200);
    assert_eq!(call(&s, Some(ALICE), "tools/list", json!({})).status, 401);
}

#[test]
fn hash_token_prints_the_sha256_of_stdin_without_its_newline() {
    use std::io::Write;
    for input in ["abc\n", "abc", "abc\r\n"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-media"))
            .arg("hash-token")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        // SHA-256("abc"), FIPS 180-2.
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
            "{input:?}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-media"))
        .arg("hash-token")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "an empty token is refused");
}

/// `serve --listen <addr> <args> samples`, which may refuse to start.
fn start(addr: &str, args: &[&str]) -> Result<HttpServer, (String, std::process::ExitStatus)> {
    let root = samples().to_string_lossy().into_owned();
    let mut args = args.to_vec();
    args.push(&root);
    HttpServer::try_spawn_listen(addr, &args, &[])
}

#[test]
fn an_oauth_issuer_needs_a_known_audience_a_fixed_port_or_a_public_url() {
    // Tokens name this server's URL as their audience: with port 0 it is not known yet.
    let Err((err, status)) = start("127.0.0.1:0", &["--oauth-issuer", "http://127.0.0.1:9"]) else {
        panic!("started without a known audience");
    };
    assert!(!status.success());
    for needle in ["fixed --listen port", "--public-url", "audience"] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
}

#[test]
fn a_non_loopback_address_needs_authorization_or_insecure_no_auth() {
    let Err((err, status)) = start("0.0.0.0:0", &[]) else {
        panic!("started on a non-loopback address without authorization");
    };
    assert!(!status.success());
    for needle in [
        "without authorization",
        "--auth-tokens",
        "--oauth-issuer",
        "--insecure-no-auth",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    // --insecure-no-auth: it serves, unauthenticated.
    let s = start("0.0.0.0:0", &["--insecure-no-auth"]).expect("serving with --insecure-no-auth");
    let probe = HttpServer::at(format!("127.0.0.1:{}", s.addr.port()).parse().unwrap());
    let r = probe.modern(json!(1), "tools/list", json!({}));
    assert_eq!(r.status, 200);
    drop(s);
    // With tokens it serves, and asks for them.
    let t = standard_tokens();
    let s = start("0.0.0.0:0", &["--auth-tokens", t.path().to_str().unwrap()])
        .expect("serving with tokens");
    let probe = HttpServer::at(format!("127.0.0.1:{}", s.addr.port()).parse().unwrap());
    assert_eq!(probe.modern(json!(1), "tools/list", json!({})).status, 401);
}

#[test]
fn the_scope_flags_rename_the_scopes() {
    let t = tokens_file(&[
        ("r-token-000000", "r", &["files.read"]),
        ("old-token-0000", "old", READ),
    ]);
    let s = serve(
        &t,
        &[
            "--scope-read",
            "files.read",
            "--scope-transform",
            "files.render",
        ],
    );
    let r = call(&s, None, "tools/list", json!({}));
    assert_eq!(challenge(&r)["scope"], "files.read");
    let doc = s
        .request("GET", "/.well-known/oauth-protected-resource", &[], b"")
        .json();
    assert_eq!(
        doc["scopes_supported"],
        json!(["files.read", "files.render"])
    );
    assert_eq!(
        tool_names(&call(&s, Some("r-token-000000"), "tools/list", json!({}))),
        vec!["media_list", "media_probe"]
    );
    let r = call(
        &s,
        Some("r-token-000000"),
        "tools/call",
        json!({"name": "image_transform", "arguments": {"uri": "media://samples/images/photo.jpg"}}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(challenge(&r)["scope"], "files.render");
    // The default name means nothing now: a valid token without the renamed scope gets 403.
    let r = call(&s, Some("old-token-0000"), "tools/list", json!({}));
    assert_eq!(r.status, 403);
    assert_eq!(challenge(&r)["scope"], "files.read");
}
