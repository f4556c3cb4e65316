//! The method table: which handler serves a method, in which eras and from which revision.
//! One module per method family (in the shape of mini-redis's one file per command); each
//! handler gets the request and its prepared [`Ctx`] and returns an [`Answer`], to which the
//! dispatcher adds what every result of the revision carries.
//!
//! Must not know about transports or any concrete tool, resource or prompt provider.

mod completion;
mod lifecycle;
mod listen;
mod prompts;
mod resources;
mod tools;

use super::Server;
use super::context::Ctx;
use super::error::RpcError;
use crate::protocol::jsonrpc::Request;
use crate::protocol::types as t;
use crate::protocol::{Blobs, ProtocolVersion, cursor, meta};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Cache hints (2026-07-28 `ttlMs`/`cacheScope`) per result kind.
const TTL_STATIC_MS: u64 = 3_600_000;
const TTL_READ_MS: u64 = 60_000;

/// A handler's result before the revision's common fields are added.
pub(crate) struct Answer {
    pub result: Value,
    pub blobs: Blobs,
    /// `ttlMs` cache hint (2026-07-28), if the result may be cached.
    pub ttl_ms: Option<u64>,
}

impl Answer {
    fn new(result: Value) -> Self {
        Answer {
            result,
            blobs: Blobs::new(),
            ttl_ms: None,
        }
    }
    fn cached(result: Value, ttl_ms: u64) -> Self {
        Answer {
            result,
            blobs: Blobs::new(),
            ttl_ms: Some(ttl_ms),
        }
    }
}

pub(crate) type Reply = Result<Answer, RpcError>;

#[derive(Clone, Copy, Debug)]
enum Handler {
    Initialize,
    Ping,
    Discover,
    SetLevel,
    ToolsList,
    ToolsCall,
    ResourcesList,
    TemplatesList,
    ResourcesRead,
    Subscribe,
    Unsubscribe,
    Listen,
    PromptsList,
    PromptsGet,
    Complete,
}

/// Which eras a method exists in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Eras {
    Both,
    /// Session methods: not part of the stateless revision.
    LegacyOnly,
    StatelessOnly,
}

struct Route {
    method: &'static str,
    handler: Handler,
    eras: Eras,
    /// The first revision that has the method.
    since: ProtocolVersion,
}

const fn route(method: &'static str, handler: Handler, eras: Eras) -> Route {
    Route {
        method,
        handler,
        eras,
        since: ProtocolVersion::V2024_11_05,
    }
}

/// Every method the server answers.
const ROUTES: &[Route] = &[
    route("initialize", Handler::Initialize, Eras::LegacyOnly),
    route("ping", Handler::Ping, Eras::LegacyOnly),
    route("logging/setLevel", Handler::SetLevel, Eras::LegacyOnly),
    route("server/discover", Handler::Discover, Eras::Both),
    route("tools/list", Handler::ToolsList, Eras::Both),
    route("tools/call", Handler::ToolsCall, Eras::Both),
    route("resources/list", Handler::ResourcesList, Eras::Both),
    route(
        "resources/templates/list",
        Handler::TemplatesList,
        Eras::Both,
    ),
    route("resources/read", Handler::ResourcesRead, Eras::Both),
    route("resources/subscribe", Handler::Subscribe, Eras::LegacyOnly),
    route(
        "resources/unsubscribe",
        Handler::Unsubscribe,
        Eras::LegacyOnly,
    ),
    route("subscriptions/listen", Handler::Listen, Eras::StatelessOnly),
    route("prompts/list", Handler::PromptsList, Eras::Both),
    route("prompts/get", Handler::PromptsGet, Eras::Both),
    Route {
        since: ProtocolVersion::V2025_03_26,
        ..route("completion/complete", Handler::Complete, Eras::Both)
    },
];

/// Whether `method` is one the server answers in some era (transports use this to choose a
/// status for unknown methods).
pub fn is_known_method(method: &str) -> bool {
    ROUTES.iter().any(|r| r.method == method)
}

