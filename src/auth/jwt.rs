//! JWT access tokens (RFC 9068) checked against the issuer's published keys: the resource
//! server side of OAuth 2.1 for tokens an authorization server signs.
//!
//! The keys come from the issuer's metadata (`jwks_uri`, found as [`Fetcher::metadata`] says)
//! and are cached; an unknown `kid` refetches them, at most once per `min_refresh_interval`
//! (a flood of made-up kids cannot hammer the provider), and while the provider is down the
//! cached keys keep working. A token is accepted only if its header `alg` is in the allow-list
//! (asymmetric only: never `none`, never HMAC, whatever a JWK says), its signature verifies
//! with the key its `kid` names (a key whose `alg`, `use`, `key_ops` or curve disagrees is not
//! used), `iss` is the issuer, `aud` (a string or an array) holds the audience, `exp` is
//! present and not past, `nbf` not ahead (both with the leeway), `sub` is present, and `typ`
//! is `at+jwt`, `JWT` or absent.
//!
//! Accepted tokens are remembered (by their SHA-256, never the token) until their `exp`, so a
//! client reusing its token pays the signature check once; a change of keys forgets them.
//!
//! Bounded: tokens longer than [`MAX_TOKEN`] (16 KiB) are refused before any parsing, a JWKS
//! with more than [`MAX_KEYS`] keys is refused (the cached keys stay), RSA keys shorter than
//! 2048 bits are not used, and responses are read up to [`super::fetch::MAX_BODY`] (1 MiB).
//!
//! Knows nothing of MCP, HTTP routing or scopes' meaning. Never logs a token or puts one (or a
//! part of one) in an error: errors name the check that failed.

use super::fetch::{FetchError, Fetcher, check_url};
use super::{AuthError, Grant, Validation, Validator};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{DecodingKey, decode};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use thiserror::Error;

pub use jsonwebtoken::Algorithm;

/// The longest token looked at, in bytes.
pub const MAX_TOKEN: usize = 16 * 1024;
/// The most keys a JWKS may hold.
pub const MAX_KEYS: usize = 64;
/// The shortest RSA modulus used, in bytes (2048 bits).
const MIN_RSA_BYTES: usize = 256;

/// Every asymmetric algorithm the validator can check: the default allow-list.
pub const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// What a [`JwtValidator`] accepts.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    /// The issuer, exactly as its metadata and tokens' `iss` say it.
    pub issuer: String,
    /// This server's canonical resource URI (RFC 8707): tokens' `aud` must hold it.
    pub audience: String,
    /// The allow-list of header `alg`s (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// The shortest time between two fetches of the keys.
    pub min_refresh_interval: Duration,
    /// Timeout of each request to the issuer.
    pub http_timeout: Duration,
    /// How many accepted tokens are remembered (0: none), so that a client's next request
    /// with the same token skips the signature check: keyed by the token's SHA-256, each until
    /// its `exp` (plus leeway), all forgotten when the keys change.
    pub token_cache_entries: usize,
}

impl JwtConfig {
    /// Defaults: every asymmetric algorithm, 30 s leeway, keys refetched at most every 30 s,
    /// 10 s HTTP timeout, 10 000 accepted tokens remembered.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: ASYMMETRIC.to_vec(),
            leeway: Duration::from_secs(30),
            min_refresh_interval: Duration::from_secs(30),
            http_timeout: Duration::from_secs(10),
            token_cache_entries: 10_000,
        }
    }
}

