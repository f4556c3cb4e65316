//! Streamable HTTP transport on hyper 1.x: one MCP endpoint (default `/mcp`) serving both eras.
//!
//! - **2026-07-28** (stateless): POST only. `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name`
//!   are checked against the body (400 + `-32020`); `_meta` problems are 400, unknown methods
//!   404 + `-32601`, notifications 202. A request answers `application/json`, or
//!   `text/event-stream` as soon as it emits a notification (progress, logs). Closing the
//!   response stream cancels the request.
//! - **Legacy** (2025-11-25 and older): `initialize` opens a session (`Mcp-Session-Id`);
//!   POSTs carry requests, notifications and responses to server-to-client requests; GET opens
//!   the standalone stream; DELETE ends the session. Batches only for 2025-03-26 sessions.
//!
//! Routing between eras: a session id, or a legacy `MCP-Protocol-Version` without modern
//! `_meta`, means legacy; modern `_meta` or a modern version header means stateless.
//! Never touches media or tools.

pub mod guard;
pub mod headers;
pub mod metrics;
pub mod session;

use crate::protocol::frame::{self, Framing};
use crate::protocol::jsonrpc::{self, Incoming, Message, RequestId, code};
use crate::protocol::{Outgoing, ProtocolVersion, meta};
use crate::server::{Connection, Server, Sink};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming as HyperBody};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

pub use guard::Guard;

type Body = BoxBody<Bytes, Infallible>;

/// HTTP settings and limits.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub listen: SocketAddr,
    /// The MCP endpoint path.
    pub path: String,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body (413 above). Default 4 MiB.
    pub max_body_bytes: usize,
    /// Time allowed to receive a request's headers. Default 10 s.
    pub header_timeout: Duration,
    /// Open TCP connections at once; more are closed on accept. Default 1024. Connections
    /// speak HTTP/1.1, so each carries one request at a time: this is also the bound on
    /// concurrent requests (per connection: 1).
    pub max_connections: usize,
    /// Legacy sessions alive at once. Default 1000.
    pub max_sessions: usize,
    /// Idle time after which a legacy session expires. Default 30 min.
    pub session_idle: Duration,
    /// SSE keep-alive comment interval. Default 15 s.
    pub keepalive: Duration,
    /// Time in-flight requests get to finish on shutdown. Default 5 s.
    pub shutdown_grace: Duration,
}

