//! Method dispatch: which era a request belongs to, and one handler per MCP method.
//!
//! Era routing (stdio and legacy HTTP sessions alike): a request whose `_meta` names a protocol
//! version is served statelessly for that version; otherwise `initialize` starts a legacy
//! session and later requests use it. Output is rendered for the version in force.

use super::bridge::Bridge;
use super::error::{RpcError, tool_failure};
use super::{Connection, LegacySession, Server, Sink, lock};
use crate::protocol::jsonrpc::Request;
use crate::protocol::types::{self as t, ResourceContents};
use crate::protocol::{Blobs, LogLevel, Outgoing, ProtocolVersion, cursor, meta};
use crate::resources::RANGE_TEMPLATE;
use crate::tools::{ToolCtx, ToolOutcome};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Cache hints (2026-07-28 `ttlMs`/`cacheScope`) per result kind.
const TTL_STATIC_MS: u64 = 3_600_000;
const TTL_READ_MS: u64 = 60_000;

/// Per-request facts decided before dispatch.
#[derive(Clone, Debug)]
pub(crate) struct ReqCtx {
    pub version: ProtocolVersion,
    /// The request carried modern `_meta` and is served without session state.
    pub stateless: bool,
    pub client_caps: Value,
    pub progress_token: Option<Value>,
    pub log_level: Option<LogLevel>,
}

type Reply = Result<(Value, Blobs), RpcError>;
/// MRTR retry inputs: `inputResponses` and the verified plain `requestState`.
type MrtrInputs = (Option<Map<String, Value>>, Option<String>);

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

fn cursor_param(p: &Map<String, Value>) -> Result<Option<&str>, RpcError> {
    match p.get("cursor") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RpcError::invalid_params("Invalid cursor: must be a string")),
    }
}

/// Pages a fully known list with an opaque cursor.
fn page_of<T: Clone>(
    items: &[T],
    scope: &str,
    cur: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), RpcError> {
    let offset = match cur {
        None => 0,
        Some(c) => cursor::decode(scope, c)
            .filter(|o| *o <= items.len())
            .ok_or_else(|| RpcError::invalid_params("Invalid cursor"))?,
    };
    let (range, next) = cursor::page(items.len(), offset, size);
    Ok((
        items[range].to_vec(),
        next.map(|n| cursor::encode(scope, n)),
    ))
}

impl Server {
    /// The checks made before dispatch (era, version, required `_meta`), for transports that
    /// must answer their failures with a status of their own (HTTP 400).
    pub fn preflight(&self, conn: &Connection, req: &Request) -> Result<ProtocolVersion, RpcError> {
        self.request_ctx(conn, req).map(|c| c.version)
    }

