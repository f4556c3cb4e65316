//! Response bodies of the MCP endpoint: a request is answered as JSON when it finishes
//! without emitting anything, and switches to an SSE stream at its first notification
//! (progress, logs, server-to-client requests). Dropping a stateless request's body (the
//! client closed the stream) cancels it. Legacy streams are resumable: every event gets an id
//! (chained in front of the event, never copied into it) and is kept in a bounded replay log;
//! `Last-Event-ID` on a GET replays and follows. Also the legacy standalone GET stream. Bodies
//! carry frames: an answer with a large blob is produced block by block as hyper takes it
//! (`body.rs`), in a JSON body with its `Content-Length` as in an SSE event.
//! Never touches media or tools.

use super::routes::{empty, error_code, modern_status, rpc_error, session_not_found};
use super::{Body, State, headers, session};
use crate::protocol::frame::{self, Frame, Framing};
use crate::protocol::jsonrpc::{Message, WireError, code};
use crate::protocol::{ProtocolVersion, sse};
use crate::server::{BatchPart, Connection, Sink};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming as HyperBody;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

/// Body frames queued per SSE response before the producer waits (backpressure).
const BODY_QUEUE: usize = 4;

/// What a POST runs.
pub(super) enum Work {
    One(Message),
    /// A 2025-03-26 batch: its answers streamed as they are made (see [`run`]).
    Batch(Vec<Result<Message, WireError>>),
}