/// Sends `req` to its handler and adds the revision's common result fields.
pub(super) async fn dispatch(
    server: &Arc<Server>,
    req: &Request,
    cx: &Ctx,
) -> Result<(Value, Blobs), RpcError> {
    let m = req.method.as_str();
    let v = cx.version;
    let route = ROUTES
        .iter()
        .find(|r| r.method == m)
        .ok_or_else(|| RpcError::MethodNotFound(m.to_string()))?;
    let in_era = match route.eras {
        Eras::Both => true,
        Eras::LegacyOnly => !cx.stateless(),
        Eras::StatelessOnly => v.is_modern(),
    };
    if !in_era || v < route.since {
        return Err(if cx.stateless() {
            RpcError::MethodNotFound(format!("{m} (not part of protocol {v})"))
        } else {
            RpcError::MethodNotFound(m.to_string())
        });
    }
    let p = &req.params;
    let answer = match route.handler {
        Handler::Initialize => lifecycle::initialize(server, p, cx)?,
        Handler::Ping => Answer::new(json!({})),
        Handler::Discover => lifecycle::discover(server, cx),
        Handler::SetLevel => lifecycle::set_level(p, cx)?,
        Handler::ToolsList => tools::list(server, p, cx)?,
        Handler::ToolsCall => tools::call(server, p, cx).await?,
        Handler::ResourcesList => resources::list(server, p, cx).await?,
        Handler::TemplatesList => resources::templates(server, p, cx)?,
        Handler::ResourcesRead => resources::read(server, p, cx).await?,
        Handler::Subscribe => resources::subscribe(p, cx)?,
        Handler::Unsubscribe => resources::unsubscribe(p, cx)?,
        Handler::Listen => listen::listen(server, req, cx).await?,
        Handler::PromptsList => prompts::list(server, p, cx)?,
        Handler::PromptsGet => prompts::get(server, p, cx).await?,
        Handler::Complete => completion::complete(server, p, cx).await?,
    };
    Ok((
        finish(server, cx, answer.result, answer.ttl_ms),
        answer.blobs,
    ))
}

/// Adds what the revision requires on every result: `resultType`, the cache hints where
/// given, and `serverInfo` in `_meta` (2026-07-28).
fn finish(server: &Server, cx: &Ctx, mut result: Value, ttl_ms: Option<u64>) -> Value {
    if cx.version.is_modern()
        && let Some(obj) = result.as_object_mut()
    {
        obj.entry("resultType").or_insert_with(|| "complete".into());
        if let Some(ttl) = ttl_ms {
            obj.insert("ttlMs".into(), ttl.into());
            obj.insert("cacheScope".into(), "public".into());
        }
        let m = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(m) = m.as_object_mut() {
            m.insert(
                meta::SERVER_INFO.into(),
                t::render_implementation(cx.version, &server.info),
            );
        }
    }
    result
}

fn params_str<'a>(p: &'a Map<String, Value>, key: &str, method: &str) -> Result<&'a str, RpcError> {
    p.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params(format!("{method}: params.{key} must be a string")))
}

fn opt_object(p: &Map<String, Value>, key: &str) -> Result<Option<Map<String, Value>>, RpcError> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(RpcError::invalid_params(format!(
            "params.{key} must be an object"
        ))),
    }
}

/// The `cursor` param; an empty string is no cursor (clients that send every optional field).
fn cursor_param(p: &Map<String, Value>) -> Result<Option<&str>, RpcError> {
    match p.get("cursor") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RpcError::invalid_params("Invalid cursor: must be a string")),
    }
}

/// Pages a fully known list with an opaque cursor.
/// The page of a list of `len` items that cursor `cur` points to, and the next page's cursor.
fn page_range(
    len: usize,
    scope: &str,
    cur: Option<&str>,
    size: usize,
) -> Result<(std::ops::Range<usize>, Option<String>), RpcError> {
    let offset = match cur {
        None => 0,
        Some(c) => cursor::decode(scope, c)
            .filter(|o| *o <= len)
            .ok_or_else(|| RpcError::invalid_params("Invalid cursor"))?,
    };
    let (range, next) = cursor::page(len, offset, size);
    Ok((range, next.map(|n| cursor::encode(scope, n))))
}

