//! `subscriptions/listen` (2026-07-28): acknowledges the honoured filter, then forwards
//! matching changes, each tagged with the subscription id, until the client closes the stream
//! (cancellation) or the server shuts down (a final result). Must not know about transports.

use super::{Answer, Reply};
use crate::protocol::jsonrpc::Request;
use crate::protocol::{Outgoing, meta};
use crate::server::context::Ctx;
use crate::server::error::RpcError;
use crate::server::{MAX_LISTENERS, MAX_SUBSCRIPTIONS, Server, ServerEvent};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

pub(super) async fn listen(server: &Arc<Server>, req: &Request, cx: &Ctx) -> Reply {
    let filter = req.params.get("notifications");
    let want = |k: &str| {
        filter
            .and_then(|n| n.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let (tools, prompts, res_list) = (
        want("toolsListChanged") && server.tools_change,
        want("promptsListChanged") && server.prompts_change,
        want("resourcesListChanged"),
    );
    let subs: Vec<String> = match filter.and_then(|n| n.get("resourceSubscriptions")) {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => {
            if a.len() > MAX_SUBSCRIPTIONS {
                return Err(RpcError::invalid_params(format!(
                    "Invalid params: at most {MAX_SUBSCRIPTIONS} resourceSubscriptions"
                )));
            }
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }
        Some(_) => {
            return Err(RpcError::invalid_params(
                "Invalid params: resourceSubscriptions must be an array",
            ));
        }
    };
    let _permit =
        server.listeners.clone().try_acquire_owned().map_err(|_| {
            RpcError::Busy(format!("too many listen streams (limit {MAX_LISTENERS})"))
        })?;
    let sub_id = req.id.to_value();
    let tagged = |mut params: Value| {
        params["_meta"] = json!({ meta::SUBSCRIPTION_ID: sub_id.clone() });
        params
    };
    let mut honoured = serde_json::Map::new();
    for (on, key) in [
        (tools, "toolsListChanged"),
        (prompts, "promptsListChanged"),
        (res_list, "resourcesListChanged"),
    ] {
        if on {
            honoured.insert(key.into(), true.into());
        }
    }
    if !subs.is_empty() {
        honoured.insert("resourceSubscriptions".into(), json!(subs));
    }
    let mut rx = server.events.subscribe();
    let ack = Outgoing::notification(
        "notifications/subscriptions/acknowledged",
        tagged(json!({"notifications": Value::Object(honoured)})),
    );
    if !cx.sink.send(&ack).await {
        return Err(RpcError::Internal("the listen stream closed".into()));
    }
    loop {
        let ev = tokio::select! {
            _ = cx.token.cancelled() => break,
            _ = server.stopping.cancelled() => break,
            ev = rx.recv() => ev,
        };
        let (method, params) = match ev {
            Ok(ServerEvent::ToolsListChanged) if tools => {
                ("notifications/tools/list_changed", json!({}))
            }
            Ok(ServerEvent::PromptsListChanged) if prompts => {
                ("notifications/prompts/list_changed", json!({}))
            }
            Ok(ServerEvent::ResourcesListChanged) if res_list => {
                ("notifications/resources/list_changed", json!({}))
            }
            Ok(ServerEvent::ResourceUpdated(uri))
                if subs.iter().any(|s| {
                    *s == uri || uri.starts_with(&format!("{}/", s.trim_end_matches('/')))
                }) =>
            {
                ("notifications/resources/updated", json!({"uri": uri}))
            }
            Ok(_) => continue,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "a listen stream fell behind; sending list_changed"
                );
                if !res_list {
                    continue;
                }
                ("notifications/resources/list_changed", json!({}))
            }
            Err(RecvError::Closed) => break,
        };
        if !cx
            .sink
            .send(&Outgoing::notification(method, tagged(params)))
            .await
        {
            break;
        }
    }
    Ok(Answer::new(
        json!({"_meta": { meta::SUBSCRIPTION_ID: sub_id }}),
    ))
}
