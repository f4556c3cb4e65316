//! The MCP endpoint's routes: POST (both eras), GET (legacy standalone stream and resumption),
//! DELETE (ends a legacy session), plus `/healthz`, `/metrics` and the discovery documents
//! (`discovery`: answered before any check of the endpoint, never needing a token); the status
//! code for each outcome and the header checks of the stateless revision. Never touches media
//! or tools.

use super::{Body, HttpOptions, State, authz, headers, legacy, sse};
use crate::protocol::frame::{self, Framing};
use crate::protocol::jsonrpc::{self, Incoming, Message, RequestId, code};
use crate::protocol::{Outgoing, meta};
use crate::server::{Connection, Era, Need, Principal, classify};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming as HyperBody;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) fn full(status: StatusCode, content_type: &str, body: Bytes) -> Response<Body> {
    let mut r = Response::new(super::body::full(body));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

pub(super) fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(super::body::full(Bytes::new()));
    *r.status_mut() = status;
    r
}

pub(super) fn json_message(status: StatusCode, msg: &Outgoing) -> Response<Body> {
    super::body::one_frame(
        status,
        "application/json",
        frame::encode(msg, Framing::Bare),
    )
}

pub(super) fn rpc_error(
    status: StatusCode,
    id: Option<&RequestId>,
    code: i64,
    message: &str,
) -> Response<Body> {
    json_message(status, &Outgoing::error(id, code, message, None))
}

/// The HTTP status for a JSON-RPC error code on the stateless path.
pub(super) fn modern_status(code: i64) -> StatusCode {
    match code {
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        code::HEADER_MISMATCH | code::MISSING_CLIENT_CAPABILITY | code::UNSUPPORTED_VERSION => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    }
}

pub(super) fn error_code(msg: &Outgoing) -> Option<i64> {
    msg.json.get("error")?.get("code")?.as_i64()
}

pub(super) fn session_not_found() -> Response<Body> {
    rpc_error(
        StatusCode::NOT_FOUND,
        None,
        code::INVALID_REQUEST,
        "Session not found",
    )
}

/// Counts a refusal by authorization or a per-subject limit and returns its response.
pub(super) fn refuse(st: &State, refused: authz::Refused) -> Response<Body> {
    let (r, why) = refused.into_parts();
    st.metrics.refused(why);
    r
}

pub(super) async fn route(
    st: Arc<State>,
    req: Request<HyperBody>,
    peer: std::net::SocketAddr,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path == "/healthz" {
        return full(StatusCode::OK, "text/plain", Bytes::from_static(b"ok\n"));
    }
    if let Some(r) = discovery_answer(&st, &path, &req) {
        return r;
    }
    if path == "/metrics" {
        // The same DNS-rebinding guard as the endpoint: a page on another site must not read it.
        let host = headers::header(req.headers(), "host");
        let origin = headers::header(req.headers(), "origin");
        if let Err(why) = st.guard.check(host, origin) {
            tracing::warn!(reason = %why, "refused a /metrics request (DNS rebinding protection)");
            return full(
                StatusCode::FORBIDDEN,
                "text/plain",
                Bytes::from(format!("Forbidden: {why}\n")),
            );
        }
        let mut text = st.metrics.render(
            st.sessions.len(),
            st.sessions.replay.used(),
            st.server.stats(),
        );
        if let Some(extra) = &st.opts.extra_metrics {
            text.push_str(&(extra.0)());
        }
        return full(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            Bytes::from(text),
        );
    }
    if st.opts.auth.is_some() && authz::is_metadata_path(&st.opts, &path) {
        // Public metadata (RFC 9728): no token, no Host/Origin guard, readable cross-origin.
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = empty(StatusCode::METHOD_NOT_ALLOWED);
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        return authz::metadata(&st);
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
    let label = |m: &Method| match *m {
        Method::POST => "",
        Method::GET => "GET",
        Method::DELETE => "DELETE",
        _ => "other",
    };
    // Every request to the endpoint carries its token (never in the query string).
    let principal = match authz::authenticate(&st, req.headers()).await {
        Ok(p) => p,
        Err(refusal) => {
            let r = closing(refuse(&st, refusal));
            st.metrics.count(label(&method), r.status().as_u16());
            return r;
        }
    };
    let subject = principal.as_ref().map(|p| p.subject.as_str());
    let (resp, label) = match method {
        Method::POST => post(&st, req, peer, principal.as_ref()).await,
        Method::GET => match authz::authorize(&st, principal.as_ref(), &[Need::Read], None) {
            Ok(()) => (sse::get(&st, req, subject), "GET".to_string()),
            Err(refusal) => (refuse(&st, refusal), "GET".to_string()),
        },
        Method::DELETE => (delete(&st, req, subject), "DELETE".to_string()),
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

/// The server card or AI catalog for `path` (public: no authorization; the endpoint's Host
/// check applies, its Origin check does not, see `discovery`).
fn discovery_answer(st: &State, path: &str, req: &Request<HyperBody>) -> Option<Response<Body>> {
    if !st.discovery.serves(path) {
        return None;
    }
    if let Err(why) = st.guard.check(headers::header(req.headers(), "host"), None) {
        tracing::warn!(reason = %why, "refused a discovery request (DNS rebinding protection)");
        return Some(full(
            StatusCode::FORBIDDEN,
            "text/plain",
            Bytes::from(format!("Forbidden: {why}\n")),
        ));
    }
    st.discovery.answer(path, req.method(), req.headers())
}

/// Why a request body was not read.
enum BodyError {
    TooLarge,
    TooSlow(String),
    Broken,
}

/// How long a body may take before the minimum rate applies.
const RATE_GRACE: Duration = Duration::from_secs(2);
/// How often a body that sends nothing is checked against its deadline and rate.
const RATE_CHECK: Duration = Duration::from_millis(500);

/// Reads a request body within the byte limit, the body deadline and the minimum rate (after
/// [`RATE_GRACE`]): a client that trickles its body cannot hold a connection for ever.
async fn read_body(mut body: HyperBody, opts: &HttpOptions) -> Result<Bytes, BodyError> {
    let start = Instant::now();
    let deadline = start + opts.body_timeout;
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    loop {
        let check = (Instant::now() + RATE_CHECK).min(deadline);
        match tokio::time::timeout_at(check.into(), body.frame()).await {
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    len += data.len();
                    if len > opts.max_body_bytes {
                        return Err(BodyError::TooLarge);
                    }
                    chunks.push(data);
                }
            }
            Err(_) => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(BodyError::TooSlow(format!(
                "was not received within {} ms",
                opts.body_timeout.as_millis()
            )));
        }
        let counted = now.duration_since(start).saturating_sub(RATE_GRACE);
        if (len as f64) < opts.min_body_rate as f64 * counted.as_secs_f64() {
            return Err(BodyError::TooSlow(format!(
                "arrived slower than {} bytes/s",
                opts.min_body_rate
            )));
        }
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => Bytes::from(chunks.concat()),
    })
}

