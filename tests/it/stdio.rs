//! The stdio transport and the core protocol, end to end against the real binary.

use crate::util::{HANG, Server, modern, modern_meta};
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(w, h, image::Rgb([200, 10, 10]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A temporary library: `root/` with a few images (plus a file outside the root).
fn library() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lib");
    std::fs::create_dir_all(root.join("sub dir")).unwrap();
    std::fs::write(root.join("a.png"), png(3, 2)).unwrap();
    std::fs::write(root.join("b.png"), png(5, 4)).unwrap();
    std::fs::write(root.join("sub dir/café #1.png"), png(1, 1)).unwrap();
    std::fs::write(root.join("notes.txt"), b"not media").unwrap();
    std::fs::write(root.join("empty.png"), b"").unwrap();
    std::fs::write(tmp.path().join("secret.png"), png(2, 2)).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.png"), root.join("escape.png")).unwrap();
    (tmp, root)
}

fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn modern_discover_list_read_probe() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    let d = s.request(json!(1), "server/discover", json!({"_meta": modern_meta()}));
    let r = &d["result"];
    assert_eq!(r["resultType"], "complete");
    assert!(
        r["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );
    assert!(
        r["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2025-11-25"))
    );
    assert!(r["ttlMs"].is_u64() && r["cacheScope"].is_string());
    assert_eq!(
        r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "local.mcp-media/mcp-media"
    );

    let l = s.request(json!(2), "resources/list", modern(json!({})));
    let res = l["result"]["resources"].as_array().unwrap();
    let uris: Vec<&str> = res.iter().map(|r| r["uri"].as_str().unwrap()).collect();
    // Sorted, media only (no .txt, no empty file, no link escaping the root).
    assert_eq!(
        uris,
        vec![
            "media://lib/a.png",
            "media://lib/b.png",
            "media://lib/sub%20dir/caf%C3%A9%20%231.png"
        ]
    );
    assert_eq!(res[2]["name"], "café #1.png");
    assert_eq!(res[0]["mimeType"], "image/png");
    assert_eq!(
        res[0]["size"],
        std::fs::metadata(root.join("a.png")).unwrap().len()
    );
    assert!(
        res[0]["annotations"]["lastModified"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let rd = s.request(json!(3), "resources/read", modern(json!({"uri": uris[2]})));
    let c = &rd["result"]["contents"][0];
    assert_eq!(c["uri"], uris[2]);
    assert_eq!(
        b64(c["blob"].as_str().unwrap()),
        std::fs::read(root.join("sub dir/café #1.png")).unwrap()
    );

    let p = s.request(
        json!(4),
        "tools/call",
        modern(json!({"name": "media_probe", "arguments": {"uri": "media://lib/b.png"}})),
    );
    let sc = &p["result"]["structuredContent"];
    assert_eq!(
        (
            sc["kind"].as_str(),
            sc["image"]["width"].as_u64(),
            sc["image"]["height"].as_u64()
        ),
        (Some("image"), Some(5), Some(4))
    );
    assert_eq!(p["result"]["isError"], Value::Null);
}

#[test]
fn legacy_handshake_and_not_found_codes_per_era() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    let init = s.initialize("2025-06-18", json!({}));
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert!(init["result"].get("resultType").is_none());
    assert_eq!(s.request(json!(2), "ping", json!({}))["result"], json!({}));
    let nf = s.request(
        json!(3),
        "resources/read",
        json!({"uri": "media://lib/nope.png"}),
    );
    assert_eq!(nf["error"]["code"], -32002);
    // A modern request on the same process is served statelessly, with the modern code.
    let nf = s.request(
        json!(4),
        "resources/read",
        modern(json!({"uri": "media://lib/nope.png"})),
    );
    assert_eq!(nf["error"]["code"], -32602);
    assert_eq!(nf["error"]["data"]["uri"], "media://lib/nope.png");
    // Unknown versions are negotiated down to the newest legacy revision.
    let mut s2 = Server::spawn(&[&arg(&root)]);
    assert_eq!(
        s2.initialize("1999-01-01", json!({}))["result"]["protocolVersion"],
        "2025-11-25"
    );
}

#[test]
fn modern_version_and_meta_errors() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/protocolVersion"] = json!("1900-01-01");
    let e = s.request(json!("v"), "tools/list", json!({"_meta": meta}));
    assert_eq!(e["id"], "v");
    assert_eq!(e["error"]["code"], -32022);
    assert_eq!(e["error"]["data"]["requested"], "1900-01-01");
    let mut meta = modern_meta();
    meta.as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    assert_eq!(
        s.request(json!(2), "tools/list", json!({"_meta": meta}))["error"]["code"],
        -32602
    );
    // No _meta and no initialize: malformed for 2026, with a hint.
    let e = s.request(json!(3), "tools/list", json!({}));
    assert_eq!(e["error"]["code"], -32602);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("initialize")
    );
    for m in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "no/such/method",
    ] {
        let e = s.request(
            json!(m),
            m,
            modern(json!({"protocolVersion": "2025-11-25", "level": "info", "uri": "x"})),
        );
        assert_eq!(e["error"]["code"], -32601, "{m}: {e}");
    }
}

