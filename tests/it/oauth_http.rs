//! OAuth end to end through the real binary: `serve --listen 127.0.0.1:PORT --oauth-issuer`
//! against the oidc-provider harness (see `oauth`), spoken to in raw HTTP (see `http`). Tokens
//! are issued by client credentials for the resource `http://127.0.0.1:PORT/mcp`; checks the
//! status codes and challenges the transport answers, scope filtering, RFC 9728 metadata, the
//! provider going down (cached keys; 503 without them) and opaque tokens by introspection.
//! Knows nothing of the server's internals: only the wire.
//!
//! Needs Node.js and tests/auth/node_modules, as `oauth` says.

use crate::auth::{call, challenge, in_session, legacy_session, tool_names};
use crate::http::HttpServer;
use crate::oauth::Provider;
use crate::util::samples;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

const SCOPES: &str = "media:read media:transform";

/// A free loopback port: bound, read and released (the server binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local address")
        .port()
}

/// The canonical resource URI of a server on `port` at the default path.
fn resource(port: u16) -> String {
    format!("http://127.0.0.1:{port}/mcp")
}

/// The binary on `port`, accepting JWT access tokens from `p` (and `extra` flags).
fn serve(p: &Provider, port: u16, extra: &[&str], env: &[(&str, &str)]) -> HttpServer {
    let root = samples().to_string_lossy().into_owned();
    let mut args = vec!["--oauth-issuer", p.issuer.as_str()];
    args.extend_from_slice(extra);
    args.push(&root);
    HttpServer::spawn_listen(&format!("127.0.0.1:{port}"), &args, env)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn transcode() -> serde_json::Value {
    json!({"name": "audio_transcode", "arguments": {
        "uri": "media://samples/audio/tone.wav", "format": "wav", "duration": 0.1}})
}

fn probe() -> serde_json::Value {
    json!({"name": "media_probe", "arguments": {"uri": "media://samples/audio/tone.wav"}})
}

#[tokio::test]
async fn a_full_token_lists_every_tool_and_transcodes() {
    let p = Provider::start();
    let port = free_port();
    let s = serve(&p, port, &[], &[]);
    let token = p.token(&resource(port), SCOPES).await;
    let names = tool_names(&call(&s, Some(&token), "tools/list", json!({})));
    assert!(
        names.len() > 2
            && names.contains(&"audio_transcode".to_string())
            && names.contains(&"media_probe".to_string()),
        "{names:?}"
    );
    let r = call(&s, Some(&token), "tools/call", transcode());
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    assert!(v["result"].is_object(), "{v}");
    assert_ne!(v["result"]["isError"], json!(true), "{v}");
    // No token at all: the challenge names the metadata and the scopes.
    let r = call(&s, None, "tools/list", json!({}));
    assert_eq!(r.status, 401, "{r:?}");
    let c = challenge(&r);
    assert_eq!(
        c["resource_metadata"],
        format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp")
    );
    assert!(c["scope"].contains("media:read"), "{c:?}");
}

#[tokio::test]
async fn a_read_only_token_sees_read_tools_and_a_transform_gets_403_step_up() {
    let p = Provider::start();
    let port = free_port();
    let s = serve(&p, port, &[], &[]);
    let token = p.token(&resource(port), "media:read").await;
    let names = tool_names(&call(&s, Some(&token), "tools/list", json!({})));
    assert_eq!(names, vec!["media_list", "media_probe"]);
    let r = call(&s, Some(&token), "tools/call", probe());
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["result"]["structuredContent"]["kind"], "audio");
    let r = call(&s, Some(&token), "tools/call", transcode());
    assert_eq!(r.status, 403, "{r:?}");
    let c = challenge(&r);
    assert_eq!(c["error"], "insufficient_scope");
    assert_eq!(c["scope"], "media:transform");
}

