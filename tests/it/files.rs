//! Untrusted files in a media root, end to end over stdio: FIFOs, sockets and links to them
//! (or to devices) never hang a scan, a read or a tool and never hold a job slot; derived media
//! follow their source when it is rewritten or deleted. Deadlines here ([`HANG`]) only turn a
//! hang into a failure.

use crate::util::{Server, modern};
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A 16-bit PCM WAV of `seconds` of a tone at `freq` Hz, 16 kHz mono.
fn wav(seconds: f32, freq: f32) -> Vec<u8> {
    let frames = (16_000.0 * seconds) as u32;
    let data_len = frames * 2;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let v = ((i as f32 * freq * std::f32::consts::TAU / 16_000.0).sin() * 9000.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn mkfifo(path: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils)");
    assert!(st.success());
}

/// A root with one good WAV, a FIFO, a link to it, a link to /dev/zero and a socket (all
/// named like audio). The listener keeps the socket alive.
fn hostile_root() -> (tempfile::TempDir, PathBuf, std::os::unix::net::UnixListener) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("r");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.wav"), wav(1.0, 440.0)).unwrap();
    mkfifo(&root.join("fifo.wav"));
    std::os::unix::fs::symlink("fifo.wav", root.join("to_fifo.wav")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.wav")).unwrap();
    let sock = std::os::unix::net::UnixListener::bind(root.join("sock.wav")).unwrap();
    (tmp, root, sock)
}

const HOSTILE: [&str; 4] = ["fifo.wav", "to_fifo.wav", "zero.wav", "sock.wav"];

/// A response cut short for assertion messages (blobs are long).
fn brief(v: &Value) -> String {
    v.to_string().chars().take(400).collect()
}

fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn fifos_sockets_and_device_links_are_not_listed_and_answer_errors_promptly() {
    let (_t, root, _sock) = hostile_root();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    let l = s.request(json!(1), "resources/list", modern(json!({})));
    let uris: Vec<&str> = l["result"]["resources"]
        .as_array()
        .expect("a listing")
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert_eq!(uris, vec!["media://r/a.wav"]);

    let mut id = 10;
    for name in HOSTILE {
        let uri = format!("media://r/{name}");
        id += 1;
        let rd = s.request(json!(id), "resources/read", modern(json!({"uri": uri})));
        let err = &rd["error"];
        assert_eq!(err["code"], -32602, "{name}: {}", brief(&rd));
        assert_eq!(err["data"]["uri"], uri.as_str(), "{name}: {}", brief(&rd));
        let msg = err["message"].as_str().unwrap_or_default();
        if name == "zero.wav" {
            assert!(msg.contains("outside"), "{name}: {msg}");
        } else {
            assert!(msg.contains("not a regular file"), "{name}: {msg}");
        }
        for tool in ["media_probe", "audio_transcode"] {
            id += 1;
            let r = s.request(
                json!(id),
                "tools/call",
                modern(json!({"name": tool, "arguments": {"uri": uri}})),
            );
            assert_eq!(r["result"]["isError"], true, "{tool} {name}: {}", brief(&r));
            let text = text_of(&r["result"]);
            assert!(
                text.contains("not a regular file") || text.contains("outside"),
                "{tool} {name}: {text}"
            );
        }
    }
    // A legacy session gets the legacy not-found code for a FIFO.
    let mut s2 = Server::spawn(&[&root.to_string_lossy()]);
    s2.initialize("2025-06-18", json!({}));
    let rd = s2.request(
        json!(1),
        "resources/read",
        json!({"uri": "media://r/fifo.wav"}),
    );
    assert_eq!(rd["error"]["code"], -32002, "{}", brief(&rd));
}

#[test]
fn many_requests_on_a_fifo_hold_no_job_slot() {
    let (_t, root, _sock) = hostile_root();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    // More than every job slot, all in flight at once.
    let n = 40;
    for i in 0..n {
        let name = HOSTILE[i % 2];
        let params = if i % 4 < 2 {
            modern(
                json!({"name": "audio_transcode", "arguments": {"uri": format!("media://r/{name}")}}),
            )
        } else {
            modern(json!({"uri": format!("media://r/{name}")}))
        };
        let method = if i % 4 < 2 {
            "tools/call"
        } else {
            "resources/read"
        };
        s.send(&json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params}));
    }
    // Real work still gets done...
    let t = s.request(
        json!("good"),
        "tools/call",
        modern(json!({"name": "audio_transcode", "arguments": {"uri": "media://r/a.wav"}})),
    );
    assert_ne!(t["result"]["isError"], true, "{}", brief(&t));
    assert!(
        t["result"]["content"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{}",
        brief(&t)
    );
    // ...and every hostile request was answered with an error.
    for i in 0..n {
        let r = s.response(&json!(i));
        assert!(
            r["error"].is_object() || r["result"]["isError"] == true,
            "request {i}: {r}"
        );
    }
}