    pub(super) fn request_ctx(&self, conn: &Connection, req: &Request) -> Result<ReqCtx, RpcError> {
        let meta_obj = match req.params.get("_meta") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return Err(RpcError::invalid_params("params._meta must be an object")),
        };
        let progress_token = meta_obj
            .and_then(|m| m.get(meta::PROGRESS_TOKEN))
            .filter(|t| t.is_string() || t.is_number())
            .cloned();
        if let Some(pv) = meta_obj.and_then(|m| m.get(meta::PROTOCOL_VERSION)) {
            let m = meta_obj.expect("checked above");
            let s = pv.as_str().ok_or_else(|| {
                RpcError::invalid_params(format!(
                    "_meta[\"{}\"] must be a string",
                    meta::PROTOCOL_VERSION
                ))
            })?;
            let version =
                ProtocolVersion::parse(s).ok_or_else(|| RpcError::UnsupportedVersion {
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
            return Ok(ReqCtx {
                version,
                stateless: true,
                client_caps,
                progress_token,
                log_level,
            });
        }
        let legacy_default = |caps: Value| ReqCtx {
            version: ProtocolVersion::LATEST_LEGACY,
            stateless: false,
            client_caps: caps,
            progress_token: progress_token.clone(),
            log_level: None,
        };
        match req.method.as_str() {
            "initialize" => Ok(legacy_default(
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
                Some(s) => Ok(ReqCtx {
                    version: s.version,
                    stateless: false,
                    client_caps: s.client_caps,
                    progress_token,
                    // Legacy: everything until the client sets a level with logging/setLevel.
                    log_level: Some(s.log_level.unwrap_or(LogLevel::Debug)),
                }),
                None if req.method == "ping" => Ok(legacy_default(json!({}))),
                None => Err(RpcError::invalid_params(format!(
                    "Invalid params: missing params._meta[\"{}\"]. Send it with \"{}\" on every \
                     request (protocol 2026-07-28), or send initialize first (2025-11-25 and older)",
                    meta::PROTOCOL_VERSION,
                    meta::CLIENT_CAPABILITIES
                ))),
            },
        }
    }

    pub(super) async fn handle_request(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        req: Request,
        sink: &Sink,
    ) -> Option<Outgoing> {
        let id = req.id.clone();
        let ctx = match self.request_ctx(conn, &req) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(method = %req.method, %id, error = ?e, "request refused before dispatch");
                return Some(e.to_outgoing(Some(&id), None));
            }
        };
        let token = CancellationToken::new();
        {
            let mut inflight = lock(&conn.inflight);
            if inflight.contains_key(&id) {
                return Some(
                    RpcError::InvalidRequest(format!("request id {id} is already in flight"))
                        .to_outgoing(Some(&id), Some(ctx.version)),
                );
            }
            // `initialize` must not be cancelled by the client (it is not registered).
            if req.method != "initialize" {
                inflight.insert(id.clone(), token.clone());
            }
        }
        let work = self.dispatch(conn, &req, &ctx, sink, &token);
        let res = tokio::select! {
            biased;
            _ = token.cancelled() => None,
            r = work => Some(r),
        };
        lock(&conn.inflight).remove(&id);
        if token.is_cancelled() {
            tracing::debug!(method = %req.method, %id, "request cancelled; no response sent");
            return None;
        }
        Some(match res? {
            Ok((result, blobs)) => Outgoing::response(&id, result, blobs),
            Err(e) => {
                tracing::debug!(method = %req.method, %id, error = ?e, "request failed");
                e.to_outgoing(Some(&id), Some(ctx.version))
            }
        })
    }

    /// Adds what the revision requires on every result: `resultType`, the cache hints where
    /// given, and `serverInfo` in `_meta` (2026-07-28).
    fn finish(&self, ctx: &ReqCtx, mut result: Value, cache: Option<u64>) -> Value {
        if ctx.version.is_modern()
            && let Some(obj) = result.as_object_mut()
        {
            obj.entry("resultType").or_insert_with(|| "complete".into());
            if let Some(ttl) = cache {
                obj.insert("ttlMs".into(), ttl.into());
                obj.insert("cacheScope".into(), "public".into());
            }
            let m = obj.entry("_meta").or_insert_with(|| json!({}));
            if let Some(m) = m.as_object_mut() {
                m.insert(
                    meta::SERVER_INFO.into(),
                    t::render_implementation(ctx.version, &self.info),
                );
            }
        }
        result
    }

    fn capabilities(&self, v: ProtocolVersion) -> Value {
        // List changes are delivered on listen streams (2026-07-28) and on the session
        // (legacy: stdio, or the HTTP GET stream); tool and prompt lists only change in
        // conformance mode.
        let dynamic = self.conformance.is_some();
        let mut caps = json!({
            "tools": {},
            "resources": {"subscribe": true, "listChanged": true},
            "prompts": {},
            "logging": {},
        });
        if dynamic {
            caps["tools"]["listChanged"] = true.into();
            caps["prompts"]["listChanged"] = true.into();
        }
        if v >= ProtocolVersion::V2025_03_26 {
            caps["completions"] = json!({});
        }
        caps
    }

