//! Opaque access tokens, checked by asking the authorization server (RFC 7662 token
//! introspection): POST the token to its introspection endpoint, authenticated as this
//! resource server (HTTP basic client credentials), and read what it says.
//!
//! `active: false` (revoked, expired, unknown) is refused; `exp` and `nbf` (when present) are
//! checked with the leeway, `aud` when present must hold this server's resource URI, `iss`
//! when present must be the configured issuer, `token_type` when present must be `Bearer`.
//! The subject is `sub`, or for a client-credentials token without one (oidc-provider
//! introspects those without `sub`) its `client_id`, as RFC 9068 does for such JWTs.
//!
//! Active answers are cached for the token's lifetime, at most `max_cache_ttl` (so a
//! revocation is seen within that time), in a cache bounded in entries and keyed by the
//! SHA-256 of the token, never the token itself. When the endpoint cannot be reached, cached
//! tokens keep working and others get [`AuthError::Unavailable`].
//!
//! Knows nothing of MCP or HTTP routing. Never logs a token or puts one in an error.

use super::fetch::{FetchError, Fetcher, check_url};
use super::jwt::{MAX_TOKEN, scope_list};
use super::{AuthError, Grant, Validation, Validator};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How an [`Introspector`] reaches the authorization server and what it accepts.
#[derive(Clone, Debug)]
pub struct IntrospectConfig {
    /// The introspection endpoint (the issuer's metadata names it `introspection_endpoint`;
    /// [`Fetcher::metadata`] reads it).
    pub endpoint: String,
    /// This resource server's client credentials at the authorization server.
    pub client_id: String,
    pub client_secret: String,
    /// This server's canonical resource URI: an answer's `aud`, when present, must hold it.
    pub audience: String,
    /// When set, an answer's `iss`, when present, must equal it.
    pub issuer: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// The most tokens cached.
    pub max_cache_entries: usize,
    /// The longest an answer is cached (also for answers without `exp`).
    pub max_cache_ttl: Duration,
    /// Timeout of each request to the endpoint.
    pub http_timeout: Duration,
}

impl IntrospectConfig {
    /// Defaults: no issuer check, 30 s leeway, 10 000 cached tokens for at most 5 minutes
    /// each, 10 s HTTP timeout.
    pub fn new(
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            audience: audience.into(),
            issuer: None,
            leeway: Duration::from_secs(30),
            max_cache_entries: 10_000,
            max_cache_ttl: Duration::from_secs(300),
            http_timeout: Duration::from_secs(10),
        }
    }
}

struct Cached {
    grant: Grant,
    until: Instant,
}