/// Marks a response as the connection's last (its request body may not have been read).
fn closing(mut r: Response<Body>) -> Response<Body> {
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn post(
    st: &Arc<State>,
    req: Request<HyperBody>,
    peer: std::net::SocketAddr,
    principal: Option<&Principal>,
) -> (Response<Body>, String) {
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
    let body = match read_body(req.into_body(), &st.opts).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            tracing::warn!(
                limit = st.opts.max_body_bytes,
                "refused an oversized request body"
            );
            let msg = format!(
                "Request body exceeds the limit of {} bytes",
                st.opts.max_body_bytes
            );
            return (
                closing(rpc_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None,
                    code::INVALID_REQUEST,
                    &msg,
                )),
                String::new(),
            );
        }
        Err(BodyError::TooSlow(why)) => {
            tracing::warn!(reason = %why, "refused a request whose body arrived too slowly");
            st.metrics
                .slow_bodies
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return (
                closing(rpc_error(
                    StatusCode::REQUEST_TIMEOUT,
                    None,
                    code::INVALID_REQUEST,
                    &format!("Request Timeout: the body {why}"),
                )),
                String::new(),
            );
        }
        Err(BodyError::Broken) => {
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
        // A session answers only to the subject that opened it.
        let subject = principal.map(|p| p.subject.as_str());
        let Some(sess) = st.sessions.get_as(sid.trim(), subject) else {
            return (session_not_found(), String::new());
        };
        if let Some(p) = principal {
            // The latest token of the subject decides what the session may do and see.
            sess.conn.set_scopes(p.scopes.clone());
        }
        // 2025-06-18 and later: an invalid or unsupported version header is a 400.
        if let Some(v) = headers::header(&hdrs, "mcp-protocol-version")
            && crate::protocol::ProtocolVersion::parse(v.trim()).is_none()
        {
            tracing::debug!(version = v, "refused an unsupported MCP-Protocol-Version");
            return (
                rpc_error(
                    StatusCode::BAD_REQUEST,
                    None,
                    code::INVALID_REQUEST,
                    &format!("Bad Request: unsupported MCP-Protocol-Version {v:?}"),
                ),
                String::new(),
            );
        }
        return legacy::post(st, sess, incoming, principal).await;
    }
    let msg = match incoming {
        Incoming::Batch(_) => {
            // Batches exist only in 2025-03-26 sessions, and this request has none.
            let out = crate::server::batch_refused(None);
            return (json_message(StatusCode::BAD_REQUEST, &out), "batch".into());
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
    let header_version = headers::header(&hdrs, "mcp-protocol-version");
    if classify(&msg, header_version) == Era::Legacy {
        return match msg {
            Message::Request(r) if r.method == "initialize" => (
                legacy::initialize(st, Message::Request(r), principal).await,
                label,
            ),
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
    (stateless_post(st, msg, &hdrs, peer, principal).await, label)
}

/// A 2026-07-28 POST: headers checked against the body, then run.
async fn stateless_post(
    st: &Arc<State>,
    msg: Message,
    hdrs: &http::HeaderMap,
    peer: std::net::SocketAddr,
    principal: Option<&Principal>,
) -> Response<Body> {
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
    // Stateless requests of one subject (without authorization, of one peer) share its fair
    // part of the heavy work.
    let conn = Arc::new(match principal {
        Some(p) => Connection::authenticated(p.clone()),
        None => Connection::for_client(format!("peer:{}", peer.ip())),
    });
    if let Err(e) = st.server.preflight(&conn, &req) {
        let out = e.to_outgoing(Some(&req.id), None);
        let status = if error_code(&out) == Some(code::METHOD_NOT_FOUND) {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        return json_message(status, &out);
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
    let need = st.server.scope_needed(&req);
    let slot = match authz::authorize(st, principal, &[need], Some(&req.id))
        .and_then(|()| authz::job_slot(st, principal, need, Some(&req.id)))
    {
        Ok(slot) => slot,
        Err(refusal) => return refuse(st, refusal),
    };
    sse::run(st, conn, sse::Work::One(Message::Request(req)), None, slot).await
}

fn delete(st: &Arc<State>, req: Request<HyperBody>, subject: Option<&str>) -> Response<Body> {
    let Some(sid) = headers::header(req.headers(), "mcp-session-id") else {
        return empty(StatusCode::METHOD_NOT_ALLOWED);
    };
    if st.sessions.remove_as(sid.trim(), subject) {
        empty(StatusCode::OK)
    } else {
        session_not_found()
    }
}
