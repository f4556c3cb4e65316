//! Bearer-token authorization for the HTTP transport (an OAuth 2.1 resource server): who a
//! token belongs to and which scopes it grants. Every validator (static tokens from a file,
//! JWTs checked against an issuer's keys, opaque tokens by RFC 7662 introspection) answers the
//! same [`Grant`] or [`AuthError`], behind the [`Validator`] trait.
//!
//! Knows nothing of MCP methods, sessions, media or hyper routing: the transport asks the
//! server which scope a request needs and compares it with the grant. Tokens are never logged
//! and never passed on to anything.

pub mod fetch;
pub mod introspect;
pub mod jwt;
pub mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;
use thiserror::Error;

/// What a valid token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The token's subject (`sub`, or a static token's name).
    pub subject: String,
    /// The scopes it grants.
    pub scopes: Vec<String>,
    /// When it stops being valid, if it says.
    pub expires: Option<SystemTime>,
}

impl Grant {
    /// Whether the grant includes `scope`.
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a token was not accepted.
#[derive(Debug, Error)]
pub enum AuthError {
    /// Missing, malformed, expired, not yet valid, wrongly signed, from another issuer or for
    /// another audience: the client must get a new token (HTTP 401, `invalid_token`). The text
    /// says which check failed, never the token.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The authorization server (its keys or its introspection endpoint) cannot be reached and
    /// nothing cached can answer (HTTP 503).
    #[error("authorization server unavailable: {0}")]
    Unavailable(String),
}

/// The future a [`Validator`] returns.
pub type Validation<'a> = Pin<Box<dyn Future<Output = Result<Grant, AuthError>> + Send + 'a>>;

/// Checks a bearer token (the part after `Bearer `) and says what it grants.
pub trait Validator: Send + Sync {
    fn validate<'a>(&'a self, token: &'a str) -> Validation<'a>;
}

impl std::fmt::Debug for dyn Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Validator")
    }
}