/// Why a validator cannot be built.
#[derive(Debug, Error)]
pub enum JwtError {
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    #[error("{0:?} is not allowed: only asymmetric signatures are accepted")]
    Symmetric(Algorithm),
    #[error("JWKS: {0}")]
    Jwks(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// A verification key from the JWKS, with the algorithms it may verify.
#[derive(Debug)]
struct Key {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// Where keys come from.
enum Source {
    /// The issuer's `jwks_uri`, refetched on an unknown `kid`.
    Issuer(Fetcher),
    /// Given at construction (tests, benchmarks); never refetched.
    Fixed,
}

#[derive(Default)]
struct State {
    keys: Arc<Vec<Key>>,
    /// Whether keys were ever obtained.
    fetched: bool,
    /// The JWKS URL, once discovered.
    jwks_uri: Option<String>,
    last_attempt: Option<Instant>,
    /// Why the last fetch failed, if it did.
    last_error: Option<String>,
}

/// Validates JWT access tokens against an issuer's keys.
pub struct JwtValidator {
    config: JwtConfig,
    /// One check set per allowed algorithm (jsonwebtoken's `Validation`, prepared once).
    checks: Vec<(Algorithm, jsonwebtoken::Validation)>,
    source: Source,
    state: Mutex<State>,
    /// One refetch at a time; the others wait for its keys.
    refresh: tokio::sync::Mutex<()>,
    /// Accepted tokens: SHA-256 of the token -> (grant, exp).
    accepted: Mutex<HashMap<[u8; 32], (Grant, u64)>>,
}

impl JwtValidator {
    /// A validator that discovers the issuer's keys when it first needs them (see
    /// [`JwtValidator::prefetch`] to do it at startup).
    pub fn new(config: JwtConfig) -> Result<Self, JwtError> {
        check_url(&config.issuer)?;
        let fetcher = Fetcher::new(config.http_timeout)?;
        Self::build(config, Source::Issuer(fetcher), State::default())
    }

    /// A validator with fixed keys (a JWKS document), which never fetches anything.
    pub fn with_keys(config: JwtConfig, jwks: &serde_json::Value) -> Result<Self, JwtError> {
        let keys = parse_jwks(jwks, &config.algorithms).map_err(JwtError::Jwks)?;
        let state = State {
            keys: Arc::new(keys),
            fetched: true,
            ..State::default()
        };
        Self::build(config, Source::Fixed, state)
    }

    fn build(config: JwtConfig, source: Source, state: State) -> Result<Self, JwtError> {
        if config.algorithms.is_empty() {
            return Err(JwtError::NoAlgorithms);
        }
        if let Some(a) = config.algorithms.iter().find(|a| !ASYMMETRIC.contains(a)) {
            return Err(JwtError::Symmetric(*a));
        }
        let checks = config
            .algorithms
            .iter()
            .map(|alg| {
                let mut v = jsonwebtoken::Validation::new(*alg);
                v.leeway = config.leeway.as_secs();
                v.validate_exp = true;
                v.validate_nbf = true;
                v.validate_aud = true;
                v.set_issuer(&[&config.issuer]);
                v.set_audience(&[&config.audience]);
                v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                (*alg, v)
            })
            .collect();
        Ok(Self {
            config,
            checks,
            source,
            state: Mutex::new(state),
            refresh: tokio::sync::Mutex::new(()),
            accepted: Mutex::new(HashMap::new()),
        })
    }

    /// Fetches the keys now (at startup, say), subject to the refresh rate limit.
    pub async fn prefetch(&self) -> Result<(), AuthError> {
        self.refresh().await;
        let state = self.lock();
        match (&state.last_error, state.fetched) {
            (Some(e), _) => Err(AuthError::Unavailable(e.clone())),
            (None, false) => Err(AuthError::Unavailable("no keys fetched yet".into())),
            (None, true) => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent (plain assignments).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn check(&self, token: &str) -> Result<Grant, AuthError> {
        if token.len() > MAX_TOKEN {
            return Err(invalid(format!("longer than {MAX_TOKEN} bytes")));
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let leeway = self.config.leeway.as_secs();
        if let Some((grant, exp)) = self.remembered().get(&digest)
            && now <= exp.saturating_add(leeway)
        {
            return Ok(grant.clone());
        }
        let header = Header::parse(token)?;
        let alg = self.allowed(&header.alg)?;
        if let Some(typ) = &header.typ
            && !["at+jwt", "application/at+jwt", "jwt"]
                .iter()
                .any(|t| typ.eq_ignore_ascii_case(t))
        {
            return Err(invalid("typ is neither at+jwt nor JWT"));
        }
        if header.crit.is_some() {
            return Err(invalid("crit header parameters are not supported"));
        }
        let kid = header.kid.as_deref();
        let keys = match self.find(kid, alg)? {
            Some(keys) => keys,
            None => {
                self.refresh().await;
                match self.find(kid, alg)? {
                    Some(keys) => keys,
                    None => return Err(self.no_key(kid)),
                }
            }
        };
        let Some(key) = pick(&keys, kid, alg) else {
            return Err(self.no_key(kid));
        };
        let Some((_, checks)) = self.checks.iter().find(|(a, _)| *a == alg) else {
            return Err(invalid("algorithm not allowed"));
        };
        let data = decode::<Claims>(token, &key.key, checks).map_err(|e| refusal(e.kind()))?;
        let (grant, exp) = data.claims.grant()?;
        self.remember(digest, &grant, exp, now);
        Ok(grant)
    }

    /// How many accepted tokens are remembered.
    pub fn remembered_tokens(&self) -> usize {
        self.remembered().len()
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Grant, u64)>> {
        self.accepted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers an accepted token; when full, forgets the expired ones, then any one.
    fn remember(&self, digest: [u8; 32], grant: &Grant, exp: u64, now: u64) {
        let max = self.config.token_cache_entries;
        if max == 0 {
            return;
        }
        let leeway = self.config.leeway.as_secs();
        let mut cache = self.remembered();
        if cache.len() >= max {
            cache.retain(|_, (_, e)| now <= e.saturating_add(leeway));
            if cache.len() >= max
                && let Some(k) = cache.keys().next().copied()
            {
                cache.remove(&k);
            }
        }
        cache.insert(digest, (grant.clone(), exp));
    }

    /// The header's `alg`, if allowed.
    fn allowed(&self, alg: &str) -> Result<Algorithm, AuthError> {
        if alg.eq_ignore_ascii_case("none") {
            return Err(invalid("alg none (unsigned) is refused"));
        }
        alg.parse::<Algorithm>()
            .ok()
            .filter(|a| self.config.algorithms.contains(a))
            .ok_or_else(|| invalid("alg is not in the allow-list"))
    }

    /// The cached keys if one fits `kid` (`None`: no such key yet). A key that exists but is
    /// not for `alg` is an error at once (no refetch).
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Result<Option<Arc<Vec<Key>>>, AuthError> {
        let keys = self.lock().keys.clone();
        let named: Vec<&Key> = keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .collect();
        if named.is_empty() {
            return Ok(None);
        }
        if kid.is_some() && !named.iter().any(|k| k.algorithms.contains(&alg)) {
            return Err(invalid("the key named by kid is not for the token's alg"));
        }
        Ok(Some(keys))
    }

    /// The error for a token whose key is not known (after a refetch, or none allowed).
    fn no_key(&self, kid: Option<&str>) -> AuthError {
        let state = self.lock();
        if !state.fetched {
            return AuthError::Unavailable(format!(
                "no keys from the issuer yet: {}",
                state.last_error.as_deref().unwrap_or("not fetched")
            ));
        }
        if let Some(e) = &state.last_error {
            return AuthError::Unavailable(format!(
                "unknown key id and the issuer's keys cannot be refreshed: {e}"
            ));
        }
        match kid {
            Some(_) => invalid("no key with this kid in the issuer's keys"),
            None => invalid("no kid and no single key for its alg"),
        }
    }

    /// Refetches the keys unless the last attempt was less than `min_refresh_interval` ago.
    async fn refresh(&self) {
        let Source::Issuer(fetcher) = &self.source else {
            return;
        };
        let _one = self.refresh.lock().await;
        let (due, jwks_uri) = {
            let state = self.lock();
            let due = state
                .last_attempt
                .is_none_or(|t| t.elapsed() >= self.config.min_refresh_interval);
            (due, state.jwks_uri.clone())
        };
        if !due {
            return;
        }
        self.lock().last_attempt = Some(Instant::now());
        let fetched = self.fetch(fetcher, jwks_uri).await;
        let mut state = self.lock();
        match fetched {
            Ok((uri, keys)) => {
                tracing::debug!(jwks_uri = %uri, keys = keys.len(), "fetched the issuer's keys");
                state.jwks_uri = Some(uri);
                state.keys = Arc::new(keys);
                // A key may be gone: tokens it signed must be checked again.
                self.remembered().clear();
                state.fetched = true;
                state.last_error = None;
            }
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e, "cannot fetch the issuer's keys");
                state.last_error = Some(e);
            }
        }
    }

    async fn fetch(
        &self,
        fetcher: &Fetcher,
        jwks_uri: Option<String>,
    ) -> Result<(String, Vec<Key>), String> {
        let uri = match jwks_uri {
            Some(uri) => uri,
            None => {
                let meta = fetcher
                    .metadata(&self.config.issuer)
                    .await
                    .map_err(|e| format!("metadata: {e}"))?;
                let uri = meta
                    .jwks_uri
                    .ok_or_else(|| "the issuer's metadata has no jwks_uri".to_string())?;
                check_url(&uri).map_err(|e| e.to_string())?;
                uri
            }
        };
        let doc = fetcher.get_json(&uri).await.map_err(|e| e.to_string())?;
        let keys = parse_jwks(&doc, &self.config.algorithms).map_err(|e| format!("{uri}: {e}"))?;
        Ok((uri, keys))
    }
}

impl Validator for JwtValidator {
    fn validate<'a>(&'a self, token: &'a str) -> Validation<'a> {
        Box::pin(self.check(token))
    }
}

fn invalid(why: impl Into<String>) -> AuthError {
    AuthError::Invalid(why.into())
}

/// The key for `kid` (or, without a kid, the only key for `alg`).
fn pick<'k>(keys: &'k [Key], kid: Option<&str>, alg: Algorithm) -> Option<&'k Key> {
    let mut fitting = keys
        .iter()
        .filter(|k| k.algorithms.contains(&alg) && (kid.is_none() || k.kid.as_deref() == kid));
    let first = fitting.next()?;
    // Without a kid, two candidate keys are ambiguous: refuse rather than try each.
    if kid.is_none() && fitting.next().is_some() {
        return None;
    }
    Some(first)
}

/// What a failed jsonwebtoken check means, without the token.
fn refusal(kind: &ErrorKind) -> AuthError {
    invalid(match kind {
        ErrorKind::InvalidSignature => "bad signature".to_string(),
        ErrorKind::ExpiredSignature => "expired (exp is past)".to_string(),
        ErrorKind::ImmatureSignature => "not yet valid (nbf is ahead)".to_string(),
        ErrorKind::InvalidIssuer => "wrong issuer (iss)".to_string(),
        ErrorKind::InvalidAudience => "wrong audience (aud)".to_string(),
        ErrorKind::MissingRequiredClaim(c) => format!("missing claim {c}"),
        ErrorKind::InvalidClaimFormat(c) => format!("malformed claim {c}"),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "algorithm not allowed".to_string()
        }
        ErrorKind::Json(_) | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            "malformed token".to_string()
        }
        _ => "signature cannot be checked".to_string(),
    })
}

/// The JOSE header fields looked at, parsed before any key is chosen.
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

impl Header {
    fn parse(token: &str) -> Result<Self, AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("not a signed JWT (three dot-separated parts)"));
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| invalid("malformed header (base64url)"))?;
        serde_json::from_slice(&bytes).map_err(|_| invalid("malformed header (JSON with alg)"))
    }
}

