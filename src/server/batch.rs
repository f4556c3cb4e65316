//! JSON-RPC batches (2025-03-26 sessions only), handled here for every transport: elements in
//! order, each answer handed to the transport as soon as it is made ([`BatchPart`], through a
//! channel of one: a transport that writes slowly slows the batch), bounded by count and by
//! the bytes of its answers (per batch, and server-wide through a byte budget each part holds
//! until it is written), each request beyond the bounds answered with an error of its own.
//! Must not know about transports.

use super::{Connection, Server, Sink};
use crate::protocol::Outgoing;
use crate::protocol::frame::{self, Frame, Framing};
use crate::protocol::jsonrpc::{Message, WireError, code};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Most requests one JSON-RPC batch (2025-03-26) may hold; further elements are answered
/// with an error each.
pub const MAX_BATCH_ITEMS: usize = 64;
/// Most bytes of answers one batch may accumulate; once past it, further requests in the
/// batch are answered with an error each instead of being run.
pub const MAX_BATCH_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// The server-wide budget of batch answer bytes, counted in KiB.
pub(super) fn budget(bytes: usize) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(
        bytes.div_ceil(1024).min(Semaphore::MAX_PERMITS),
    ))
}

/// One answer of a batch, framed bare, and its share of the server-wide budget (the bytes it
/// holds in memory: a blob streamed from a file counts nothing): keep it until the bytes are
/// written out (dropping it returns them to the budget).
pub struct BatchPart {
    pub bytes: Frame,
    pub held: Option<OwnedSemaphorePermit>,
}

/// All the answers of a batch, for a transport that must write them as one array (stdio: one
/// line, which nothing may interleave), with their budget shares.
pub struct BatchAnswer {
    pub parts: Vec<Frame>,
    pub held: Vec<OwnedSemaphorePermit>,
}

/// Whether some request of the batch asks for progress (so its transport should open a stream
/// able to carry notifications before the first answer).
pub fn asks_progress(items: &[Result<Message, WireError>]) -> bool {
    items.iter().any(|i| match i {
        Ok(Message::Request(r)) => r
            .params
            .get("_meta")
            .and_then(|m| m.get(crate::protocol::meta::PROGRESS_TOKEN))
            .is_some(),
        _ => false,
    })
}

/// The answer to a batch sent outside a 2025-03-26 session (`version`: the session's, if any).
pub fn batch_refused(version: Option<crate::protocol::ProtocolVersion>) -> Outgoing {
    tracing::warn!("refused a JSON-RPC batch");
    let msg = format!(
        "Invalid Request: JSON-RPC batches are only accepted in a 2025-03-26 session (this is {})",
        version.map_or("not a session".to_string(), |v| format!("protocol {v}"))
    );
    Outgoing::error(None, code::INVALID_REQUEST, &msg, None)
}

fn budget_in_use(total: usize) -> String {
    format!(
        "Server busy: the server's {total}-byte budget for batch answers is in use; \
         send this request again"
    )
}

impl Server {
    /// Whether `conn` may send JSON-RPC batches (only 2025-03-26 sessions); if not, the error
    /// to answer.
    pub fn batch_refusal(&self, conn: &Connection) -> Option<Outgoing> {
        let v = conn.legacy().map(|s| s.version);
        if v.is_some_and(|v| v.accepts_batches()) {
            return None;
        }
        Some(batch_refused(v))
    }

