//! Large blobs are streamed, not buffered: whole reads of a 16 MiB file over stdio and over
//! HTTP (eight at once) come back byte for byte while the server's peak memory stays within a
//! bound that holding one whole file and its base64 frame per response would break; a client
//! that stops reading does not make the server hold its answer; a file cut short while it is
//! being sent ends the HTTP body early instead of completing it with made-up bytes.

use crate::http::{HttpServer, initialize};
use crate::util::{MODERN, Server, modern, wav_header};
use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Size of the PCM data of the big file (the file is this plus a 44-byte WAV header).
const DATA: usize = 16 * 1024 * 1024;
/// An inline limit above the big file's size (the default is lower).
const LIMIT: &str = "--inline-limit=20000000";
const MIB: u64 = 1024 * 1024;

/// A 16 MiB (plus header) 16-bit stereo WAV of pseudo-random noise in a fresh root `big`.
fn big_root() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("big");
    std::fs::create_dir_all(&root).unwrap();
    let mut out = Vec::with_capacity(DATA + 44);
    let data_len = DATA as u32;
    out.extend_from_slice(&wav_header(48000, 2, 1, 16, data_len, None));
    let mut x: u32 = 7;
    while out.len() < DATA + 44 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        out.push((x >> 24) as u8);
    }
    std::fs::write(root.join("noise.wav"), &out).unwrap();
    (tmp, root, out)
}

fn blob_of(result: &Value) -> Vec<u8> {
    let b64 = result["contents"][0]["blob"]
        .as_str()
        .unwrap_or_else(|| panic!("no blob in {:.300}", result.to_string()));
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("valid base64")
}

#[test]
fn whole_reads_of_a_16_mib_file_over_stdio_stay_under_48_mib() {
    let (_t, root, want) = big_root();
    let mut s = Server::spawn(&[&root.to_string_lossy(), LIMIT]);
    for i in 0..4 {
        let r = s.request(
            json!(i),
            "resources/read",
            modern(json!({"uri": "media://big/noise.wav"})),
        );
        let got = blob_of(&r["result"]);
        assert_eq!(got.len(), want.len(), "read {i}");
        assert!(got == want, "read {i}: bytes differ");
    }
    let peak = s.peak_rss();
    eprintln!(
        "stdio: server peak RSS after 4 whole reads of 16 MiB: {} MiB",
        peak / MIB
    );
    assert!(peak < 48 * MIB, "peak RSS {} MiB", peak / MIB);
}

/// The body of a modern `resources/read` of `uri`, as raw bytes of HTTP.
fn read_request(s: &HttpServer, uri: &str) -> Vec<u8> {
    let body = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 1,
        "method": "resources/read", "params": modern(json!({"uri": uri}))}))
    .unwrap();
    let mut req = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {MODERN}\r\n\
         Mcp-Method: resources/read\r\nMcp-Name: {uri}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        s.addr,
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    req
}

/// Sends a read and returns the reader positioned at the body, with the Content-Length.
fn start_read(s: &HttpServer, uri: &str) -> (BufReader<std::net::TcpStream>, Option<usize>) {
    let mut c = s.connect();
    c.write_all(&read_request(s, uri)).unwrap();
    let mut r = BufReader::new(c);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut len = None;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        if h == "\r\n" || h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = Some(v.trim().parse().unwrap());
        }
        assert!(
            !lower.starts_with("content-type:") || lower.contains("application/json"),
            "{h}"
        );
    }
    (r, len)
}

