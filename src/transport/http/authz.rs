//! Authorization at the MCP endpoint (when `HttpOptions::auth` is set): the bearer token from
//! the `Authorization` header only (never the query string), checked by the validator; the
//! 401/403/503 challenges (`WWW-Authenticate: Bearer ...`, RFC 6750 and RFC 9728); RFC 9728
//! protected resource metadata; per-subject request rates and concurrent transform jobs
//! (429 + `Retry-After`).
//!
//! Which scope a request needs is the server's decision ([`crate::server::Need`]); this file
//! only compares it with the grant. Tokens are never logged, kept or passed on.

use super::routes::{full, json_message};
use super::{Body, HttpOptions, State};
use crate::auth::AuthError;
use crate::protocol::Outgoing;
use crate::protocol::jsonrpc::{RequestId, code};
use crate::server::{Need, Principal};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where RFC 9728 metadata lives (the endpoint's path may follow).
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// `Retry-After` of a 503 when the authorization server cannot be reached.
const UNAVAILABLE_RETRY_SECS: u64 = 10;
/// `Retry-After` of a 429 from the job cap: jobs end at their own pace, so a short retry.
const JOB_CAP_RETRY_SECS: u64 = 1;

/// Subjects whose request rate is tracked at once. Past it, buckets that have refilled (they
/// hold nothing a new bucket would not) go first, then the least recently used: memory stays
/// bounded at about this many entries whatever the number of subjects.
pub const MAX_RATE_SUBJECTS: usize = 10_000;

/// A per-subject request rate: `per_second` on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The token in `Authorization: Bearer <token>` (scheme case-insensitive), if any.
pub fn bearer(h: &HeaderMap) -> Option<&str> {
    // UTF-8 (ASCII checked a word at a time), not `to_str`'s byte-by-byte visible-ASCII check:
    // a JWT is hundreds of bytes, on every request; a token with other bytes matches nothing.
    let v = std::str::from_utf8(h.get(header::AUTHORIZATION)?.as_bytes())
        .ok()?
        .trim();
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The RFC 9728 metadata URL for the resource `uri`: its origin, the well-known path, then its
/// path (`https://h/mcp` -> `https://h/.well-known/oauth-protected-resource/mcp`).
pub fn metadata_url(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("http", uri));
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    format!("{scheme}://{authority}{WELL_KNOWN}{path}")
}

/// A quoted-string for a challenge parameter.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One bucket of the rate limiter.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Per-subject state: request rate buckets and transform jobs running.
#[derive(Default)]
pub(super) struct Limits {
    rate: Option<RateLimit>,
    buckets: Mutex<HashMap<String, Bucket>>,
    max_jobs: Option<usize>,
    /// Transform requests running per subject; an entry goes when its count returns to 0, so
    /// the table holds at most one entry per request in flight (bounded by the connection cap).
    jobs: Arc<Mutex<HashMap<String, usize>>>,
}

/// A transform job slot of one subject, given back when dropped.
pub(super) struct JobSlot {
    jobs: Arc<Mutex<HashMap<String, usize>>>,
    subject: String,
}

impl Drop for JobSlot {
    fn drop(&mut self) {
        let mut jobs = lock(&self.jobs);
        if let Some(n) = jobs.get_mut(&self.subject) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                jobs.remove(&self.subject);
            }
        }
    }
}

impl Limits {
    pub(super) fn new(opts: &HttpOptions) -> Self {
        Limits {
            rate: opts.rate_limit,
            max_jobs: opts.max_jobs_per_subject,
            ..Default::default()
        }
    }

    /// Takes one request from `subject`'s bucket; `Err(seconds)` until one is available.
    fn take(&self, subject: &str) -> Result<(), f64> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if !buckets.contains_key(subject) && buckets.len() >= MAX_RATE_SUBJECTS {
            let refill = |b: &Bucket| {
                (b.tokens + now.duration_since(b.last).as_secs_f64() * rate.per_second)
                    >= rate.burst
            };
            buckets.retain(|_, b| !refill(b));
            if buckets.len() >= MAX_RATE_SUBJECTS
                && let Some(oldest) = buckets
                    .iter()
                    .min_by_key(|(_, b)| b.last)
                    .map(|(k, _)| k.clone())
            {
                buckets.remove(&oldest);
            }
        }
        let b = buckets.entry(subject.to_string()).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * rate.per_second).min(rate.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - b.tokens) / rate.per_second)
        }
    }

    /// A transform job slot for `subject`, or `None` at its cap.
    fn job(&self, subject: &str) -> Result<Option<JobSlot>, usize> {
        let Some(max) = self.max_jobs else {
            return Ok(None);
        };
        let mut jobs = lock(&self.jobs);
        let n = jobs.entry(subject.to_string()).or_insert(0);
        if *n >= max {
            return Err(max);
        }
        *n += 1;
        Ok(Some(JobSlot {
            jobs: self.jobs.clone(),
            subject: subject.to_string(),
        }))
    }
}

