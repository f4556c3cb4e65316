//! Static bearer tokens for small deployments (`--auth-tokens FILE`): a JSON file that holds
//! only SHA-256 hashes of the tokens, each with its subject and scopes,
//! `[{"subject":"alice","sha256":"<64 hex digits>","scopes":["media:read"]}]`.
//!
//! A presented token is hashed and compared with every entry in constant time (no early exit,
//! so the time taken says nothing about which entry, or how much of a hash, matched).
//! [`StaticTokens::reload`] re-reads the file (the binary calls it on SIGHUP); a file that does
//! not load leaves the tokens in force unchanged. Knows nothing of HTTP or MCP; never logs or
//! keeps a token, only hashes.

use super::{AuthError, Grant, Validation, Validator};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Why a tokens file could not be loaded.
#[derive(Debug, Error)]
pub enum TokensError {
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the tokens file {path} is not a JSON list of {{subject, sha256, scopes}}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the tokens file {path}, entry {index} ({subject:?}): {why}")]
    Entry {
        path: PathBuf,
        index: usize,
        subject: String,
        why: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    subject: String,
    sha256: String,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Clone, Debug)]
struct Entry {
    subject: String,
    hash: [u8; 32],
    scopes: Vec<String>,
}

/// The SHA-256 of `token`, as 64 lowercase hex digits (what the tokens file stores; the
/// `mcp-media hash-token` subcommand prints it).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Bearer tokens from a file of hashes; reloadable.
pub struct StaticTokens {
    path: PathBuf,
    entries: RwLock<Arc<Vec<Entry>>>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticTokens")
            .field("path", &self.path)
            .field("entries", &self.len())
            .finish()
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, TokensError> {
    let raw: Vec<RawEntry> = serde_json::from_str(text).map_err(|source| TokensError::Parse {
        path: path.to_owned(),
        source,
    })?;
    raw.into_iter()
        .enumerate()
        .map(|(index, e)| {
            let bad = |why: &str| TokensError::Entry {
                path: path.to_owned(),
                index,
                subject: e.subject.clone(),
                why: why.to_string(),
            };
            if e.subject.trim().is_empty() {
                return Err(bad("the subject is empty"));
            }
            let mut hash = [0u8; 32];
            hex::decode_to_slice(e.sha256.trim(), &mut hash).map_err(|_| {
                bad("sha256 must be 64 hex digits (mcp-media hash-token prints it)")
            })?;
            Ok(Entry {
                subject: e.subject,
                hash,
                scopes: e.scopes,
            })
        })
        .collect()
}

fn load(path: &Path) -> Result<Vec<Entry>, TokensError> {
    let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

impl StaticTokens {
    /// Loads the tokens file at `path`.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, TokensError> {
        let path = path.into();
        let entries = load(&path)?;
        Ok(StaticTokens {
            path,
            entries: RwLock::new(Arc::new(entries)),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
        })
    }

    /// Re-reads the file. On success the new tokens replace the old ones and their number is
    /// returned; on failure the old ones stay in force.
    pub fn reload(&self) -> Result<usize, TokensError> {
        let entries = match load(&self.path) {
            Ok(e) => e,
            Err(e) => {
                self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        let n = entries.len();
        *self.entries.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(entries);
        self.reloads_ok.fetch_add(1, Ordering::Relaxed);
        Ok(n)
    }

    /// Reloads so far: (succeeded, failed).
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed),
        )
    }

    /// How many tokens are in force.
    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn current(&self) -> Arc<Vec<Entry>> {
        self.entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The grant of `token`, comparing its hash with every entry in constant time.
    pub fn check(&self, token: &str) -> Result<Grant, AuthError> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let entries = self.current();
        let mut found: Option<&Entry> = None;
        for e in entries.iter() {
            // Every entry is compared; the first match is kept without leaving the loop.
            let eq: bool = e.hash.ct_eq(&presented).into();
            if eq && found.is_none() {
                found = Some(e);
            }
        }
        match found {
            Some(e) => Ok(Grant {
                subject: e.subject.clone(),
                scopes: e.scopes.clone(),
                expires: None,
            }),
            None => Err(AuthError::Invalid("unknown token".into())),
        }
    }
}

impl Validator for StaticTokens {
    fn validate<'a>(&'a self, token: &'a str) -> Validation<'a> {
        Box::pin(async move { self.check(token) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        // sha256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_token_is_found_by_its_hash_with_its_subject_and_scopes() {
        let f = file(&format!(
            r#"[{{"subject":"alice","sha256":"{}","scopes":["media:read"]}},
                {{"subject":"bob","sha256":"{}","scopes":["media:read","media:transform"]}}]"#,
            hash_token("a-secret"),
            hash_token("b-secret").to_uppercase()
        ));
        let t = StaticTokens::load(f.path()).unwrap();
        let g = t.check("b-secret").unwrap();
        assert_eq!(g.subject, "bob");
        assert!(g.allows("media:transform"));
        assert_eq!(t.check("a-secret").unwrap().scopes, vec!["media:read"]);
        assert!(matches!(t.check("a-secre"), Err(AuthError::Invalid(_))));
        assert!(matches!(t.check(""), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn a_bad_file_on_reload_keeps_the_old_tokens() {
        let f = file(&format!(
            r#"[{{"subject":"alice","sha256":"{}"}}]"#,
            hash_token("one")
        ));
        let t = StaticTokens::load(f.path()).unwrap();
        std::fs::write(f.path(), "[{\"subject\":\"x\",\"sha256\":\"zz\"}]").unwrap();
        assert!(matches!(t.reload(), Err(TokensError::Entry { .. })));
        std::fs::write(f.path(), "not json").unwrap();
        assert!(matches!(t.reload(), Err(TokensError::Parse { .. })));
        assert_eq!(t.check("one").unwrap().subject, "alice");
        std::fs::write(
            f.path(),
            format!(
                r#"[{{"subject":"carol","sha256":"{}"}}]"#,
                hash_token("two")
            ),
        )
        .unwrap();
        assert_eq!(t.reload().unwrap(), 1);
        assert!(t.check("one").is_err());
        assert_eq!(t.check("two").unwrap().subject, "carol");
    }
}