#[test]
fn eight_concurrent_16_mib_reads_over_http_keep_content_length_and_stay_under_100_mib() {
    let (_t, root, want) = big_root();
    let s = HttpServer::spawn(&[&root.to_string_lossy(), LIMIT]);
    let bodies: Vec<(Option<usize>, Vec<u8>)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                sc.spawn(|| {
                    let (mut r, len) = start_read(&s, "media://big/noise.wav");
                    let mut body = Vec::new();
                    r.read_to_end(&mut body).unwrap();
                    (len, body)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (len, body)) in bodies.iter().enumerate() {
        assert_eq!(
            *len,
            Some(body.len()),
            "client {i}: Content-Length and body"
        );
        let v: Value = serde_json::from_slice(body).expect("a JSON body");
        let got = blob_of(&v["result"]);
        assert!(got == want, "client {i}: bytes differ");
    }
    let peak = s.peak_rss();
    eprintln!(
        "http: server peak RSS, 8 concurrent whole reads of 16 MiB: {} MiB",
        peak / MIB
    );
    assert!(peak < 100 * MIB, "peak RSS {} MiB", peak / MIB);
}

/// The server's resident memory now (VmRSS), in bytes.
fn rss_of(s: &HttpServer) -> u64 {
    // VmHWM is the peak; the peak is what matters here too: nothing may have grown.
    s.peak_rss()
}

#[test]
fn clients_that_stop_reading_do_not_make_the_server_hold_their_answers() {
    let (_t, root, want) = big_root();
    let s = HttpServer::spawn(&[&root.to_string_lossy(), LIMIT]);
    // Eight clients take the head and 4 KiB of the body, then stop reading.
    let mut readers: Vec<_> = (0..8)
        .map(|_| {
            let (mut r, len) = start_read(&s, "media://big/noise.wav");
            let mut first = vec![0u8; 4096];
            r.read_exact(&mut first).unwrap();
            (r, len, first)
        })
        .collect();
    // Give the server every chance to produce ahead into memory if it would.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let stalled = rss_of(&s);
    eprintln!(
        "http: server peak RSS with 8 stalled 16 MiB reads: {} MiB",
        stalled / MIB
    );
    // Buffered whole, eight answers would hold 8 x (16 + 21.3) MiB.
    assert!(stalled < 100 * MIB, "peak RSS {} MiB", stalled / MIB);
    for (i, (r, len, first)) in readers.iter_mut().enumerate() {
        let mut body = std::mem::take(first);
        r.read_to_end(&mut body).unwrap();
        assert_eq!(*len, Some(body.len()), "client {i}");
        let v: Value = serde_json::from_slice(&body).expect("a JSON body");
        assert!(blob_of(&v["result"]) == want, "client {i}: bytes differ");
    }
}

#[test]
fn a_file_cut_short_while_it_is_sent_ends_the_http_body_early() {
    let (_t, root, _want) = big_root();
    let s = HttpServer::spawn(&[&root.to_string_lossy(), LIMIT]);
    let (mut r, len) = start_read(&s, "media://big/noise.wav");
    let len = len.expect("a Content-Length");
    let mut first = vec![0u8; 4096];
    r.read_exact(&mut first).unwrap();
    // The client holds back; the file is cut to 1 MiB meanwhile (at most a few MiB of the
    // 21 MiB answer can be in buffers by now).
    truncate(&root.join("noise.wav"), MIB);
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest); // a reset connection is an acceptable ending too
    let got = first.len() + rest.len();
    assert!(
        got < len,
        "the body should end early: got {got} of the announced {len} bytes"
    );
    // The server lives on and serves the (now short) file whole.
    let (mut r2, len2) = start_read(&s, "media://big/noise.wav");
    let mut body = Vec::new();
    r2.read_to_end(&mut body).unwrap();
    assert_eq!(len2, Some(body.len()));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(blob_of(&v["result"]).len() as u64, MIB);
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_file_cut_short_while_it_is_sent_over_stdio_ends_its_line_and_the_next_answer_reads() {
    use std::process::{Command, Stdio};
    let (_t, root, _want) = big_root();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-media"))
        .args(["serve", "--stdio", &root.to_string_lossy(), LIMIT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcp-media");
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let ask = |stdin: &mut std::process::ChildStdin, id: u32| {
        let mut line = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id,
            "method": "resources/read",
            "params": modern(json!({"uri": "media://big/noise.wav"}))}))
        .unwrap();
        line.push(b'\n');
        stdin.write_all(&line).unwrap();
        stdin.flush().unwrap();
    };
    ask(&mut stdin, 1);
    // The head of the answer and a little of its blob; the pipe holds back the rest.
    let mut first = vec![0u8; 4096];
    out.read_exact(&mut first).unwrap();
    truncate(&root.join("noise.wav"), MIB);
    let mut line = first;
    out.read_until(b'\n', &mut line).unwrap();
    assert_eq!(line.last(), Some(&b'\n'), "the line is ended");
    // Whole, the answer would be about 21.3 MiB of base64.
    assert!(line.len() < 21 * MIB as usize, "{} bytes", line.len());
    assert!(
        serde_json::from_slice::<Value>(&line).is_err(),
        "a cut answer must not parse as a complete message"
    );
    // The connection goes on: the next read answers the file as it is now.
    ask(&mut stdin, 2);
    let mut next = Vec::new();
    out.read_until(b'\n', &mut next).unwrap();
    let v: Value = serde_json::from_slice(&next).expect("the next line is a whole message");
    assert_eq!(v["id"], 2);
    assert_eq!(blob_of(&v["result"]).len() as u64, MIB);
    drop(stdin);
    let _ = child.wait();
}

