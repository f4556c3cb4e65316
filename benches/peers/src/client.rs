//! The one client of the peer benchmark: a stdio connection (newline-delimited JSON-RPC to a
//! child's stdin/stdout) and an HTTP/1.1 keep-alive connection (hyper), both speaking the
//! legacy handshake (initialize + notifications/initialized) and both parsing every answer
//! into a `serde_json::Value` and decoding its base64, so every server pays the same client
//! cost. It knows the wire, not the servers: which request to send is the caller's.

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout};

/// The legacy protocol revision everyone is asked for (mcp-media, rmcp and the SDKs all speak it).
pub const PROTOCOL: &str = "2025-06-18";

pub fn initialize_body() -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL}","capabilities":{{}},"clientInfo":{{"name":"peers-bench","version":"0"}}}}}}"#
    )
}

pub const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// What one read asks for: a resource, or a tool call for servers that only have tools.
#[derive(Clone, Debug)]
pub enum Read {
    Resource(String),
    Tool { name: String, args: Value },
}

impl Read {
    pub fn body(&self, id: u64) -> String {
        match self {
            Read::Resource(uri) => serde_json::json!({
                "jsonrpc": "2.0", "id": id, "method": "resources/read", "params": {"uri": uri}
            })
            .to_string(),
            Read::Tool { name, args } => serde_json::json!({
                "jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": name, "arguments": args}
            })
            .to_string(),
        }
    }
}

pub fn tools_list_body(id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#)
}

/// The file bytes carried by a read's answer: `contents[0].blob` or `content[0].data`.
pub fn decode(answer: &Value) -> anyhow::Result<Vec<u8>> {
    if let Some(e) = answer.get("error") {
        bail!("error answer: {e}");
    }
    let r = &answer["result"];
    let b64 = r["contents"][0]["blob"]
        .as_str()
        .or_else(|| r["content"][0]["data"].as_str())
        .ok_or_else(|| {
            let s = answer.to_string();
            anyhow!("no blob or data in {}", &s[..s.len().min(300)])
        })?;
    Ok(base64::engine::general_purpose::STANDARD.decode(b64)?)
}

/// A JSON-RPC answer (has an id and a result or error), not a notification or a request.
fn is_answer(v: &Value) -> bool {
    v.get("id").is_some() && (v.get("result").is_some() || v.get("error").is_some())
}

pub struct Stdio {
    pub child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
    line: Vec<u8>,
}

impl Stdio {
    pub fn new(mut child: Child) -> anyhow::Result<Self> {
        let stdin = child.stdin.take().context("stdin")?;
        let out = BufReader::with_capacity(1 << 20, child.stdout.take().context("stdout")?);
        Ok(Self {
            child,
            stdin,
            out,
            line: Vec::new(),
        })
    }

    fn send(&mut self, body: &str) -> anyhow::Result<()> {
        self.stdin.write_all(body.as_bytes())?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// Sends a request and reads lines until its answer (server requests get an empty answer).
    pub fn call(&mut self, body: &str) -> anyhow::Result<Value> {
        self.send(body)?;
        loop {
            self.line.clear();
            if self.out.read_until(b'\n', &mut self.line)? == 0 {
                bail!("server closed stdout");
            }
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: Value = serde_json::from_slice(&self.line).with_context(|| {
                format!(
                    "not JSON: {}",
                    String::from_utf8_lossy(&self.line[..self.line.len().min(200)])
                )
            })?;
            if is_answer(&v) {
                return Ok(v);
            }
            if let (Some(id), Some(_)) = (v.get("id"), v.get("method")) {
                let a = serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"roots":[]}});
                self.send(&a.to_string())?;
            }
        }
    }

    pub fn handshake(&mut self) -> anyhow::Result<()> {
        let v = self.call(&initialize_body())?;
        if v.get("error").is_some() {
            bail!("initialize failed: {v}");
        }
        self.send(INITIALIZED)
    }

    /// Closes stdin and waits (kills after 5 s).
    pub fn close(mut self) {
        drop(self.stdin);
        let t = std::time::Instant::now();
        while t.elapsed().as_secs() < 5 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Http {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
    path: String,
    session: Option<String>,
    negotiated: bool,
}

impl Http {
    pub async fn connect(port: u16, path: &str) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self {
            sender,
            host: format!("127.0.0.1:{port}"),
            path: path.to_string(),
            session: None,
            negotiated: false,
        })
    }

    async fn post(&mut self, body: String) -> anyhow::Result<(http::response::Parts, Bytes)> {
        let mut req = http::Request::post(&self.path)
            .header(http::header::HOST, &self.host)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, text/event-stream");
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        if self.negotiated {
            req = req.header("mcp-protocol-version", PROTOCOL);
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await?.to_bytes();
        if !parts.status.is_success() {
            bail!(
                "HTTP {}: {}",
                parts.status,
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
        Ok((parts, bytes))
    }

    /// Posts a request and returns its body as received (success status checked), as a load
    /// generator such as `wrk` reads it: nothing parsed.
    pub async fn call_raw(&mut self, body: String) -> anyhow::Result<Bytes> {
        Ok(self.post(body).await?.1)
    }

    /// Posts a request and returns its JSON-RPC answer, from a JSON body or an SSE stream.
    pub async fn call(&mut self, body: String) -> anyhow::Result<Value> {
        let (parts, bytes) = self.post(body).await?;
        let sse = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !sse {
            return Ok(serde_json::from_slice(&bytes)?);
        }
        for line in bytes.split(|&b| b == b'\n') {
            let Some(data) = line.strip_prefix(b"data:") else {
                continue;
            };
            let data = data.trim_ascii();
            if data.first() != Some(&b'{') {
                continue;
            }
            let v: Value = serde_json::from_slice(data)?;
            if is_answer(&v) {
                return Ok(v);
            }
        }
        bail!("no answer in the SSE stream")
    }

    pub async fn handshake(&mut self) -> anyhow::Result<()> {
        let (parts, bytes) = self.post(initialize_body()).await?;
        if !String::from_utf8_lossy(&bytes).contains("\"result\"") {
            bail!("initialize failed: {}", String::from_utf8_lossy(&bytes));
        }
        self.session = parts
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        self.negotiated = true;
        self.post(INITIALIZED.to_string()).await?;
        Ok(())
    }
}
