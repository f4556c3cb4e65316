//! Transport-agnostic request handling: era and version routing, the legacy handshake, the
//! in-flight table with cancellation, the bridge that runs tools under `spawn_blocking`, and
//! rendering of results for the revision in force.
//!
//! A transport owns the bytes; it hands each decoded message to [`Server::handle`] together with
//! the [`Connection`] it arrived on and the [`Sink`] where that request's notifications go, and
//! writes back the returned response. Must not know about hyper, sockets, stdio or auth.

mod bridge;
mod dispatch;
pub mod error;
pub mod state;

use crate::config::Config;
use crate::library::{Library, LibraryError};
use crate::prompts::Prompts;
use crate::protocol::frame::{self, Framing};
use crate::protocol::jsonrpc::{Message, Notification, Response};
use crate::protocol::types::Implementation;
use crate::protocol::{LogLevel, Outgoing, ProtocolVersion, RequestId};
use crate::resources::Resources;
use crate::tools::ToolSet;
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub use error::RpcError;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Library(#[from] LibraryError),
}

/// Where a request's messages go: a bounded queue of framed bytes owned by the transport.
/// A full queue makes producers wait (backpressure); a closed one means the peer is gone.
#[derive(Clone, Debug)]
pub struct Sink {
    tx: mpsc::Sender<Bytes>,
    framing: Framing,
}

impl Sink {
    pub fn new(tx: mpsc::Sender<Bytes>, framing: Framing) -> Self {
        Sink { tx, framing }
    }
    /// Frames and queues a message; false if the peer is gone.
    pub async fn send(&self, msg: &Outgoing) -> bool {
        self.tx.send(frame::encode(msg, self.framing)).await.is_ok()
    }
    /// Like [`Sink::send`], from a blocking (non-async) thread.
    pub fn blocking_send(&self, msg: &Outgoing) -> bool {
        self.tx
            .blocking_send(frame::encode(msg, self.framing))
            .is_ok()
    }
    /// Queues an already framed message.
    pub async fn raw(&self, frame: Bytes) -> bool {
        self.tx.send(frame).await.is_ok()
    }
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A change clients may hear about (listen streams, legacy sessions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    ToolsListChanged,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated(String),
}

/// Counters of the blocking jobs (tool calls), for metrics and for proving cancellation.
#[derive(Debug, Default)]
pub struct JobStats {
    /// Jobs running now.
    pub running: std::sync::atomic::AtomicI64,
    /// Jobs that stopped early because their request was cancelled or its stream closed.
    pub cancelled: AtomicU64,
    pub completed: AtomicU64,
}

/// Most `subscriptions/listen` streams open at once, server-wide.
pub const MAX_LISTENERS: usize = 256;
/// Most resource URIs one listen stream or legacy session may subscribe to.
pub const MAX_SUBSCRIPTIONS: usize = 1024;

/// Legacy-era state of a connection (a stdio process, or one HTTP session).
#[derive(Clone, Debug)]
pub struct LegacySession {
    pub version: ProtocolVersion,
    pub client_caps: Value,
    pub initialized: bool,
    pub log_level: Option<LogLevel>,
}

/// One client connection: its legacy session (if it sent `initialize`), the requests it has in
/// flight, and the server-to-client requests waiting for its answers.
pub struct Connection {
    legacy: Mutex<Option<LegacySession>>,
    inflight: Mutex<HashMap<RequestId, CancellationToken>>,
    pending: Mutex<HashMap<RequestId, std::sync::mpsc::SyncSender<Result<Value, Value>>>>,
    next_id: AtomicU64,
    /// Legacy `resources/subscribe` URIs.
    subscriptions: Mutex<HashSet<String>>,
}

impl Default for Connection {
    fn default() -> Self {
        Self::new()
    }
}

impl Connection {
    pub fn new() -> Self {
        Connection {
            legacy: Mutex::new(None),
            inflight: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            subscriptions: Mutex::new(HashSet::new()),
        }
    }

    pub fn legacy(&self) -> Option<LegacySession> {
        lock(&self.legacy).clone()
    }

    /// Cancels every request in flight (the peer is gone or the server is shutting down).
    pub fn cancel_all(&self) {
        for t in lock(&self.inflight).values() {
            t.cancel();
        }
    }

    pub fn in_flight(&self) -> usize {
        lock(&self.inflight).len()
    }

