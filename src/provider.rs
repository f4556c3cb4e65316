//! The contracts between the server and what it serves: providers of tools, resources and
//! prompts, and the errors they report. The composition root (`build`) assembles providers;
//! the server holds them behind these traits and never names a concrete one.
//!
//! Everything here is synchronous (the server runs provider calls on the blocking pool).
//! Must not know about the server, transports, JSON-RPC error codes or hyper.

use crate::library::LibraryError;
use crate::protocol::types::{
    PromptDef, PromptResult, ResourceContents, ResourceInfo, ResourceTemplate,
};
use crate::tools::{Cost, Tool, ToolCtx};
use serde_json::{Map, Value};
use std::sync::Arc;
use thiserror::Error;

/// One page of a list, with this provider's own cursor for the next page.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Why a resource request failed.
#[derive(Debug, Error)]
pub enum ResourceError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("invalid cursor")]
    InvalidCursor,
    /// A URI this provider serves, naming nothing (fixture resources).
    #[error("resource not found: {uri}")]
    NotFound { uri: String },
    /// A derived artifact whose parameters are valid but which cannot be made.
    #[error("{uri}: {source}")]
    Audio {
        uri: String,
        #[source]
        source: crate::media::audio::AudioError,
    },
    /// A derived image whose parameters parse but which cannot be made.
    #[error("{uri}: {source}")]
    Image {
        uri: String,
        #[source]
        source: crate::media::image::ImageError,
    },
    /// A derived video artifact (frame, storyboard, clip) whose parameters parse but which
    /// cannot be made.
    #[error("{uri}: {source}")]
    Video {
        uri: String,
        #[source]
        source: crate::media::video::VideoError,
    },
}

/// Why a prompt request failed.
#[derive(Debug, Error)]
pub enum PromptError {
    #[error("unknown prompt {0:?}")]
    Unknown(String),
    #[error("missing required argument {0:?}")]
    MissingArgument(&'static str),
    #[error("{0}")]
    InvalidArguments(String),
    #[error("argument {name:?}: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    #[error(transparent)]
    Library(#[from] LibraryError),
}

/// What a prompt produced.
#[derive(Debug)]
pub enum PromptOutcome {
    Complete(PromptResult),
    /// 2026-07-28 MRTR: the client must answer `input_requests` and retry (see
    /// [`crate::tools::ToolOutcome::InputRequired`]).
    InputRequired {
        input_requests: Map<String, Value>,
        request_state: Option<String>,
    },
}

/// Completion values (at most 100) and how many there are in all.
pub type Completions = (Vec<String>, usize);

/// A source of tools.
pub trait ToolProvider: Send + Sync {
    fn tools(&self) -> Vec<Arc<dyn Tool>>;
    /// Whether this provider's tool list may change while the server runs (announced with
    /// `listChanged`).
    fn list_changes(&self) -> bool {
        false
    }
}

/// A source of resources. Calls may block (file I/O, scans, rendering).
pub trait ResourceProvider: Send + Sync {
    /// A page of resources; `cursor` is one this provider handed out.
    fn list(&self, cursor: Option<&str>) -> Result<Page<ResourceInfo>, ResourceError>;
    fn templates(&self) -> Vec<ResourceTemplate>;
    /// Whether `uri` is one of this provider's (by scheme or prefix), found or not.
    fn owns(&self, uri: &str) -> bool;
    /// Reads `uri`; long work (rendering a derived artifact) looks at `cancelled` at least once
    /// per block and stops when it says so.
    fn read(
        &self,
        uri: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ResourceContents>, ResourceError>;
    /// What reading `uri` costs (a derived artifact may need rendering).
    fn read_cost(&self, _uri: &str) -> Cost {
        Cost::Light
    }
    /// What reading the expansions of one of this provider's templates costs (a template of
    /// derived artifacts is heavy), for showing it only to who may read them.
    fn template_cost(&self, _uri_template: &str) -> Cost {
        Cost::Light
    }
    /// Completion for an argument of one of this provider's templates; `None` if the template
    /// is not this provider's. `context` holds the other arguments already chosen.
    fn complete(
        &self,
        template: &str,
        arg: &str,
        value: &str,
        context: &Map<String, Value>,
    ) -> Option<Completions>;
}

/// A source of prompts. Calls may block.
pub trait PromptProvider: Send + Sync {
    fn prompts(&self) -> Vec<PromptDef>;
    /// `None` if `name` is not this provider's prompt.
    fn get(
        &self,
        name: &str,
        args: &Map<String, Value>,
        ctx: &ToolCtx<'_>,
    ) -> Option<Result<PromptOutcome, PromptError>>;
    /// `None` if `prompt` is not this provider's.
    fn complete(&self, prompt: &str, arg: &str, value: &str) -> Option<Completions>;
    /// Whether this provider's prompt list may change while the server runs.
    fn list_changes(&self) -> bool {
        false
    }
}
