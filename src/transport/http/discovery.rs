//! Pre-connection discovery over HTTP (experimental server-card extension,
//! `modelcontextprotocol/experimental-ext-server-card@8924e08`, `docs/discovery.md`):
//!
//! - the **server card** (`application/mcp-server-card+json`) at `<endpoint path>/server-card`:
//!   identity (`name`, `title`, `version`, `description` from the server's `serverInfo`, so
//!   `server/discover` and the card cannot disagree) and one `streamable-http` remote at the
//!   canonical resource URI with every protocol version served;
//! - the **AI catalog** (`application/ai-catalog+json`) at `/.well-known/ai-catalog.json`, with
//!   one entry pointing to the card's absolute URL (from the resource URI, so `--public-url`
//!   moves it).
//!
//! Both are public by design: rendered once when the listener starts, answered before any
//! authorization (they hold nothing a token protects: no tools, roots or paths), with CORS for
//! any origin, `Cache-Control: public, max-age=3600` and a strong ETag (`If-None-Match` -> 304).
//! GET and HEAD serve them, OPTIONS answers a preflight (204), other methods get 405.
//!
//! DNS-rebinding guard: the `Host` check of the endpoint applies (a Host the endpoint refuses
//! gets 403 here too: the card describes that endpoint, and a legitimate client reaches both
//! under the same name); the `Origin` check does not, since the documents are meant to be read
//! by pages of any origin (`Access-Control-Allow-Origin: *`), which is also why a rebinding
//! page could learn nothing here that a plain cross-origin fetch would not.
//!
//! Must not know about media, tools, sessions or authorization.

use super::{Body, HttpOptions, routes};
use crate::protocol::types::Implementation;
use crate::protocol::version::supported_version_strings;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The `$schema` the extension requires of every card.
pub const CARD_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json";
pub const CARD_MEDIA_TYPE: &str = "application/mcp-server-card+json";
pub const CATALOG_MEDIA_TYPE: &str = "application/ai-catalog+json";
/// Where the AI catalog lives (site-wide, at the listener's root).
pub const CATALOG_PATH: &str = "/.well-known/ai-catalog.json";
/// What the card's location appends to the endpoint path (and URL).
const CARD_SUFFIX: &str = "/server-card";

const CACHE_CONTROL: &str = "public, max-age=3600";
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// One static document with its validator.
struct Doc {
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
}

impl Doc {
    fn new(value: &serde_json::Value, content_type: &'static str) -> Doc {
        let body = Bytes::from(serde_json::to_vec_pretty(value).unwrap_or_default());
        let digest = Sha256::digest(&body);
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Doc {
            etag: HeaderValue::from_str(&format!("\"{hex}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("\"0\"")),
            content_type: HeaderValue::from_static(content_type),
            body,
        }
    }
}

/// The server card and the AI catalog, rendered once.
pub(super) struct Discovery {
    card_path: String,
    card: Doc,
    catalog: Doc,
}

/// The card's path on this listener: the endpoint path plus `/server-card`.
fn card_path(endpoint: &str) -> String {
    format!("{}{CARD_SUFFIX}", endpoint.trim_end_matches('/'))
}

/// The server card for `info`, served at `resource_uri`.
pub fn server_card(info: &Implementation, resource_uri: &str) -> serde_json::Value {
    let mut card = json!({
        "$schema": CARD_SCHEMA,
        "name": info.name,
        "version": info.version,
    });
    if let Some(t) = &info.title {
        card["title"] = t.clone().into();
    }
    if let Some(d) = &info.description {
        card["description"] = d.clone().into();
    }
    card["remotes"] = json!([{
        "type": "streamable-http",
        "url": resource_uri,
        "supportedProtocolVersions": supported_version_strings(),
    }]);
    card
}

/// The AI catalog: one entry, the card at `<resource_uri>/server-card`.
pub fn ai_catalog(info: &Implementation, resource_uri: &str) -> serde_json::Value {
    json!({
        "specVersion": "1.0",
        "entries": [{
            "identifier": catalog_identifier(info, resource_uri),
            "type": CARD_MEDIA_TYPE,
            "url": format!("{resource_uri}{CARD_SUFFIX}"),
        }],
    })
}

