//! Whole-process HTTP load benchmark: starts the release `mcp-media` binary on loopback and
//! drives it with N concurrent keep-alive connections (a minimal HTTP/1.1 client on tokio).
//! Reports requests/s and p50/p99 latency for `tools/list`, MiB/s for 1 MiB and 16 MiB
//! `resources/read`, and the server's peak RSS (VmHWM). Bounded in count and time; loopback only.
//!
//! Run: `cargo bench --bench http_load` (env: LOAD_CONNS, LOAD_SECS; LOAD_BIG_CONNS, default 4,
//! connections reading the 16 MiB file).
//!
//! `LOAD_AUTH=1 cargo bench --bench http_load` measures instead what authorization costs: two
//! servers on the same library, one without authorization and one with a static bearer token
//! (`--auth-tokens`; every request then carries `Authorization: Bearer ...`), driven with the
//! same load in alternating rounds (LOAD_ROUNDS, default 5, of LOAD_SECS each, default 2 s);
//! prints the median requests/s of each and their ratio (auth on / auth off) for `tools/list`
//! at 1 and 50 connections and `resources/read` of a 4 KiB file at 1 and 50 connections.
#![allow(clippy::print_stdout)] // a benchmark reports on stdout; no protocol runs there

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn request(
    port: u16,
    method: &str,
    name: Option<&str>,
    params: &str,
    bearer: Option<&str>,
) -> Vec<u8> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(n) = name {
        head.push_str(&format!("Mcp-Name: {n}\r\n"));
    }
    if let Some(t) = bearer {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    let mut v = head.into_bytes();
    v.extend_from_slice(body.as_bytes());
    v
}

/// Sends one request on a keep-alive connection and reads the whole response; returns its size.
async fn roundtrip(conn: &mut BufReader<TcpStream>, req: &[u8]) -> usize {
    conn.get_mut().write_all(req).await.unwrap();
    let mut len = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        let l = line.to_ascii_lowercase();
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        assert!(
            !l.starts_with("http/1.1 4") && !l.starts_with("http/1.1 5"),
            "{line}"
        );
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).await.unwrap();
    len
}

async fn load(
    port: u16,
    conns: usize,
    secs: f64,
    req: Vec<u8>,
) -> (usize, usize, Vec<Duration>, Duration) {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..conns {
        let req = req.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = BufReader::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
            let (mut n, mut bytes, mut lat) = (0usize, 0usize, vec![]);
            while Instant::now() < deadline && n < 1_000_000 {
                let t = Instant::now();
                bytes += roundtrip(&mut c, &req).await;
                lat.push(t.elapsed());
                n += 1;
            }
            (n, bytes, lat)
        }));
    }
    let (mut n, mut bytes, mut lat) = (0, 0, vec![]);
    for t in tasks {
        let (a, b, c) = t.await.unwrap();
        n += a;
        bytes += b;
        lat.extend(c);
    }
    lat.sort();
    (n, bytes, lat, started.elapsed())
}

