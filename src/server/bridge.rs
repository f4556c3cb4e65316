//! The server side of [`ClientBridge`]: what a tool running on a blocking thread may ask of
//! the client (progress, logs, server-to-client requests), and how it learns it was cancelled.

use crate::protocol::{LogLevel, Outgoing, ProtocolVersion, RequestId};
use crate::server::context::Ctx;
use crate::server::{Connection, Server, ServerEvent, Sink, lock};
use crate::tools::{ClientBridge, ListKind, ToolError};
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often blocking waits look at the cancellation flag.
const POLL: Duration = Duration::from_millis(20);

pub(crate) struct Bridge {
    pub token: CancellationToken,
    pub sink: Sink,
    pub conn: Arc<Connection>,
    pub version: ProtocolVersion,
    pub progress_token: Option<Value>,
    pub log_level: Option<LogLevel>,
    /// Server-to-client requests are allowed (legacy era only).
    pub may_request: bool,
    pub request_timeout: Duration,
    /// Last progress value sent (progress must increase).
    pub last_progress: Mutex<Option<f64>>,
    pub events: tokio::sync::broadcast::Sender<ServerEvent>,
}

impl Bridge {
    /// The bridge of the request `cx` on `server`.
    pub fn new(server: &Server, cx: &Ctx) -> Self {
        Bridge {
            token: cx.token.clone(),
            sink: cx.sink.clone(),
            conn: cx.conn.clone(),
            version: cx.version,
            progress_token: cx.progress_token.clone(),
            log_level: cx.log_level,
            may_request: !cx.stateless(),
            request_timeout: server.cfg.limits.client_request_timeout,
            last_progress: Mutex::new(None),
            events: server.events.clone(),
        }
    }
}

impl ClientBridge for Bridge {
    fn cancelled(&self) -> bool {
        self.token.is_cancelled() || self.sink.is_closed()
    }

    fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(tok) = &self.progress_token else {
            return;
        };
        if self.cancelled() {
            return;
        }
        {
            let mut last = lock(&self.last_progress);
            if last.is_some_and(|l| progress <= l) {
                return;
            }
            *last = Some(progress);
        }
        let mut p = Map::new();
        p.insert("progressToken".into(), tok.clone());
        p.insert("progress".into(), json!(progress));
        if let Some(t) = total {
            p.insert("total".into(), json!(t));
        }
        if let Some(m) = message
            && self.version.has_progress_message()
        {
            p.insert("message".into(), m.into());
        }
        let token = &self.token;
        self.sink.blocking_send_unless(
            &Outgoing::notification("notifications/progress", Value::Object(p)),
            &|| token.is_cancelled(),
        );
    }

    fn log(&self, level: LogLevel, data: Value) {
        if self.log_level.is_some_and(|min| level >= min) && !self.cancelled() {
            let token = &self.token;
            self.sink.blocking_send_unless(
                &Outgoing::notification(
                    "notifications/message",
                    json!({"level": level.as_str(), "logger": "mcp-media", "data": data}),
                ),
                &|| token.is_cancelled(),
            );
        }
    }

    fn request(&self, method: &str, params: Value) -> Result<Value, ToolError> {
        if !self.may_request {
            return Err(ToolError::Client(format!(
                "{method} cannot be sent as a request in protocol {}",
                self.version
            )));
        }
        let n = self.conn.next_id.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::Str(format!("mcp-media-{n}"));
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        lock(&self.conn.pending).insert(id.clone(), tx);
        let cleanup = || {
            lock(&self.conn.pending).remove(&id);
        };
        let token = &self.token;
        if !self
            .sink
            .blocking_send_unless(&Outgoing::request(&id, method, params), &|| {
                token.is_cancelled()
            })
        {
            cleanup();
            return Err(ToolError::Cancelled);
        }
        let deadline = Instant::now() + self.request_timeout;
        loop {
            match rx.recv_timeout(POLL) {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => {
                    let msg = e.get("message").and_then(Value::as_str).unwrap_or("error");
                    return Err(ToolError::Client(format!("{method}: {msg}")));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if self.cancelled() {
                        cleanup();
                        return Err(ToolError::Cancelled);
                    }
                    if Instant::now() >= deadline {
                        cleanup();
                        return Err(ToolError::Client(format!(
                            "{method}: no answer within {:?}",
                            self.request_timeout
                        )));
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(ToolError::Cancelled);
                }
            }
        }
    }

    fn list_changed(&self, kind: ListKind) {
        let _ = self.events.send(match kind {
            ListKind::Tools => ServerEvent::ToolsListChanged,
            ListKind::Prompts => ServerEvent::PromptsListChanged,
            ListKind::Resources => ServerEvent::ResourcesListChanged,
        });
    }

    fn sleep(&self, d: Duration) -> Result<(), ToolError> {
        let end = Instant::now() + d;
        loop {
            if self.cancelled() {
                return Err(ToolError::Cancelled);
            }
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(POLL));
        }
    }
}
