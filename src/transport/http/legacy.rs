//! Legacy-era (2025-11-25 and older) POSTs: `initialize` opens a session; later POSTs carry a
//! request (run, answered as JSON or SSE), a notification or a response to a server-to-client
//! request (202), or a batch (2025-03-26 sessions only, answered like one request, so its
//! progress and server-to-client requests reach the client). Never touches media or tools.

use super::routes::{empty, error_code, json_message, refuse, rpc_error};
use super::{Body, State, authz, session, sse};
use crate::protocol::frame::Framing;
use crate::protocol::jsonrpc::{Incoming, Message, code};
use crate::server::{Connection, Need, Principal, Sink};
use http::{HeaderValue, Response, StatusCode};
use std::sync::Arc;
use tokio::sync::mpsc;

pub(super) async fn initialize(
    st: &Arc<State>,
    msg: Message,
    principal: Option<&Principal>,
) -> Response<Body> {
    // Each session is a client of its own for fair sharing: keying sessions by peer address
    // would make every client behind one proxy a single client. With authorization, the
    // session belongs to the token's subject (its sessions share its fair part, and count
    // against its session cap).
    if let Err(refusal) = authz::authorize(st, principal, &[Need::Read], None) {
        return refuse(st, refusal);
    }
    let conn = Arc::new(match principal {
        Some(p) => Connection::authenticated(p.clone()),
        None => Connection::new(),
    });
    // `initialize` sends nothing but its answer.
    let (tx, _rx) = mpsc::channel(1);
    let sink = Sink::new(tx, Framing::Sse);
    let Some(out) = st.server.handle(&conn, msg, &sink).await else {
        return empty(StatusCode::ACCEPTED);
    };
    if error_code(&out).is_some() {
        return json_message(StatusCode::OK, &out);
    }
    let Some((sess, evicted)) = st.sessions.insert(conn) else {
        tracing::warn!(
            limit = st.sessions.max,
            "session cap reached and every session is busy"
        );
        return rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            code::SERVER_BUSY,
            "Too many busy sessions; try again later",
        );
    };
    if evicted {
        st.metrics
            .sessions_evicted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let mut r = json_message(StatusCode::OK, &out);
    if let Ok(v) = HeaderValue::from_str(&sess.id) {
        r.headers_mut().insert("mcp-session-id", v);
    }
    r
}

pub(super) async fn post(
    st: &Arc<State>,
    sess: Arc<session::Session>,
    incoming: Incoming,
    principal: Option<&Principal>,
) -> (Response<Body>, String) {
    match incoming {
        Incoming::Single(Err(e)) => (
            rpc_error(StatusCode::BAD_REQUEST, e.id.as_ref(), e.code, &e.message),
            String::new(),
        ),
        Incoming::Single(Ok(Message::Request(r))) => {
            let label = r.method.clone();
            let need = st.server.scope_needed(&r);
            let slot = match authz::authorize(st, principal, &[need], Some(&r.id))
                .and_then(|()| authz::job_slot(st, principal, need, Some(&r.id)))
            {
                Ok(slot) => slot,
                Err(refusal) => return (refuse(st, refusal), label),
            };
            let conn = sess.conn.clone();
            let work = sse::Work::One(Message::Request(r));
            (sse::run(st, conn, work, Some(sess), slot).await, label)
        }
        Incoming::Single(Ok(other)) => {
            let label = match &other {
                Message::Notification(n) => n.method.clone(),
                _ => "response".into(),
            };
            // Notifications and responses produce no messages of their own.
            let (tx, _rx) = mpsc::channel(1);
            st.server
                .handle(&sess.conn, other, &Sink::new(tx, Framing::Sse))
                .await;
            (empty(StatusCode::ACCEPTED), label)
        }
        Incoming::Batch(items) => {
            if let Some(refusal) = st.server.batch_refusal(&sess.conn) {
                return (
                    json_message(StatusCode::BAD_REQUEST, &refusal),
                    "batch".into(),
                );
            }
            // The whole batch is refused if any of its requests needs a scope not granted;
            // one job slot covers its transform requests.
            let needs: Vec<Need> = items
                .iter()
                .filter_map(|m| match m {
                    Ok(Message::Request(r)) => Some(st.server.scope_needed(r)),
                    _ => None,
                })
                .collect();
            let need = needs.iter().copied().max().unwrap_or(Need::Read);
            let slot = match authz::authorize(st, principal, &needs, None)
                .and_then(|()| authz::job_slot(st, principal, need, None))
            {
                Ok(slot) => slot,
                Err(refusal) => return (refuse(st, refusal), "batch".into()),
            };
            let conn = sess.conn.clone();
            (
                sse::run(st, conn, sse::Work::Batch(items), Some(sess), slot).await,
                "batch".into(),
            )
        }
    }
}
