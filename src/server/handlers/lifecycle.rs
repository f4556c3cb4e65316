//! `initialize` (opens a legacy session), `server/discover` (2026-07-28), `logging/setLevel`,
//! and the capabilities both announce. Must not know about transports or concrete providers.

use super::{Answer, Reply, TTL_STATIC_MS, params_str};
use crate::protocol::types as t;
use crate::protocol::{LogLevel, ProtocolVersion};
use crate::server::context::Ctx;
use crate::server::error::RpcError;
use crate::server::{LegacySession, Server, lock};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The capabilities announced for revision `v`.
fn capabilities(server: &Server, v: ProtocolVersion) -> Value {
    // List changes are delivered on listen streams (2026-07-28) and on the session (legacy:
    // stdio, or the HTTP GET stream). Resource lists follow the media roots; tool and prompt
    // lists change only where a provider says they may.
    let mut caps = json!({
        "tools": {},
        "resources": {"subscribe": true, "listChanged": true},
        "prompts": {},
        "logging": {},
    });
    if server.tools_change {
        caps["tools"]["listChanged"] = true.into();
    }
    if server.prompts_change {
        caps["prompts"]["listChanged"] = true.into();
    }
    if v >= ProtocolVersion::V2025_03_26 {
        caps["completions"] = json!({});
    }
    caps
}

pub(super) fn initialize(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let requested = params_str(p, "protocolVersion", "initialize")?;
    let v = ProtocolVersion::parse(requested)
        .filter(|v| !v.is_modern())
        .unwrap_or(ProtocolVersion::LATEST_LEGACY);
    let caps = match p.get("capabilities") {
        Some(c @ Value::Object(_)) => c.clone(),
        _ => json!({}),
    };
    {
        let mut l = lock(&cx.conn.legacy);
        if l.as_ref().is_some_and(|s| s.initialized) {
            return Err(RpcError::InvalidRequest(
                "the session is already initialized".into(),
            ));
        }
        *l = Some(LegacySession {
            version: v,
            client_caps: caps,
            initialized: false,
            log_level: None,
        });
    }
    tracing::info!(version = %v, client = ?p.get("clientInfo"), "legacy session initialized");
    let mut r = json!({
        "protocolVersion": v.as_str(),
        "capabilities": capabilities(server, v),
        "serverInfo": t::render_implementation(v, &server.info),
    });
    if let Some(i) = &server.cfg.instructions {
        r["instructions"] = i.clone().into();
    }
    Ok(Answer::new(r))
}

pub(super) fn discover(server: &Arc<Server>, cx: &Ctx) -> Answer {
    let mut r = json!({
        "supportedVersions": crate::protocol::version::supported_version_strings(),
        "capabilities": capabilities(server, cx.version),
    });
    if let Some(i) = &server.cfg.instructions {
        r["instructions"] = i.clone().into();
    }
    Answer::cached(r, TTL_STATIC_MS)
}

pub(super) fn set_level(p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let l = params_str(p, "level", "logging/setLevel")?;
    let level = LogLevel::parse(l).ok_or_else(|| {
        RpcError::invalid_params(format!("Invalid params: unknown log level {l:?}"))
    })?;
    if let Some(s) = lock(&cx.conn.legacy).as_mut() {
        s.log_level = Some(level);
    }
    Ok(Answer::new(json!({})))
}