/// The claims read from a token that passed jsonwebtoken's checks.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
    scp: Option<serde_json::Value>,
}

impl Claims {
    /// The grant and the `exp` it holds until.
    fn grant(self) -> Result<(Grant, u64), AuthError> {
        let subject = self
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("missing claim sub"))?;
        let exp = self
            .exp
            .as_ref()
            .and_then(|e| e.as_u64().or_else(|| e.as_f64().map(|f| f.max(0.0) as u64)))
            .ok_or_else(|| invalid("malformed claim exp"))?;
        let mut scopes = Vec::new();
        for claim in [&self.scope, &self.scp].into_iter().flatten() {
            scopes.extend(scope_list(claim));
        }
        scopes.dedup();
        let grant = Grant {
            subject,
            scopes,
            expires: UNIX_EPOCH.checked_add(Duration::from_secs(exp)),
        };
        Ok((grant, exp))
    }
}

/// Scopes from a `scope`/`scp` claim: a space-separated string or an array of strings.
pub(crate) fn scope_list(claim: &serde_json::Value) -> Vec<String> {
    match claim {
        serde_json::Value::String(s) => s.split_ascii_whitespace().map(str::to_owned).collect(),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str())
            .flat_map(|s| s.split_ascii_whitespace())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The usable verification keys of a JWKS document: signature keys of an asymmetric type, for
/// at least one allowed algorithm. Keys of other types (`oct`, encryption keys, unknown
/// kinds) are skipped; more than [`MAX_KEYS`] keys or no `keys` array is an error.
fn parse_jwks(doc: &serde_json::Value, allowed: &[Algorithm]) -> Result<Vec<Key>, String> {
    let list = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or_else(|| "no keys array".to_string())?;
    if list.len() > MAX_KEYS {
        return Err(format!("{} keys, more than {MAX_KEYS}", list.len()));
    }
    let mut keys = Vec::new();
    for value in list {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value.clone()) else {
            continue;
        };
        if let Some(key) = usable(&jwk, allowed) {
            keys.push(key);
        }
    }
    Ok(keys)
}