#[tokio::test]
async fn wrong_audience_expired_and_crafted_tokens_get_401_invalid_token() {
    let p = Provider::start();
    let port = free_port();
    let s = serve(&p, port, &[], &[]);
    let other = p.token("https://elsewhere.example/mcp", SCOPES).await;
    let expired = p.craft(json!({"aud": resource(port), "iat": 1_000, "exp": 2_000}));
    // Signed by the provider's key but for another issuer; and a valid one with its
    // signature's last characters changed.
    let foreign = p.craft(json!({"aud": resource(port), "iss": "http://127.0.0.1:1"}));
    let early = p.craft(json!({"aud": resource(port), "nbf": now() + 3600}));
    let good = p.token(&resource(port), SCOPES).await;
    // `alg: none` with the provider's own claims (more scope) and no signature.
    let mut parts = good.split('.');
    let head = parts.next().expect("header");
    let mut claims: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(parts.next().expect("payload"))
            .expect("base64url"),
    )
    .expect("claims");
    claims["scope"] = json!(SCOPES);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).expect("base64url")).expect("header");
    // HMAC confusion: HS256 keyed with the provider's public key (PEM), naming its kid.
    let kid = p.kid("RS256");
    let pem = p.keys()["public_pem"][&kid]
        .as_str()
        .expect("public PEM")
        .to_owned();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.kid = Some(kid);
    let confused = jsonwebtoken::encode(
        &h,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(pem.as_bytes()).expect("an HMAC key"),
    )
    .expect("signed");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // The signature's first character (its last one may carry only padding bits).
    let at = good.rfind('.').expect("a JWT") + 1;
    let first = &good[at..at + 1];
    let tampered = format!(
        "{}{}{}",
        &good[..at],
        if first == "A" { "B" } else { "A" },
        &good[at + 1..]
    );
    for (what, t) in [
        ("wrong audience", other.as_str()),
        ("expired", &expired),
        ("another issuer", &foreign),
        ("bad signature", &tampered),
        ("not yet valid", &early),
        ("alg none", &unsigned),
        ("HMAC confusion", &confused),
        ("not a token", "opaque-nonsense"),
    ] {
        let r = call(&s, Some(t), "tools/list", json!({}));
        assert_eq!(r.status, 401, "{what}: {r:?}");
        assert_eq!(challenge(&r)["error"], "invalid_token", "{what}");
    }
    // The good one still works: the refusals did not poison anything.
    let r = call(&s, Some(&good), "tools/list", json!({}));
    assert_eq!(r.status, 200, "{r:?}");
    // A crafted token that is right in every claim is accepted (the refusals above are
    // about the claims, not about crafting).
    let crafted = p.craft(json!({"aud": resource(port), "scope": SCOPES}));
    let r = call(&s, Some(&crafted), "tools/list", json!({}));
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn protected_resource_metadata_names_the_issuer_and_the_resource() {
    let p = Provider::start();
    let port = free_port();
    let s = serve(&p, port, &[], &[]);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = s.request("GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}: {r:?}");
        let m = r.json();
        assert_eq!(m["resource"], resource(port), "{path}");
        assert_eq!(m["authorization_servers"], json!([p.issuer]), "{path}");
        let scopes = m["scopes_supported"].as_array().expect("scopes_supported");
        assert!(scopes.contains(&json!("media:read")), "{m}");
        assert!(scopes.contains(&json!("media:transform")), "{m}");
    }
}

#[tokio::test]
async fn after_key_rotation_new_tokens_work_as_soon_as_the_key_refresh_interval_allows() {
    let mut p = Provider::start();
    let (quick, slow) = (free_port(), free_port());
    // Both fetch the keys at start; `quick` may refetch at once, `slow` (the default, 30 s)
    // not before 30 s from then.
    let q = serve(&p, quick, &["--oauth-key-refresh-secs", "0"], &[]);
    let s = serve(&p, slow, &[], &[]);
    let old = p.token(&resource(quick), SCOPES).await;
    assert_eq!(call(&q, Some(&old), "tools/list", json!({})).status, 200);
    let old_kid = p.kid("RS256");
    // The provider rotates: new keys, the old ones gone from its JWKS.
    p.restart();
    assert_ne!(p.kid("RS256"), old_kid, "the restart brought new keys");
    let new_quick = p.token(&resource(quick), SCOPES).await;
    let new_slow = p.token(&resource(slow), SCOPES).await;
    let r = call(&q, Some(&new_quick), "tools/list", json!({}));
    assert_eq!(r.status, 200, "the new key was fetched: {r:?}");
    assert!(
        tool_names(&r).contains(&"audio_transcode".to_string()),
        "{r:?}"
    );
    // The old key left with the refetch: a token it signed is no longer accepted, even one
    // the server had accepted before.
    let r = call(&q, Some(&old), "tools/list", json!({}));
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        challenge(&r)["error_description"].contains("no key"),
        "{r:?}"
    );
    // The server with the default interval fetched at its start, seconds ago: the new key id
    // is not looked up yet.
    let r = call(&s, Some(&new_slow), "tools/list", json!({}));
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        challenge(&r)["error_description"].contains("no key"),
        "{r:?}"
    );
}

