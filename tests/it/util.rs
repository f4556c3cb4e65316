//! Shared helpers: spawn the real binary and talk newline-delimited JSON-RPC to it.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const MODERN: &str = "2026-07-28";

/// The overall deadline of event-based waits: it only turns a hang into a failure, never a
/// speed check.
pub const HANG: Duration = Duration::from_secs(60);

pub fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// `_meta` of a modern (2026-07-28) request.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "it", "version": "0"}
    })
}

/// Adds modern `_meta` to params.
pub fn modern(mut params: Value) -> Value {
    params["_meta"] = modern_meta();
    params
}

/// A process's peak resident memory so far (VmHWM), in bytes.
pub fn peak_rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::Receiver<Result<Value, String>>,
    /// Every message received so far, in order.
    pub seen: Vec<Value>,
    backlog: Vec<Value>,
}

impl Server {
    pub fn spawn(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-media"))
            .arg("serve")
            .arg("--stdio")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mcp-media");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parsed = serde_json::from_str::<Value>(&line).map_err(|_| line.clone());
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        Server {
            stdin: child.stdin.take(),
            child,
            rx,
            seen: vec![],
            backlog: vec![],
        }
    }

    /// The server's peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        peak_rss_of(self.child.id())
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let w = self.stdin.as_mut().expect("stdin open");
        w.write_all(bytes).unwrap();
        w.flush().unwrap();
    }

    pub fn send(&mut self, v: &Value) {
        let mut line = serde_json::to_vec(v).unwrap();
        line.push(b'\n');
        self.send_raw(&line);
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// The next message, or None after `timeout`. Panics on non-JSON output.
    pub fn next(&mut self, timeout: Duration) -> Option<Value> {
        if !self.backlog.is_empty() {
            return Some(self.backlog.remove(0));
        }
        match self.rx.recv_timeout(timeout) {
            Ok(Ok(v)) => {
                self.seen.push(v.clone());
                Some(v)
            }
            Ok(Err(line)) => panic!("server wrote a non-JSON line to stdout: {line:?}"),
            Err(_) => None,
        }
    }

    /// Waits for the response with `id`, keeping other messages for later.
    pub fn response(&mut self, id: &Value) -> Value {
        if let Some(pos) = self
            .backlog
            .iter()
            .position(|m| m.get("id") == Some(id) && m.get("method").is_none())
        {
            return self.backlog.remove(pos);
        }
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = match self.rx.recv_timeout(left) {
                Ok(Ok(v)) => v,
                Ok(Err(line)) => panic!("server wrote a non-JSON line to stdout: {line:?}"),
                Err(_) => panic!("no response to id {id} within {HANG:?}"),
            };
            self.seen.push(v.clone());
            if v.get("id") == Some(id) && v.get("method").is_none() {
                return v;
            }
            self.backlog.push(v);
        }
    }

    /// Sends a request and returns its response.
    pub fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(&id)
    }

    /// Messages received but not yet consumed (e.g. notifications).
    pub fn take_backlog(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.backlog)
    }

    /// A legacy session: initialize + initialized.
    pub fn initialize(&mut self, version: &str, caps: Value) -> Value {
        let r = self.request(
            json!("init"),
            "initialize",
            json!({"protocolVersion": version, "capabilities": caps, "clientInfo": {"name": "it", "version": "0"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        r
    }

    /// Closes stdin, then collects every message the server still writes until it closes
    /// stdout, and its exit status. [`HANG`] only turns a hang into a failure.
    pub fn finish(mut self) -> (Vec<Value>, std::process::ExitStatus) {
        self.close_stdin();
        let deadline = Instant::now() + HANG;
        let mut rest = std::mem::take(&mut self.backlog);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Ok(v)) => rest.push(v),
                Ok(Err(line)) => panic!("server wrote a non-JSON line to stdout: {line:?}"),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the server did not close stdout within {HANG:?} of stdin EOF")
                }
            }
        }
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (rest, status);
            }
            assert!(
                Instant::now() < deadline,
                "the server closed stdout but did not exit within {HANG:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (up to [`HANG`]) for a message that satisfies `pred`; returns it and the messages
    /// that came before it, in order.
    pub fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + HANG;
        let mut before = vec![];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .next(left)
                .unwrap_or_else(|| panic!("no awaited message within {HANG:?}; got {before:#?}"));
            if pred(&m) {
                return (m, before);
            }
            before.push(m);
        }
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 44-byte RIFF/WAVE header for `data_len` bytes of `format` (1: PCM, 3: float) samples of
/// `bits` bits; `sizes` overrides both size fields (a streaming recorder writes 0xFFFFFFFF).
pub fn wav_header(
    rate: u32,
    channels: u16,
    format: u16,
    bits: u16,
    data_len: u32,
    sizes: Option<u32>,
) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut h = Vec::with_capacity(44);
    for part in [
        &b"RIFF"[..],
        &sizes.unwrap_or(36 + data_len).to_le_bytes(),
        b"WAVEfmt ",
        &16u32.to_le_bytes(),
        &format.to_le_bytes(),
        &channels.to_le_bytes(),
        &rate.to_le_bytes(),
        &(rate * u32::from(block)).to_le_bytes(),
        &block.to_le_bytes(),
        &bits.to_le_bytes(),
        b"data",
        &sizes.unwrap_or(data_len).to_le_bytes(),
    ] {
        h.extend_from_slice(part);
    }
    h
}
