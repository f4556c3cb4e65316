//! `tools/list` and `tools/call`: tools run as blocking jobs with a [`Bridge`] to the client;
//! their failures become `isError` results or protocol errors in `server::error`.
//! Must not know about transports or any concrete tool.

use super::{
    Answer, Reply, TTL_STATIC_MS, cursor_param, input_required, listed_value, opt_object,
    page_range, params_str, with_client,
};
use crate::protocol::Blobs;
use crate::protocol::types as t;
use crate::server::Class;
use crate::server::context::Ctx;
use crate::server::error::{RpcError, tool_failure};
use crate::server::{Server, lock};
use crate::tools::{Cost, ToolOutcome};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The tool set is fixed once the server is built, so each page is rendered and serialised
/// once per revision and per [`Visibility`](crate::server::Visibility) (a principal sees only
/// the tools its scopes allow) and spliced into every later answer as is.
pub(super) fn list(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let vis = server.visibility(cx.principal.as_ref());
    let shown = |d: &&t::ToolDef| vis.shows(server.tool_need(&d.name));
    let total = server.tools.defs().filter(shown).count();
    let (range, next) = page_range(
        total,
        "tools",
        cursor_param(p)?,
        server.cfg.limits.page_size,
    )?;
    let key = (cx.version, vis, range.start);
    let cached = lock(&server.tools_pages).get(&key).cloned();
    let page = match cached {
        Some(b) => b,
        None => {
            let items: Vec<Value> = server
                .tools
                .defs()
                .filter(shown)
                .skip(range.start)
                .take(range.len())
                .map(|d| t::render_tool(cx.version, d))
                .collect();
            // Serialising a Value cannot fail (string keys only).
            let b = Bytes::from(serde_json::to_vec(&items).unwrap_or_default());
            lock(&server.tools_pages).insert(key, b.clone());
            b
        }
    };
    let mut answer = Answer::cached(Value::Null, TTL_STATIC_MS);
    let items = answer.blobs.add_raw(page);
    answer.result = listed_value("tools", items, next);
    Ok(answer)
}

pub(super) async fn call(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let name = params_str(p, "name", "tools/call")?.to_string();
    let tool = server
        .tools
        .get(&name)
        .cloned()
        .ok_or_else(|| RpcError::invalid_params(format!("Unknown tool: {name}")))?;
    let args = opt_object(p, "arguments")?.unwrap_or_default();
    let class = match tool.cost() {
        Cost::Light => Class::Light,
        Cost::Heavy => Class::Heavy,
    };
    let outcome = with_client(server, cx, class, "tools/call", &name, p, move |tctx| {
        tool.call(&args, tctx)
    })
    .await?;
    let result = match outcome {
        Ok(ToolOutcome::Complete(r)) => r,
        Ok(ToolOutcome::InputRequired {
            input_requests,
            request_state,
        }) => {
            return input_required(
                server,
                cx,
                "tools/call",
                &name,
                input_requests,
                request_state,
            );
        }
        Err(e) => tool_failure(&name, e)?,
    };
    let mut blobs = Blobs::new();
    let out = t::render_tool_result(cx.version, &result, &mut blobs);
    Ok(Answer {
        result: out,
        blobs,
        ttl_ms: None,
    })
}