    /// Runs blocking work on the blocking pool, bounded server-wide; a panic becomes an
    /// internal error instead of reaching the client.
    async fn blocking<T, F>(&self, f: F) -> Result<T, RpcError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .jobs
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RpcError::Internal("server is shutting down".into()))?;
        tokio::task::spawn_blocking(f).await.map_err(|e| {
            tracing::error!(error = %e, "a worker task failed");
            RpcError::Internal("the operation failed unexpectedly".into())
        })
    }

    async fn dispatch(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        req: &Request,
        ctx: &ReqCtx,
        sink: &Sink,
        token: &CancellationToken,
    ) -> Reply {
        let m = req.method.as_str();
        let p = &req.params;
        let v = ctx.version;
        if ctx.stateless
            && matches!(
                m,
                "initialize"
                    | "ping"
                    | "logging/setLevel"
                    | "resources/subscribe"
                    | "resources/unsubscribe"
            )
        {
            return Err(RpcError::MethodNotFound(format!(
                "{m} (not part of protocol {v})"
            )));
        }
        let mut blobs = Blobs::new();
        let (result, cache) = match m {
            "initialize" => (self.initialize(conn, p)?, None),
            "ping" => (json!({}), None),
            "server/discover" => {
                let mut r = json!({
                    "supportedVersions": crate::protocol::version::supported_version_strings(),
                    "capabilities": self.capabilities(v),
                });
                if let Some(i) = &self.cfg.instructions {
                    r["instructions"] = i.clone().into();
                }
                (r, Some(TTL_STATIC_MS))
            }
            "logging/setLevel" => {
                let l = params_str(p, "level", m)?;
                let level = LogLevel::parse(l).ok_or_else(|| {
                    RpcError::invalid_params(format!("Invalid params: unknown log level {l:?}"))
                })?;
                if let Some(s) = lock(&conn.legacy).as_mut() {
                    s.log_level = Some(level);
                }
                (json!({}), None)
            }
            "tools/list" => {
                let defs: Vec<&t::ToolDef> = self.tools.defs().collect();
                let (page, next) =
                    page_of(&defs, "tools", cursor_param(p)?, self.cfg.limits.page_size)?;
                let mut r =
                    json!({"tools": page.iter().map(|d| t::render_tool(v, d)).collect::<Vec<_>>()});
                if let Some(n) = next {
                    r["nextCursor"] = n.into();
                }
                (r, Some(TTL_STATIC_MS))
            }
            "tools/call" => return self.call_tool(conn, req, ctx, sink, token).await,
            "resources/list" => {
                let cur = cursor_param(p)?.map(str::to_owned);
                let this = self.clone();
                let page = self
                    .blocking(move || this.resources.list(cur.as_deref()))
                    .await??;
                let mut items: Vec<Value> = page
                    .items
                    .iter()
                    .map(|r| t::render_resource(v, r))
                    .collect();
                if let Some(c) = &self.conformance
                    && cursor_param(p)?.is_none()
                {
                    items.extend(c.resources().iter().map(|r| t::render_resource(v, r)));
                }
                let mut r = json!({"resources": items});
                if let Some(n) = page.next_cursor {
                    r["nextCursor"] = n.into();
                }
                (
                    r,
                    Some(self.cfg.limits.library.rescan_interval.as_millis() as u64),
                )
            }
            "resources/templates/list" => {
                let mut all = self.resources.templates();
                if let Some(c) = &self.conformance {
                    all.extend(c.templates());
                }
                let (page, next) = page_of(
                    &all,
                    "templates",
                    cursor_param(p)?,
                    self.cfg.limits.page_size,
                )?;
                let mut r = json!({"resourceTemplates": page.iter().map(|x| t::render_template(v, x)).collect::<Vec<_>>()});
                if let Some(n) = next {
                    r["nextCursor"] = n.into();
                }
                (r, Some(TTL_STATIC_MS))
            }
            "resources/read" => {
                let uri = params_str(p, "uri", m)?.to_string();
                let contents: Vec<ResourceContents> = match &self.conformance {
                    Some(c) if uri.starts_with("test://") => {
                        c.read(&uri).ok_or_else(|| RpcError::ResourceNotFound {
                            message: format!("Resource not found: {uri}"),
                            uri: uri.clone(),
                        })?
                    }
                    _ => {
                        let this = self.clone();
                        self.blocking(move || this.resources.read(&uri)).await??
                    }
                };
                let items: Vec<Value> = contents
                    .iter()
                    .map(|c| t::render_contents(c, &mut blobs))
                    .collect();
                (json!({"contents": items}), Some(TTL_READ_MS))
            }
            "resources/subscribe" => {
                let uri = params_str(p, "uri", m)?;
                let mut subs = lock(&conn.subscriptions);
                if subs.len() >= super::MAX_SUBSCRIPTIONS && !subs.contains(uri) {
                    return Err(RpcError::invalid_params(format!(
                        "Invalid params: at most {} subscriptions per session",
                        super::MAX_SUBSCRIPTIONS
                    )));
                }
                subs.insert(uri.to_string());
                (json!({}), None)
            }
            "resources/unsubscribe" => {
                let uri = params_str(p, "uri", m)?;
                lock(&conn.subscriptions).remove(uri);
                (json!({}), None)
            }
            "subscriptions/listen" if ctx.version.is_modern() => {
                return self.listen(req, ctx, sink, token).await;
            }
            "prompts/list" => {
                let mut all = self.prompts.defs();
                if let Some(c) = &self.conformance {
                    all.extend(c.prompts());
                }
                let (page, next) =
                    page_of(&all, "prompts", cursor_param(p)?, self.cfg.limits.page_size)?;
                let mut r = json!({"prompts": page.iter().map(|x| t::render_prompt(v, x)).collect::<Vec<_>>()});
                if let Some(n) = next {
                    r["nextCursor"] = n.into();
                }
                (r, Some(TTL_STATIC_MS))
            }
            "prompts/get" => return self.get_prompt(conn, req, ctx, sink, token).await,
            "completion/complete" if v >= ProtocolVersion::V2025_03_26 || ctx.stateless => {
                (self.complete(p).await?, None)
            }
            _ => return Err(RpcError::MethodNotFound(m.to_string())),
        };
        Ok((self.finish(ctx, result, cache), blobs))
    }

    fn initialize(&self, conn: &Connection, p: &Map<String, Value>) -> Result<Value, RpcError> {
        let requested = params_str(p, "protocolVersion", "initialize")?;
        let v = ProtocolVersion::parse(requested)
            .filter(|v| !v.is_modern())
            .unwrap_or(ProtocolVersion::LATEST_LEGACY);
        let caps = match p.get("capabilities") {
            Some(c @ Value::Object(_)) => c.clone(),
            _ => json!({}),
        };
        {
            let mut l = lock(&conn.legacy);
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
            "capabilities": self.capabilities(v),
            "serverInfo": t::render_implementation(v, &self.info),
        });
        if let Some(i) = &self.cfg.instructions {
            r["instructions"] = i.clone().into();
        }
        Ok(r)
    }

    fn bridge(
        &self,
        conn: &Arc<Connection>,
        ctx: &ReqCtx,
        sink: &Sink,
        token: &CancellationToken,
    ) -> Bridge {
        Bridge {
            token: token.clone(),
            sink: sink.clone(),
            conn: conn.clone(),
            version: ctx.version,
            progress_token: ctx.progress_token.clone(),
            log_level: ctx.log_level,
            may_request: !ctx.stateless,
            request_timeout: self.cfg.limits.client_request_timeout,
            last_progress: Mutex::new(None),
            events: self.events.clone(),
        }
    }

    /// Reads the MRTR retry fields of a request (2026-07-28), verifying the sealed state.
    fn mrtr_inputs(
        &self,
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
                Some(self.state_key.open(method, name, s).ok_or_else(|| {
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

    fn input_required(
        &self,
        ctx: &ReqCtx,
        method: &str,
        name: &str,
        requests: Map<String, Value>,
        state: Option<String>,
    ) -> Reply {
        if !ctx.version.is_modern() {
            return Err(RpcError::Internal(format!(
                "{name} needs client input, which protocol {} cannot request this way",
                ctx.version
            )));
        }
        let mut r = json!({"resultType": "input_required"});
        if !requests.is_empty() {
            r["inputRequests"] = Value::Object(requests);
        }
        if let Some(s) = state {
            r["requestState"] = self.state_key.seal(method, name, &s).into();
        }
        Ok((self.finish(ctx, r, None), Blobs::new()))
    }

    async fn call_tool(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        req: &Request,
        ctx: &ReqCtx,
        sink: &Sink,
        token: &CancellationToken,
    ) -> Reply {
        let p = &req.params;
        let name = params_str(p, "name", "tools/call")?.to_string();
        let tool = self
            .tools
            .get(&name)
            .cloned()
            .ok_or_else(|| RpcError::invalid_params(format!("Unknown tool: {name}")))?;
        let args = opt_object(p, "arguments")?.unwrap_or_default();
        let (responses, state) = self.mrtr_inputs("tools/call", &name, p)?;
        let bridge = self.bridge(conn, ctx, sink, token);
        let (version, caps) = (ctx.version, ctx.client_caps.clone());
        let stats = self.stats.clone();
        let outcome = self
            .blocking(move || {
                use std::sync::atomic::Ordering::Relaxed;
                let tctx = ToolCtx {
                    version,
                    client_caps: &caps,
                    input_responses: responses.as_ref(),
                    request_state: state.as_deref(),
                    client: &bridge,
                };
                stats.running.fetch_add(1, Relaxed);
                let r = tool.call(&args, &tctx);
                stats.running.fetch_sub(1, Relaxed);
                if matches!(r, Err(crate::tools::ToolError::Cancelled)) {
                    stats.cancelled.fetch_add(1, Relaxed);
                } else {
                    stats.completed.fetch_add(1, Relaxed);
                }
                r
            })
            .await?;
        match outcome {
            Ok(ToolOutcome::Complete(r)) => {
                let mut blobs = Blobs::new();
                let out = t::render_tool_result(ctx.version, &r, &mut blobs);
                Ok((self.finish(ctx, out, None), blobs))
            }
            Ok(ToolOutcome::InputRequired {
                input_requests,
                request_state,
            }) => self.input_required(ctx, "tools/call", &name, input_requests, request_state),
            Err(e) => {
                let r = tool_failure(&name, e)?;
                let mut blobs = Blobs::new();
                let out = t::render_tool_result(ctx.version, &r, &mut blobs);
                Ok((self.finish(ctx, out, None), blobs))
            }
        }
    }

    async fn get_prompt(
        self: &Arc<Self>,
        conn: &Arc<Connection>,
        req: &Request,
        ctx: &ReqCtx,
        sink: &Sink,
        token: &CancellationToken,
    ) -> Reply {
        let p = &req.params;
        let name = params_str(p, "name", "prompts/get")?.to_string();
        let args = opt_object(p, "arguments")?.unwrap_or_default();
        if let Some((k, _)) = args.iter().find(|(_, v)| !v.is_string()) {
            return Err(RpcError::invalid_params(format!(
                "Invalid params: prompt argument {k:?} must be a string"
            )));
        }
        let (responses, state) = self.mrtr_inputs("prompts/get", &name, p)?;
        let bridge = self.bridge(conn, ctx, sink, token);
        let this = self.clone();
        let (version, caps) = (ctx.version, ctx.client_caps.clone());
        let name2 = name.clone();
        let outcome = self
            .blocking(move || {
                if let Some(c) = &this.conformance {
                    let tctx = ToolCtx {
                        version,
                        client_caps: &caps,
                        input_responses: responses.as_ref(),
                        request_state: state.as_deref(),
                        client: &bridge,
                    };
                    if let Some(r) = c.get_prompt(&name2, &args, &tctx) {
                        return r
                            .map_err(|e| RpcError::invalid_params(format!("Invalid params: {e}")));
                    }
                }
                this.prompts
                    .get(&name2, &args)
                    .map(crate::conformance::PromptOutcome::Complete)
                    .map_err(RpcError::from)
            })
            .await??;
        match outcome {
            crate::conformance::PromptOutcome::Complete(r) => {
                let mut blobs = Blobs::new();
                let out = t::render_prompt_result(ctx.version, &r, &mut blobs);
                Ok((self.finish(ctx, out, None), blobs))
            }
            crate::conformance::PromptOutcome::InputRequired {
                input_requests,
                request_state,
            } => self.input_required(ctx, "prompts/get", &name, input_requests, request_state),
        }
    }

    /// `subscriptions/listen` (2026-07-28): acknowledges the honoured filter, then forwards
    /// matching changes, each tagged with the subscription id, until the client closes the
    /// stream (cancellation) or the server shuts down (a final result).
    async fn listen(
        self: &Arc<Self>,
        req: &Request,
        ctx: &ReqCtx,
        sink: &Sink,
        token: &CancellationToken,
    ) -> Reply {
        let want = |k: &str| {
            req.params
                .get("notifications")
                .and_then(|n| n.get(k))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let dynamic = self.conformance.is_some();
        let (tools, prompts, res_list) = (
            want("toolsListChanged") && dynamic,
            want("promptsListChanged") && dynamic,
            want("resourcesListChanged"),
        );
        let subs: Vec<String> = match req
            .params
            .get("notifications")
            .and_then(|n| n.get("resourceSubscriptions"))
        {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => {
                if a.len() > super::MAX_SUBSCRIPTIONS {
                    return Err(RpcError::invalid_params(format!(
                        "Invalid params: at most {} resourceSubscriptions",
                        super::MAX_SUBSCRIPTIONS
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
        let _permit = self.listeners.clone().try_acquire_owned().map_err(|_| {
            RpcError::Internal(format!(
                "too many listen streams (limit {})",
                super::MAX_LISTENERS
            ))
        })?;
        let sub_id = req.id.to_value();
        let tagged = |mut params: Value| {
            params["_meta"] = json!({ meta::SUBSCRIPTION_ID: sub_id.clone() });
            params
        };
        let mut honoured = serde_json::Map::new();
        if tools {
            honoured.insert("toolsListChanged".into(), true.into());
        }
        if prompts {
            honoured.insert("promptsListChanged".into(), true.into());
        }
        if res_list {
            honoured.insert("resourcesListChanged".into(), true.into());
        }
        if !subs.is_empty() {
            honoured.insert("resourceSubscriptions".into(), json!(subs));
        }
        let mut rx = self.events.subscribe();
        let ack = Outgoing::notification(
            "notifications/subscriptions/acknowledged",
            tagged(json!({"notifications": Value::Object(honoured)})),
        );
        if !sink.send(&ack).await {
            return Err(RpcError::Internal("the listen stream closed".into()));
        }
        loop {
            let ev = tokio::select! {
                _ = token.cancelled() => break,
                _ = self.stopping.cancelled() => break,
                ev = rx.recv() => ev,
            };
            let (method, params) = match ev {
                Ok(super::ServerEvent::ToolsListChanged) if tools => {
                    ("notifications/tools/list_changed", json!({}))
                }
                Ok(super::ServerEvent::PromptsListChanged) if prompts => {
                    ("notifications/prompts/list_changed", json!({}))
                }
                Ok(super::ServerEvent::ResourcesListChanged) if res_list => {
                    ("notifications/resources/list_changed", json!({}))
                }
                Ok(super::ServerEvent::ResourceUpdated(uri))
                    if subs.iter().any(|s| {
                        *s == uri || uri.starts_with(&format!("{}/", s.trim_end_matches('/')))
                    }) =>
                {
                    ("notifications/resources/updated", json!({"uri": uri}))
                }
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "a listen stream fell behind; sending list_changed"
                    );
                    if !res_list {
                        continue;
                    }
                    ("notifications/resources/list_changed", json!({}))
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            if !sink
                .send(&Outgoing::notification(method, tagged(params)))
                .await
            {
                break;
            }
        }
        let r = json!({"_meta": { meta::SUBSCRIPTION_ID: sub_id }});
        Ok((self.finish(ctx, r, None), Blobs::new()))
    }

    async fn complete(self: &Arc<Self>, p: &Map<String, Value>) -> Result<Value, RpcError> {
        let r = p.get("ref").and_then(Value::as_object).ok_or_else(|| {
            RpcError::invalid_params("Invalid params: completion/complete needs params.ref")
        })?;
        let arg = p
            .get("argument")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                RpcError::invalid_params(
                    "Invalid params: completion/complete needs params.argument",
                )
            })?;
        let arg_name = arg
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let value = arg
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ctx_root = p
            .get("context")
            .and_then(|c| c.get("arguments"))
            .and_then(|a| a.get("root"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let this = self.clone();
        let (values, total) = match r.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => {
                let name = r
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if let Some(c) = &self.conformance
                    && let Some(vals) = c.complete_prompt(&name, &arg_name, &value)
                {
                    let n = vals.len();
                    (vals, n)
                } else {
                    self.blocking(move || this.prompts.complete(&name, &arg_name, &value))
                        .await?
                        .ok_or_else(|| RpcError::invalid_params("Invalid params: unknown prompt"))?
                }
            }
            Some("ref/resource") => {
                let uri = r
                    .get("uri")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if uri == RANGE_TEMPLATE || uri == crate::resources::AUDIO_TEMPLATE {
                    self.blocking(move || {
                        this.resources
                            .complete(&arg_name, &value, ctx_root.as_deref())
                    })
                    .await?
                } else if self.conformance.is_some() && uri.starts_with("test://") {
                    (vec![], 0)
                } else {
                    return Err(RpcError::invalid_params(format!(
                        "Invalid params: unknown resource template {uri:?}"
                    )));
                }
            }
            _ => {
                return Err(RpcError::invalid_params(
                    "Invalid params: ref.type must be ref/prompt or ref/resource",
                ));
            }
        };
        Ok(
            json!({"completion": {"values": values, "total": total, "hasMore": total > values.len()}}),
        )
    }
}