#[test]
fn garbage_over_long_and_partial_lines_then_keeps_serving() {
    let (_t, root) = library();
    let mut s = Server::spawn(&["--max-line-bytes", "2048", &arg(&root)]);
    s.send_raw(b"this is not json\n");
    let e = s.next(HANG).unwrap();
    assert_eq!(e["error"]["code"], -32700);
    assert!(e.get("id").is_none());
    s.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":42}\n");
    let e = s.next(HANG).unwrap();
    assert_eq!(
        (e["id"].as_i64(), e["error"]["code"].as_i64()),
        (Some(9), Some(-32600))
    );
    let mut long = vec![b' '; 10_000];
    long.extend_from_slice(b"{}\n");
    s.send_raw(&long);
    let e = s.next(HANG).unwrap();
    assert_eq!(e["error"]["code"], -32600);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the limit")
    );
    // A request split over three writes.
    let req = serde_json::to_vec(
        &json!({"jsonrpc":"2.0","id":"p","method":"tools/list","params":{"_meta": modern_meta()}}),
    )
    .unwrap();
    let (a, rest) = req.split_at(10);
    let (b, c) = rest.split_at(rest.len() / 2);
    for part in [a, b, c] {
        s.send_raw(part);
        std::thread::sleep(Duration::from_millis(30));
    }
    s.send_raw(b"\n");
    let r = s.response(&json!("p"));
    let names: Vec<&str> = r["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"media_list") && names.contains(&"media_probe"));
    assert!(s.is_alive());
}

#[test]
fn traversal_and_escapes_are_refused() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    let bad = [
        "media://lib/../secret.png",
        "media://lib/%2e%2e/secret.png",
        "media://lib/sub%20dir/..%2f..%2fsecret.png",
        "media://lib/a.png%00.txt",
        "media://lib//etc/passwd",
        "media://lib/escape.png",
        "file:///etc/passwd",
        "media://other/a.png",
    ];
    for (i, uri) in bad.iter().enumerate() {
        let r = s.request(json!(i), "resources/read", modern(json!({"uri": uri})));
        assert!(r.get("error").is_some(), "{uri} was served: {r}");
        assert!(r["error"]["data"]["uri"].is_string(), "{uri}: {r}");
        let t = s.request(
            json!(format!("t{i}")),
            "tools/call",
            modern(json!({"name": "media_probe", "arguments": {"uri": uri}})),
        );
        assert_eq!(t["result"]["isError"], true, "{uri}: {t}");
    }
    // The server is still fine.
    let ok = s.request(
        json!("ok"),
        "resources/read",
        modern(json!({"uri": "media://lib/a.png"})),
    );
    assert!(ok["result"]["contents"][0]["blob"].is_string());
}

