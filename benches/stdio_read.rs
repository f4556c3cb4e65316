//! Whole-process stdio benchmark: one client asks repeatedly for `resources/read` of a whole
//! file (1, 4 and 16 MiB), parses each answer's JSON and decodes its base64, against two
//! servers in the same run: mcp-media, and a "ceiling" server (this bench binary re-run as a
//! process that answers every request with the same pre-built bytes and does no work). Reports
//! MiB/s (median of runs), the ratio to the ceiling, the server's CPU per MiB and its peak RSS.
//! The ratio is what matters: it shows how much of what the pipe and the client can take the
//! server delivers (absolute speeds vary a lot between machines here).
//!
//! Run: `cargo bench --bench stdio_read` (env: STDIO_MIB total MiB per size, default 256).
//! Under `cargo test` it makes one short pass.
#![allow(clippy::print_stdout)] // a benchmark reports on stdout; no protocol runs there

use base64::Engine as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
const CEILING_ENV: &str = "STDIO_READ_CEILING_ANSWER";

fn request(uri: &str) -> Vec<u8> {
    format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{{\"uri\":\"{uri}\",\"_meta\":{META}}}}}\n"
    )
    .into_bytes()
}

/// The ceiling server: answers every line read with the file named by [`CEILING_ENV`].
fn ceiling() {
    let path = std::env::var(CEILING_ENV).unwrap();
    let answer = std::fs::read(path).unwrap();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().split(b'\n') {
        if line.is_err() {
            break;
        }
        if out.write_all(&answer).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
}

/// /proc facts of a process: (peak RSS in MiB, user+system CPU seconds).
fn proc_facts(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" that closes the command name: utime and stime are the 12th/13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let hz = 100.0; // USER_HZ on Linux
    (hwm_kib / 1024.0, (ticks(11) + ticks(12)) / hz)
}

struct Run {
    mib_s: f64,
    cpu_ms_per_mib: f64,
    peak_mib: f64,
}

/// Drives one server process: `n` reads of a `size`-byte file, each parsed and decoded.
fn drive(mut child: Child, uri: &str, size: usize, n: usize) -> Run {
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::with_capacity(1 << 20, child.stdout.take().unwrap());
    let req = request(uri);
    let mut line = Vec::with_capacity(size * 2);
    let (_, cpu0) = proc_facts(child.id());
    let t = Instant::now();
    for _ in 0..n {
        stdin.write_all(&req).unwrap();
        stdin.flush().unwrap();
        line.clear();
        stdout.read_until(b'\n', &mut line).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&line).expect("an answer");
        let blob = v["result"]["contents"][0]["blob"].as_str().expect("a blob");
        let data = base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap();
        assert_eq!(data.len(), size);
    }
    let secs = t.elapsed().as_secs_f64();
    let (peak_mib, cpu1) = proc_facts(child.id());
    drop(stdin);
    let _ = stdout.read_to_end(&mut Vec::new());
    let _ = child.wait();
    let mib = (size * n) as f64 / (1024.0 * 1024.0);
    Run {
        mib_s: mib / secs,
        cpu_ms_per_mib: (cpu1 - cpu0) * 1000.0 / mib,
        peak_mib,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::var_os(CEILING_ENV).is_some() {
        return ceiling();
    }
    let full = std::env::args().any(|a| a == "--bench");
    let total_mib: usize = std::env::var("STDIO_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let runs = if full { 3 } else { 1 };
    let bin =
        std::env::var("MCP_MEDIA_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mcp-media").into());
    let me = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib");
    std::fs::create_dir_all(&root).unwrap();
    println!("stdio resources/read, one client parsing JSON and decoding base64; {runs} run(s)");
    println!(
        "size       mcp-media MiB/s  ceiling MiB/s  ratio  server CPU ms/MiB  server peak RSS MiB"
    );
    for mib in [1usize, 4, 16] {
        let size = if full { mib << 20 } else { 64 << 10 };
        let n = if full { (total_mib / mib).max(4) } else { 2 };
        // A WAV of noise (the library serves only files it recognises as media).
        let name = format!("f{mib}.wav");
        std::fs::write(root.join(&name), wav(size)).unwrap();
        let uri = format!("media://lib/{name}");
        // The ceiling answers with exactly what mcp-media answers.
        let answer_path = dir.path().join(format!("answer{mib}"));
        {
            let mut s = spawn_ours(&bin, &root);
            let mut stdin = s.stdin.take().unwrap();
            stdin.write_all(&request(&uri)).unwrap();
            let mut line = Vec::new();
            BufReader::new(s.stdout.take().unwrap())
                .read_until(b'\n', &mut line)
                .unwrap();
            drop(stdin);
            let _ = s.wait();
            std::fs::write(&answer_path, &line).unwrap();
        }
        let (mut ours, mut top) = (vec![], vec![]);
        let (mut cpu, mut peak) = (vec![], vec![]);
        for _ in 0..runs {
            let r = drive(spawn_ours(&bin, &root), &uri, size, n);
            ours.push(r.mib_s);
            cpu.push(r.cpu_ms_per_mib);
            peak.push(r.peak_mib);
            let c = Command::new(&me)
                .env(CEILING_ENV, &answer_path)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            top.push(drive(c, &uri, size, n).mib_s);
        }
        let (o, c) = (median(ours), median(top));
        println!(
            "{:>3} KiB{o:>15.0}  {c:>13.0}  {:>5.2}  {:>17.2}  {:>19.0}",
            size >> 10,
            o / c,
            median(cpu),
            median(peak)
        );
    }
}

/// A 16-bit stereo 48 kHz WAV of `size` bytes in all, its samples noise.
fn wav(size: usize) -> Vec<u8> {
    let data_len = (size - 44) as u32;
    let mut v = Vec::with_capacity(size);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&48_000u32.to_le_bytes());
    v.extend_from_slice(&(48_000u32 * 4).to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    let mut x: u32 = 7;
    v.extend((0..data_len).map(|_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    }));
    v
}

fn spawn_ours(bin: &str, root: &Path) -> Child {
    Command::new(bin)
        .args(["serve", "--stdio"])
        .arg(root)
        .arg("--inline-limit")
        .arg((64u64 << 20).to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}