/// A refusal: the response to send and why, for `/metrics`.
/// (Boxed: a response is large, and these travel in `Result`s.)
pub(super) struct Refused(Box<(Response<Body>, Refusal)>);

impl Refused {
    fn new(r: Response<Body>, why: Refusal) -> Self {
        Refused(Box::new((r, why)))
    }
    pub(super) fn into_parts(self) -> (Response<Body>, Refusal) {
        *self.0
    }
}

/// Why a request was refused before it ran, for `/metrics`.
#[derive(Clone, Copy, Debug)]
pub(super) enum Refusal {
    Unauthorized,
    Forbidden,
    Unavailable,
    RateLimited,
    JobCap,
}

impl Refusal {
    pub(super) const ALL: [Refusal; 5] = [
        Refusal::Unauthorized,
        Refusal::Forbidden,
        Refusal::Unavailable,
        Refusal::RateLimited,
        Refusal::JobCap,
    ];
    pub(super) fn label(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "unauthorized",
            Refusal::Forbidden => "insufficient_scope",
            Refusal::Unavailable => "auth_unavailable",
            Refusal::RateLimited => "rate_limited",
            Refusal::JobCap => "job_cap",
        }
    }
}

fn with_header(mut r: Response<Body>, name: header::HeaderName, value: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
    r
}

/// A refusal the client should retry after `secs` seconds: the status, a `Retry-After` header
/// and a JSON-RPC error whose `data.retryAfterSeconds` says the same.
fn retry_later(
    status: StatusCode,
    id: Option<&RequestId>,
    message: &str,
    secs: u64,
    why: Refusal,
) -> Refused {
    let r = error_response(
        status,
        id,
        message,
        Some(json!({"retryAfterSeconds": secs})),
    );
    Refused::new(with_header(r, header::RETRY_AFTER, &secs.to_string()), why)
}

fn error_response(
    status: StatusCode,
    id: Option<&RequestId>,
    message: &str,
    data: Option<serde_json::Value>,
) -> Response<Body> {
    json_message(
        status,
        &Outgoing::error(id, code::INVALID_REQUEST, message, data),
    )
}

/// The `resource_metadata` and `scope` parameters every challenge carries.
fn challenge_tail(st: &State, scopes: &[&str]) -> String {
    format!(
        "resource_metadata={}, scope={}",
        quoted(&metadata_url(&st.opts.resource_uri())),
        quoted(&scopes.join(" "))
    )
}

/// Authenticates a request to the MCP endpoint: `Ok(None)` without authorization configured,
/// `Ok(Some(principal))` for a valid token within its rate, or the refusal to send.
pub(super) async fn authenticate(st: &State, h: &HeaderMap) -> Result<Option<Principal>, Refused> {
    let Some(validator) = &st.opts.auth else {
        return Ok(None);
    };
    // Named in the challenges of the refusals below only.
    let read = st.server.scope_name(Need::Read);
    let Some(token) = bearer(h) else {
        let r = error_response(
            StatusCode::UNAUTHORIZED,
            None,
            "Unauthorized: send an access token in the Authorization header (Bearer)",
            None,
        );
        let c = format!("Bearer {}", challenge_tail(st, &[read]));
        return Err(Refused::new(
            with_header(r, header::WWW_AUTHENTICATE, &c),
            Refusal::Unauthorized,
        ));
    };
    let grant = match validator.validate(token).await {
        Ok(g) => g,
        Err(AuthError::Invalid(why)) => {
            tracing::info!(reason = %why, "refused a request with an invalid token");
            let r = error_response(
                StatusCode::UNAUTHORIZED,
                None,
                &format!("Unauthorized: {why}"),
                None,
            );
            let c = format!(
                "Bearer error=\"invalid_token\", error_description={}, {}",
                quoted(&why),
                challenge_tail(st, &[read])
            );
            return Err(Refused::new(
                with_header(r, header::WWW_AUTHENTICATE, &c),
                Refusal::Unauthorized,
            ));
        }
        Err(AuthError::Unavailable(why)) => {
            tracing::warn!(reason = %why, "cannot validate a token: authorization server unavailable");
            return Err(retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                &format!(
                    "Service Unavailable: the token cannot be validated now ({why}); retry in {UNAVAILABLE_RETRY_SECS} s"
                ),
                UNAVAILABLE_RETRY_SECS,
                Refusal::Unavailable,
            ));
        }
    };
    if let Err(wait) = st.limits.take(&grant.subject) {
        let secs = wait.ceil().max(1.0) as u64;
        tracing::info!(subject = %grant.subject, retry_after = secs, "rate limit reached");
        let rate = st.limits.rate.map_or(0.0, |r| r.per_second);
        return Err(retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            &format!(
                "Too Many Requests: this subject may make {rate} requests per second; retry after {secs} s"
            ),
            secs,
            Refusal::RateLimited,
        ));
    }
    Ok(Some(Principal {
        subject: grant.subject,
        scopes: grant.scopes,
    }))
}

