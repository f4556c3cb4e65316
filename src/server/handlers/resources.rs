//! `resources/list` (over every resource provider in order, with one opaque cursor that names
//! the provider and that provider's own cursor), `resources/templates/list`, `resources/read`
//! (by the provider that owns the URI) and the legacy `resources/subscribe`/`unsubscribe`.
//! Must not know about transports or any concrete provider.

use super::{Answer, Reply, TTL_READ_MS, TTL_STATIC_MS, cursor_param, listed, page_of, params_str};
use crate::library::LibraryError;
use crate::protocol::types as t;
use crate::provider::ResourceError;
use crate::server::context::Ctx;
use crate::server::error::RpcError;
use crate::server::jobs::JobError;
use crate::server::{Class, MAX_SUBSCRIPTIONS, Server, lock};
use crate::tools::Cost;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Time past the read deadline before a plain read still running is answered as overdue (the
/// library's own check, between read calls, answers first when it can).
const STUCK_READ_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// Separates the provider index from that provider's cursor in a `resources/list` cursor.
const CURSOR_SEP: char = '~';

fn split_cursor(c: &str) -> Result<(usize, Option<String>), RpcError> {
    let bad = || RpcError::invalid_params("Invalid cursor");
    let (idx, inner) = c.split_once(CURSOR_SEP).ok_or_else(bad)?;
    let idx = idx.parse().map_err(|_| bad())?;
    Ok((idx, (!inner.is_empty()).then(|| inner.to_string())))
}

pub(super) async fn list(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let (start, inner) = match cursor_param(p)? {
        None => (0, None),
        Some(c) => split_cursor(c)?,
    };
    if start >= server.resources.len() && !(start == 0 && inner.is_none()) {
        return Err(RpcError::invalid_params("Invalid cursor"));
    }
    let this = server.clone();
    let (items, next) = server
        .jobs
        .run(
            &cx.token,
            Class::Light,
            cx.conn.client(),
            move || -> Result<_, ResourceError> {
                let mut items = Vec::new();
                let mut cursor = inner;
                for (i, prov) in this.resources.iter().enumerate().skip(start) {
                    let page = prov.list(cursor.take().as_deref())?;
                    items.extend(page.items);
                    if let Some(n) = page.next_cursor {
                        return Ok((items, Some(format!("{i}{CURSOR_SEP}{n}"))));
                    }
                }
                Ok((items, None))
            },
        )
        .await??;
    let v = cx.version;
    let vis = server.visibility(cx.principal.as_ref());
    let items = items
        .iter()
        .filter(|r| vis.shows(server.read_need(&r.uri)))
        .map(|r| t::render_resource(v, r))
        .collect();
    let ttl = server.cfg.limits.library.rescan_interval.as_millis() as u64;
    Ok(Answer::cached(listed("resources", items, next), ttl))
}

pub(super) fn templates(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let vis = server.visibility(cx.principal.as_ref());
    let all: Vec<_> = server
        .resources
        .iter()
        .flat_map(|r| {
            r.templates()
                .into_iter()
                .filter(|t| vis.shows(r.template_cost(&t.uri_template).into()))
        })
        .collect();
    let (page, next) = page_of(
        &all,
        "templates",
        cursor_param(p)?,
        server.cfg.limits.page_size,
    )?;
    let items = page
        .iter()
        .map(|x| t::render_template(cx.version, x))
        .collect();
    Ok(Answer::cached(
        listed("resourceTemplates", items, next),
        TTL_STATIC_MS,
    ))
}

pub(super) async fn read(server: &Arc<Server>, p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let uri = params_str(p, "uri", "resources/read")?.to_string();
    let Some(prov) = server.resources.iter().find(|r| r.owns(&uri)).cloned() else {
        return Err(RpcError::ResourceNotFound {
            message: format!("Resource not found: {uri}"),
            uri,
        });
    };
    let class = match prov.read_cost(&uri) {
        Cost::Light => Class::Light,
        Cost::Heavy => Class::Heavy,
    };
    // A plain read must end within the read deadline (the library checks it between read
    // calls); a read call stuck inside the kernel is answered at the deadline all the same.
    let limit = server.cfg.limits.library.read_deadline;
    let within = (class == Class::Light).then_some(limit + STUCK_READ_GRACE);
    let job = server
        .jobs
        .run_within(&cx.token, class, cx.conn.client(), within, {
            let token = cx.token.clone();
            let uri = uri.clone();
            move || prov.read(&uri, &|| token.is_cancelled())
        });
    let contents = match job.await {
        Err(JobError::Overdue(_)) => {
            return Err(LibraryError::ReadTimeout { uri, limit }.into());
        }
        done => done??,
    };
    let mut answer = Answer::cached(json!({}), TTL_READ_MS);
    let items: Vec<Value> = contents
        .iter()
        .map(|c| t::render_contents(c, &mut answer.blobs))
        .collect();
    answer.result = json!({ "contents": items });
    Ok(answer)
}

pub(super) fn subscribe(p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let uri = params_str(p, "uri", "resources/subscribe")?;
    let mut subs = lock(&cx.conn.subscriptions);
    if subs.len() >= MAX_SUBSCRIPTIONS && !subs.contains(uri) {
        return Err(RpcError::invalid_params(format!(
            "Invalid params: at most {MAX_SUBSCRIPTIONS} subscriptions per session"
        )));
    }
    subs.insert(uri.to_string());
    Ok(Answer::new(json!({})))
}

pub(super) fn unsubscribe(p: &Map<String, Value>, cx: &Ctx) -> Reply {
    let uri = params_str(p, "uri", "resources/unsubscribe")?;
    lock(&cx.conn.subscriptions).remove(uri);
    Ok(Answer::new(json!({})))
}