impl HttpOptions {
    pub fn new(listen: SocketAddr) -> Self {
        HttpOptions {
            listen,
            path: "/mcp".into(),
            allowed_hosts: vec![],
            allowed_origins: vec![],
            max_body_bytes: 4 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_sessions: 1000,
            session_idle: Duration::from_secs(1800),
            keepalive: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

struct State {
    server: Arc<Server>,
    opts: HttpOptions,
    guard: Guard,
    sessions: session::Sessions,
    metrics: metrics::Metrics,
    shutdown: CancellationToken,
}

/// Binds `opts.listen` and serves until `shutdown` resolves.
pub async fn serve(
    server: Arc<Server>,
    opts: HttpOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(opts.listen).await?;
    serve_listener(server, opts, listener, shutdown).await
}

/// Serves on an already bound listener until `shutdown` resolves, then stops accepting, gives
/// in-flight requests the grace period, closes streams and returns.
pub async fn serve_listener(
    server: Arc<Server>,
    opts: HttpOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let guard = Guard {
        loopback: local.ip().is_loopback(),
        allowed_hosts: opts.allowed_hosts.clone(),
        allowed_origins: opts.allowed_origins.clone(),
    };
    let state = Arc::new(State {
        server,
        sessions: session::Sessions::new(opts.max_sessions, opts.session_idle),
        guard,
        metrics: metrics::Metrics::default(),
        shutdown: CancellationToken::new(),
        opts,
    });
    tracing::info!(addr = %local, path = %state.opts.path, "serving MCP over Streamable HTTP");
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(state.opts.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            acc = listener.accept() => {
                let (stream, peer) = match acc {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, limit = state.opts.max_connections, "connection cap reached; closing");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let st = state.clone();
                let svc = hyper::service::service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(route(st, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(state.opts.header_timeout)
                    .serve_connection(TokioIo::new(stream), svc);
                let fut = graceful.watch(conn);
                let st = state.clone();
                st.metrics.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if let Err(e) = fut.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    st.metrics.connections.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
        }
    }
    tracing::info!("shutting down: no new connections; finishing in-flight requests");
    drop(listener);
    let grace = state.opts.shutdown_grace;
    // Streams that would never end by themselves (GET, listen) are closed now; requests get
    // the grace period.
    state.shutdown.cancel();
    state.server.shutdown();
    state.sessions.clear();
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace; exiting anyway");
    }
    Ok(())
}

fn full(status: StatusCode, content_type: &str, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Full::new(body).boxed());
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::new()).boxed());
    *r.status_mut() = status;
    r
}

fn json_message(status: StatusCode, msg: &Outgoing) -> Response<Body> {
    full(
        status,
        "application/json",
        frame::encode(msg, Framing::Bare),
    )
}

fn rpc_error(
    status: StatusCode,
    id: Option<&RequestId>,
    code: i64,
    message: &str,
) -> Response<Body> {
    json_message(status, &Outgoing::error(id, code, message, None))
}

/// 400 for a JSON-RPC batch outside a 2025-03-26 session.
fn batch_refused() -> Response<Body> {
    rpc_error(
        StatusCode::BAD_REQUEST,
        None,
        code::INVALID_REQUEST,
        "JSON-RPC batches are only accepted in a 2025-03-26 session",
    )
}

/// The HTTP status for a JSON-RPC error code on the modern path.
fn modern_status(code: i64) -> StatusCode {
    match code {
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        code::HEADER_MISMATCH | code::MISSING_CLIENT_CAPABILITY | code::UNSUPPORTED_VERSION => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    }
}

fn error_code(msg: &Outgoing) -> Option<i64> {
    msg.json.get("error")?.get("code")?.as_i64()
}

async fn route(st: Arc<State>, req: Request<HyperBody>) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path == "/healthz" {
        return full(StatusCode::OK, "text/plain", Bytes::from_static(b"ok\n"));
    }
    if path == "/metrics" {
        return full(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            Bytes::from(st.metrics.render(st.sessions.len(), st.server.stats())),
        );
    }
    if path != st.opts.path {
        return full(
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found\n"),
        );
    }
    let host = headers::header(req.headers(), "host").map(str::to_owned);
    let origin = headers::header(req.headers(), "origin").map(str::to_owned);
    if let Err(why) = st.guard.check(host.as_deref(), origin.as_deref()) {
        tracing::warn!(reason = %why, "refused a request (DNS rebinding protection)");
        st.metrics.count("", 403);
        return rpc_error(
            StatusCode::FORBIDDEN,
            None,
            code::INVALID_REQUEST,
            &format!("Forbidden: {why}"),
        );
    }
    let method = req.method().clone();
    let (resp, label) = match method {
        Method::POST => post(&st, req).await,
        Method::GET => (get(&st, req), "GET".to_string()),
        Method::DELETE => (delete(&st, req), "DELETE".to_string()),
        _ => {
            let mut r = empty(StatusCode::METHOD_NOT_ALLOWED);
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            (r, "other".to_string())
        }
    };
    st.metrics.count(&label, resp.status().as_u16());
    resp
}

fn meta_version(msg: &Message) -> Option<&str> {
    let params = match msg {
        Message::Request(r) => &r.params,
        Message::Notification(n) => &n.params,
        Message::Response(_) => return None,
    };
    params.get("_meta")?.get(meta::PROTOCOL_VERSION)?.as_str()
}

