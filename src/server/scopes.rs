//! Which capability a request needs ([`Need`]), decided from the request alone, and what an
//! authenticated principal may see in lists ([`Visibility`]). Transports that authenticate
//! compare [`Server::scope_needed`] with the grant (HTTP answers 403 outside it); lists are
//! filtered here, from `cx.principal`, so they vary by authorization and never by connection.
//!
//! The rule: what reads (lists, plain file reads, probes, prompts, completion, ping, discover)
//! needs `read`; what makes new media (transcodes, frames, clips, renders: tools and
//! resources of [`Cost::Heavy`]) needs `transform`. `transform` is the broader scope and
//! implies `read` (MCP authorization: a broader scope implies narrower ones).
//!
//! Must not know about tokens, validators or HTTP: it sees only [`Principal`] scope names and
//! the names [`crate::config::Scopes`] gives them.

use super::{Principal, Server};
use crate::protocol::jsonrpc::Request;
use crate::tools::Cost;
use serde_json::Value;

/// The capability a request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// Listing, reading files, probing (`Config::scopes.read`).
    Read,
    /// Making new media (`Config::scopes.transform`); implies [`Need::Read`].
    Transform,
}

impl From<Cost> for Need {
    fn from(c: Cost) -> Self {
        match c {
            Cost::Light => Need::Read,
            Cost::Heavy => Need::Transform,
        }
    }
}

/// What a principal may see in lists: a small key, so cached list pages are rendered once per
/// variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// No principal (stdio, unauthenticated HTTP) or one allowed everything.
    All,
    /// Read only: no transform tools or derived templates.
    ReadOnly,
    /// Nothing (a principal with neither scope).
    None,
}

impl Visibility {
    /// Whether an item needing `need` is shown.
    pub fn shows(self, need: Need) -> bool {
        match self {
            Visibility::All => true,
            Visibility::ReadOnly => need == Need::Read,
            Visibility::None => false,
        }
    }
}

impl Server {
    /// The scope name configured for `need`.
    pub fn scope_name(&self, need: Need) -> &str {
        match need {
            Need::Read => &self.cfg.scopes.read,
            Need::Transform => &self.cfg.scopes.transform,
        }
    }

    /// Whether granted `scopes` cover `need` (`transform` implies `read`).
    pub fn scopes_allow(&self, scopes: &[String], need: Need) -> bool {
        let has = |n: Need| scopes.iter().any(|s| s == self.scope_name(n));
        match need {
            Need::Read => has(Need::Read) || has(Need::Transform),
            Need::Transform => has(Need::Transform),
        }
    }

    /// What `principal` may see in lists (`None`: everything).
    pub fn visibility(&self, principal: Option<&Principal>) -> Visibility {
        let Some(p) = principal else {
            return Visibility::All;
        };
        if self.scopes_allow(&p.scopes, Need::Transform) {
            Visibility::All
        } else if self.scopes_allow(&p.scopes, Need::Read) {
            Visibility::ReadOnly
        } else {
            Visibility::None
        }
    }

    /// The capability a tool needs (unknown tools: read; the call fails as unknown anyway).
    pub fn tool_need(&self, name: &str) -> Need {
        self.tools
            .get(name)
            .map_or(Need::Read, |t| Need::from(t.cost()))
    }

    /// The capability reading `uri` needs: a derived artifact (rendered) needs transform, a
    /// plain file or range read.
    pub fn read_need(&self, uri: &str) -> Need {
        self.resources
            .iter()
            .find(|r| r.owns(uri))
            .map_or(Need::Read, |r| Need::from(r.read_cost(uri)))
    }

    /// The capability a template's expansions need.
    pub fn template_need(&self, uri_template: &str) -> Need {
        self.resources
            .iter()
            .find_map(|r| {
                r.templates()
                    .iter()
                    .any(|t| t.uri_template == uri_template)
                    .then(|| Need::from(r.template_cost(uri_template)))
            })
            .unwrap_or(Need::Read)
    }

    /// The capability `req` needs, decided without knowing who sent it: `tools/call` by the
    /// tool, `resources/read` by the URI, everything else (lists, prompts, completion, ping,
    /// discover, initialize, subscriptions) read.
    pub fn scope_needed(&self, req: &Request) -> Need {
        let s = |k: &str| req.params.get(k).and_then(Value::as_str);
        match req.method.as_str() {
            "tools/call" => s("name").map_or(Need::Read, |n| self.tool_need(n)),
            "resources/read" => s("uri").map_or(Need::Read, |u| self.read_need(u)),
            _ => Need::Read,
        }
    }
}