/// Checks that `principal` covers every need in `needs`; the 403 step-up challenge otherwise,
/// naming all the scopes the operation needs.
pub(super) fn authorize(
    st: &State,
    principal: Option<&Principal>,
    needs: &[Need],
    id: Option<&RequestId>,
) -> Result<(), Refused> {
    let Some(p) = principal else {
        return Ok(());
    };
    let missing: Vec<Need> = needs
        .iter()
        .copied()
        .filter(|n| !st.server.scopes_allow(&p.scopes, *n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // All scopes the operation needs: transform implies read, so the broadest suffices.
    let mut scopes: Vec<&str> = vec![];
    for n in [Need::Transform, Need::Read] {
        if needs.contains(&n) {
            scopes.push(st.server.scope_name(n));
            break;
        }
    }
    let what = scopes.join(" ");
    tracing::info!(subject = %p.subject, needs = %what, "refused a request outside the token's scopes");
    let description = format!("this operation needs the scope {what}");
    let r = error_response(
        StatusCode::FORBIDDEN,
        id,
        &format!("Forbidden: insufficient scope: {description}"),
        Some(json!({"requiredScopes": scopes})),
    );
    let c = format!(
        "Bearer error=\"insufficient_scope\", {}, error_description={}",
        challenge_tail(st, &scopes),
        quoted(&description)
    );
    Err(Refused::new(
        with_header(r, header::WWW_AUTHENTICATE, &c),
        Refusal::Forbidden,
    ))
}

/// A transform job slot for `principal` when `need` is transform (`Ok(None)` when nothing is
/// counted), or the 429 at the subject's cap.
pub(super) fn job_slot(
    st: &State,
    principal: Option<&Principal>,
    need: Need,
    id: Option<&RequestId>,
) -> Result<Option<JobSlot>, Refused> {
    let Some(p) = principal else {
        return Ok(None);
    };
    if need != Need::Transform {
        return Ok(None);
    }
    st.limits.job(&p.subject).map_err(|max| {
        tracing::info!(subject = %p.subject, max, "per-subject job cap reached");
        retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            id,
            &format!(
                "Too Many Requests: this subject already runs {max} transform requests at once; retry after {JOB_CAP_RETRY_SECS} s, or once one of them has finished"
            ),
            JOB_CAP_RETRY_SECS,
            Refusal::JobCap,
        )
    })
}

/// The paths where the protected resource metadata is served: the root form, and the endpoint
/// path appended (as served here and as published by `--public-url`).
pub(super) fn is_metadata_path(opts: &HttpOptions, path: &str) -> bool {
    let Some(rest) = path.strip_prefix(WELL_KNOWN) else {
        return false;
    };
    let public_path = metadata_url(&opts.resource_uri())
        .split_once(WELL_KNOWN)
        .map(|(_, p)| p.to_string())
        .unwrap_or_default();
    rest.is_empty() || rest == opts.path || rest == public_path
}

/// The RFC 9728 protected resource metadata document.
pub(super) fn metadata(st: &State) -> Response<Body> {
    let mut doc = json!({
        "resource": st.opts.resource_uri(),
        "scopes_supported": [st.server.scope_name(Need::Read), st.server.scope_name(Need::Transform)],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-media",
    });
    if !st.opts.authorization_servers.is_empty() {
        doc["authorization_servers"] = json!(st.opts.authorization_servers);
    }
    let body = Bytes::from(serde_json::to_vec_pretty(&doc).unwrap_or_default());
    let r = full(StatusCode::OK, "application/json", body);
    let r = with_header(r, header::CACHE_CONTROL, "public, max-age=3600");
    with_header(r, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_url_puts_the_well_known_path_between_origin_and_path() {
        assert_eq!(
            metadata_url("https://media.example.com/tenant/mcp"),
            "https://media.example.com/.well-known/oauth-protected-resource/tenant/mcp"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_other_schemes_are_not_bearer() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bEaReR  abc "),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn challenge_parameters_are_quoted_strings() {
        assert_eq!(quoted(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn the_rate_table_stays_bounded() {
        let mut o = HttpOptions::new("127.0.0.1:1".parse().unwrap());
        o.rate_limit = Some(RateLimit {
            per_second: 0.001,
            burst: 1.0,
        });
        let l = Limits::new(&o);
        for i in 0..MAX_RATE_SUBJECTS + 50 {
            assert!(
                l.take(&format!("s{i}")).is_ok(),
                "a new subject has its burst"
            );
        }
        assert!(lock(&l.buckets).len() <= MAX_RATE_SUBJECTS);
        assert!(l.take("s-last").is_ok());
        let last = format!("s{}", MAX_RATE_SUBJECTS + 49);
        assert!(l.take(&last).is_err(), "a recent subject keeps its deficit");
    }
}
