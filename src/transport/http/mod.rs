//! Streamable HTTP transport on hyper 1.x: one MCP endpoint (default `/mcp`) serving both eras.
//!
//! - **2026-07-28** (stateless): POST only. `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name`
//!   are checked against the body (400 + `-32020`); `_meta` problems are 400, unknown methods
//!   404 + `-32601`, notifications 202. A request answers `application/json`, or
//!   `text/event-stream` as soon as it emits a notification (progress, logs). Closing the
//!   response stream cancels the request.
//! - **Legacy** (2025-11-25 and older): `initialize` opens a session (`Mcp-Session-Id`);
//!   POSTs carry requests, notifications and responses to server-to-client requests; GET opens
//!   the standalone stream; DELETE ends the session. Batches only for 2025-03-26 sessions.
//!
//! Routing between eras: a session id means legacy; otherwise the server's
//! [`crate::server::classify`] decides from `_meta` and the `MCP-Protocol-Version` header.
//!
//! Layout: this file owns the listener, the connection cap and shutdown; `routes` the
//! endpoint's methods and status codes; `legacy` sessions' POSTs; `sse` response bodies (the
//! JSON-to-SSE switch, cancellation when a body is dropped, resumption); `discovery` the server
//! card and the AI catalog; `guard`, `headers`, `session` and `metrics` what their names say;
//! `authz` bearer tokens, scopes, protected resource metadata and per-subject limits. Never
//! touches media or tools.

pub mod authz;
mod body;
pub mod discovery;
pub mod guard;
pub mod headers;
mod legacy;
pub mod metrics;
mod routes;
pub mod session;
mod sse;

use crate::server::Server;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use guard::Guard;

/// Every response body: its only error is a streamed blob's source failing midway.
type Body = BoxBody<Bytes, crate::protocol::BlobError>;

/// How often shutdown looks whether the requests in flight have finished.
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);
/// After the grace (and the shutdown errors), time given to write the last answers out.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);

/// HTTP settings and limits.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub listen: SocketAddr,
    /// The MCP endpoint path.
    pub path: String,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body (413 above). Default 4 MiB.
    pub max_body_bytes: usize,
    /// Time allowed to receive a request's headers. Default 10 s.
    pub header_timeout: Duration,
    /// Time allowed to receive a request's body, once its headers are in. Default 30 s.
    pub body_timeout: Duration,
    /// Slowest accepted body, in bytes per second, measured after the first 2 s. Default
    /// 1,024 B/s. Slower bodies (and bodies past `body_timeout`) get 408 and the connection
    /// is closed; `/metrics` counts them in `mcp_media_slow_bodies_total`.
    pub min_body_rate: u64,
    /// Open TCP connections at once; more are closed on accept. Default 1024. Connections
    /// speak HTTP/1.1, so each carries one request at a time: this is also the bound on
    /// concurrent requests (per connection: 1).
    pub max_connections: usize,
    /// Legacy sessions alive at once. Default 1000.
    pub max_sessions: usize,
    /// Legacy sessions one authenticated subject may hold at once (`--max-sessions-per-subject`).
    /// Default 100. At the cap, the subject's least recently used idle session makes room.
    pub max_sessions_per_subject: usize,
    /// Idle time after which a legacy session expires. Default 30 min.
    pub session_idle: Duration,
    /// SSE keep-alive comment interval. Default 15 s.
    pub keepalive: Duration,
    /// Time in-flight requests get to finish on SIGINT/SIGTERM. Default 5 s. Requests still
    /// running then are stopped and answered with a `-32000` "shutting down" error; the
    /// process exits at most 2 s later.
    pub shutdown_grace: Duration,
    /// More Prometheus text for `/metrics`, from parts outside the server (the cache).
    pub extra_metrics: Option<ExtraMetrics>,
    /// The endpoint's public URL when the server sits behind a proxy (`--public-url`), e.g.
    /// `https://media.example.com/mcp`: the canonical resource URI used in authorization
    /// metadata, token audiences and server cards. Default: `http://<listen><path>`.
    pub public_url: Option<String>,
    /// Bearer-token validation. When set, every request to the MCP endpoint needs a valid
    /// `Authorization: Bearer` token (401 otherwise), requests are checked against the
    /// server's scopes (403), legacy sessions are bound to their subject, and the RFC 9728
    /// metadata is served. `None`: no authorization (loopback only, unless the operator
    /// insists with `--insecure-no-auth`).
    pub auth: Option<Arc<dyn crate::auth::Validator>>,
    /// The authorization servers named in the protected resource metadata (`--oauth-issuer`).
    /// Empty with static tokens only: the field is then left out (no server issues them).
    pub authorization_servers: Vec<String>,
    /// Requests per second per subject, with a burst (`--rate-limit-per-subject`,
    /// `--rate-limit-burst`); 429 + `Retry-After` past it. `None`: no limit. At most
    /// [`authz::MAX_RATE_SUBJECTS`] subjects are tracked at once.
    pub rate_limit: Option<authz::RateLimit>,
    /// Transform requests (tools and reads that render) one subject may have running at once
    /// (`--max-jobs-per-subject`); 429 + `Retry-After` past it. `None`: no cap (the server's
    /// fair sharing still applies).
    pub max_jobs_per_subject: Option<usize>,
}

/// A source of more `/metrics` text, given by the composition root.
#[derive(Clone)]
pub struct ExtraMetrics(pub Arc<dyn Fn() -> String + Send + Sync>);