    /// Handles a JSON-RPC batch (2025-03-26): its elements in order, each answer framed bare
    /// and sent on `parts` as soon as it is made (waiting while the transport has not taken
    /// the previous one). At most [`MAX_BATCH_ITEMS`] elements and [`MAX_BATCH_ANSWER_BYTES`]
    /// bytes of answers are served; every request beyond gets an error of its own. Stops early
    /// when `parts` is closed (the client went away). `Err` is the refusal if this connection
    /// may not batch.
    pub async fn handle_batch(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        items: Vec<Result<Message, WireError>>,
        sink: &Sink,
        parts: &mpsc::Sender<BatchPart>,
    ) -> Result<(), Outgoing> {
        if let Some(refusal) = self.batch_refusal(conn) {
            return Err(refusal);
        }
        let mut bytes = 0usize;
        let mut starved = false;
        let total = self.cfg.limits.batch_bytes_total;
        for (i, item) in items.into_iter().enumerate() {
            let over = if i >= MAX_BATCH_ITEMS {
                Some((
                    code::INVALID_REQUEST,
                    format!(
                        "Invalid Request: not run: a batch holds at most {MAX_BATCH_ITEMS} messages"
                    ),
                ))
            } else if bytes > MAX_BATCH_ANSWER_BYTES {
                Some((
                    code::INVALID_REQUEST,
                    format!(
                        "Invalid Request: not run: the batch's answers passed {MAX_BATCH_ANSWER_BYTES} bytes"
                    ),
                ))
            } else if starved {
                Some((code::SERVER_BUSY, budget_in_use(total)))
            } else {
                None
            };
            let out = match (item, over) {
                (Ok(Message::Request(r)), Some((code, why))) => {
                    tracing::warn!(method = %r.method, "batch element refused: {why}");
                    Some(Outgoing::error(Some(&r.id), code, &why, None))
                }
                (Ok(_), Some(_)) => None,
                (Ok(m), None) => self.handle(conn, m, sink).await,
                (Err(e), _) => e
                    .answerable
                    .then(|| Outgoing::error(e.id.as_ref(), e.code, &e.message, None)),
            };
            let Some(o) = out else { continue };
            let id = o.json.get("id").cloned();
            let mut f = frame::encode(&o, Framing::Bare);
            drop(o);
            // The budget bounds memory: a blob streamed from a file holds none of its bytes.
            let kib = u32::try_from(f.held_bytes().div_ceil(1024)).unwrap_or(u32::MAX);
            let held = match self.batch_bytes.clone().try_acquire_many_owned(kib) {
                Ok(p) => Some(p),
                Err(_) => {
                    // Over the server-wide budget: this answer is dropped now, replaced by an
                    // error, and the rest of the batch is not run.
                    starved = true;
                    tracing::warn!(bytes = f.len(), "batch answer over the server-wide budget");
                    let busy = Outgoing {
                        json: serde_json::json!({"jsonrpc": "2.0", "id": id,
                            "error": {"code": code::SERVER_BUSY,
                                "message": budget_in_use(total)}}),
                        ..Outgoing::default()
                    };
                    f = frame::encode(&busy, Framing::Bare);
                    None
                }
            };
            bytes += f.len();
            if parts.send(BatchPart { bytes: f, held }).await.is_err() {
                tracing::debug!("batch answer not taken (client gone); the rest is not run");
                break;
            }
        }
        Ok(())
    }

    /// [`Server::handle_batch`] for a transport that writes the batch's answers as one array:
    /// collects the parts (at most [`MAX_BATCH_ANSWER_BYTES`] and some, each holding its budget
    /// share). `Ok(None)` if nothing needs an answer.
    pub async fn collect_batch(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        items: Vec<Result<Message, WireError>>,
        sink: &Sink,
    ) -> Result<Option<BatchAnswer>, Outgoing> {
        let (tx, mut rx) = mpsc::channel(1);
        let mut answer = BatchAnswer {
            parts: Vec::new(),
            held: Vec::new(),
        };
        let run = async move {
            let r = self.handle_batch(conn, items, sink, &tx).await;
            drop(tx);
            r
        };
        let collect = async {
            while let Some(p) = rx.recv().await {
                answer.parts.push(p.bytes);
                answer.held.extend(p.held);
            }
        };
        let (r, ()) = tokio::join!(run, collect);
        r?;
        Ok((!answer.parts.is_empty()).then_some(answer))
    }
}
