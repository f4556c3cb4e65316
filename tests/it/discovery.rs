//! Pre-connection discovery over HTTP, end to end on the real binary: the server card at
//! `<endpoint>/server-card` and the AI catalog at `/.well-known/ai-catalog.json`
//! (experimental server-card extension, `modelcontextprotocol/experimental-ext-server-card`
//! at commit 8924e08682b4a936e6464b57845ec2ff17dc8776, `docs/discovery.md`).
//!
//! The card is validated against the extension's published JSON schema, vendored as
//! `tests/schemas/server-card.schema.json` (from
//! <https://github.com/modelcontextprotocol/experimental-ext-server-card/blob/8924e08682b4a936e6464b57845ec2ff17dc8776/schema.json>,
//! content unchanged but for a `$comment` naming that source), with the same validator as the
//! MCP schemas (`crate::schema::check`). Knows only the wire.

use crate::http::{HttpServer, Resp};
use crate::schema;
use crate::util::samples;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::PathBuf;

const CARD_TYPE: &str = "application/mcp-server-card+json";
const CATALOG_TYPE: &str = "application/ai-catalog+json";
const CATALOG: &str = "/.well-known/ai-catalog.json";

fn card_schema() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/server-card.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn spawn(extra: &[&str]) -> HttpServer {
    let root = samples().to_string_lossy().into_owned();
    let mut args: Vec<&str> = extra.to_vec();
    args.push(&root);
    HttpServer::spawn(&args)
}

/// A GET with no `Authorization` header (the helper never adds one).
fn get(s: &HttpServer, path: &str, headers: &[(&str, &str)]) -> Resp {
    let r = s.request("GET", path, headers, b"");
    assert!(
        !r.headers.iter().any(|(k, _)| k == "www-authenticate"),
        "{path} asked for credentials: {:?}",
        r.headers
    );
    r
}

fn discover(s: &HttpServer) -> Value {
    let r = s.modern(json!(1), "server/discover", json!({}));
    assert_eq!(r.status, 200);
    r.json()["result"].clone()
}