/// How a POST's response begins.
enum First {
    /// The work finished without emitting anything: answer JSON (or 202).
    Done,
    /// A notification came first (or a batch asked for progress): an SSE stream.
    Stream(Option<Frame>),
    /// A batch's first answer came before any notification: a JSON array, streamed.
    Part(BatchPart),
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
/// switches to an SSE stream carrying its notifications and then its answer. A batch's answers
/// are streamed one by one as they are made, never gathered: as a JSON array written element
/// by element (chunked) when its first answer comes before any notification, otherwise each
/// as its own SSE event ("these responses MAY be batched", 2025-03-26); a batch that asks for
/// progress gets the SSE stream from the start, so no notification of it is lost.
///
/// `hold` (a per-subject job slot) is kept until the work ends, however the response goes.
pub(super) async fn run(
    st: &Arc<State>,
    conn: Arc<Connection>,
    work: Work,
    session: Option<Arc<session::Session>>,
    hold: Option<super::authz::JobSlot>,
) -> Response<Body> {
    let modern = session.is_none();
    let (tx, mut rx) = mpsc::channel::<Frame>(st.server.config().limits.out_queue);
    let sink = Sink::new(tx, Framing::Sse);
    let (ptx, mut parts) = mpsc::channel::<BatchPart>(1);
    let sse_at_once = matches!(&work, Work::Batch(items) if crate::server::asks_progress(items));
    let server = st.server.clone();
    let task_conn = conn.clone();
    // Counted until the answer is out, or until hyper drops this future (client gone).
    let flight = InFlight::new(st.clone());
    let handle = tokio::spawn(async move {
        let _hold = hold;
        match work {
            Work::One(msg) => {
                drop(ptx);
                server.handle(&task_conn, msg, &sink).await
            }
            Work::Batch(items) => server
                .handle_batch(&task_conn, items, &sink, &ptx)
                .await
                .err(),
        }
    });
    let guard = CancelOnDrop {
        conn,
        armed: modern,
        st: st.clone(),
    };
    let mut parts_open = true;
    let first = loop {
        if sse_at_once {
            break First::Stream(None);
        }
        // Parts first: a batch that sent its last answer and ended has both channels ready.
        tokio::select! {
            biased;
            p = parts.recv(), if parts_open => match p {
                Some(p) => break First::Part(p),
                None => parts_open = false,
            },
            f = rx.recv() => break f.map_or(First::Done, |f| First::Stream(Some(f))),
        }
    };
    let first = match first {
        First::Done => {
            let out = handle.await;
            drop(flight);
            drop(guard);
            return match out {
                Ok(Some(a)) => {
                    let status = if modern {
                        error_code(&a).map_or(StatusCode::OK, modern_status)
                    } else {
                        StatusCode::OK
                    };
                    let body = frame::encode(&a, Framing::Bare);
                    st.metrics
                        .bytes_sent
                        .fetch_add(body.len() as u64, Ordering::Relaxed);
                    super::body::one_frame(status, "application/json", body)
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
        }
        First::Part(p) => return json_array(st, p, parts, rx, flight, guard),
        First::Stream(f) => f,
    };
    let (btx, brx) = mpsc::channel::<Frame>(BODY_QUEUE);
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
        let send = |frame: Frame| {
            let btx = btx.clone();
            let st2 = st2.clone();
            let id = log
                .as_ref()
                .map(|(sid, l, _)| sse::id_line(*sid, l.push(frame.clone())));
            async move {
                let n = (frame.len() + id.as_ref().map_or(0, Bytes::len)) as u64;
                if let Some(id) = id
                    && btx.send(Frame::from(id)).await.is_err()
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
            body_open = btx.send(Frame::from(sse::priming(*sid))).await.is_ok();
        }
        let mut next = first;
        // A batch answer's budget share, held until its event is queued.
        let mut held = None;
        loop {
            if let Some(frame) = next.take() {
                if body_open {
                    body_open = send(frame).await;
                } else if let Some((_, l, _)) = &log {
                    l.push(frame);
                }
                held = None;
            }
            if !body_open && log.is_none() {
                break;
            }
            tokio::select! {
                biased;
                p = parts.recv(), if parts_open => match p {
                    Some(p) => {
                        next = Some(frame::sse_event(&p.bytes));
                        held = p.held;
                    }
                    None => parts_open = false,
                },
                f = rx.recv() => match f {
                    Some(f) => next = Some(f),
                    None => break,
                },
                _ = ticker.tick(), if body_open => {
                    body_open = btx.send(Frame::from(sse::KEEPALIVE)).await.is_ok();
                }
                _ = btx.closed(), if body_open => body_open = false,
            }
        }
        drop(held);
        // A batch's last answers, sent after its sink closed.
        while let Ok(p) = parts.try_recv() {
            let f = frame::sse_event(&p.bytes);
            if body_open {
                body_open = send(f).await;
            } else if let Some((_, l, _)) = &log {
                l.push(f);
            }
        }
        if (body_open || log.is_some())
            && let Ok(Some(a)) = handle.await
        {
            let f = frame::encode(&a, Framing::Sse);
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

/// A batch answered as one JSON array written element by element as the answers are made
/// (chunked: its length is not known in advance). Each answer keeps its budget share until
/// hyper takes its last piece; the batch waits while [`BODY_QUEUE`] pieces are unwritten, so a slow client
/// slows the batch. Notifications its later elements send have no place in a JSON body and
/// are dropped (a batch that asks for progress is answered as SSE instead); a client that goes
/// away stops the batch after the element running.
fn json_array(
    st: &Arc<State>,
    first: BatchPart,
    mut parts: mpsc::Receiver<BatchPart>,
    mut notes: mpsc::Receiver<Frame>,
    flight: InFlight,
    guard: CancelOnDrop,
) -> Response<Body> {
    type Piece = (Frame, Option<tokio::sync::OwnedSemaphorePermit>);
    let (btx, brx) = mpsc::channel::<Piece>(BODY_QUEUE);
    let st2 = st.clone();
    tokio::spawn(async move {
        let (_flight, _guard) = (flight, guard);
        let mut sent = 0u64;
        let mut put = async |piece: Piece| {
            sent += piece.0.len() as u64;
            btx.send(piece).await.is_ok()
        };
        let mut open =
            put((Frame::from(&b"["[..]), None)).await && put((first.bytes, first.held)).await;
        let mut notes_open = true;
        while open {
            tokio::select! {
                biased;
                p = parts.recv() => match p {
                    Some(p) => {
                        open = put((Frame::from(&b","[..]), None)).await
                            && put((p.bytes, p.held)).await;
                    }
                    None => break,
                },
                n = notes.recv(), if notes_open => match n {
                    Some(_) => tracing::debug!(
                        "notification dropped: its batch is already answering as a JSON array"
                    ),
                    None => notes_open = false,
                },
            }
        }
        if open {
            put((Frame::from(&b"]"[..]), None)).await;
        }
        st2.metrics.bytes_sent.fetch_add(sent, Ordering::Relaxed);
    });
    let mut r = Response::new(super::body::frames(brx));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn sse_response(rx: mpsc::Receiver<Frame>) -> Response<Body> {
    let mut r = Response::new(super::body::frames(rx));
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
pub(super) fn get(
    st: &Arc<State>,
    req: Request<HyperBody>,
    subject: Option<&str>,
) -> Response<Body> {
    let Some(sid) = headers::header(req.headers(), "mcp-session-id") else {
        return empty(StatusCode::METHOD_NOT_ALLOWED);
    };
    let Some(sess) = st.sessions.get_as(sid.trim(), subject) else {
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
    let (btx, brx) = mpsc::channel::<Frame>(BODY_QUEUE);
    let keepalive = st.opts.keepalive;
    let shutdown = st.shutdown.clone();
    let server = st.server.clone();
    let conn = sess.conn.clone();
    let mut events = server.events();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(keepalive);
        loop {
            let frame = tokio::select! {
                f = rx.recv() => match f { Some(f) => Frame::from(f), None => break },
                ev = events.recv() => match ev {
                    Ok(ev) => match server.legacy_notification(&conn, &ev) {
                        Some(n) => frame::encode(&n, Framing::Sse),
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                },
                _ = ticker.tick() => Frame::from(sse::KEEPALIVE),
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
    let (btx, brx) = mpsc::channel::<Frame>(BODY_QUEUE);
    let shutdown = st.shutdown.clone();
    tokio::spawn(async move {
        loop {
            let notified = log.changed.notified();
            let (events, done) = log.after(seq);
            for (s, frame) in events {
                if btx.send(Frame::from(sse::id_line(sid, s))).await.is_err()
                    || btx.send(frame).await.is_err()
                {
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
