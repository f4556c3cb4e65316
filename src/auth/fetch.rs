//! HTTP(S) requests to the authorization server, for the validators: its metadata (RFC 8414,
//! then OpenID Connect discovery), its keys (JWKS) and its introspection endpoint (RFC 7662).
//!
//! Bounded: every response body is read up to [`MAX_BODY`] bytes (1 MiB) and refused beyond;
//! every request has a timeout; redirects are not followed. Only `https` URLs are fetched, or
//! `http` to a loopback host (tests, a sidecar). Knows nothing of tokens: an introspection
//! request carries one as a form field, which nothing here logs or puts in an error.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::time::Duration;
use thiserror::Error;

/// The largest metadata, JWKS or introspection response read.
pub const MAX_BODY: usize = 1 << 20;

/// Why a fetch failed. The texts name the URL and the cause, never a request body.
#[derive(Debug, Error)]
pub enum FetchError {
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: response larger than {MAX_BODY} bytes")]
    TooLarge { url: String },
    #[error("{url}: not the expected JSON: {reason}")]
    Json { url: String, reason: String },
    /// A URL or a metadata document that cannot be used as configured.
    #[error("{0}")]
    Config(String),
}

/// Checks that `url` may be fetched: `https`, or `http` to a loopback host.
pub fn check_url(url: &str) -> Result<reqwest::Url, FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::Config(format!("{url}: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(FetchError::Config(format!(
            "{url}: only https (or http to a loopback host) is fetched"
        ))),
    }
}

/// The authorization-server metadata the validators use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub introspection_endpoint: Option<String>,
}

/// Where an issuer's metadata may be, in the order tried: RFC 8414's
/// `/.well-known/oauth-authorization-server[/path]`, then
/// `/.well-known/openid-configuration[/path]`, then OpenID's
/// `<issuer>/.well-known/openid-configuration`.
pub fn metadata_urls(issuer: &str) -> Result<Vec<String>, FetchError> {
    let parsed = check_url(issuer)?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(FetchError::Config(format!(
            "{issuer}: an issuer has no query or fragment"
        )));
    }
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    let mut urls = vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ];
    urls.dedup();
    Ok(urls)
}

/// Characters escaped in form fields (`application/x-www-form-urlencoded`): all but the
/// unreserved ones.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn form_encode(s: &str) -> String {
    utf8_percent_encode(s, FORM).to_string()
}

/// An HTTP client for the authorization server (cheap to clone).
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// A client whose requests (connect included) time out after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Config(format!("HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// GETs `url` as JSON.
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        let checked = check_url(url)?;
        let request = self
            .client
            .get(checked)
            .header(reqwest::header::ACCEPT, "application/json");
        self.json(url, request).await
    }

    /// POSTs `form` to `url` with HTTP basic client authentication (RFC 6749 2.3.1: the id
    /// and secret form-encoded first) and reads the JSON answer.
    pub async fn post_form_json(
        &self,
        url: &str,
        client_id: &str,
        client_secret: &str,
        form: &[(&str, &str)],
    ) -> Result<serde_json::Value, FetchError> {
        let checked = check_url(url)?;
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .client
            .post(checked)
            .basic_auth(form_encode(client_id), Some(form_encode(client_secret)))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        self.json(url, request).await
    }

    /// The issuer's metadata, from the first of [`metadata_urls`] that answers. A document
    /// naming another issuer is refused (RFC 8414 3.3), not skipped.
    pub async fn metadata(&self, issuer: &str) -> Result<Metadata, FetchError> {
        let mut last = None;
        for url in metadata_urls(issuer)? {
            let doc = match self.get_json(&url).await {
                Ok(doc) => doc,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let field = |name: &str| doc.get(name).and_then(|v| v.as_str()).map(str::to_owned);
            let named = field("issuer");
            if named.as_deref() != Some(issuer) {
                return Err(FetchError::Config(format!(
                    "{url} names the issuer {named:?}, not the configured {issuer:?}"
                )));
            }
            return Ok(Metadata {
                issuer: issuer.to_owned(),
                jwks_uri: field("jwks_uri"),
                introspection_endpoint: field("introspection_endpoint"),
            });
        }
        Err(last.unwrap_or_else(|| FetchError::Config(format!("{issuer}: no metadata URL"))))
    }

    async fn json(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: url.to_owned(),
            reason: chain(&e),
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY as u64)
        {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| FetchError::Json {
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// An error and its causes ("error sending request: connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_follow_rfc_8414_then_openid() {
        assert_eq!(
            metadata_urls("https://as.example/tenant1").unwrap(),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant1",
                "https://as.example/.well-known/openid-configuration/tenant1",
                "https://as.example/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            metadata_urls("https://as.example").unwrap(),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn only_https_or_loopback_http_is_fetched() {
        assert!(check_url("https://as.example/jwks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("http://[::1]/jwks").is_ok());
        assert!(check_url("http://localhost/jwks").is_ok());
        assert!(matches!(
            check_url("http://as.example/jwks"),
            Err(FetchError::Config(_))
        ));
        assert!(matches!(
            check_url("file:///etc/passwd"),
            Err(FetchError::Config(_))
        ));
        assert!(metadata_urls("https://as.example/?x=1").is_err());
    }

    #[test]
    fn form_fields_are_escaped() {
        assert_eq!(form_encode("a b&c=d+é"), "a%20b%26c%3Dd%2B%C3%A9");
    }
}
