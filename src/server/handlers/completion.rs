//! `completion/complete`: prompt arguments and resource-template arguments, answered by the
//! provider that owns the prompt or template. Must not know about transports or providers.

use super::{Answer, Reply};
use crate::server::context::Ctx;
use crate::server::error::RpcError;
use crate::server::{Class, Server};
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> &'a str {
    o.get(key).and_then(Value::as_str).unwrap_or("")
}

pub(super) async fn complete(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let r = p.get("ref").and_then(Value::as_object).ok_or_else(|| {
        RpcError::invalid_params("Invalid params: completion/complete needs params.ref")
    })?;
    let arg = p
        .get("argument")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            RpcError::invalid_params("Invalid params: completion/complete needs params.argument")
        })?;
    let arg_name = str_of(arg, "name").to_string();
    let value = str_of(arg, "value").to_string();
    let context = p
        .get("context")
        .and_then(|c| c.get("arguments"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let kind = r.get("type").and_then(Value::as_str).unwrap_or("");
    let target = match kind {
        "ref/prompt" => str_of(r, "name").to_string(),
        "ref/resource" => str_of(r, "uri").to_string(),
        _ => {
            return Err(RpcError::invalid_params(
                "Invalid params: ref.type must be ref/prompt or ref/resource",
            ));
        }
    };
    let shown = target.clone();
    let this = server.clone();
    let is_prompt = kind == "ref/prompt";
    let found = server
        .jobs
        .run(&cx.token, Class::Light, cx.conn.client(), move || {
            if is_prompt {
                this.prompts
                    .iter()
                    .find_map(|pp| pp.complete(&target, &arg_name, &value))
            } else {
                this.resources
                    .iter()
                    .find_map(|rp| rp.complete(&target, &arg_name, &value, &context))
            }
        })
        .await?;
    let (values, total) = found.ok_or_else(|| {
        RpcError::invalid_params(if is_prompt {
            format!("Invalid params: unknown prompt {shown:?}")
        } else {
            format!("Invalid params: unknown resource template {shown:?}")
        })
    })?;
    Ok(Answer::new(json!({"completion": {
        "values": values, "total": total, "hasMore": total > values.len()
    }})))
}