#[test]
fn pagination_cursors_and_invalid_cursor() {
    let (_t, root) = library();
    let mut s = Server::spawn(&["--page-size", "2", &arg(&root)]);
    let p1 = s.request(json!(1), "resources/list", modern(json!({})));
    let cur = p1["result"]["nextCursor"].as_str().unwrap().to_string();
    assert_eq!(p1["result"]["resources"].as_array().unwrap().len(), 2);
    let p2 = s.request(json!(2), "resources/list", modern(json!({"cursor": cur})));
    assert_eq!(p2["result"]["resources"].as_array().unwrap().len(), 1);
    assert!(p2["result"].get("nextCursor").is_none());
    let bad = s.request(
        json!(3),
        "resources/list",
        modern(json!({"cursor": "bm9wZQ"})),
    );
    assert_eq!(bad["error"]["code"], -32602);
    // media_list pages and filters too.
    let m = s.request(
        json!(4),
        "tools/call",
        modern(json!({"name": "media_list", "arguments": {"limit": 1, "glob": "**/*.png"}})),
    );
    let sc = &m["result"]["structuredContent"];
    assert_eq!(sc["total"], 3);
    let links: Vec<&Value> = m["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "resource_link")
        .collect();
    assert_eq!(links.len(), 1);
    let m2 = s.request(json!(5), "tools/call", modern(json!({"name": "media_list", "arguments": {"limit": 1, "glob": "**/*.png", "cursor": sc["nextCursor"]}})));
    assert_eq!(
        m2["result"]["structuredContent"]["items"][0]["uri"],
        "media://lib/b.png"
    );
    let m3 = s.request(
        json!(6),
        "tools/call",
        modern(json!({"name": "media_list", "arguments": {"kind": "sound"}})),
    );
    assert_eq!(m3["result"]["isError"], true);
}

/// Every page of `tools/list` on `s` (`params` builds a request's params from its cursor).
fn tool_pages(s: &mut Server, params: impl Fn(Option<&str>) -> Value) -> Vec<Vec<Value>> {
    let mut pages = vec![];
    let mut cur: Option<String> = None;
    for id in 100.. {
        let r = s.request(json!(id), "tools/list", params(cur.as_deref()));
        pages.push(r["result"]["tools"].as_array().expect("tools").clone());
        match r["result"]["nextCursor"].as_str() {
            Some(c) => cur = Some(c.to_string()),
            None => break,
        }
    }
    pages
}

#[test]
fn tools_list_pages_are_the_same_every_time_and_per_revision() {
    // The pages are rendered once per revision and then reused: asking again gives the same
    // pages, each revision gets its own form, and the pages together are the whole list.
    let (_t, root) = library();
    let mut s = Server::spawn(&["--page-size", "3", &arg(&root)]);
    let with_cursor = |c: Option<&str>| match c {
        Some(c) => modern(json!({"cursor": c})),
        None => modern(json!({})),
    };
    let first = tool_pages(&mut s, with_cursor);
    assert!(first.len() > 1, "several pages: {first:?}");
    assert!(first.iter().all(|p| p.len() <= 3 && !p.is_empty()));
    assert_eq!(tool_pages(&mut s, with_cursor), first, "asked again");
    let names: Vec<&str> = first
        .iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "no tool twice: {names:?}");
    assert!(names.contains(&"media_probe") && names.contains(&"audio_transcode"));
    // A 2025-03-26 session on the same process: same tools, that revision's form (no titles).
    s.initialize("2025-03-26", json!({}));
    let old = tool_pages(&mut s, |c| match c {
        Some(c) => json!({"cursor": c}),
        None => json!({}),
    });
    let old_names: Vec<&str> = old
        .iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(old_names, names);
    assert!(first.iter().flatten().any(|t| t.get("title").is_some()));
    assert!(
        old.iter().flatten().all(|t| t.get("title").is_none()),
        "{old:?}"
    );
}