#[test]
fn the_server_card_validates_against_the_extension_schema_and_agrees_with_server_discover() {
    let s = spawn(&[]);
    let r = get(&s, "/mcp/server-card", &[("Accept", CARD_TYPE)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(CARD_TYPE));
    let card = r.json();

    let root = card_schema();
    let errors = schema::check(&root, "ServerCard", &card);
    assert!(errors.is_empty(), "{errors:#?}\n{card:#}");
    // The validator really applies the schema: cards that break it are refused.
    for (what, broken) in [
        ("a name without a slash", {
            let mut c = card.clone();
            c["name"] = "mcp-media".into();
            c
        }),
        ("a description over 100 characters", {
            let mut c = card.clone();
            c["description"] = "x".repeat(101).into();
            c
        }),
        ("a date-versioned $schema", {
            let mut c = card.clone();
            c["$schema"] =
                "https://static.modelcontextprotocol.io/schemas/2025-11-25/server-card.schema.json"
                    .into();
            c
        }),
        ("an unknown remote type", {
            let mut c = card.clone();
            c["remotes"][0]["type"] = "websocket".into();
            c
        }),
    ] {
        assert!(
            !schema::check(&root, "ServerCard", &broken).is_empty(),
            "the schema accepted {what}"
        );
    }

    assert_eq!(card["version"], env!("CARGO_PKG_VERSION"));
    let remotes = card["remotes"].as_array().unwrap();
    assert_eq!(remotes.len(), 1, "{card:#}");
    assert_eq!(remotes[0]["type"], "streamable-http");
    assert_eq!(remotes[0]["url"], format!("http://{}/mcp", s.addr));
    // Nothing that needs a token: no primitives, no library paths.
    for k in [
        "tools",
        "resources",
        "prompts",
        "capabilities",
        "instructions",
    ] {
        assert!(card.get(k).is_none(), "the card lists {k}");
    }
    let text = String::from_utf8(r.body.clone()).unwrap();
    assert!(
        !text.contains(&*samples().to_string_lossy()) && !text.contains("media://"),
        "the card reveals library paths: {text}"
    );

    // server/discover reports the same identity and versions, and is a valid DiscoverResult.
    let d = discover(&s);
    let errors = schema::check(&schema::schema("2026-07-28"), "DiscoverResult", &d);
    assert!(errors.is_empty(), "{errors:#?}\n{d:#}");
    let info = &d["_meta"]["io.modelcontextprotocol/serverInfo"];
    for k in ["name", "version", "title", "description"] {
        assert!(info[k].is_string(), "serverInfo has no {k}: {info}");
        assert_eq!(
            info[k], card[k],
            "{k}: server/discover {info} vs card {card:#}"
        );
    }
    assert_eq!(
        d["supportedVersions"],
        remotes[0]["supportedProtocolVersions"]
    );
    assert!(
        d["supportedVersions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "2026-07-28")
    );
    assert!(d["instructions"].is_string() && d["capabilities"]["tools"].is_object());
}

#[test]
fn the_ai_catalog_points_to_the_card() {
    let s = spawn(&[]);
    let r = get(&s, CATALOG, &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(CATALOG_TYPE));
    let cat = r.json();
    assert_eq!(cat["specVersion"], "1.0");
    let entries = cat["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{cat:#}");
    let e = &entries[0];
    assert_eq!(e["type"], CARD_TYPE);
    assert!(e.get("data").is_none(), "exactly one of url and data");
    let base = format!("http://{}", s.addr);
    let url = e["url"].as_str().unwrap();
    assert_eq!(url, format!("{base}/mcp/server-card"));
    let id = e["identifier"].as_str().unwrap();
    assert_eq!(id, "urn:air:127.0.0.1:mcp:mcp-media");
    // Following the entry yields the card.
    let card = get(&s, url.strip_prefix(&base).unwrap(), &[]);
    assert_eq!(card.status, 200);
    assert_eq!(card.header("content-type"), Some(CARD_TYPE));
    assert!(card.json()["name"].is_string());
}

/// Sends `method path` and returns the status line and headers, and the bytes after them up
/// to the end of the connection.
fn raw(s: &HttpServer, method: &str, path: &str) -> (String, Vec<u8>) {
    let mut c = s.connect();
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr
    )
    .unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    (
        String::from_utf8_lossy(&all[..end]).to_ascii_lowercase(),
        all[end..].to_vec(),
    )
}

#[test]
fn discovery_documents_have_cors_caching_etags_head_options_and_405() {
    let s = spawn(&["--allow-origin", "https://app.example.com"]);
    for (path, ty) in [("/mcp/server-card", CARD_TYPE), (CATALOG, CATALOG_TYPE)] {
        // A page of any origin may read them (the endpoint's Origin allow-list does not apply).
        let r = get(&s, path, &[("Origin", "https://elsewhere.example")]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("GET"),
            "{path}"
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("Content-Type, If-None-Match"),
            "{path}"
        );
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("ETag"),
            "{path}"
        );
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=3600"),
            "{path}"
        );
        let etag = r.header("etag").expect("an ETag").to_string();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "a strong ETag: {etag}"
        );
        // The same representation, the same tag.
        assert_eq!(get(&s, path, &[]).header("etag"), Some(etag.as_str()));

        // Revalidation: 304 without a body for a matching tag (also in a list, or weak).
        for inm in [etag.clone(), format!("\"other\", W/{etag}")] {
            let r = get(&s, path, &[("If-None-Match", &inm)]);
            assert_eq!(r.status, 304, "{path} If-None-Match: {inm}");
            assert!(r.body.is_empty(), "{path}: 304 with a body");
            assert_eq!(r.header("etag"), Some(etag.as_str()));
            assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        }
        let r = get(&s, path, &[("If-None-Match", "\"not-the-tag\"")]);
        assert_eq!(r.status, 200, "{path}: a stale tag gets the document");
        assert_eq!(r.header("content-type"), Some(ty));
        let full_len = r.body.len();
        assert!(full_len > 0);

        // HEAD: the GET's headers, no body.
        let (head, rest) = raw(&s, "HEAD", path);
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(head.contains(&format!("content-type: {ty}")), "{head}");
        assert!(
            head.contains(&format!("etag: {}", etag.to_ascii_lowercase())),
            "{head}"
        );
        assert!(
            head.contains(&format!("content-length: {full_len}\r\n")),
            "{head}"
        );
        assert!(rest.is_empty(), "{path}: HEAD sent a body");

        // A CORS preflight.
        let r = s.request(
            "OPTIONS",
            path,
            &[
                ("Origin", "https://elsewhere.example"),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "if-none-match"),
            ],
            b"",
        );
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("access-control-allow-methods"), Some("GET"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("Content-Type, If-None-Match")
        );
        assert!(r.body.is_empty());

        // Read-only.
        for m in ["POST", "PUT", "DELETE", "PATCH"] {
            let r = s.request(m, path, &[("Content-Type", "application/json")], b"{}");
            assert_eq!(r.status, 405, "{m} {path}");
            let allow = r.header("allow").unwrap_or_default();
            assert!(allow.contains("GET") && !allow.contains("POST"), "{allow}");
        }

        // The endpoint's Host check applies (DNS rebinding): a foreign Host is refused.
        let r = s.request("GET", path, &[("Host", "evil.example:80")], b"");
        assert_eq!(r.status, 403, "{path}");
    }
    // Other paths near them are not served.
    assert_eq!(get(&s, "/mcp/server-card/x", &[]).status, 404);
    assert_eq!(get(&s, "/.well-known/ai-catalog", &[]).status, 404);
}

#[test]
fn public_url_and_path_move_the_card_remote_and_the_catalog_url() {
    let s = spawn(&[
        "--path",
        "/api/mcp",
        "--public-url",
        "https://media.example.com/mcp",
    ]);
    // Served under the local endpoint path; the documents name the public URL.
    assert_eq!(get(&s, "/mcp/server-card", &[]).status, 404);
    let r = get(&s, "/api/mcp/server-card", &[]);
    assert_eq!(r.status, 200);
    let card = r.json();
    let errors = schema::check(&card_schema(), "ServerCard", &card);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(card["remotes"][0]["url"], "https://media.example.com/mcp");
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        !text.contains("127.0.0.1"),
        "the card names the local address: {text}"
    );

    let cat = get(&s, CATALOG, &[]).json();
    assert_eq!(
        cat["entries"][0]["url"],
        "https://media.example.com/mcp/server-card"
    );
    assert_eq!(
        cat["entries"][0]["identifier"],
        "urn:air:media.example.com:mcp:mcp-media"
    );
}
