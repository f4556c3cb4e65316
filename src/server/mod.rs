//! Transport-agnostic request handling. A transport owns the bytes; it hands each decoded
//! message to [`Server::handle`] (or a batch to [`Server::handle_batch`]) together with the
//! [`Connection`] it arrived on and the [`Sink`] where that request's notifications go, and
//! writes back the returned response.
//!
//! - `connection`: one client connection (its sink, legacy session, requests in flight);
//! - `batch`: JSON-RPC batches, bounded, for every transport;
//! - `context`: works out a request's era, version, capabilities, progress, cancellation and
//!   principal once ([`classify`] tells transports the era of a message);
//! - `handlers`: the method table and one module per method family;
//! - `jobs`: blocking work, its permits, statistics and cancellation;
//! - `bridge`: what a running tool may ask of its client;
//! - `error`: the one place where errors become JSON-RPC errors or `isError` results;
//! - `scopes`: which capability (read, transform) a request needs, and list visibility.
//!
//! Tools, resources and prompts arrive behind the traits of [`crate::provider`], assembled by
//! [`ServerBuilder`] in the composition root. Must not know about hyper, sockets, stdio, auth
//! or any concrete tool, resource or prompt.

mod batch;
mod bridge;
mod connection;
pub mod context;
pub mod error;
mod handlers;
pub mod jobs;
mod scopes;
pub mod state;

pub use batch::{
    BatchAnswer, BatchPart, MAX_BATCH_ANSWER_BYTES, MAX_BATCH_ITEMS, asks_progress, batch_refused,
};
pub(crate) use connection::lock;
pub use connection::{Connection, LegacySession, Sink};
pub use context::{Era, Principal, classify};
pub use error::RpcError;
pub use handlers::is_known_method;
pub use jobs::{Class, JobStats, Jobs};
pub use scopes::{Need, Visibility};

use crate::config::Config;
use crate::protocol::jsonrpc::{Message, Notification};
use crate::protocol::types::Implementation;
use crate::protocol::{Outgoing, ProtocolVersion, RequestId};
use crate::provider::{PromptProvider, ResourceProvider, ToolProvider};
use crate::tools::ToolSet;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

/// A change clients may hear about (listen streams, legacy sessions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    ToolsListChanged,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated(String),
}

/// The server's identity, one source for `serverInfo` (`initialize`, `server/discover`) and the
/// HTTP server card, which must not contradict each other. The name is reverse-DNS with one
/// `/` (the server card requires it): the project owns no domain, so the namespace is under
/// `.local` (RFC 6762, a name nobody owns publicly) rather than a borrowed one; a deployment that
/// publishes to a registry needs a namespace it can prove.
pub const SERVER_NAME: &str = "local.mcp-media/mcp-media";
/// Human-readable name (`title`).
pub const SERVER_TITLE: &str = "mcp-media";
/// One line on what the server does (the server card allows at most 100 characters).
pub const SERVER_DESCRIPTION: &str =
    "Serves a media library (audio, images, video) to models and agents over MCP";

/// Most `subscriptions/listen` streams open at once, server-wide.
pub const MAX_LISTENERS: usize = 256;
/// Most resource URIs one listen stream or legacy session may subscribe to.
pub const MAX_SUBSCRIPTIONS: usize = 1024;

pub struct Server {
    cfg: Config,
    info: Implementation,
    tools: ToolSet,
    resources: Vec<Arc<dyn ResourceProvider>>,
    prompts: Vec<Arc<dyn PromptProvider>>,
    /// Some provider's tool (prompt) list may change while the server runs.
    tools_change: bool,
    prompts_change: bool,
    state_key: state::StateKey,
    /// The blocking work (tool calls, file reads), bounded server-wide.
    jobs: Jobs,
    events: broadcast::Sender<ServerEvent>,
    listeners: Arc<Semaphore>,
    /// Bytes of batch answers held server-wide (KiB permits): `Limits::batch_bytes_total`.
    batch_bytes: Arc<Semaphore>,
    /// `tools/list` pages, serialised once per (revision, what the principal may see, offset):
    /// the tool set never changes while the server runs, so no request renders it again.
    tools_pages: std::sync::Mutex<
        std::collections::HashMap<(ProtocolVersion, Visibility, usize), bytes::Bytes>,
    >,
    /// Cancelled when the server shuts down: long-lived streams end gracefully.
    stopping: CancellationToken,
    /// Cancelled when the shutdown grace is over: requests still running stop, each answered
    /// with a "shutting down" error instead of being cut silently.
    aborting: CancellationToken,
}

/// Assembles a [`Server`] from its providers (the composition root uses it).
pub struct ServerBuilder {
    cfg: Config,
    tools: ToolSet,
    resources: Vec<Arc<dyn ResourceProvider>>,
    prompts: Vec<Arc<dyn PromptProvider>>,
    tools_change: bool,
    prompts_change: bool,
    jobs: usize,
    jobs_per_client: Option<usize>,
}

