//! Whole-process HTTP load benchmark: starts the release `mcp-media` binary on loopback and
//! drives it with N concurrent keep-alive connections (a minimal HTTP/1.1 client on tokio).
//! Reports requests/s and p50/p99 latency for `tools/list`, MiB/s for 1 MiB and 16 MiB
//! `resources/read`, and the server's peak RSS (VmHWM). Bounded in count and time; loopback only.
//!
//! Run: `cargo bench --bench http_load` (env: LOAD_CONNS, LOAD_SECS; LOAD_BIG_CONNS, default 4,
//! connections reading the 16 MiB file).
//!
//! `LOAD_AUTH=1 cargo bench --bench http_load` measures instead what authorization costs: three
//! servers on the same library, one without authorization, one with a static bearer token
//! (`--auth-tokens`) and one taking JWT access tokens (`--oauth-issuer`, a bench issuer on
//! loopback serving the keys of benches/auth-keys.json); every request to the latter two carries
//! `Authorization: Bearer ...`. The same load in rotating rounds (LOAD_ROUNDS, default 21, of
//! LOAD_SECS each per server, default 0.5 s: short, so the three runs of a round see the machine
//! alike); prints the median requests/s and server CPU time per request of each, and the median
//! of the per-round ratios to the server without authorization, for `tools/list` at 1 and 50
//! connections and `resources/read` of a 4 KiB file at 1 and 50 connections.
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

/// The environment variable `name` parsed, or `default` when unset or unparsable.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) the process has used so far, in seconds (ticks of 1/100 s, the
/// USER_HZ of Linux on x86-64).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// A bench-only OAuth issuer on loopback: RFC 8414 metadata and a JWKS of the bench's keys
/// (benches/auth-keys.json), each answer on its own connection. Returns its issuer URL.
async fn issuer(jwks: String) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    let meta = format!(r#"{{"issuer":"{url}","jwks_uri":"{url}/jwks"}}"#);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let (meta, jwks) = (meta.clone(), jwks.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let body = if path.ends_with("/jwks") { jwks } else { meta };
                let r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(r.as_bytes()).await;
            });
        }
    });
    url
}

/// An RS256 access token from the bench issuer for `aud`, valid for a day.
fn jwt(keys: &serde_json::Value, iss: &str, aud: &str) -> String {
    use base64::Engine as _;
    let kid = "bench-RS256";
    let der = base64::engine::general_purpose::STANDARD
        .decode(keys["der"][kid].as_str().unwrap())
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    header.typ = Some("at+jwt".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": iss, "aud": aud, "sub": "bench", "scope": "media:read media:transform",
        "iat": now, "exp": now + 86_400,
    });
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(&der),
    )
    .unwrap()
}

/// `LOAD_AUTH=1`: the same load on three servers over one library: without authorization, with
/// a static bearer token, and with JWT access tokens from a bench issuer (`--oauth-issuer`; RS256,
/// keys from benches/auth-keys.json), in rotating rounds; medians of requests/s and of the
/// server's CPU time per request, and the medians of the per-round ratios to the server without
/// authorization.
fn auth_compare(bin: &str, lib: &std::path::Path, dir: &std::path::Path, short: bool) {
    let secs: f64 = env_or("LOAD_SECS", if short { 0.2 } else { 0.5 });
    let rounds: usize = env_or("LOAD_ROUNDS", if short { 1 } else { 21 }).max(1);
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
    let keys: serde_json::Value =
        serde_json::from_str(include_str!("auth-keys.json")).expect("keys");
    let jwks = serde_json::json!({"keys": keys["keys"]}).to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let iss = rt.block_on(issuer(jwks));
    // Three servers: without authorization, with a static token, with JWTs from `iss`.
    let ports = [free_port(), free_port(), free_port()];
    let jwt_token = jwt(&keys, &iss, &format!("http://127.0.0.1:{}/mcp", ports[2]));
    let mut servers = [
        spawn(bin, ports[0], lib, &[]),
        spawn(
            bin,
            ports[1],
            lib,
            &["--auth-tokens", tokens.to_str().unwrap()],
        ),
        spawn(bin, ports[2], lib, &["--oauth-issuer", &iss]),
    ];
    // The fourth variant is the server without authorization sent the JWT anyway (it ignores
    // the header): what the token's bytes cost on the wire and in parsing, apart from checking.
    const N: usize = 4;
    let bearers = [
        None,
        Some(token),
        Some(jwt_token.as_str()),
        Some(jwt_token.as_str()),
    ];
    let names = ["off", "static token", "JWT", "off, JWT sent"];
    let server_pids: Vec<u32> = servers.iter().map(Child::id).collect();
    let pids = [
        server_pids[0],
        server_pids[1],
        server_pids[2],
        server_pids[0],
    ];
    let ports = [ports[0], ports[1], ports[2], ports[0]];
    rt.block_on(async {
        for p in ports {
            wait_ready(p).await;
        }
        let list = |port, bearer| {
            request(port, "tools/list", None, &format!(r#"{{"_meta":{META}}}"#), bearer)
        };
        // The servers with authorization refuse a request without the token: it is on.
        for i in 1..3 {
            assert_eq!(status(ports[i], &list(ports[i], None)).await, 401);
            assert_eq!(status(ports[i], &list(ports[i], bearers[i])).await, 200);
        }
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
            "authorization off / static bearer token / JWT (RS256): medians of {rounds} rotating rounds of {secs} s; req/s, server CPU per request, ratio to off"
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
            // Warm all (connections, caches) before measuring.
            for i in 0..N {
                load(ports[i], conns, secs / 4.0, make(ports[i], bearers[i])).await;
            }
            let mut rates: [Vec<f64>; N] = Default::default();
            let mut cpus: [Vec<f64>; N] = Default::default();
            for round in 0..rounds {
                // Rotate which goes first so a drift in machine load falls on all.
                for k in 0..N {
                    let i = (round + k) % N;
                    let before = cpu_secs(pids[i]);
                    let (n, _, _, el) =
                        load(ports[i], conns, secs, make(ports[i], bearers[i])).await;
                    let cpu = cpu_secs(pids[i]) - before;
                    rates[i].push(n as f64 / el.as_secs_f64());
                    cpus[i].push(cpu / n.max(1) as f64 * 1e6);
                }
            }
            let rate: Vec<f64> = rates.iter().map(|r| median(r.clone())).collect();
            let cpu: Vec<f64> = cpus.iter().map(|c| median(c.clone())).collect();
            // Ratios within each round (its three runs are seconds apart, so a change in the
            // machine's speed between rounds cancels out), then their median.
            let paired = |v: &[Vec<f64>; N], i: usize| {
                median(v[i].iter().zip(&v[0]).map(|(a, b)| a / b).collect())
            };
            print!("{name:<20} {conns:>3} conns:");
            for i in 0..N {
                print!("  {} {:.0} req/s {:.1} us", names[i], rate[i], cpu[i]);
                if i > 0 {
                    print!(
                        " (x{:.3}, cpu x{:.3})",
                        paired(&rates, i),
                        paired(&cpus, i)
                    );
                }
            }
            println!();
        }
    });
    for c in &mut servers {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing and gets a short run.
    let short = !std::env::args().any(|a| a == "--bench");
    let conns: usize = env_or("LOAD_CONNS", 16);
    let secs: f64 = env_or("LOAD_SECS", if short { 0.3 } else { 5.0 });
    let big_conns: usize = env_or("LOAD_BIG_CONNS", conns.min(4));
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
