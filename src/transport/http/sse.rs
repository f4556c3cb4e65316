//! Response bodies of the MCP endpoint: a request is answered as JSON when it finishes
//! without emitting anything, and switches to an SSE stream at its first notification
//! (progress, logs, server-to-client requests). Dropping a stateless request's body (the
//! client closed the stream) cancels it. Legacy streams are resumable: every event gets an id
//! (chained in front of the event, never copied into it) and is kept in a bounded replay log;
//! `Last-Event-ID` on a GET replays and follows. Also the legacy standalone GET stream.
//! Never touches media or tools.

use super::routes::{empty, error_code, modern_status, rpc_error, session_not_found};
use super::{Body, State, headers, session};
use crate::protocol::frame::{self, Framing};
use crate::protocol::jsonrpc::{Message, WireError, code};
use crate::protocol::{Outgoing, ProtocolVersion, sse};
use crate::server::{BatchAnswer, Connection, Sink};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming as HyperBody};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

/// Body frames queued per SSE response before the producer waits (backpressure).
const BODY_QUEUE: usize = 4;

/// What a POST runs.
pub(super) enum Work {
    One(Message),
    /// A 2025-03-26 batch: answered as one array.
    Batch(Vec<Result<Message, WireError>>),
}

/// The final answer of a POST's work.
enum Answer {
    One(Outgoing),
    Batch(BatchAnswer),
}

impl Answer {
    fn encode(&self, framing: Framing) -> Bytes {
        match self {
            Answer::One(o) => frame::encode(o, framing),
            Answer::Batch(b) => frame::encode_batch(&b.parts, framing),
        }
    }
    fn error_code(&self) -> Option<i64> {
        match self {
            Answer::One(o) => error_code(o),
            Answer::Batch(_) => None,
        }
    }
}

/// Counts a POST in `mcp_media_in_flight` until dropped, however its handling ends.
struct InFlight(Arc<State>);

impl InFlight {
    fn new(st: Arc<State>) -> Self {
        st.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(st)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Cancels a connection's in-flight requests when dropped (the client went away).
struct CancelOnDrop {
    conn: Arc<Connection>,
    armed: bool,
    st: Arc<State>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed && self.conn.in_flight() > 0 {
            self.st
                .metrics
                .cancellations
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!("response stream closed by the client; cancelling its request");
            self.conn.cancel_all();
        }
    }
}

/// Runs one POST's work: answers JSON if it completes without emitting anything, otherwise
/// switches to an SSE stream carrying its notifications and then its answer.
pub(super) async fn run(
    st: &Arc<State>,
    conn: Arc<Connection>,
    work: Work,
    session: Option<Arc<session::Session>>,
) -> Response<Body> {
    let modern = session.is_none();
    let (tx, mut rx) = mpsc::channel::<Bytes>(st.server.config().limits.out_queue);
    let sink = Sink::new(tx, Framing::Sse);
    let server = st.server.clone();
    let task_conn = conn.clone();
    // Counted until the answer is out, or until hyper drops this future (client gone).
    let flight = InFlight::new(st.clone());
    let handle = tokio::spawn(async move {
        match work {
            Work::One(msg) => server.handle(&task_conn, msg, &sink).await.map(Answer::One),
            Work::Batch(items) => match server.handle_batch(&task_conn, items, &sink).await {
                Ok(parts) => parts.map(Answer::Batch),
                Err(refusal) => Some(Answer::One(refusal)),
            },
        }
    });
    let guard = CancelOnDrop {
        conn,
        armed: modern,
        st: st.clone(),
    };
    let Some(first) = rx.recv().await else {
        // Finished without notifications.
        let out = handle.await;
        drop(flight);
        drop(guard);
        return match out {
            Ok(Some(a)) => {
                let status = if modern {
                    a.error_code().map_or(StatusCode::OK, modern_status)
                } else {
                    StatusCode::OK
                };
                let body = a.encode(Framing::Bare);
                st.metrics
                    .bytes_sent
                    .fetch_add(body.len() as u64, Ordering::Relaxed);
                match a {
                    // A batch's answer keeps its share of the server-wide budget until hyper
                    // has sent it.
                    Answer::Batch(b) => holding(status, body, b),
                    Answer::One(_) => super::routes::full(status, "application/json", body),
                }
            }
            Ok(None) => empty(StatusCode::ACCEPTED),
            Err(e) => {
                tracing::error!(error = %e, "request task failed");
                rpc_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    code::INTERNAL_ERROR,
                    "internal error",
                )
            }
        };
    };
    let (btx, brx) = mpsc::channel::<Bytes>(BODY_QUEUE);
    let st2 = st.clone();
    let keepalive = st.opts.keepalive;
    // A request's stream follows it to its answer, also during shutdown: the grace period
    // lets it finish, and past it the server answers it with a shutdown error.
    // Legacy streams are resumable: every event gets an id and is kept for replay, and a
    // client disconnect does not stop the request (it may come back with Last-Event-ID).
    let log = session.as_ref().map(|s| {
        let (id, log) = s.new_stream();
        let version = s
            .conn
            .legacy()
            .map_or(ProtocolVersion::LATEST_LEGACY, |l| l.version);
        (id, log, version >= ProtocolVersion::V2025_11_25)
    });
    tokio::spawn(async move {
        let _guard = guard;
        let _flight = flight;
        let mut ticker = tokio::time::interval(keepalive);
        ticker.tick().await;
        let mut body_open = true;
        // Sends one event: its id line (legacy) chained in front of the framed event.
        let send = |frame: Bytes| {
            let btx = btx.clone();
            let st2 = st2.clone();
            let id = log
                .as_ref()
                .map(|(sid, l, _)| sse::id_line(*sid, l.push(frame.clone())));
            async move {
                let n = (frame.len() + id.as_ref().map_or(0, Bytes::len)) as u64;
                if let Some(id) = id
                    && btx.send(id).await.is_err()
                {
                    return false;
                }
                let ok = btx.send(frame).await.is_ok();
                if ok {
                    st2.metrics.bytes_sent.fetch_add(n, Ordering::Relaxed);
                }
                ok
            }
        };
        if let Some((sid, _, true)) = &log {
            // 2025-11-25 priming event: an id and empty data, plus the reconnection delay.
            body_open = btx.send(sse::priming(*sid)).await.is_ok();
        }
        let mut next = Some(first);
        loop {
            if let Some(frame) = next.take() {
                if body_open {
                    body_open = send(frame).await;
                } else if let Some((_, l, _)) = &log {
                    l.push(frame);
                }
            }
            if !body_open && log.is_none() {
                break;
            }
            tokio::select! {
                f = rx.recv() => match f {
                    Some(f) => next = Some(f),
                    None => break,
                },
                _ = ticker.tick(), if body_open => {
                    body_open = btx.send(Bytes::from_static(sse::KEEPALIVE)).await.is_ok();
                }
                _ = btx.closed(), if body_open => body_open = false,
            }
        }
        if (body_open || log.is_some())
            && let Ok(Some(a)) = handle.await
        {
            let f = a.encode(Framing::Sse);
            if body_open {
                send(f).await;
            } else if let Some((_, l, _)) = &log {
                l.push(f);
            }
        }
        if let Some((_, l, _)) = &log {
            l.finish();
        }
    });
    sse_response(brx)
}

