//! What checking a JWT access token costs per request once the issuer's keys are cached
//! (`JwtValidator::with_keys`: no network). `first/<alg>`: a token not seen before (the
//! validator's token cache off): header parse, key lookup, signature (RS256 with a 2048-bit
//! key, ES256 on P-256) and claims. `again/<alg>`: the same token on a later request (the
//! usual case: a client reuses its token), answered from the token cache (SHA-256 + lookup). Keys: benches/auth-keys.json (generated once with
//! node's crypto for this benchmark; test keys, never used elsewhere).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use mcp_media::auth::jwt::{JwtConfig, JwtValidator};
use mcp_media::auth::{Grant, Validator};
use serde_json::{Value, json};
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

const ISSUER: &str = "https://as.example";
const AUD: &str = "https://mcp.example/mcp";

fn token(keys: &Value, alg: Algorithm) -> String {
    let kid = format!("bench-{alg:?}");
    let der = STANDARD
        .decode(keys["der"][&kid].as_str().expect("der"))
        .expect("base64");
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
        _ => EncodingKey::from_ec_der(&der),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid);
    header.typ = Some("at+jwt".into());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": ISSUER, "aud": AUD, "sub": "bench-client", "client_id": "bench-client",
        "scope": "media:read media:transform", "iat": now, "exp": now + 86_400, "jti": "b",
    });
    encode(&header, &claims, &key).expect("signed")
}

/// Runs a validation to completion: with the keys cached it never waits.
fn validate(v: &JwtValidator, token: &str) -> Grant {
    let mut f = v.validate(token);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r.expect("valid token"),
        Poll::Pending => panic!("a cached-keys validation waited"),
    }
}

fn bench(c: &mut Criterion) {
    let keys: Value = serde_json::from_str(include_str!("auth-keys.json")).expect("keys");
    let jwks = json!({"keys": keys["keys"]});
    let mut first = JwtConfig::new(ISSUER, AUD);
    first.token_cache_entries = 0;
    let first = JwtValidator::with_keys(first, &jwks).expect("validator");
    let again = JwtValidator::with_keys(JwtConfig::new(ISSUER, AUD), &jwks).expect("validator");
    let mut group = c.benchmark_group("jwt_validate");
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let t = token(&keys, alg);
        assert_eq!(validate(&first, &t).subject, "bench-client");
        group.bench_function(format!("first/{alg:?}"), |b| {
            b.iter(|| validate(&first, black_box(&t)))
        });
        assert_eq!(validate(&again, &t).subject, "bench-client");
        assert_eq!(
            again.remembered_tokens(),
            1 + usize::from(alg == Algorithm::ES256)
        );
        group.bench_function(format!("again/{alg:?}"), |b| {
            b.iter(|| validate(&again, black_box(&t)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