/// `urn:air:{publisher}:mcp:{name}` (the extension's domain-anchored form): the publisher is the
/// resource URI's host (without port), the name the part of the server name after its `/`.
fn catalog_identifier(info: &Implementation, resource_uri: &str) -> String {
    let rest = resource_uri
        .split_once("://")
        .map_or(resource_uri, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        // [v6]:port: colons would read as URN separators.
        Some(v6) => v6.split(']').next().unwrap_or_default().replace(':', "-"),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_string(),
    };
    let name = info.name.rsplit('/').next().unwrap_or(&info.name);
    format!("urn:air:{host}:mcp:{name}")
}

impl Discovery {
    pub(super) fn new(info: &Implementation, opts: &HttpOptions) -> Discovery {
        let uri = opts.resource_uri();
        Discovery {
            card_path: card_path(&opts.path),
            card: Doc::new(&server_card(info, &uri), CARD_MEDIA_TYPE),
            catalog: Doc::new(&ai_catalog(info, &uri), CATALOG_MEDIA_TYPE),
        }
    }

    /// Whether `path` is one of the discovery documents.
    pub(super) fn serves(&self, path: &str) -> bool {
        self.doc(path).is_some()
    }

    /// The document served at `path`, if any.
    fn doc(&self, path: &str) -> Option<&Doc> {
        if path == self.card_path {
            Some(&self.card)
        } else if path == CATALOG_PATH {
            Some(&self.catalog)
        } else {
            None
        }
    }

    /// The answer for a request to `path`, or `None` when `path` is not a discovery document.
    pub(super) fn answer(
        &self,
        path: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        let doc = self.doc(path)?;
        let mut r = match *method {
            Method::GET | Method::HEAD => {
                if not_modified(headers, &doc.etag) {
                    routes::empty(StatusCode::NOT_MODIFIED)
                } else {
                    let mut r = routes::empty(StatusCode::OK);
                    *r.body_mut() = super::body::full(doc.body.clone());
                    r.headers_mut()
                        .insert(header::CONTENT_TYPE, doc.content_type.clone());
                    r
                }
            }
            Method::OPTIONS => routes::empty(StatusCode::NO_CONTENT),
            _ => {
                let mut r = routes::empty(StatusCode::METHOD_NOT_ALLOWED);
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
                r
            }
        };
        let h = r.headers_mut();
        for (name, value) in [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Content-Type, If-None-Match",
            ),
            (header::ACCESS_CONTROL_EXPOSE_HEADERS, "ETag"),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
        if matches!(*method, Method::GET | Method::HEAD) {
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            );
            h.insert(header::ETAG, doc.etag.clone());
        }
        Some(r)
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 §13.1.2 requires) or is
/// `*`.
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t).as_bytes() == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> Implementation {
        Implementation {
            name: "local.mcp-media/mcp-media".into(),
            title: Some("mcp-media".into()),
            version: "1.2.3".into(),
            description: Some("d".into()),
        }
    }

    #[test]
    fn the_catalog_identifier_is_anchored_on_the_host_without_port() {
        let i = info();
        assert_eq!(
            catalog_identifier(&i, "https://media.example.com/mcp"),
            "urn:air:media.example.com:mcp:mcp-media"
        );
        assert_eq!(
            catalog_identifier(&i, "http://127.0.0.1:8080/mcp"),
            "urn:air:127.0.0.1:mcp:mcp-media"
        );
        assert_eq!(
            catalog_identifier(&i, "http://[::1]:8080/mcp"),
            "urn:air:--1:mcp:mcp-media"
        );
    }

    #[test]
    fn if_none_match_matches_lists_weak_tags_and_star_but_not_other_tags() {
        let etag = HeaderValue::from_static("\"abc\"");
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_static(v));
            not_modified(&h, &etag)
        };
        assert!(with("\"abc\""));
        assert!(with("\"x\", W/\"abc\""));
        assert!(with("*"));
        assert!(!with("\"abcd\""));
        assert!(!with("abc"));
        assert!(!not_modified(&HeaderMap::new(), &etag));
    }

    #[test]
    fn the_card_path_follows_the_endpoint_path() {
        assert_eq!(card_path("/mcp"), "/mcp/server-card");
        assert_eq!(card_path("/a/b/"), "/a/b/server-card");
        assert_eq!(card_path("/"), "/server-card");
    }
}