/// Validates opaque tokens by RFC 7662 introspection.
pub struct Introspector {
    config: IntrospectConfig,
    fetcher: Fetcher,
    /// SHA-256 of the token -> its grant.
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

impl Introspector {
    pub fn new(config: IntrospectConfig) -> Result<Self, FetchError> {
        check_url(&config.endpoint)?;
        let fetcher = Fetcher::new(config.http_timeout)?;
        Ok(Self {
            config,
            fetcher,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// How many tokens are cached.
    pub fn cached(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn check(&self, token: &str) -> Result<Grant, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Err(AuthError::Invalid(format!(
                "empty or longer than {MAX_TOKEN} bytes"
            )));
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        if let Some(hit) = self.lock().get(&key)
            && hit.until > now
        {
            return Ok(hit.grant.clone());
        }
        let answer = self
            .fetcher
            .post_form_json(
                &self.config.endpoint,
                &self.config.client_id,
                &self.config.client_secret,
                &[("token", token), ("token_type_hint", "access_token")],
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "token introspection failed");
                AuthError::Unavailable(match e {
                    FetchError::Status {
                        status: 401 | 403, ..
                    } => format!("introspection refused this server's client credentials: {e}"),
                    e => format!("introspection: {e}"),
                })
            })?;
        let grant = judge(&answer, &self.config, SystemTime::now())?;
        let lifetime = grant
            .expires
            .and_then(|e| e.duration_since(SystemTime::now()).ok())
            .map_or(self.config.max_cache_ttl, |d| {
                d.min(self.config.max_cache_ttl)
            });
        self.remember(key, grant.clone(), now + lifetime);
        Ok(grant)
    }

    /// Caches a grant; when full, drops expired entries, then the one expiring first.
    fn remember(&self, key: [u8; 32], grant: Grant, until: Instant) {
        if self.config.max_cache_entries == 0 {
            return;
        }
        let mut cache = self.lock();
        if cache.len() >= self.config.max_cache_entries && !cache.contains_key(&key) {
            let now = Instant::now();
            cache.retain(|_, c| c.until > now);
            if cache.len() >= self.config.max_cache_entries
                && let Some(first) = cache.iter().min_by_key(|(_, c)| c.until).map(|(k, _)| *k)
            {
                cache.remove(&first);
            }
        }
        cache.insert(key, Cached { grant, until });
    }
}

impl Validator for Introspector {
    fn validate<'a>(&'a self, token: &'a str) -> Validation<'a> {
        Box::pin(self.check(token))
    }
}

fn invalid(why: &str) -> AuthError {
    AuthError::Invalid(why.to_owned())
}

/// What an introspection answer grants, checked as the module doc says.
fn judge(
    answer: &serde_json::Value,
    config: &IntrospectConfig,
    now: SystemTime,
) -> Result<Grant, AuthError> {
    if answer.get("active").and_then(|a| a.as_bool()) != Some(true) {
        return Err(invalid("not active (revoked, expired or unknown)"));
    }
    let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let leeway = config.leeway.as_secs();
    let time = |name: &str| -> Result<Option<u64>, AuthError> {
        match answer.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .map(Some)
                .ok_or_else(|| AuthError::Invalid(format!("malformed claim {name}"))),
        }
    };
    let exp = time("exp")?;
    if exp.is_some_and(|e| e.saturating_add(leeway) < secs) {
        return Err(invalid("expired (exp is past)"));
    }
    if time("nbf")?.is_some_and(|n| n > secs.saturating_add(leeway)) {
        return Err(invalid("not yet valid (nbf is ahead)"));
    }
    let text = |name: &str| answer.get(name).and_then(|v| v.as_str());
    if let (Some(want), Some(iss)) = (&config.issuer, answer.get("iss"))
        && iss.as_str() != Some(want.as_str())
    {
        return Err(invalid("wrong issuer (iss)"));
    }
    if let Some(aud) = answer.get("aud") {
        let holds = match aud {
            serde_json::Value::String(a) => *a == config.audience,
            serde_json::Value::Array(a) => a.iter().any(|v| v.as_str() == Some(&config.audience)),
            _ => false,
        };
        if !holds {
            return Err(invalid("wrong audience (aud)"));
        }
    }
    if let Some(t) = answer.get("token_type")
        && !t.as_str().is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    {
        return Err(invalid("not a bearer access token (token_type)"));
    }
    let subject = text("sub")
        .or_else(|| text("client_id"))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("missing claim sub"))?;
    Ok(Grant {
        subject: subject.to_owned(),
        scopes: answer.get("scope").map(scope_list).unwrap_or_default(),
        expires: exp.and_then(|e| UNIX_EPOCH.checked_add(Duration::from_secs(e))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> IntrospectConfig {
        let mut c = IntrospectConfig::new(
            "https://as.example/introspect",
            "rs",
            "secret",
            "https://mcp.example/mcp",
        );
        c.issuer = Some("https://as.example".into());
        c
    }

    const NOW: u64 = 1_800_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn refusal(answer: serde_json::Value) -> String {
        match judge(&answer, &config(), at(NOW)) {
            Err(AuthError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn an_active_answer_grants_its_subject_and_scopes() {
        let g = judge(
            &json!({"active": true, "sub": "alice", "scope": "media:read media:transform",
                    "exp": NOW + 60, "aud": ["x", "https://mcp.example/mcp"],
                    "iss": "https://as.example", "token_type": "Bearer"}),
            &config(),
            at(NOW),
        )
        .unwrap();
        assert_eq!(g.subject, "alice");
        assert_eq!(g.scopes, ["media:read", "media:transform"]);
        assert_eq!(g.expires, Some(at(NOW + 60)));
        let g = judge(
            &json!({"active": true, "client_id": "svc"}),
            &config(),
            at(NOW),
        )
        .unwrap();
        assert_eq!(g.subject, "svc", "client_id stands in for a missing sub");
        assert!(g.scopes.is_empty());
    }

    #[test]
    fn each_failed_check_is_named() {
        assert!(refusal(json!({"active": false, "sub": "a"})).contains("not active"));
        assert!(refusal(json!({"sub": "a"})).contains("not active"));
        assert!(refusal(json!({"active": true, "sub": "a", "exp": NOW - 31})).contains("expired"));
        assert!(refusal(json!({"active": true, "sub": "a", "nbf": NOW + 31})).contains("nbf"));
        assert!(
            refusal(json!({"active": true, "sub": "a", "aud": "https://other"}))
                .contains("audience")
        );
        assert!(
            refusal(json!({"active": true, "sub": "a", "iss": "https://evil"})).contains("issuer")
        );
        assert!(refusal(json!({"active": true})).contains("sub"));
        assert!(
            refusal(json!({"active": true, "sub": "a", "token_type": "refresh_token"}))
                .contains("token_type")
        );
        // Within the leeway: accepted.
        assert!(
            judge(
                &json!({"active": true, "sub": "a", "exp": NOW - 29}),
                &config(),
                at(NOW)
            )
            .is_ok()
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = config();
        c.max_cache_entries = 3;
        let i = Introspector::new(c).unwrap();
        let grant = Grant {
            subject: "a".into(),
            scopes: vec![],
            expires: None,
        };
        let now = Instant::now();
        for n in 0..10u8 {
            i.remember(
                [n; 32],
                grant.clone(),
                now + Duration::from_secs(100 + u64::from(n)),
            );
        }
        assert_eq!(i.cached(), 3);
        // The ones expiring last stay.
        assert!(i.lock().contains_key(&[9; 32]));
        assert!(!i.lock().contains_key(&[0; 32]));
    }
}
