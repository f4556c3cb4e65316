//! Works out a request's context once, before dispatch: its protocol era and version, the
//! client's capabilities, its progress token and log level, its cancellation token and the
//! authenticated principal. Transports ask [`classify`] for the era of a message instead of
//! deciding it themselves. Must not know about hyper, sockets or any concrete provider.

use super::error::RpcError;
use super::{Connection, Sink};
use crate::protocol::jsonrpc::{Message, Request};
use crate::protocol::{LogLevel, ProtocolVersion, meta};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The two eras of the protocol a request may belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// 2026-07-28: every request carries its version and capabilities in `_meta`; no session.
    Stateless,
    /// 2025-11-25 and older: `initialize` opens a session whose version is used afterwards.
    Legacy,
}

/// Who made the request, once a transport has authenticated it (filled by the OAuth layer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's subject.
    pub subject: String,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
}

/// The era of an incoming message. `header_version` is a transport's version header
/// (`MCP-Protocol-Version` on HTTP), if it has one: a modern version there, or modern `_meta`
/// in the body, makes the message stateless; anything else is legacy.
pub fn classify(msg: &Message, header_version: Option<&str>) -> Era {
    let params = match msg {
        Message::Request(r) => Some(&r.params),
        Message::Notification(n) => Some(&n.params),
        Message::Response(_) => None,
    };
    // A version in `_meta` makes the request stateless unless it names a legacy revision
    // (those are served in a session; an unknown one is refused as unsupported later).
    let in_meta = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(meta::PROTOCOL_VERSION))
        .is_some_and(|v| {
            v.as_str()
                .and_then(ProtocolVersion::parse)
                .is_none_or(|v| v.is_modern())
        });
    let modern_header = header_version
        .map(str::trim)
        .is_some_and(|h| ProtocolVersion::parse(h).is_none_or(|v| v.is_modern()));
    if in_meta || modern_header {
        Era::Stateless
    } else {
        Era::Legacy
    }
}

/// Everything a handler needs to know about the request it serves, besides its params.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub version: ProtocolVersion,
    pub era: Era,
    pub client_caps: Value,
    pub progress_token: Option<Value>,
    /// The lowest level of `notifications/message` the client wants, if any.
    pub log_level: Option<LogLevel>,
    pub principal: Option<Principal>,
    pub conn: Arc<Connection>,
    /// Where this request's notifications and server-to-client requests go.
    pub sink: Sink,
    /// Cancelled by `notifications/cancelled`, a closed stream or shutdown.
    pub token: CancellationToken,
}

impl Ctx {
    pub fn stateless(&self) -> bool {
        self.era == Era::Stateless
    }
}

fn meta_object(p: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, RpcError> {
    match p.get("_meta") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(RpcError::invalid_params("params._meta must be an object")),
    }
}

/// The facts of a request that do not depend on where it came from.
struct Facts {
    version: ProtocolVersion,
    era: Era,
    client_caps: Value,
    log_level: Option<LogLevel>,
}

fn stateless_facts(m: &Map<String, Value>, pv: &Value) -> Result<Facts, RpcError> {
    let s = pv.as_str().ok_or_else(|| {
        RpcError::invalid_params(format!(
            "_meta[\"{}\"] must be a string",
            meta::PROTOCOL_VERSION
        ))
    })?;
    // Only the stateless revisions are served from `_meta`; legacy ones need a session.
    let version = ProtocolVersion::parse(s)
        .filter(|v| v.is_modern())
        .ok_or_else(|| RpcError::UnsupportedVersion {
            requested: s.to_string(),
        })?;
    let client_caps = match m.get(meta::CLIENT_CAPABILITIES) {
        Some(c @ Value::Object(_)) => c.clone(),
        _ => {
            return Err(RpcError::invalid_params(format!(
                "Invalid params: _meta[\"{}\"] (an object) is required",
                meta::CLIENT_CAPABILITIES
            )));
        }
    };
    let log_level = match m.get(meta::LOG_LEVEL) {
        None | Some(Value::Null) => None,
        Some(Value::String(l)) => Some(LogLevel::parse(l).ok_or_else(|| {
            RpcError::invalid_params(format!("Invalid params: unknown log level {l:?}"))
        })?),
        Some(_) => {
            return Err(RpcError::invalid_params(
                "Invalid params: log level must be a string",
            ));
        }
    };
    Ok(Facts {
        version,
        era: Era::Stateless,
        client_caps,
        log_level,
    })
}

fn legacy_facts(conn: &Connection, req: &Request) -> Result<Facts, RpcError> {
    let fresh = |caps: Value| Facts {
        version: ProtocolVersion::LATEST_LEGACY,
        era: Era::Legacy,
        client_caps: caps,
        log_level: None,
    };
    match req.method.as_str() {
        "initialize" => Ok(fresh(
            req.params
                .get("capabilities")
                .cloned()
                .unwrap_or_else(|| json!({})),
        )),
        "server/discover" => Err(RpcError::invalid_params(format!(
            "Invalid params: server/discover needs params._meta with \"{}\" and \"{}\"",
            meta::PROTOCOL_VERSION,
            meta::CLIENT_CAPABILITIES
        ))),
        _ => match conn.legacy() {
            Some(s) => Ok(Facts {
                version: s.version,
                era: Era::Legacy,
                client_caps: s.client_caps,
                // Legacy: everything until the client sets a level with logging/setLevel.
                log_level: Some(s.log_level.unwrap_or(LogLevel::Debug)),
            }),
            None if req.method == "ping" => Ok(fresh(json!({}))),
            None => Err(RpcError::invalid_params(format!(
                "Invalid params: missing params._meta[\"{}\"]. Send it with \"{}\" on every \
                 request (protocol 2026-07-28), or send initialize first (2025-11-25 and older)",
                meta::PROTOCOL_VERSION,
                meta::CLIENT_CAPABILITIES
            ))),
        },
    }
}

/// The version and era `req` would be served under, or why it cannot be (for transports that
/// answer such failures with a status of their own).
pub(crate) fn version_of(
    conn: &Connection,
    req: &Request,
) -> Result<(ProtocolVersion, Era), RpcError> {
    let f = facts(conn, req)?;
    Ok((f.version, f.era))
}

fn facts(conn: &Connection, req: &Request) -> Result<Facts, RpcError> {
    let m = meta_object(&req.params)?;
    match m.and_then(|m| m.get(meta::PROTOCOL_VERSION).map(|pv| (m, pv))) {
        Some((m, pv)) => stateless_facts(m, pv),
        None => legacy_facts(conn, req),
    }
}

/// Works out the context of `req`, received on `conn`, whose messages go to `sink` and whose
/// cancellation is `token`.
pub(crate) fn prepare(
    conn: &Arc<Connection>,
    req: &Request,
    sink: &Sink,
    token: CancellationToken,
) -> Result<Ctx, RpcError> {
    let f = facts(conn, req)?;
    let progress_token = meta_object(&req.params)?
        .and_then(|m| m.get(meta::PROGRESS_TOKEN))
        .filter(|t| t.is_string() || t.is_number())
        .cloned();
    Ok(Ctx {
        version: f.version,
        era: f.era,
        client_caps: f.client_caps,
        progress_token,
        log_level: f.log_level,
        principal: conn.principal(),
        conn: conn.clone(),
        sink: sink.clone(),
        token,
    })
}