#[tokio::test]
async fn with_the_provider_down_cached_keys_serve_and_a_new_server_answers_503() {
    let mut p = Provider::start();
    let port = free_port();
    let s = serve(&p, port, &[], &[]);
    let first = p.token(&resource(port), SCOPES).await;
    let second = p.token(&resource(port), "media:read").await;
    // A token for a server that starts only once the provider is down.
    let late_port = free_port();
    let late_token = p.token(&resource(late_port), SCOPES).await;
    assert_eq!(call(&s, Some(&first), "tools/list", json!({})).status, 200);
    p.stop();
    // Same server: its keys are cached, so another valid token is still accepted, and a
    // bad one still refused.
    let r = call(&s, Some(&second), "tools/list", json!({}));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(tool_names(&r), vec!["media_list", "media_probe"]);
    let r = call(&s, Some("opaque-nonsense"), "tools/list", json!({}));
    assert_eq!(r.status, 401, "{r:?}");
    // A new server never had the keys: 503 with Retry-After, not 401 (the token may be fine).
    let late = serve(&p, late_port, &[], &[]);
    let r = call(&late, Some(&late_token), "tools/list", json!({}));
    assert_eq!(r.status, 503, "{r:?}");
    let retry = r.header("retry-after").expect("Retry-After");
    assert!(retry.parse::<u64>().is_ok(), "Retry-After: {retry:?}");
}

#[tokio::test]
async fn opaque_tokens_are_introspected_and_revoked_ones_refused() {
    let p = Provider::start();
    let port = free_port();
    // The harness issues opaque tokens for resources under `<issuer>/opaque`: the server
    // names itself so through --public-url (its audience and metadata follow).
    let public = format!("{}/opaque/mcp", p.issuer);
    let s = serve(
        &p,
        port,
        &[
            "--public-url",
            &public,
            "--oauth-introspection-client",
            "mcp-server",
        ],
        &[("MCP_MEDIA_OAUTH_CLIENT_SECRET", "mcp-server-secret")],
    );
    // Behind that public URL, the challenge and the metadata name it, not the loopback address.
    let r = call(&s, None, "tools/list", json!({}));
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        challenge(&r)["resource_metadata"],
        format!(
            "{}/.well-known/oauth-protected-resource/opaque/mcp",
            p.issuer
        )
    );
    let m = s
        .request("GET", "/.well-known/oauth-protected-resource/mcp", &[], b"")
        .json();
    assert_eq!(m["resource"], public);
    let token = p.token(&public, "media:read").await;
    assert!(
        token.split('.').count() != 3,
        "the harness should issue an opaque token here: {token}"
    );
    let r = call(&s, Some(&token), "tools/call", probe());
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["result"]["structuredContent"]["kind"], "audio");
    let r = call(&s, Some(&token), "tools/call", transcode());
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(challenge(&r)["error"], "insufficient_scope");
    // Revoked before its first use (a used one stays cached for its lifetime, by design).
    let revoked = p.token(&public, SCOPES).await;
    p.revoke(&revoked).await;
    for (what, t) in [
        ("revoked", revoked.as_str()),
        ("unknown", "unknown-opaque-token-0123456789"),
    ] {
        let r = call(&s, Some(t), "tools/list", json!({}));
        assert_eq!(r.status, 401, "{what}: {r:?}");
        assert_eq!(challenge(&r)["error"], "invalid_token", "{what}");
    }
    // A token for the plain loopback URI is another audience: refused.
    let elsewhere = p.token(&resource(port), SCOPES).await;
    let r = call(&s, Some(&elsewhere), "tools/list", json!({}));
    assert_eq!(r.status, 401, "{r:?}");
}

#[tokio::test]
async fn a_legacy_session_answers_only_to_the_token_subject_that_opened_it() {
    let p = Provider::start();
    let port = free_port();
    let s = serve(&p, port, &[], &[]);
    // Client credentials: the subject is the client (`mcp-client`).
    let owner = p.token(&resource(port), SCOPES).await;
    let sid = legacy_session(&s, &owner, "2025-11-25", json!({}));
    let list = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"});
    // A valid token of another subject (same issuer, audience and scopes) on that id: 404.
    let other = p.craft(json!({"aud": resource(port), "sub": "someone-else", "scope": SCOPES}));
    assert_eq!(
        call(&s, Some(&other), "tools/list", json!({})).status,
        200,
        "the other subject's token is valid by itself"
    );
    let r = in_session(&s, &other, &sid, &list);
    assert_eq!(r.status, 404, "{r:?}");
    // The owner's next token (same subject) still reaches it.
    let again = p.token(&resource(port), SCOPES).await;
    let r = in_session(&s, &again, &sid, &list);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["id"], 5);
}