    fn cancel(&self, id: &RequestId) -> bool {
        match lock(&self.inflight).get(id) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    fn deliver(&self, r: Response) {
        match lock(&self.pending).remove(&r.id) {
            Some(tx) => {
                let _ = tx.try_send(r.outcome);
            }
            None => tracing::debug!(id = %r.id, "response to an unknown or expired request"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct Server {
    cfg: Config,
    info: Implementation,
    library: Arc<Library>,
    resources: Resources,
    prompts: Prompts,
    tools: ToolSet,
    conformance: Option<crate::conformance::Fixtures>,
    state_key: state::StateKey,
    /// Bounds the blocking jobs (tool calls, file reads) running at once, server-wide.
    jobs: Arc<Semaphore>,
    events: broadcast::Sender<ServerEvent>,
    listeners: Arc<Semaphore>,
    stats: Arc<JobStats>,
    /// Cancelled when the server shuts down: long-lived streams end gracefully.
    stopping: CancellationToken,
    _watcher: Option<crate::library::watch::Watcher>,
}

impl Server {
    pub fn new(cfg: Config) -> Result<Arc<Self>, ServerError> {
        let library = Arc::new(Library::new(cfg.roots.clone(), cfg.limits.library.clone())?);
        let cache = Arc::new(crate::cache::DerivedCache::new(
            crate::cache::DEFAULT_CAPACITY,
        ));
        let resources = Resources::new(
            library.clone(),
            cache.clone(),
            cfg.limits.inline_read_bytes,
            cfg.limits.page_size,
        );
        let mut tools = ToolSet::new();
        tools.add(Arc::new(crate::tools::media_list::MediaList::new(
            library.clone(),
        )));
        tools.add(Arc::new(crate::tools::media_probe::MediaProbe::new(
            library.clone(),
        )));
        tools.add(Arc::new(
            crate::tools::audio_transcode::AudioTranscode::new(library.clone(), cache.clone()),
        ));
        tools.add(Arc::new(
            crate::tools::audio_spectrogram::AudioSpectrogram::new(library.clone()),
        ));
        let conformance = cfg.conformance.then(crate::conformance::Fixtures::new);
        if let Some(c) = &conformance {
            for t in c.tools() {
                tools.add(t);
            }
        }
        let jobs = std::thread::available_parallelism().map_or(4, |n| n.get() * 2);
        let (events, _) = broadcast::channel(256);
        let tx = events.clone();
        let watcher = match library.watch(move |uris| {
            let _ = tx.send(ServerEvent::ResourcesListChanged);
            for u in uris {
                let _ = tx.send(ServerEvent::ResourceUpdated(u));
            }
        }) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "not watching the media roots; listings refresh every rescan interval");
                None
            }
        };
        Ok(Arc::new(Server {
            events,
            listeners: Arc::new(Semaphore::new(MAX_LISTENERS)),
            stats: Arc::new(JobStats::default()),
            stopping: CancellationToken::new(),
            _watcher: watcher,
            info: Implementation {
                name: "mcp-media".into(),
                title: Some("mcp-media".into()),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            prompts: Prompts::new(library.clone()),
            library,
            resources,
            tools,
            conformance,
            state_key: state::StateKey::random(),
            jobs: Arc::new(Semaphore::new(jobs)),
            cfg,
        }))
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    /// The `x-mcp-header` annotations of a tool's arguments: `(header suffix, property)` pairs
    /// for top-level properties (HTTP validates `Mcp-Param-*` headers against them).
    pub fn tool_header_params(&self, tool: &str) -> Vec<(String, String)> {
        let Some(def) = self.tools.defs().find(|d| d.name == tool) else {
            return vec![];
        };
        def.input_schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((v.get("x-mcp-header")?.as_str()?.to_string(), k.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn stats(&self) -> &JobStats {
        &self.stats
    }

    /// Ends long-lived streams (listen) gracefully; called by transports on shutdown.
    pub fn shutdown(&self) {
        self.stopping.cancel();
    }

    /// Announces a change to listen streams and legacy sessions.
    pub fn notify(&self, e: ServerEvent) {
        let _ = self.events.send(e);
    }

    /// Changes as they happen, for transports that forward them to legacy sessions.
    pub fn events(&self) -> broadcast::Receiver<ServerEvent> {
        self.events.subscribe()
    }

    /// The notification a legacy session should get for `e`, if any (resource updates only
    /// for URIs it subscribed to).
    pub fn legacy_notification(&self, conn: &Connection, e: &ServerEvent) -> Option<Outgoing> {
        let s = conn.legacy()?;
        if !s.initialized {
            return None;
        }
        let (method, params) = match e {
            ServerEvent::ToolsListChanged if self.conformance.is_some() => {
                ("notifications/tools/list_changed", serde_json::json!({}))
            }
            ServerEvent::PromptsListChanged if self.conformance.is_some() => {
                ("notifications/prompts/list_changed", serde_json::json!({}))
            }
            ServerEvent::ResourcesListChanged => (
                "notifications/resources/list_changed",
                serde_json::json!({}),
            ),
            ServerEvent::ResourceUpdated(uri) if lock(&conn.subscriptions).contains(uri) => (
                "notifications/resources/updated",
                serde_json::json!({"uri": uri}),
            ),
            _ => return None,
        };
        Some(Outgoing::notification(method, params))
    }

    /// Handles one message from `conn`. Returns the response to send, if any. Notifications
    /// and server-to-client requests for this message go to `sink`.
    pub async fn handle(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        msg: Message,
        sink: &Sink,
    ) -> Option<Outgoing> {
        match msg {
            Message::Request(req) => self.handle_request(conn, req, sink).await,
            Message::Notification(n) => {
                self.handle_notification(conn, n);
                None
            }
            Message::Response(r) => {
                conn.deliver(r);
                None
            }
        }
    }

    fn handle_notification(&self, conn: &Connection, n: Notification) {
        match n.method.as_str() {
            "notifications/initialized" => {
                if let Some(s) = lock(&conn.legacy).as_mut() {
                    s.initialized = true;
                }
            }
            "notifications/cancelled" => {
                let Some(id) = n.params.get("requestId").and_then(RequestId::from_value) else {
                    tracing::debug!("notifications/cancelled without a valid requestId");
                    return;
                };
                let found = conn.cancel(&id);
                tracing::debug!(%id, found, reason = ?n.params.get("reason"), "cancel requested");
            }
            other => tracing::debug!(method = other, "ignoring notification"),
        }
    }
}
