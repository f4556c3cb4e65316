//! `tools/list` and `tools/call`: tools run as blocking jobs with a [`Bridge`] to the client;
//! their failures become `isError` results or protocol errors in `server::error`.
//! Must not know about transports or any concrete tool.

use super::{
    Answer, Reply, TTL_STATIC_MS, cursor_param, input_required, listed, opt_object, page_of,
    params_str, with_client,
};
use crate::protocol::Blobs;
use crate::protocol::types as t;
use crate::server::Class;
use crate::server::Server;
use crate::server::context::Ctx;
use crate::server::error::{RpcError, tool_failure};
use crate::tools::{Cost, ToolOutcome};
use serde_json::{Map, Value};
use std::sync::Arc;

pub(super) fn list(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let defs: Vec<&t::ToolDef> = server.tools.defs().collect();
    let (page, next) = page_of(
        &defs,
        "tools",
        cursor_param(p)?,
        server.cfg.limits.page_size,
    )?;
    let items = page.iter().map(|d| t::render_tool(cx.version, d)).collect();
    Ok(Answer::cached(listed("tools", items, next), TTL_STATIC_MS))
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
