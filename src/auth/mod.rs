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

/// Several validators behind one: static tokens first (an exact hash match, cheapest), then a
/// token shaped like a JWT (three dot-separated parts) goes to the JWT validator and any other
/// to introspection (opaque tokens); without an introspector every token that is not a static
/// one goes to the JWT validator, and without a JWT validator to introspection.
#[derive(Default)]
pub struct Chain {
    pub tokens: Option<std::sync::Arc<dyn Validator>>,
    pub jwt: Option<std::sync::Arc<dyn Validator>>,
    pub introspect: Option<std::sync::Arc<dyn Validator>>,
}

impl Chain {
    /// Whether any validator is configured.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_none() && self.jwt.is_none() && self.introspect.is_none()
    }
}

impl Validator for Chain {
    fn validate<'a>(&'a self, token: &'a str) -> Validation<'a> {
        Box::pin(async move {
            let mut refused = None;
            if let Some(t) = &self.tokens {
                match t.validate(token).await {
                    Ok(g) => return Ok(g),
                    Err(e) => refused = Some(e),
                }
            }
            // The shape matters only with both a JWT validator and an introspector.
            let jwt_shaped = || token.bytes().filter(|&b| b == b'.').count() == 2;
            let next = match (&self.jwt, &self.introspect) {
                (Some(j), Some(_)) if jwt_shaped() => Some(j),
                (_, Some(i)) => Some(i),
                (Some(j), None) => Some(j),
                (None, None) => None,
            };
            match next {
                Some(v) => v.validate(token).await,
                None => Err(refused.unwrap_or_else(|| AuthError::Invalid("unknown token".into()))),
            }
        })
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;
    use std::sync::Arc;

    /// Grants `name` as subject to every token, so the test sees which validator answered.
    struct Named(&'static str);
    impl Validator for Named {
        fn validate<'a>(&'a self, _token: &'a str) -> Validation<'a> {
            Box::pin(async move {
                Ok(Grant {
                    subject: self.0.into(),
                    scopes: vec![],
                    expires: None,
                })
            })
        }
    }
    /// Refuses every token.
    struct Refuse;
    impl Validator for Refuse {
        fn validate<'a>(&'a self, _token: &'a str) -> Validation<'a> {
            Box::pin(async { Err(AuthError::Invalid("not mine".into())) })
        }
    }

    fn subject(chain: &Chain, token: &str) -> Result<String, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(chain.validate(token))
            .map(|g| g.subject)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn static_tokens_first_then_jwts_by_shape_and_the_rest_to_introspection() {
        let all = Chain {
            tokens: Some(Arc::new(Refuse)),
            jwt: Some(Arc::new(Named("jwt"))),
            introspect: Some(Arc::new(Named("introspect"))),
        };
        assert_eq!(subject(&all, "aaa.bbb.ccc").unwrap(), "jwt");
        assert_eq!(subject(&all, "opaque-token").unwrap(), "introspect");
        let statics = Chain {
            tokens: Some(Arc::new(Named("static"))),
            ..all
        };
        assert_eq!(subject(&statics, "aaa.bbb.ccc").unwrap(), "static");
        let jwt_only = Chain {
            jwt: Some(Arc::new(Named("jwt"))),
            ..Chain::default()
        };
        assert_eq!(subject(&jwt_only, "opaque").unwrap(), "jwt");
        let tokens_only = Chain {
            tokens: Some(Arc::new(Refuse)),
            ..Chain::default()
        };
        assert!(subject(&tokens_only, "x").unwrap_err().contains("not mine"));
    }
}