fn usable(jwk: &Jwk, allowed: &[Algorithm]) -> Option<Key> {
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    // What the key's type can verify; never HMAC (an `oct` key), whatever its `alg` says.
    let by_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let n = URL_SAFE_NO_PAD.decode(&rsa.n).ok()?;
            let significant = n.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_BYTES {
                return None;
            }
            &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ]
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            &[Algorithm::EdDSA]
        }
        _ => return None,
    };
    let declared = match &common.key_algorithm {
        Some(a) => Some(a.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    let algorithms: Vec<Algorithm> = by_type
        .iter()
        .copied()
        .filter(|a| allowed.contains(a) && declared.is_none_or(|d| d == *a))
        .collect();
    if algorithms.is_empty() {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: common.key_id.clone(),
        algorithms,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hmac_and_tiny_rsa_keys_are_never_used() {
        let jwks = json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "alg": "HS256", "kid": "h"},
            {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 128]), "e": "AQAB", "kid": "small"},
            {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 256]), "e": "AQAB", "kid": "enc", "use": "enc"},
            {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 256]), "e": "AQAB", "kid": "hs", "alg": "HS256"},
            {"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 256]), "e": "AQAB", "kid": "ok", "alg": "PS256"},
            {"kty": "weird"},
        ]});
        let keys = parse_jwks(&jwks, &ASYMMETRIC).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("ok"));
        assert_eq!(keys[0].algorithms, [Algorithm::PS256]);
    }

    #[test]
    fn too_many_keys_is_refused() {
        let key = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 256]), "e": "AQAB"});
        let jwks = json!({"keys": vec![key; MAX_KEYS + 1]});
        assert!(
            parse_jwks(&jwks, &ASYMMETRIC)
                .unwrap_err()
                .contains("more than")
        );
    }

    #[test]
    fn a_symmetric_allow_list_is_refused() {
        let mut config = JwtConfig::new("https://as.example", "https://mcp.example/mcp");
        config.algorithms = vec![Algorithm::RS256, Algorithm::HS256];
        assert!(matches!(
            JwtValidator::with_keys(config, &json!({"keys": []})),
            Err(JwtError::Symmetric(Algorithm::HS256))
        ));
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        assert_eq!(scope_list(&json!("a b  c")), ["a", "b", "c"]);
        assert_eq!(scope_list(&json!(["a", "b"])), ["a", "b"]);
        assert!(scope_list(&json!(3)).is_empty());
    }

    /// A token signed with the benchmark's RS256 test key (benches/auth-keys.json).
    fn signed(claims: serde_json::Value) -> (serde_json::Value, String) {
        let keys: serde_json::Value =
            serde_json::from_str(include_str!("../../benches/auth-keys.json")).unwrap();
        let der = base64::engine::general_purpose::STANDARD
            .decode(keys["der"]["bench-RS256"].as_str().unwrap())
            .unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some("bench-RS256".into());
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_der(&der),
        )
        .unwrap();
        (json!({"keys": keys["keys"]}), token)
    }

    fn unix_now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[tokio::test]
    async fn a_remembered_token_still_expires() {
        let claims = |exp: u64| {
            json!({"iss": "https://as.example", "aud": "https://mcp.example/mcp", "sub": "s",
                   "exp": exp})
        };
        let (jwks, token) = signed(claims(unix_now() + 1));
        let mut config = JwtConfig::new("https://as.example", "https://mcp.example/mcp");
        config.leeway = Duration::ZERO;
        let v = JwtValidator::with_keys(config.clone(), &jwks).unwrap();
        assert_eq!(v.validate(&token).await.unwrap().subject, "s");
        assert_eq!(v.remembered_tokens(), 1);
        assert!(v.validate(&token).await.is_ok());
        // Past its exp, the remembered grant is not served.
        std::thread::sleep(Duration::from_millis(2100));
        let e = v.validate(&token).await.unwrap_err();
        assert!(
            matches!(&e, AuthError::Invalid(m) if m.contains("expired")),
            "{e}"
        );

        // Bounded, and off at 0.
        config.token_cache_entries = 2;
        let v = JwtValidator::with_keys(config.clone(), &jwks).unwrap();
        for n in 0..5 {
            let (_, t) = signed(claims(unix_now() + 600 + n));
            assert!(v.validate(&t).await.is_ok());
        }
        assert_eq!(v.remembered_tokens(), 2);
        config.token_cache_entries = 0;
        let v = JwtValidator::with_keys(config, &jwks).unwrap();
        assert!(
            v.validate(&signed(claims(unix_now() + 600)).1)
                .await
                .is_ok()
        );
        assert_eq!(v.remembered_tokens(), 0);
    }

    #[tokio::test]
    async fn oversized_and_malformed_tokens_say_why() {
        let v = JwtValidator::with_keys(
            JwtConfig::new("https://as.example", "https://mcp.example/mcp"),
            &json!({"keys": []}),
        )
        .unwrap();
        let long = "a".repeat(MAX_TOKEN + 1);
        let e = v.validate(&long).await.unwrap_err();
        assert!(
            matches!(&e, AuthError::Invalid(m) if m.contains("longer")),
            "{e}"
        );
        let e = v.validate("a.b").await.unwrap_err();
        assert!(
            matches!(&e, AuthError::Invalid(m) if m.contains("three")),
            "{e}"
        );
        let none = format!("{}.e30.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        let e = v.validate(&none).await.unwrap_err();
        assert!(
            matches!(&e, AuthError::Invalid(m) if m.contains("none")),
            "{e}"
        );
        let hs = format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#));
        let e = v.validate(&hs).await.unwrap_err();
        assert!(
            matches!(&e, AuthError::Invalid(m) if m.contains("allow-list")),
            "{e}"
        );
    }
}