fn pct(l: &[Duration], p: f64) -> f64 {
    l[((l.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3
}

fn vm_hwm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
        })
        .map_or("?".into(), |kb| {
            format!("{:.1} MiB", kb.parse::<f64>().unwrap_or(0.0) / 1024.0)
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `bin serve` on `port` over `lib`, with `extra` arguments.
fn spawn(bin: &str, port: u16, lib: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--inline-limit",
            "33554432",
        ])
        .args(extra)
        .arg(lib)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(port: u16) {
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not start");
}

/// The status code of one request on a new connection.
async fn status(port: u16, req: &[u8]) -> u16 {
    let mut c = BufReader::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    c.get_mut().write_all(req).await.unwrap();
    let mut line = String::new();
    c.read_line(&mut line).await.unwrap();
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `LOAD_AUTH=1`: the same load on a server without and one with authorization (a static
/// bearer token), in alternating rounds; medians of requests/s and their ratio.
fn auth_compare(bin: &str, lib: &std::path::Path, dir: &std::path::Path, short: bool) {
    let secs: f64 = std::env::var("LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if short { 0.2 } else { 2.0 });
    let rounds: usize = std::env::var("LOAD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if short { 1 } else { 5 })
        .max(1);
    // A random-looking token of the usual length (43 base64url characters, 256 bits).
    let token = "bench-3q2+7w-Zk9vT1mX4pLr8sQ0aYc6uEoNhJgBfWdVi";
    let tokens = dir.join("tokens.json");
    std::fs::write(
        &tokens,
        format!(
            r#"[{{"subject":"bench","sha256":"{}","scopes":["media:read","media:transform"]}}]"#,
            mcp_media::auth::tokens::hash_token(token)
        ),
    )
    .unwrap();
    let (off_port, on_port) = (free_port(), free_port());
    let mut off = spawn(bin, off_port, lib, &[]);
    let mut on = spawn(
        bin,
        on_port,
        lib,
        &["--auth-tokens", tokens.to_str().unwrap()],
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        wait_ready(off_port).await;
        wait_ready(on_port).await;
        let list = |port, bearer| {
            request(port, "tools/list", None, &format!(r#"{{"_meta":{META}}}"#), bearer)
        };
        // The server with authorization refuses a request without the token: it is on.
        assert_eq!(status(on_port, &list(on_port, None)).await, 401);
        assert_eq!(status(on_port, &list(on_port, Some(token))).await, 200);
        let uri = "media://lib/small.wav";
        let read = |port, bearer| {
            request(
                port,
                "resources/read",
                Some(uri),
                &format!(r#"{{"uri":"{uri}","_meta":{META}}}"#),
                bearer,
            )
        };
        println!(
            "auth off vs on (static bearer token): medians of {rounds} alternating rounds of {secs} s"
        );
        let cases: [(&str, usize, bool); 4] = [
            ("tools/list", 1, false),
            ("tools/list", 50, false),
            ("resources/read 4KiB", 1, true),
            ("resources/read 4KiB", 50, true),
        ];
        for (name, conns, is_read) in cases {
            let make = |port, bearer| {
                if is_read {
                    read(port, bearer)
                } else {
                    list(port, bearer)
                }
            };
            // Warm both (connections, caches) before measuring.
            load(off_port, conns, secs / 4.0, make(off_port, None)).await;
            load(on_port, conns, secs / 4.0, make(on_port, Some(token))).await;
            let (mut r_off, mut r_on) = (vec![], vec![]);
            for round in 0..rounds {
                // Alternate which goes first so a drift in machine load falls on both.
                for auth in if round % 2 == 0 { [false, true] } else { [true, false] } {
                    let (port, bearer) = if auth {
                        (on_port, Some(token))
                    } else {
                        (off_port, None)
                    };
                    let (n, _, _, el) = load(port, conns, secs, make(port, bearer)).await;
                    let rate = n as f64 / el.as_secs_f64();
                    if auth { r_on.push(rate) } else { r_off.push(rate) }
                }
            }
            let (m_off, m_on) = (median(r_off.clone()), median(r_on.clone()));
            println!(
                "{name:<20} {conns:>3} conns: auth off {m_off:>9.0} req/s   auth on {m_on:>9.0} req/s   ratio {:.3}   (rounds off {:?}, on {:?})",
                m_on / m_off,
                r_off.iter().map(|r| r.round() as u64).collect::<Vec<_>>(),
                r_on.iter().map(|r| r.round() as u64).collect::<Vec<_>>(),
            );
        }
    });
    for c in [&mut off, &mut on] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing and gets a short run.
    let short = !std::env::args().any(|a| a == "--bench");
    let conns: usize = std::env::var("LOAD_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let secs: f64 = std::env::var("LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if short { 0.3 } else { 5.0 });
    let big_conns: usize = std::env::var("LOAD_BIG_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(conns.min(4));
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let mut x: u64 = 0x9E3779B97F4A7C15;
    for (name, mib) in [("one.wav", 1usize), ("sixteen.wav", 16)] {
        // A WAV header so the file is media, then pseudo-random bytes.
        let mut f = std::fs::File::create(lib.join(name)).unwrap();
        f.write_all(b"RIFF\0\0\0\0WAVEfmt ").unwrap();
        let data: Vec<u8> = (0..(mib << 20) - 16)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        f.write_all(&data).unwrap();
    }
    std::fs::write(lib.join("small.wav"), {
        let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        v.resize(4096, 0x5a);
        v
    })
    .unwrap();
    // MCP_MEDIA_BIN names another build to measure side by side with this one.
    let bin =
        std::env::var("MCP_MEDIA_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcp-media").into());
    if std::env::var("LOAD_AUTH").is_ok_and(|v| v == "1") {
        auth_compare(&bin, &lib, dir.path(), short);
        return;
    }
    let port = free_port();
    let mut child = spawn(&bin, port, &lib, &[]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        wait_ready(port).await;
        let list = request(port, "tools/list", None, &format!(r#"{{"_meta":{META}}}"#), None);
        let (n, _, lat, el) = load(port, conns, secs, list).await;
        println!(
            "tools/list            {conns:>3} conns: {:>9.0} req/s   p50 {:.3} ms   p99 {:.3} ms   ({n} requests)",
            n as f64 / el.as_secs_f64(),
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
        for (name, c) in [("one.wav", conns.min(8)), ("sixteen.wav", big_conns)] {
            let uri = format!("media://lib/{name}");
            let req = request(port, "resources/read", Some(&uri), &format!(r#"{{"uri":"{uri}","_meta":{META}}}"#), None);
            let (n, bytes, lat, el) = load(port, c, secs, req).await;
            let raw = n as f64 * if name == "one.wav" { 1.0 } else { 16.0 };
            println!(
                "resources/read {:>5}  {c:>3} conns: {:>9.1} MiB/s of file data ({:.1} MiB/s on the wire)   p50 {:.2} ms   p99 {:.2} ms",
                if name == "one.wav" { "1MiB" } else { "16MiB" },
                raw / el.as_secs_f64(),
                bytes as f64 / (1 << 20) as f64 / el.as_secs_f64(),
                pct(&lat, 0.5),
                pct(&lat, 0.99)
            );
        }
    });
    println!("server peak RSS (VmHWM): {}", vm_hwm(child.id()));
    let _ = child.kill();
    let _ = child.wait();
}