async fn post(st: &Arc<State>, req: Request<HyperBody>) -> (Response<Body>, String) {
    let hdrs = req.headers().clone();
    if let Some(ct) = headers::header(&hdrs, "content-type")
        && !ct.to_ascii_lowercase().starts_with("application/json")
    {
        return (
            rpc_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                code::INVALID_REQUEST,
                "Content-Type must be application/json",
            ),
            String::new(),
        );
    }
    let body = match Limited::new(req.into_body(), st.opts.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                tracing::warn!(
                    limit = st.opts.max_body_bytes,
                    "refused an oversized request body"
                );
                let msg = format!(
                    "Request body exceeds the limit of {} bytes",
                    st.opts.max_body_bytes
                );
                return (
                    rpc_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        None,
                        code::INVALID_REQUEST,
                        &msg,
                    ),
                    String::new(),
                );
            }
            return (
                rpc_error(
                    StatusCode::BAD_REQUEST,
                    None,
                    code::PARSE_ERROR,
                    "could not read the request body",
                ),
                String::new(),
            );
        }
    };
    let incoming = jsonrpc::parse(&body);
    if let Some(sid) = headers::header(&hdrs, "mcp-session-id") {
        let Some(sess) = st.sessions.get(sid.trim()) else {
            return (
                rpc_error(
                    StatusCode::NOT_FOUND,
                    None,
                    code::INVALID_REQUEST,
                    "Session not found",
                ),
                String::new(),
            );
        };
        return legacy_post(st, sess, incoming).await;
    }
    let msg = match incoming {
        Incoming::Batch(_) => {
            return (batch_refused(), String::new());
        }
        Incoming::Single(Err(e)) => {
            tracing::warn!(code = e.code, error = %e.message, "malformed message");
            return (
                rpc_error(StatusCode::BAD_REQUEST, e.id.as_ref(), e.code, &e.message),
                String::new(),
            );
        }
        Incoming::Single(Ok(m)) => m,
    };
    let label = match &msg {
        Message::Request(r) => r.method.clone(),
        Message::Notification(n) => n.method.clone(),
        Message::Response(_) => "response".into(),
    };
    let header_version = headers::header(&hdrs, "mcp-protocol-version").map(str::trim);
    let legacy_header = header_version
        .and_then(ProtocolVersion::parse)
        .is_some_and(|v| !v.is_modern());
    let modern = meta_version(&msg).is_some() || (header_version.is_some() && !legacy_header);
    if !modern {
        return match msg {
            Message::Request(r) if r.method == "initialize" => {
                (legacy_initialize(st, Message::Request(r)).await, label)
            }
            Message::Request(r) => (
                rpc_error(
                    StatusCode::BAD_REQUEST,
                    Some(&r.id),
                    code::INVALID_REQUEST,
                    "Bad Request: send initialize first and then the Mcp-Session-Id header (2025-11-25 and older), or use protocol 2026-07-28 with params._meta",
                ),
                label,
            ),
            _ => (
                rpc_error(
                    StatusCode::BAD_REQUEST,
                    None,
                    code::INVALID_REQUEST,
                    "Bad Request: no session",
                ),
                label,
            ),
        };
    }
    (modern_post(st, msg, &hdrs).await, label)
}

async fn modern_post(st: &Arc<State>, msg: Message, hdrs: &http::HeaderMap) -> Response<Body> {
    let req = match msg {
        Message::Request(r) => r,
        // The core protocol defines no client notification over modern HTTP; accept them.
        Message::Notification(_) | Message::Response(_) => return empty(StatusCode::ACCEPTED),
    };
    let hv = headers::header(hdrs, "mcp-protocol-version").map(str::trim);
    let mv = req
        .params
        .get("_meta")
        .and_then(|m| m.get(meta::PROTOCOL_VERSION))
        .and_then(Value::as_str);
    match (hv, mv) {
        (None, _) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                Some(&req.id),
                code::HEADER_MISMATCH,
                "Header mismatch: missing MCP-Protocol-Version header",
            );
        }
        (Some(h), Some(m)) if h != m => {
            let msg = format!(
                "Header mismatch: MCP-Protocol-Version {h:?} does not match _meta protocolVersion {m:?}"
            );
            return rpc_error(
                StatusCode::BAD_REQUEST,
                Some(&req.id),
                code::HEADER_MISMATCH,
                &msg,
            );
        }
        _ => {}
    }
    let conn = Arc::new(Connection::new());
    if let Err(e) = st.server.preflight(&conn, &req) {
        let status = if error_code(&e.to_outgoing(None, None)) == Some(code::METHOD_NOT_FOUND) {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        return json_message(status, &e.to_outgoing(Some(&req.id), None));
    }
    let header_params = if req.method == "tools/call" {
        req.params
            .get("name")
            .and_then(Value::as_str)
            .map(|n| st.server.tool_header_params(n))
            .unwrap_or_default()
    } else {
        vec![]
    };
    if let Err(why) = headers::check_method_and_name(hdrs, &req)
        .and_then(|()| headers::check_params(hdrs, &req, &header_params))
    {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            Some(&req.id),
            code::HEADER_MISMATCH,
            &format!("Header mismatch: {why}"),
        );
    }
    run(st, conn, Message::Request(req), None).await
}