#[test]
fn sse_answers_stream_the_same_way_and_replay_from_the_file() {
    let (_t, root, want) = big_root();
    let s = HttpServer::spawn(&[&root.to_string_lossy(), LIMIT]);
    let sid = initialize(&s, "2025-03-26");
    // A 2025-03-26 batch that asks for progress is answered as SSE from the start.
    let batch = |id: u32| {
        json!([{"jsonrpc": "2.0", "id": id, "method": "resources/read",
            "params": {"uri": "media://big/noise.wav", "_meta": {"progressToken": id}}}])
    };
    let answers: Vec<(String, Vec<u8>)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let (s, sid, batch) = (&s, &sid, &batch);
                sc.spawn(move || {
                    let r = s.post(&[("Mcp-Session-Id", sid)], &batch(i));
                    assert_eq!(r.status, 200);
                    assert_eq!(r.header("content-type"), Some("text/event-stream"));
                    answer_event(&r.body)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (_, got)) in answers.iter().enumerate() {
        assert!(*got == want, "client {i}: bytes differ");
    }
    let peak = s.peak_rss();
    eprintln!(
        "http: server peak RSS, 4 concurrent 16 MiB reads as SSE: {} MiB",
        peak / MIB
    );
    // Whole in memory, each answer would take 16 MiB of file and 21.3 MiB of event.
    assert!(peak < 100 * MIB, "peak RSS {} MiB", peak / MIB);
    // The replay log kept the event (its file, not its bytes): resuming from just before it
    // sends it again, whole.
    let (stream, seq) = answers[0].0.split_once('-').unwrap();
    let seq: u64 = seq.parse().unwrap();
    let before = format!("{stream}-{}", seq - 1);
    let replay = s.send(
        "GET",
        "/mcp",
        &[
            ("Mcp-Session-Id", &sid),
            ("Accept", "text/event-stream"),
            ("Last-Event-ID", &before),
        ],
        b"",
    );
    assert_eq!(replay.status, 200);
    let (id, got) = answer_event(&replay.into_resp().body);
    assert_eq!(id, answers[0].0, "the same event");
    assert!(got == want, "replayed bytes differ");
}

#[test]
fn a_file_cut_short_while_its_sse_event_is_sent_ends_the_stream_unfinished() {
    let (_t, root, _want) = big_root();
    let s = HttpServer::spawn(&[&root.to_string_lossy(), LIMIT]);
    let sid = initialize(&s, "2025-03-26");
    // A batch that asks for progress is answered as SSE; its answer event carries the blob.
    let body = serde_json::to_vec(
        &json!([{"jsonrpc": "2.0", "id": 7, "method": "resources/read",
        "params": {"uri": "media://big/noise.wav", "_meta": {"progressToken": 7}}}]),
    )
    .unwrap();
    let mut c = s.connect();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMcp-Session-Id: {sid}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        s.addr,
        body.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(&body).unwrap();
    let mut r = BufReader::new(c);
    // Up to the start of the answer's blob; the client holds back the rest.
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("\"blob\":\"") {
        let mut buf = vec![0u8; 4096];
        let n = r.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        String::from_utf8_lossy(&got).contains("text/event-stream"),
        "an SSE answer"
    );
    truncate(&root.join("noise.wav"), MIB);
    let _ = r.read_to_end(&mut got); // a reset connection is an acceptable ending too
    // Whole, the event would carry about 21.3 MiB of base64 and the body would end with the
    // last chunk; cut, it ends without it, so no client takes it for a complete stream.
    assert!(got.len() < 21 * MIB as usize, "{} bytes", got.len());
    assert!(
        !got.ends_with(b"0\r\n\r\n"),
        "the stream must not end as if it were complete"
    );
    // The server lives on and serves the (now short) file whole.
    let (mut r2, len2) = start_read(&s, "media://big/noise.wav");
    let mut whole = Vec::new();
    r2.read_to_end(&mut whole).unwrap();
    assert_eq!(len2, Some(whole.len()));
    let v: Value = serde_json::from_slice(&whole).unwrap();
    assert_eq!(blob_of(&v["result"]).len() as u64, MIB);
}

/// The id and decoded blob of the SSE event in `body` that carries a result (the events are
/// split here in one pass: the test helper's event parser rescans its buffer per chunk).
fn answer_event(body: &[u8]) -> (String, Vec<u8>) {
    let text = std::str::from_utf8(body).expect("SSE is UTF-8");
    for event in text.split("\n\n") {
        let mut id = None;
        let mut data = None;
        for line in event.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = Some(v);
            }
        }
        if let Some(d) = data.filter(|d| d.contains("\"result\"")) {
            let v: Value = serde_json::from_str(d).expect("the event's data is JSON");
            return (id.expect("an event id"), blob_of(&v["result"]));
        }
    }
    panic!("no answer event in {:.300}", text);
}
