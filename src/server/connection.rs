//! One client connection as the server sees it: where its messages go ([`Sink`]), its legacy
//! session, its requests in flight (for cancellation), the server-to-client requests waiting
//! for its answers, its subscriptions, its principal and its client key (for fair sharing).
//! Transports create connections; must not know about hyper, sockets or stdio.

use super::Principal;
use crate::protocol::frame::{self, Frame, Framing};
use crate::protocol::jsonrpc::Response;
use crate::protocol::{LogLevel, Outgoing, ProtocolVersion, RequestId};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often a blocking producer facing a full queue looks whether it should stop.
const FULL_QUEUE_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Where a request's messages go: a bounded queue of frames owned by the transport (a frame
/// with a streamed blob holds its file, not its bytes: the transport produces them as it
/// writes).
/// A full queue makes producers wait (backpressure); a closed one means the peer is gone.
#[derive(Clone, Debug)]
pub struct Sink {
    tx: mpsc::Sender<Frame>,
    framing: Framing,
}

impl Sink {
    pub fn new(tx: mpsc::Sender<Frame>, framing: Framing) -> Self {
        Sink { tx, framing }
    }
    /// Frames and queues a message; false if the peer is gone.
    pub async fn send(&self, msg: &Outgoing) -> bool {
        self.tx.send(frame::encode(msg, self.framing)).await.is_ok()
    }
    /// Like [`Sink::send`], from a blocking (non-async) thread: waits while the queue is full,
    /// but gives up (false) as soon as `stop()` says so, so a job whose client stopped reading
    /// still ends when it is cancelled.
    pub fn blocking_send_unless(&self, msg: &Outgoing, stop: &dyn Fn() -> bool) -> bool {
        let mut frame = frame::encode(msg, self.framing);
        loop {
            match self.tx.try_send(frame) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
                Err(mpsc::error::TrySendError::Full(f)) => {
                    if stop() {
                        return false;
                    }
                    frame = f;
                    std::thread::sleep(FULL_QUEUE_POLL);
                }
            }
        }
    }
    /// Queues an already framed message.
    pub async fn raw(&self, frame: Frame) -> bool {
        self.tx.send(frame).await.is_ok()
    }
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

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
    pub(crate) legacy: Mutex<Option<LegacySession>>,
    pub(crate) inflight: Mutex<HashMap<RequestId, CancellationToken>>,
    pub(crate) pending:
        Mutex<HashMap<RequestId, std::sync::mpsc::SyncSender<Result<Value, Value>>>>,
    pub(crate) next_id: AtomicU64,
    /// Legacy `resources/subscribe` URIs.
    pub(crate) subscriptions: Mutex<HashSet<String>>,
    /// Who is on the other end, once a transport has authenticated it. The subject never
    /// changes; the scopes follow the latest token of that subject ([`Connection::set_scopes`]).
    principal: Mutex<Option<Principal>>,
    /// The client this connection belongs to, for sharing heavy work fairly: unique per
    /// connection unless the transport names it (a peer address, a subject).
    client: String,
}

/// Numbers connections that name no client of their own.
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

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
            principal: Mutex::new(None),
            client: format!(
                "conn-{}",
                NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
        }
    }

    /// A connection whose heavy work is shared with every other connection of `client`.
    pub fn for_client(client: impl Into<String>) -> Self {
        Connection {
            client: client.into(),
            ..Self::new()
        }
    }

    /// The client key used for fairness.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// A connection whose requests were made by `principal`.
    pub fn authenticated(principal: Principal) -> Self {
        Connection {
            client: format!("sub:{}", principal.subject),
            principal: Mutex::new(Some(principal)),
            ..Self::new()
        }
    }

    pub fn principal(&self) -> Option<Principal> {
        lock(&self.principal).clone()
    }

    /// The subject of the connection's principal, if it has one.
    pub fn subject(&self) -> Option<String> {
        lock(&self.principal).as_ref().map(|p| p.subject.clone())
    }

    /// Replaces the scopes of an authenticated connection (a legacy session whose client came
    /// back with a newer token of the same subject, e.g. after a step-up). No effect without a
    /// principal.
    pub fn set_scopes(&self, scopes: Vec<String>) {
        if let Some(p) = lock(&self.principal).as_mut() {
            p.scopes = scopes;
        }
    }

    pub fn legacy(&self) -> Option<LegacySession> {
        lock(&self.legacy).clone()
    }

    /// Registers request `id` as in flight from now on (before it may wait for a slot), so a
    /// `notifications/cancelled` finds it; `None` if that id is already in flight.
    pub fn admit(&self, id: &RequestId) -> Option<CancellationToken> {
        let mut inflight = lock(&self.inflight);
        if inflight.contains_key(id) {
            return None;
        }
        let token = CancellationToken::new();
        inflight.insert(id.clone(), token.clone());
        Some(token)
    }

    /// Forgets request `id` (it ended, or was cancelled before it ran).
    pub fn forget(&self, id: &RequestId) {
        lock(&self.inflight).remove(id);
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

    pub(crate) fn cancel(&self, id: &RequestId) -> bool {
        match lock(&self.inflight).get(id) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    pub(crate) fn deliver(&self, r: Response) {
        match lock(&self.pending).remove(&r.id) {
            Some(tx) => {
                let _ = tx.try_send(r.outcome);
            }
            None => tracing::debug!(id = %r.id, "response to an unknown or expired request"),
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