#[test]
fn ranges_and_inline_limit() {
    let (_t, root) = library();
    let mut s = Server::spawn(&["--inline-limit", "40", &arg(&root)]);
    let whole = std::fs::read(root.join("b.png")).unwrap();
    assert!(whole.len() > 40);
    let e = s.request(
        json!(1),
        "resources/read",
        modern(json!({"uri": "media://lib/b.png"})),
    );
    assert_eq!(e["error"]["code"], -32602);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offset=0&length=40")
    );
    let mut got = Vec::new();
    let mut off = 0;
    while off < whole.len() {
        let r = s.request(
            json!(off),
            "resources/read",
            modern(json!({"uri": format!("media://lib/b.png?offset={off}&length=40")})),
        );
        let chunk = b64(r["result"]["contents"][0]["blob"].as_str().unwrap());
        assert!(!chunk.is_empty() && chunk.len() <= 40);
        off += chunk.len();
        got.extend(chunk);
    }
    assert_eq!(got, whole);
    let e = s.request(
        json!("big"),
        "resources/read",
        modern(json!({"uri": "media://lib/b.png?offset=0&length=41"})),
    );
    assert_eq!(e["error"]["code"], -32602);
    let e = s.request(
        json!("unk"),
        "resources/read",
        modern(json!({"uri": "media://lib/b.png?foo=1"})),
    );
    assert_eq!(e["error"]["code"], -32602);
}

#[test]
fn old_revisions_get_shapes_they_understand() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    s.initialize("2025-03-26", json!({}));
    let r = s.request(
        json!(1),
        "tools/call",
        json!({"name": "media_list", "arguments": {}}),
    );
    let content = r["result"]["content"].as_array().unwrap();
    assert!(content.iter().all(|c| c["type"] == "text"), "{r}");
    assert!(r["result"].get("structuredContent").is_none());
    let tl = s.request(json!(2), "tools/list", json!({}));
    assert!(tl["result"]["tools"][0].get("outputSchema").is_none());
    assert!(tl["result"]["tools"][0].get("title").is_none());
    let mut s2 = Server::spawn(&[&arg(&root)]);
    s2.initialize("2025-06-18", json!({}));
    let r = s2.request(
        json!(1),
        "tools/call",
        json!({"name": "media_list", "arguments": {}}),
    );
    assert!(
        r["result"]["content"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "resource_link")
    );
    assert!(r["result"]["structuredContent"].is_object());
}

#[test]
fn many_concurrent_requests_complete() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    let files = ["a.png", "b.png"];
    let n = 300;
    let mut batch = Vec::new();
    for i in 0..n {
        let uri = format!("media://lib/{}", files[i % 2]);
        batch.extend(serde_json::to_vec(&json!({"jsonrpc":"2.0","id":i,"method":"resources/read","params": modern(json!({"uri": uri}))})).unwrap());
        batch.push(b'\n');
    }
    s.send_raw(&batch);
    let expected: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(root.join(f)).unwrap())
        .collect();
    for i in 0..n {
        let r = s.response(&json!(i));
        assert_eq!(
            b64(r["result"]["contents"][0]["blob"].as_str().unwrap()),
            expected[i % 2]
        );
    }
}

#[test]
fn stdin_eof_exits_cleanly() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    s.request(json!(1), "tools/list", modern(json!({})));
    // Fails (after a generous deadline) if the server does not exit on EOF.
    let (rest, status) = s.finish();
    assert!(status.success(), "exit status after EOF: {status}");
    assert!(rest.is_empty(), "unexpected output after EOF: {rest:?}");
}