fn page_of<T: Clone>(
    items: &[T],
    scope: &str,
    cur: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), RpcError> {
    let (range, next) = page_range(items.len(), scope, cur, size)?;
    let page = items.get(range).map(<[T]>::to_vec).unwrap_or_default();
    Ok((page, next))
}

/// A paged list result: `{key: items, nextCursor?}`.
fn listed(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    listed_value(key, Value::Array(items), next)
}

/// [`listed`] with the items as one value (an array, or the placeholder of one).
fn listed_value(key: &str, items: Value, next: Option<String>) -> Value {
    let mut r = json!({ key: items });
    if let Some(n) = next {
        r["nextCursor"] = n.into();
    }
    r
}

/// MRTR retry inputs: `inputResponses` and the verified plain `requestState`.
type MrtrInputs = (Option<Map<String, Value>>, Option<String>);

/// Reads the MRTR retry fields of a request (2026-07-28), verifying the sealed state.
fn mrtr_inputs(
    server: &Server,
    method: &str,
    name: &str,
    p: &Map<String, Value>,
) -> Result<MrtrInputs, RpcError> {
    let responses = opt_object(p, "inputResponses")?;
    if let Some((k, _)) = responses.iter().flatten().find(|(_, v)| !v.is_object()) {
        return Err(RpcError::invalid_params(format!(
            "Invalid params: inputResponses[{k:?}] must be an object (an elicitation, sampling or roots result)"
        )));
    }
    let state = match p.get("requestState") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(server.state_key.open(method, name, s).ok_or_else(|| {
                tracing::warn!(
                    method,
                    name,
                    "refused a tampered, foreign or expired requestState"
                );
                RpcError::invalid_params(
                    "Invalid params: requestState is invalid, tampered with or expired",
                )
            })?)
        }
        Some(_) => {
            return Err(RpcError::invalid_params(
                "Invalid params: requestState must be a string",
            ));
        }
    };
    Ok((responses, state))
}

/// Runs `f` as a blocking job with the client as this request sees it (progress, logs,
/// server-to-client requests, cancellation) and the MRTR retry inputs of `method`/`name`.
async fn with_client<T, F>(
    server: &Arc<Server>,
    cx: &Ctx,
    class: super::Class,
    method: &str,
    name: &str,
    p: &Map<String, Value>,
    f: F,
) -> Result<T, RpcError>
where
    F: FnOnce(&crate::tools::ToolCtx<'_>) -> T + Send + 'static,
    T: Send + 'static,
{
    let (responses, state) = mrtr_inputs(server, method, name, p)?;
    let bridge = super::bridge::Bridge::new(server, cx);
    let (version, caps) = (cx.version, cx.client_caps.clone());
    Ok(server
        .jobs
        .run(&cx.token, class, cx.conn.client(), move || {
            f(&crate::tools::ToolCtx {
                version,
                client_caps: &caps,
                input_responses: responses.as_ref(),
                request_state: state.as_deref(),
                client: &bridge,
            })
        })
        .await?)
}

/// An `input_required` result (2026-07-28 MRTR), with the state sealed.
fn input_required(
    server: &Server,
    cx: &Ctx,
    method: &str,
    name: &str,
    requests: Map<String, Value>,
    state: Option<String>,
) -> Reply {
    if !cx.version.is_modern() {
        return Err(RpcError::Internal(format!(
            "{name} needs client input, which protocol {} cannot request this way",
            cx.version
        )));
    }
    let mut r = json!({"resultType": "input_required"});
    if !requests.is_empty() {
        r["inputRequests"] = Value::Object(requests);
    }
    if let Some(s) = state {
        r["requestState"] = server.state_key.seal(method, name, &s).into();
    }
    Ok(Answer::new(r))
}