impl std::fmt::Debug for ExtraMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExtraMetrics")
    }
}

impl HttpOptions {
    pub fn new(listen: SocketAddr) -> Self {
        HttpOptions {
            listen,
            path: "/mcp".into(),
            allowed_hosts: vec![],
            allowed_origins: vec![],
            max_body_bytes: 4 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            min_body_rate: 1024,
            max_connections: 1024,
            max_sessions: 1000,
            max_sessions_per_subject: 100,
            session_idle: Duration::from_secs(1800),
            keepalive: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(5),
            extra_metrics: None,
            public_url: None,
            auth: None,
            authorization_servers: vec![],
            rate_limit: None,
            max_jobs_per_subject: None,
        }
    }

    /// The endpoint's canonical URI (RFC 8707, MCP authorization): `public_url` or
    /// `http://<listen><path>`, with a lowercase scheme and host, no fragment, no trailing `/`.
    pub fn resource_uri(&self) -> String {
        let raw = match &self.public_url {
            Some(u) => u.clone(),
            None => format!("http://{}{}", self.listen, self.path),
        };
        canonical_uri(&raw)
    }
}

/// `uri` with its scheme and authority in lowercase, its fragment dropped and no trailing `/`
/// (a bare `/` path is dropped too).
pub fn canonical_uri(uri: &str) -> String {
    let uri = uri.split('#').next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let path = path.trim_end_matches('/');
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    if scheme.is_empty() {
        format!("{authority}{path}")
    } else {
        format!("{scheme}://{authority}{path}")
    }
}

struct State {
    server: Arc<Server>,
    opts: HttpOptions,
    guard: Guard,
    sessions: session::Sessions,
    metrics: metrics::Metrics,
    /// Per-subject request rates and transform jobs.
    limits: authz::Limits,
    shutdown: CancellationToken,
    /// The server card and AI catalog, rendered at startup.
    discovery: discovery::Discovery,
}

/// Binds `opts.listen` and serves until `shutdown` resolves.
pub async fn serve(
    server: Arc<Server>,
    opts: HttpOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(opts.listen).await?;
    serve_listener(server, opts, listener, shutdown).await
}

/// Serves on an already bound listener until `shutdown` resolves, then stops accepting, gives
/// in-flight requests the grace period, closes streams and returns.
pub async fn serve_listener(
    server: Arc<Server>,
    mut opts: HttpOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    // The address actually bound (a port 0 is now known): the default resource URI names it.
    opts.listen = local;
    let guard = Guard {
        loopback: local.ip().is_loopback(),
        allowed_hosts: opts.allowed_hosts.clone(),
        allowed_origins: opts.allowed_origins.clone(),
    };
    let state = Arc::new(State {
        sessions: session::Sessions::new(opts.max_sessions, opts.session_idle)
            .with_max_per_subject(opts.max_sessions_per_subject),
        guard,
        metrics: metrics::Metrics::default(),
        limits: authz::Limits::new(&opts),
        shutdown: CancellationToken::new(),
        discovery: discovery::Discovery::new(server.info(), &opts),
        server,
        opts,
    });
    tracing::info!(addr = %local, path = %state.opts.path, auth = state.opts.auth.is_some(), "serving MCP over Streamable HTTP");
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(state.opts.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            acc = listener.accept() => {
                let (stream, peer) = match acc {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, limit = state.opts.max_connections, "connection cap reached; closing");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let st = state.clone();
                let svc = hyper::service::service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(routes::route(st, req, peer).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(state.opts.header_timeout)
                    .serve_connection(TokioIo::new(stream), svc);
                let fut = graceful.watch(conn);
                let st = state.clone();
                st.metrics.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    if let Err(e) = fut.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    st.metrics.connections.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
        }
    }
    tracing::info!("shutting down: no new connections; finishing in-flight requests");
    drop(listener);
    let grace = state.opts.shutdown_grace;
    // Streams that would never end by themselves (GET, listen) end now, with their result;
    // requests get the grace period to finish.
    state.shutdown.cancel();
    state.server.shutdown();
    let deadline = tokio::time::Instant::now() + grace;
    while state.metrics.in_flight.load(Ordering::Relaxed) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(SHUTDOWN_POLL).await;
    }
    let left = state.metrics.in_flight.load(Ordering::Relaxed);
    if left > 0 {
        // Past the grace: each request still running is answered with a shutdown error.
        tracing::warn!(
            left,
            "requests still running after the shutdown grace; stopping them"
        );
        state.server.abort_in_flight();
    }
    if tokio::time::timeout(SHUTDOWN_FLUSH, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the final flush; exiting anyway");
    }
    state.sessions.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_uri_lowercases_scheme_and_host_and_drops_fragment_and_trailing_slash() {
        assert_eq!(
            canonical_uri("HTTPS://Media.Example.COM/MCP/#frag"),
            "https://media.example.com/MCP"
        );
        assert_eq!(canonical_uri("https://a.example/"), "https://a.example");
        let mut o = HttpOptions::new("127.0.0.1:8080".parse().unwrap());
        assert_eq!(o.resource_uri(), "http://127.0.0.1:8080/mcp");
        o.public_url = Some("https://Proxy.example/media/mcp".into());
        assert_eq!(o.resource_uri(), "https://proxy.example/media/mcp");
    }
}