fn read_blob(s: &mut Server, id: Value, uri: &str) -> Value {
    s.request(id, "resources/read", modern(json!({"uri": uri})))
}

fn blob_bytes(r: &Value) -> Vec<u8> {
    let b64 = r["result"]["contents"][0]["blob"]
        .as_str()
        .unwrap_or_else(|| panic!("no blob in {r}"));
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn a_file_truncated_between_ranged_reads_never_reads_past_its_new_end() {
    let (_t, root, _sock) = hostile_root();
    let long = wav(30.0, 300.0);
    std::fs::write(root.join("long.wav"), &long).unwrap();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    let first = read_blob(
        &mut s,
        json!(1),
        "media://r/long.wav?offset=0&length=100000",
    );
    assert_eq!(blob_bytes(&first), &long[..100_000]);
    std::fs::OpenOptions::new()
        .write(true)
        .open(root.join("long.wav"))
        .unwrap()
        .set_len(150_000)
        .unwrap();
    // The second range straddles the new end: exactly the bytes that are left.
    let second = read_blob(
        &mut s,
        json!(2),
        "media://r/long.wav?offset=100000&length=100000",
    );
    assert_eq!(blob_bytes(&second), &long[100_000..150_000]);
    // A range past the new end is a clear client error.
    let third = read_blob(
        &mut s,
        json!(3),
        "media://r/long.wav?offset=200000&length=1000",
    );
    assert_eq!(third["error"]["code"], -32602, "{}", brief(&third));
}

const DERIVED: &str = "media://r/a.wav?start=0&duration=1&format=wav";

#[test]
fn derived_media_follow_a_rewritten_source_and_vanish_with_it() {
    let (_t, root, _sock) = hostile_root();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    let old = blob_bytes(&read_blob(&mut s, json!(1), DERIVED));
    // Cached now: a second read is the same bytes.
    assert!(blob_bytes(&read_blob(&mut s, json!(2), DERIVED)) == old);

    // Rewritten in place, different content and size.
    std::fs::write(root.join("a.wav"), wav(2.0, 1000.0)).unwrap();
    let new = blob_bytes(&read_blob(&mut s, json!(3), DERIVED));
    assert!(
        new != old,
        "a rewritten source must not serve the old audio"
    );
    // It matches a fresh render by a server with an empty cache.
    let mut fresh = Server::spawn(&[&root.to_string_lossy()]);
    let fresh = blob_bytes(&read_blob(&mut fresh, json!(1), DERIVED));
    assert!(
        fresh == new,
        "the new bytes are not those of a fresh render"
    );

    // Deleted: the derived URI is not found (2026-07-28: -32602 with data.uri).
    std::fs::remove_file(root.join("a.wav")).unwrap();
    let gone = read_blob(&mut s, json!(4), DERIVED);
    assert_eq!(gone["error"]["code"], -32602, "{}", brief(&gone));
    assert_eq!(gone["error"]["data"]["uri"], DERIVED, "{}", brief(&gone));
    let msg = gone["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("not found"), "{msg}");
    // The transcode tool no longer offers it either.
    let t = s.request(
        json!(5),
        "tools/call",
        modern(json!({"name": "audio_transcode", "arguments": {"uri": "media://r/a.wav"}})),
    );
    assert_eq!(t["result"]["isError"], true, "{}", brief(&t));
}

#[test]
fn a_deleted_source_is_not_found_in_the_legacy_era_too() {
    let (_t, root, _sock) = hostile_root();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    s.initialize("2025-06-18", json!({}));
    let first = s.request(json!(1), "resources/read", json!({"uri": DERIVED}));
    assert!(!blob_bytes(&first).is_empty());
    std::fs::remove_file(root.join("a.wav")).unwrap();
    let gone = s.request(json!(2), "resources/read", json!({"uri": DERIVED}));
    assert_eq!(gone["error"]["code"], -32002, "{}", brief(&gone));
    assert_eq!(gone["error"]["data"]["uri"], DERIVED, "{}", brief(&gone));
}

#[test]
fn a_source_replaced_by_a_fifo_is_refused_not_served_from_the_cache() {
    let (_t, root, _sock) = hostile_root();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    assert!(!blob_bytes(&read_blob(&mut s, json!(1), DERIVED)).is_empty());
    std::fs::remove_file(root.join("a.wav")).unwrap();
    mkfifo(&root.join("a.wav"));
    let r = read_blob(&mut s, json!(2), DERIVED);
    assert_eq!(r["error"]["code"], -32602, "{}", brief(&r));
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("not a regular file"), "{msg}");
}