impl ServerBuilder {
    pub fn new(cfg: Config) -> Self {
        ServerBuilder {
            cfg,
            tools: ToolSet::new(),
            resources: vec![],
            prompts: vec![],
            tools_change: false,
            prompts_change: false,
            jobs: jobs::default_permits(),
            jobs_per_client: None,
        }
    }
    /// Adds a provider's tools (after those already added).
    pub fn tools(mut self, p: &dyn ToolProvider) -> Self {
        for t in p.tools() {
            self.tools.add(t);
        }
        self.tools_change |= p.list_changes();
        self
    }
    /// Adds a resource provider; lists follow the order of addition, reads go to the first
    /// provider that owns the URI.
    pub fn resources(mut self, p: Arc<dyn ResourceProvider>) -> Self {
        self.resources.push(p);
        self
    }
    pub fn prompts(mut self, p: Arc<dyn PromptProvider>) -> Self {
        self.prompts_change |= p.list_changes();
        self.prompts.push(p);
        self
    }
    /// Blocking jobs running at once, server-wide.
    pub fn job_permits(mut self, n: usize) -> Self {
        self.jobs = n.max(1);
        self
    }
    /// Heavy jobs one client may run at once [default: half the permits, at least 1].
    pub fn jobs_per_client(mut self, n: usize) -> Self {
        self.jobs_per_client = Some(n.max(1));
        self
    }
    pub fn build(self) -> Arc<Server> {
        let (events, _) = broadcast::channel(256);
        Arc::new(Server {
            events,
            listeners: Arc::new(Semaphore::new(MAX_LISTENERS)),
            batch_bytes: batch::budget(self.cfg.limits.batch_bytes_total),
            tools_pages: Default::default(),
            stopping: CancellationToken::new(),
            aborting: CancellationToken::new(),
            info: Implementation {
                name: SERVER_NAME.into(),
                title: Some(SERVER_TITLE.into()),
                version: env!("CARGO_PKG_VERSION").into(),
                description: Some(SERVER_DESCRIPTION.into()),
            },
            tools: self.tools,
            resources: self.resources,
            prompts: self.prompts,
            tools_change: self.tools_change,
            prompts_change: self.prompts_change,
            state_key: state::StateKey::random(),
            jobs: Jobs::new(
                self.jobs,
                self.jobs_per_client.unwrap_or((self.jobs / 2).max(1)),
            ),
            cfg: self.cfg,
        })
    }
}

impl Server {
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The server's identity, as `serverInfo` reports it.
    pub fn info(&self) -> &Implementation {
        &self.info
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
        self.jobs.stats()
    }

    /// Ends long-lived streams (listen) gracefully; called by transports on shutdown.
    pub fn shutdown(&self) {
        self.stopping.cancel();
    }

    /// Stops every request still running once the shutdown grace is over: each is answered
    /// with a "shutting down" error (`-32000`) and its work is cancelled.
    pub fn abort_in_flight(&self) {
        self.aborting.cancel();
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
            ServerEvent::ToolsListChanged if self.tools_change => {
                ("notifications/tools/list_changed", serde_json::json!({}))
            }
            ServerEvent::PromptsListChanged if self.prompts_change => {
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

    /// Handles one request: prepares its context, registers it for cancellation, dispatches
    /// it, and renders its answer for the revision in force.
    async fn handle_request(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        req: crate::protocol::jsonrpc::Request,
        sink: &Sink,
    ) -> Option<Outgoing> {
        // `initialize` must not be cancelled by the client (it is not registered).
        let token = if req.method == "initialize" {
            CancellationToken::new()
        } else {
            match conn.admit(&req.id) {
                Some(t) => t,
                None => {
                    return Some(
                        RpcError::InvalidRequest(format!(
                            "request id {} is already in flight",
                            req.id
                        ))
                        .to_outgoing(Some(&req.id), None),
                    );
                }
            }
        };
        self.handle_admitted(conn, req, sink, token).await
    }

    /// Handles a request already registered with [`Connection::admit`] (a transport that
    /// queues requests admits them first, so a cancellation reaches them while they wait).
    pub async fn handle_admitted(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        req: crate::protocol::jsonrpc::Request,
        sink: &Sink,
        token: CancellationToken,
    ) -> Option<Outgoing> {
        let id = req.id.clone();
        let cx = match context::prepare(conn, &req, sink, token) {
            Ok(c) => c,
            Err(e) => {
                conn.forget(&id);
                tracing::debug!(method = %req.method, %id, error = ?e, "request refused before dispatch");
                return Some(e.to_outgoing(Some(&id), None));
            }
        };
        let res = tokio::select! {
            biased;
            _ = cx.token.cancelled() => None,
            _ = self.aborting.cancelled() => {
                tracing::warn!(method = %req.method, %id, "request stopped: the server is shutting down");
                Some(Err(RpcError::ShuttingDown))
            }
            r = handlers::dispatch(self, &req, &cx) => Some(r),
        };
        conn.forget(&id);
        if self.aborting.is_cancelled() {
            // Stop the work too; the client still gets its answer.
            cx.token.cancel();
        } else if cx.token.is_cancelled() {
            tracing::debug!(method = %req.method, %id, "request cancelled; no response sent");
            return None;
        }
        Some(match res? {
            Ok((result, blobs)) => Outgoing::response(&id, result, blobs),
            Err(e) => {
                let subject = cx.principal.as_ref().map(|p| p.subject.as_str());
                if matches!(e, RpcError::Internal(_)) {
                    // -32603 is kept for our own failures: each one is logged with its cause.
                    tracing::error!(method = %req.method, %id, ?subject, error = ?e, "internal error");
                } else {
                    tracing::debug!(method = %req.method, %id, ?subject, error = ?e, "request failed");
                }
                e.to_outgoing(Some(&id), Some(cx.version))
            }
        })
    }

    /// The version and era a request would be served under, or why it cannot be (for
    /// transports that answer such failures with a status of their own, such as HTTP 400).
    pub fn preflight(
        &self,
        conn: &Connection,
        req: &crate::protocol::jsonrpc::Request,
    ) -> Result<(ProtocolVersion, Era), RpcError> {
        context::version_of(conn, req)
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