async fn legacy_initialize(st: &Arc<State>, msg: Message) -> Response<Body> {
    let conn = Arc::new(Connection::new());
    let (tx, _rx) = mpsc::channel(1);
    let sink = Sink::new(tx, Framing::Sse);
    let Some(out) = st.server.handle(&conn, msg, &sink).await else {
        return empty(StatusCode::ACCEPTED);
    };
    if error_code(&out).is_some() {
        return json_message(StatusCode::OK, &out);
    }
    let Some(sess) = st.sessions.insert(conn) else {
        tracing::warn!(limit = st.sessions.max, "session cap reached");
        return rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            code::INTERNAL_ERROR,
            "Too many sessions; try again later",
        );
    };
    let mut r = json_message(StatusCode::OK, &out);
    if let Ok(v) = HeaderValue::from_str(&sess.id) {
        r.headers_mut().insert("mcp-session-id", v);
    }
    r
}

async fn legacy_post(
    st: &Arc<State>,
    sess: Arc<session::Session>,
    incoming: Incoming,
) -> (Response<Body>, String) {
    match incoming {
        Incoming::Single(Err(e)) => (
            rpc_error(StatusCode::BAD_REQUEST, e.id.as_ref(), e.code, &e.message),
            String::new(),
        ),
        Incoming::Single(Ok(Message::Request(r))) => {
            let label = r.method.clone();
            (
                run(
                    st,
                    sess.conn.clone(),
                    Message::Request(r),
                    Some(sess.clone()),
                )
                .await,
                label,
            )
        }
        Incoming::Single(Ok(other)) => {
            let label = match &other {
                Message::Notification(n) => n.method.clone(),
                _ => "response".into(),
            };
            let (tx, _rx) = mpsc::channel(1);
            st.server
                .handle(&sess.conn, other, &Sink::new(tx, Framing::Sse))
                .await;
            (empty(StatusCode::ACCEPTED), label)
        }
        Incoming::Batch(items) => {
            if !sess
                .conn
                .legacy()
                .is_some_and(|s| s.version.accepts_batches())
            {
                return (batch_refused(), "batch".into());
            }
            let (tx, _rx) = mpsc::channel(64);
            let sink = Sink::new(tx, Framing::Sse);
            let mut parts = Vec::new();
            for item in items {
                let out = match item {
                    Ok(m) => st.server.handle(&sess.conn, m, &sink).await,
                    Err(e) => e
                        .answerable
                        .then(|| Outgoing::error(e.id.as_ref(), e.code, &e.message, None)),
                };
                if let Some(o) = out {
                    parts.push(frame::encode(&o, Framing::Bare));
                }
            }
            if parts.is_empty() {
                return (empty(StatusCode::ACCEPTED), "batch".into());
            }
            (
                full(
                    StatusCode::OK,
                    "application/json",
                    frame::encode_batch(&parts, Framing::Bare),
                ),
                "batch".into(),
            )
        }
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

/// Runs one request: answers JSON if it completes without emitting anything, otherwise
/// switches to an SSE stream carrying its notifications and then its response.
async fn run(
    st: &Arc<State>,
    conn: Arc<Connection>,
    msg: Message,
    session: Option<Arc<session::Session>>,
) -> Response<Body> {
    let modern = session.is_none();
    let (tx, mut rx) = mpsc::channel::<Bytes>(st.server.config().limits.out_queue);
    let sink = Sink::new(tx, Framing::Sse);
    let server = st.server.clone();
    let task_conn = conn.clone();
    st.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let handle = tokio::spawn(async move { server.handle(&task_conn, msg, &sink).await });
    let guard = CancelOnDrop {
        conn,
        armed: modern,
        st: st.clone(),
    };
    let first = rx.recv().await;
    let Some(first) = first else {
        // Finished without notifications.
        let out = handle.await;
        st.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        drop(guard);
        return match out {
            Ok(Some(o)) => {
                let status = if modern {
                    error_code(&o).map_or(StatusCode::OK, modern_status)
                } else {
                    StatusCode::OK
                };
                let r = json_message(status, &o);
                st.metrics.bytes_sent.fetch_add(
                    hyper::body::Body::size_hint(r.body()).exact().unwrap_or(0),
                    Ordering::Relaxed,
                );
                r
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
    let (btx, brx) = mpsc::channel::<Bytes>(4);
    let st2 = st.clone();
    let keepalive = st.opts.keepalive;
    let shutdown = st.shutdown.clone();
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
        let mut ticker = tokio::time::interval(keepalive);
        ticker.tick().await;
        let mut body_open = true;
        let send = |frame: Bytes| {
            let btx = btx.clone();
            let st2 = st2.clone();
            async move {
                let n = frame.len() as u64;
                let ok = btx.send(frame).await.is_ok();
                if ok {
                    st2.metrics.bytes_sent.fetch_add(n, Ordering::Relaxed);
                }
                ok
            }
        };
        let tag = |frame: Bytes| -> Bytes {
            match &log {
                Some((sid, l, _)) => {
                    let seq = l.push(frame.clone());
                    let mut b = format!("id: {sid}-{seq}\n").into_bytes();
                    b.extend_from_slice(&frame);
                    Bytes::from(b)
                }
                None => frame,
            }
        };
        if let Some((sid, _, true)) = &log {
            // 2025-11-25 priming event: an id and empty data, plus the reconnection delay.
            body_open = send(Bytes::from(format!("id: {sid}-0\nretry: 1000\ndata: \n\n"))).await;
        }
        let mut next = Some(tag(first));
        loop {
            if let Some(frame) = next.take()
                && body_open
            {
                body_open = send(frame).await;
            }
            if !body_open && log.is_none() {
                break;
            }
            tokio::select! {
                f = rx.recv() => match f {
                    Some(f) => next = Some(tag(f)),
                    None => break,
                },
                _ = ticker.tick(), if body_open => {
                    body_open = send(Bytes::from_static(b":\n\n")).await;
                }
                _ = btx.closed(), if body_open => body_open = false,
                _ = shutdown.cancelled() => break,
            }
        }
        if (body_open || log.is_some())
            && let Ok(Some(o)) = handle.await
        {
            let f = tag(frame::encode(&o, Framing::Sse));
            if body_open {
                send(f).await;
            }
        }
        if let Some((_, l, _)) = &log {
            l.finish();
        }
        st2.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    });
    sse_response(brx)
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

fn get(st: &Arc<State>, req: Request<HyperBody>) -> Response<Body> {
    let Some(sid) = headers::header(req.headers(), "mcp-session-id") else {
        return empty(StatusCode::METHOD_NOT_ALLOWED);
    };
    let Some(sess) = st.sessions.get(sid.trim()) else {
        return rpc_error(
            StatusCode::NOT_FOUND,
            None,
            code::INVALID_REQUEST,
            "Session not found",
        );
    };
    if let Some(last) = headers::header(req.headers(), "last-event-id")
        && let Some((sid, seq)) = last.trim().split_once('-')
        && let (Ok(sid), Ok(seq)) = (sid.parse::<u64>(), seq.parse::<u64>())
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
    let (btx, brx) = mpsc::channel::<Bytes>(4);
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
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = ticker.tick() => Bytes::from_static(b":\n\n"),
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
    let (btx, brx) = mpsc::channel::<Bytes>(4);
    let shutdown = st.shutdown.clone();
    tokio::spawn(async move {
        loop {
            let notified = log.changed.notified();
            let (events, done) = log.after(seq);
            for (s, frame) in events {
                let mut b = format!("id: {sid}-{s}\n").into_bytes();
                b.extend_from_slice(&frame);
                if btx.send(Bytes::from(b)).await.is_err() {
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

fn delete(st: &Arc<State>, req: Request<HyperBody>) -> Response<Body> {
    let Some(sid) = headers::header(req.headers(), "mcp-session-id") else {
        return empty(StatusCode::METHOD_NOT_ALLOWED);
    };
    if st.sessions.remove(sid.trim()) {
        empty(StatusCode::OK)
    } else {
        rpc_error(
            StatusCode::NOT_FOUND,
            None,
            code::INVALID_REQUEST,
            "Session not found",
        )
    }
}