#[test]
fn unreadable_media_and_bad_files_answer_with_errors() {
    let (_t, root) = library();
    std::fs::write(root.join("truncated.png"), &png(8, 8)[..30]).unwrap();
    let mut bomb = png(1, 1);
    // Claim 100000 x 100000 in IHDR. With the CRC left stale the header is corrupt; with
    // the CRC fixed it is a valid decompression-bomb header. Neither may be decoded.
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    std::fs::write(root.join("stale.png"), &bomb).unwrap();
    // IHDR: length (4) at 8, type + data (4 + 13) at 12, CRC over type + data at 29.
    let crc = crc32fast::hash(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(root.join("bomb.png"), &bomb).unwrap();
    let mut s = Server::spawn(&[&arg(&root)]);
    let t = s.request(
        json!(1),
        "tools/call",
        modern(json!({"name": "media_probe", "arguments": {"uri": "media://lib/truncated.png"}})),
    );
    assert_eq!(t["result"]["isError"], true, "{t}");
    let t = s.request(
        json!(2),
        "tools/call",
        modern(json!({"name": "media_probe", "arguments": {"uri": "media://lib/empty.png"}})),
    );
    assert_eq!(t["result"]["isError"], true, "{t}");
    assert!(
        t["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("not a recognised")
    );
    let t = s.request(
        json!(3),
        "tools/call",
        modern(json!({"name": "media_probe", "arguments": {"uri": "media://lib/bomb.png"}})),
    );
    let img = &t["result"]["structuredContent"]["image"];
    assert_eq!(
        (
            img["width"].as_u64(),
            img["height"].as_u64(),
            img["decodable"].as_bool()
        ),
        (Some(100_000), Some(100_000), Some(false)),
        "{t}"
    );
    let warnings = t["result"]["structuredContent"]["warnings"].to_string();
    assert!(warnings.contains("over the limit"), "{t}");
    let t = s.request(
        json!("stale"),
        "tools/call",
        modern(json!({"name": "media_probe", "arguments": {"uri": "media://lib/stale.png"}})),
    );
    assert_eq!(t["result"]["isError"], true, "{t}");
    let t = s.request(
        json!(4),
        "tools/call",
        modern(json!({"name": "media_probe", "arguments": {"nope": 1}})),
    );
    assert_eq!(t["result"]["isError"], true);
    let t = s.request(
        json!(5),
        "tools/call",
        modern(json!({"name": "no_such_tool", "arguments": {}})),
    );
    assert_eq!(t["error"]["code"], -32602);
    assert!(s.is_alive());
    assert!(s.request(json!(6), "tools/list", modern(json!({})))["result"].is_object());
}

#[test]
fn legacy_subscription_and_modern_listen_hear_file_changes() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    s.initialize("2025-11-25", json!({}));
    assert_eq!(
        s.request(
            json!(1),
            "resources/subscribe",
            json!({"uri": "media://lib/a.png"})
        )["result"],
        json!({})
    );
    let mut m = Server::spawn(&[&arg(&root)]);
    m.send(&json!({"jsonrpc": "2.0", "id": "L", "method": "subscriptions/listen", "params": modern(json!({
        "notifications": {"resourcesListChanged": true, "resourceSubscriptions": ["media://lib/a.png"]}}))}));
    let ack = m.next(HANG).unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "L"
    );
    assert_eq!(
        ack["params"]["notifications"]["resourceSubscriptions"],
        json!(["media://lib/a.png"])
    );
    // Reading files (and the rescans they cause) must not look like changes. The watcher
    // reports changes in order (sorted within one batch), so after reading a.png, a real
    // change to b.png (also subscribed) is a marker: a spurious update of a.png would arrive
    // before b.png's.
    s.request(
        json!("sb"),
        "resources/subscribe",
        json!({"uri": "media://lib/b.png"}),
    );
    s.request(
        json!(2),
        "resources/read",
        json!({"uri": "media://lib/a.png"}),
    );
    s.request(json!(3), "resources/list", json!({}));
    std::fs::write(root.join("b.png"), png(6, 6)).unwrap();
    let is_update = |n: &Value, uri: &str| {
        n["method"] == "notifications/resources/updated" && n["params"]["uri"] == uri
    };
    let (_, before) = s.wait_for(|n| is_update(n, "media://lib/b.png"));
    assert!(
        before.iter().all(|n| !is_update(n, "media://lib/a.png")),
        "spurious update of a.png without a change: {before:?}"
    );
    std::fs::write(root.join("a.png"), png(7, 7)).unwrap();
    s.wait_for(|n| is_update(n, "media://lib/a.png"));
    let (_, before) = m.wait_for(|n| is_update(n, "media://lib/a.png"));
    for n in &before {
        assert_eq!(
            n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L",
            "{n}"
        );
        assert!(
            !is_update(n, "media://lib/b.png"),
            "update for a URI the listen stream did not subscribe to: {n}"
        );
    }
    // Cancelling the listen request ends it without a response: it hears nothing more. A
    // second listen request is the marker that a change was announced after the cancel.
    m.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "L"}}));
    assert!(m.request(json!(2), "tools/list", modern(json!({})))["result"].is_object());
    // The cancel was handled before that answer; what arrived before it may predate the
    // cancel (a late batch of the last change): drop it.
    m.take_backlog();
    m.send(&json!({"jsonrpc": "2.0", "id": "L2", "method": "subscriptions/listen", "params": modern(json!({
        "notifications": {"resourceSubscriptions": ["media://lib/a.png"]}}))}));
    let tagged =
        |n: &Value, id: &str| n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == id;
    let (_, mut after_cancel) = m
        .wait_for(|n| n["method"] == "notifications/subscriptions/acknowledged" && tagged(n, "L2"));
    std::fs::write(root.join("a.png"), png(8, 8)).unwrap();
    let (_, before) = m.wait_for(|n| is_update(n, "media://lib/a.png") && tagged(n, "L2"));
    after_cancel.extend(before);
    m.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "L2"}}));
    // On EOF the server lets in-flight requests finish within a grace period: a listen
    // request that was not cancelled would hear the change (and stay in flight) meanwhile.
    let (rest, status) = m.finish();
    assert!(status.success(), "{status}");
    after_cancel.extend(rest);
    assert!(
        after_cancel
            .iter()
            .all(|x| x["id"] != "L" && x["id"] != "L2" && !tagged(x, "L")),
        "the cancelled listen request went on: {after_cancel:?}"
    );
    // A new file shows up in the listing once the change is announced.
    std::fs::write(root.join("new.png"), png(2, 2)).unwrap();
    // (An announcement still pending from the a.png write may come first: list again
    // after each one; `wait_for` fails if new.png never shows up.)
    for i in 0.. {
        s.wait_for(|n| n["method"] == "notifications/resources/list_changed");
        let l = s.request(json!(format!("l{i}")), "resources/list", json!({}));
        let listed = l["result"]["resources"].as_array().unwrap();
        if listed.iter().any(|r| r["uri"] == "media://lib/new.png") {
            break;
        }
    }
}