/// Slices of a batch answer's body: hyper asks for the next one only as it writes, so the
/// budget share is held until all but the last slices are on their way.
const BATCH_SLICE: usize = 64 * 1024;

/// A JSON body that holds `answer` (its budget permit) until its last slice is taken (or the
/// body is dropped). Sent in [`BATCH_SLICE`]s (views of one buffer, not copies) with its
/// `Content-Length`.
fn holding(status: StatusCode, body: Bytes, answer: BatchAnswer) -> Response<Body> {
    let held = answer.held;
    let len = body.len();
    let slices: Vec<Bytes> = (0..len)
        .step_by(BATCH_SLICE)
        .map(|at| body.slice(at..(at + BATCH_SLICE).min(len)))
        .collect();
    let stream = tokio_stream::iter(slices).map(move |b| {
        let _held = &held;
        Ok::<_, Infallible>(Frame::data(b))
    });
    let mut r = Response::new(StreamBody::new(stream).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

fn sse_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(Frame::data(b)));
    let mut r = Response::new(StreamBody::new(stream).boxed());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// GET: resumes a legacy stream (`Last-Event-ID`), or opens the session's standalone stream
/// (change notifications; server-to-client requests go on the POST stream of the request that
/// makes them).
pub(super) fn get(st: &Arc<State>, req: Request<HyperBody>) -> Response<Body> {
    let Some(sid) = headers::header(req.headers(), "mcp-session-id") else {
        return empty(StatusCode::METHOD_NOT_ALLOWED);
    };
    let Some(sess) = st.sessions.get(sid.trim()) else {
        return session_not_found();
    };
    if let Some((sid, seq)) =
        headers::header(req.headers(), "last-event-id").and_then(sse::parse_last_event_id)
        && let Some(log) = sess.stream(sid)
    {
        return resume(st, sid, seq, log);
    }
    let mut slot = sess.get_stream.lock().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|s| !s.is_closed()) {
        return rpc_error(
            StatusCode::CONFLICT,
            None,
            code::INVALID_REQUEST,
            "Conflict: a GET stream is already open for this session",
        );
    }
    let (tx, mut rx) = mpsc::channel::<Bytes>(16);
    *slot = Some(tx);
    let (btx, brx) = mpsc::channel::<Bytes>(BODY_QUEUE);
    let keepalive = st.opts.keepalive;
    let shutdown = st.shutdown.clone();
    let server = st.server.clone();
    let conn = sess.conn.clone();
    let mut events = server.events();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(keepalive);
        loop {
            let frame = tokio::select! {
                f = rx.recv() => match f { Some(f) => f, None => break },
                ev = events.recv() => match ev {
                    Ok(ev) => match server.legacy_notification(&conn, &ev) {
                        Some(n) => frame::encode(&n, Framing::Sse),
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                },
                _ = ticker.tick() => Bytes::from_static(sse::KEEPALIVE),
                _ = btx.closed() => break,
                _ = shutdown.cancelled() => break,
            };
            if btx.send(frame).await.is_err() {
                break;
            }
        }
    });
    sse_response(brx)
}

/// Replays a legacy stream's events after `seq`, then follows it until it ends.
fn resume(st: &Arc<State>, sid: u64, mut seq: u64, log: Arc<session::StreamLog>) -> Response<Body> {
    let (btx, brx) = mpsc::channel::<Bytes>(BODY_QUEUE);
    let shutdown = st.shutdown.clone();
    tokio::spawn(async move {
        loop {
            let notified = log.changed.notified();
            let (events, done) = log.after(seq);
            for (s, frame) in events {
                if btx.send(sse::id_line(sid, s)).await.is_err() || btx.send(frame).await.is_err() {
                    return;
                }
                seq = s;
            }
            if done {
                return;
            }
            tokio::select! {
                _ = notified => {},
                _ = btx.closed() => return,
                _ = shutdown.cancelled() => return,
            }
        }
    });
    sse_response(brx)
}
