//! `prompts/list` and `prompts/get`, over every prompt provider in order.
//! Must not know about transports or any concrete provider.

use super::{
    Answer, Reply, TTL_STATIC_MS, cursor_param, input_required, listed, opt_object, page_of,
    params_str, with_client,
};
use crate::protocol::Blobs;
use crate::protocol::types as t;
use crate::provider::{PromptError, PromptOutcome};
use crate::server::context::Ctx;
use crate::server::error::RpcError;
use crate::server::{Class, Server};
use serde_json::{Map, Value};
use std::sync::Arc;

pub(super) fn list(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let all: Vec<_> = server.prompts.iter().flat_map(|pp| pp.prompts()).collect();
    let (page, next) = page_of(
        &all,
        "prompts",
        cursor_param(p)?,
        server.cfg.limits.page_size,
    )?;
    let items = page
        .iter()
        .map(|x| t::render_prompt(cx.version, x))
        .collect();
    Ok(Answer::cached(
        listed("prompts", items, next),
        TTL_STATIC_MS,
    ))
}

pub(super) async fn get(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let name = params_str(p, "name", "prompts/get")?.to_string();
    let args = opt_object(p, "arguments")?.unwrap_or_default();
    if let Some((k, _)) = args.iter().find(|(_, v)| !(v.is_string() || v.is_null())) {
        return Err(RpcError::invalid_params(format!(
            "Invalid params: prompt argument {k:?} must be a string"
        )));
    }
    // Liberal in what clients send: a null or empty optional argument is an absent one.
    let args: Map<String, Value> = args
        .into_iter()
        .filter(|(_, v)| v.as_str().is_some_and(|s| !s.is_empty()))
        .collect();
    let (this, name2) = (server.clone(), name.clone());
    let outcome = with_client(
        server,
        cx,
        Class::Light,
        "prompts/get",
        &name,
        p,
        move |tctx| {
            this.prompts
                .iter()
                .find_map(|pp| pp.get(&name2, &args, tctx))
                .unwrap_or_else(|| Err(PromptError::Unknown(name2.clone())))
        },
    )
    .await??;
    match outcome {
        PromptOutcome::Complete(r) => {
            let mut blobs = Blobs::new();
            let out = t::render_prompt_result(cx.version, &r, &mut blobs);
            Ok(Answer {
                result: out,
                blobs,
                ttl_ms: None,
            })
        }
        PromptOutcome::InputRequired {
            input_requests,
            request_state,
        } => input_required(
            server,
            cx,
            "prompts/get",
            &name,
            input_requests,
            request_state,
        ),
    }
}