/// Strict-mode clients send every property: "" or null for the optional ones they do not use.
#[test]
fn strict_mode_arguments_empty_and_null_count_as_absent() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    let all = s.request(
        json!(1),
        "tools/call",
        modern(json!({"name": "media_list", "arguments": {}})),
    );
    let total = all["result"]["structuredContent"]["total"].clone();
    assert!(total.as_u64().unwrap() >= 3, "{all}");
    for (id, args) in [
        (
            2,
            json!({"kind": "", "glob": "", "root": "", "cursor": "", "limit": null}),
        ),
        (
            3,
            json!({"kind": null, "glob": null, "root": null, "cursor": null, "limit": null}),
        ),
    ] {
        let r = s.request(
            json!(id),
            "tools/call",
            modern(json!({"name": "media_list", "arguments": args})),
        );
        assert!(
            r["result"].is_object() && r["result"]["isError"] != true,
            "{args}: {r}"
        );
        assert_eq!(r["result"]["structuredContent"]["total"], total, "{r}");
    }
    // A real value still filters, next to nulls.
    let r = s.request(
        json!(4),
        "tools/call",
        modern(json!({"name": "media_list", "arguments": {"kind": "image", "root": "lib", "glob": null, "cursor": ""}})),
    );
    assert!(
        r["result"].is_object() && r["result"]["isError"] != true,
        "{r}"
    );
    assert_eq!(r["result"]["structuredContent"]["total"], 3, "{r}");
    // An empty required argument is still refused.
    let r = s.request(
        json!(5),
        "tools/call",
        modern(json!({"name": "media_probe", "arguments": {"uri": ""}})),
    );
    assert_eq!(r["result"]["isError"], true, "{r}");
    // The schemas let a strict client say "none" for every optional argument.
    let tl = s.request(json!(6), "tools/list", modern(json!({})));
    let tools = tl["result"]["tools"].as_array().unwrap();
    for t in tools {
        let schema = &t["inputSchema"];
        let required: Vec<&Value> = schema["required"]
            .as_array()
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        for (name, p) in schema["properties"].as_object().unwrap() {
            if required.contains(&&json!(name)) {
                continue;
            }
            let types = p["type"].as_array();
            assert!(
                types.is_some_and(|t| t.contains(&json!("null"))),
                "{}.{name} is not nullable: {p}",
                t["name"]
            );
            if let Some(e) = p["enum"].as_array() {
                assert!(e.contains(&Value::Null), "{}.{name}: {p}", t["name"]);
            }
        }
    }
    let list = tools.iter().find(|t| t["name"] == "media_list").unwrap();
    assert_eq!(
        list["inputSchema"]["properties"]["kind"]["enum"],
        json!(["audio", "image", "video", null])
    );
}

/// Clients that call media_probe without listing tools cannot know about `x-mcp-header`, so
/// production tools carry none (the conformance fixture keeps one).
#[test]
fn production_tools_need_no_custom_headers() {
    let mut s = Server::spawn(&[&crate::util::samples().to_string_lossy()]);
    let tl = s.request(json!(1), "tools/list", modern(json!({})));
    let text = tl["result"]["tools"].to_string();
    assert!(tl["result"]["tools"].as_array().unwrap().len() >= 4);
    assert!(!text.contains("x-mcp-header"), "{text}");
    let mut c = Server::spawn(&["--conformance", &crate::util::samples().to_string_lossy()]);
    let tl = c.request(json!(1), "tools/list", modern(json!({})));
    let fixture = tl["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "test_custom_headers")
        .cloned()
        .unwrap();
    assert_eq!(
        fixture["inputSchema"]["properties"]["value"]["x-mcp-header"],
        "Value"
    );
}

#[test]
fn probe_names_channel_layouts() {
    let mut s = Server::spawn(&[&crate::util::samples().to_string_lossy()]);
    for (i, (file, layout, names)) in [
        ("audio/tone.wav", "stereo", json!(["FL", "FR"])),
        ("audio/voice_16k.wav", "mono", Value::Null),
        (
            "audio/surround_5_1.flac",
            "5.1",
            json!(["FL", "FR", "FC", "LFE", "BL", "BR"]),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = s.request(
            json!(i),
            "tools/call",
            modern(json!({"name": "media_probe", "arguments": {"uri": format!("media://samples/{file}")}})),
        );
        let audio = &r["result"]["structuredContent"]["audio"];
        assert_eq!(audio["channelLayout"], layout, "{file}: {audio}");
        if !names.is_null() {
            assert_eq!(audio["channelNames"], names, "{file}: {audio}");
        }
    }
}

#[test]
fn describe_media_is_text_unless_embed_asks() {
    let (_t, root) = library();
    let mut s = Server::spawn(&[&arg(&root)]);
    let get = |s: &mut Server, id: i64, args: Value| {
        s.request(
            json!(id),
            "prompts/get",
            modern(json!({"name": "describe_media", "arguments": args})),
        )
    };
    for (id, args) in [
        (1, json!({"uri": "media://lib/a.png"})),
        (2, json!({"uri": "media://lib/a.png", "embed": ""})),
        (3, json!({"uri": "media://lib/a.png", "embed": "none"})),
    ] {
        let r = get(&mut s, id, args);
        let msgs = r["result"]["messages"].as_array().unwrap();
        assert!(!msgs.is_empty(), "{r}");
        assert!(msgs.iter().all(|m| m["content"]["type"] == "text"), "{r}");
        assert!(
            msgs[0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("media://lib/a.png")
        );
    }
    let r = get(
        &mut s,
        4,
        json!({"uri": "media://lib/a.png", "embed": "link"}),
    );
    let msgs = r["result"]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{r}");
    assert_eq!(msgs[1]["content"]["type"], "resource_link");
    assert_eq!(msgs[1]["content"]["uri"], "media://lib/a.png");
    let r = get(
        &mut s,
        5,
        json!({"uri": "media://lib/a.png", "embed": "resource"}),
    );
    let msgs = r["result"]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{r}");
    assert_eq!(msgs[1]["content"]["type"], "resource");
    let res = &msgs[1]["content"]["resource"];
    assert_eq!(res["uri"], "media://lib/a.png");
    assert_eq!(res["mimeType"], "image/png");
    assert_eq!(
        b64(res["blob"].as_str().unwrap()),
        std::fs::read(root.join("a.png")).unwrap()
    );
    let r = get(
        &mut s,
        6,
        json!({"uri": "media://lib/a.png", "embed": "inline"}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let d = s.request(json!(7), "prompts/list", modern(json!({})));
    let args = &d["result"]["prompts"][0]["arguments"];
    assert_eq!(args[1]["name"], "embed", "{d}");
    assert_eq!(args[1]["required"], false);
    let c = s.request(
        json!(8),
        "completion/complete",
        modern(
            json!({"ref": {"type": "ref/prompt", "name": "describe_media"},
                      "argument": {"name": "embed", "value": "l"}}),
        ),
    );
    assert_eq!(c["result"]["completion"]["values"], json!(["link"]), "{c}");
}

/// A library of `n` copies of a tiny PNG, named by `name(i)` (relative path).
fn many_files(n: usize, name: impl Fn(usize) -> String) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lib");
    let data = png(1, 1);
    for i in 0..n {
        let p = root.join(name(i));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &data).unwrap();
    }
    (tmp, root)
}

/// Every page of `resources/list`: (uris, byte length of the `resources` array's JSON).
fn list_all(s: &mut Server) -> Vec<(Vec<String>, usize)> {
    let mut pages = vec![];
    let mut params = json!({});
    for id in 0.. {
        let r = s.request(json!(id), "resources/list", modern(params.clone()));
        let items = &r["result"]["resources"];
        pages.push((
            items
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["uri"].as_str().unwrap().to_string())
                .collect(),
            serde_json::to_vec(items).unwrap().len(),
        ));
        match r["result"]["nextCursor"].as_str() {
            Some(c) => params = json!({"cursor": c}),
            None => break,
        }
    }
    pages
}

#[test]
fn resources_list_default_page_takes_a_thousand() {
    let (_t, root) = many_files(1001, |i| format!("img{i:04}.png"));
    let mut s = Server::spawn(&[&arg(&root)]);
    let pages = list_all(&mut s);
    assert_eq!(
        pages.iter().map(|p| p.0.len()).collect::<Vec<_>>(),
        [1000, 1]
    );
    let mut all: Vec<String> = pages.into_iter().flat_map(|p| p.0).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 1001);
}

#[test]
fn resources_list_page_ends_at_the_byte_bound_and_continues_exactly() {
    // Long paths: 1000 entries of about 1.3 KB each are over the 1 MiB bound.
    let dir = |c: char| std::iter::repeat_n(c, 200).collect::<String>();
    let (_t, root) = many_files(1000, |i| {
        format!("{}/{}/{}{i:04}.png", dir('d'), dir('e'), dir('f'))
    });
    let mut s = Server::spawn(&[&arg(&root)]);
    let pages = list_all(&mut s);
    assert!(pages.len() >= 2, "{} pages", pages.len());
    assert!(pages[0].0.len() < 1000);
    for (items, bytes) in &pages {
        assert!(!items.is_empty());
        assert!(*bytes <= 1024 * 1024, "page of {bytes} bytes");
    }
    assert!(
        pages[0].1 > 1024 * 1024 - 2000,
        "first page only {} bytes",
        pages[0].1
    );
    let all: Vec<String> = pages.into_iter().flat_map(|p| p.0).collect();
    assert_eq!(all.len(), 1000);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 1000, "no entry twice, none missing");
}
