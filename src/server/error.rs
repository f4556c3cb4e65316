//! The one place where errors become wire errors: JSON-RPC error responses (with the code the
//! negotiated revision expects) or `isError: true` tool results.
//!
//! Every module's typed error is mapped here and nowhere else. Bad input is logged here too,
//! at `warn` for refusals that matter (traversal attempts) and `debug` for ordinary misses.

use crate::library::LibraryError;
use crate::protocol::jsonrpc::code;
use crate::protocol::types::ToolResult;
use crate::protocol::version::supported_version_strings;
use crate::protocol::{Outgoing, ProtocolVersion, RequestId};
use crate::provider::{PromptError, ResourceError};
use crate::server::jobs::JobError;
use crate::tools::ToolError;
use serde_json::{Value, json};

/// A protocol-level failure of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcError {
    InvalidRequest(String),
    MethodNotFound(String),
    InvalidParams {
        message: String,
        data: Option<Value>,
    },
    /// A resource that does not exist: `-32002` before 2026-07-28, `-32602` from it on; both
    /// with `data.uri`.
    ResourceNotFound {
        uri: String,
        message: String,
    },
    UnsupportedVersion {
        requested: String,
    },
    /// `-32021` with `data.requiredCapabilities`.
    MissingCapability(Value),
    /// The server is shutting down and stopped the request (`-32000`).
    ShuttingDown,
    /// A server capacity limit was reached; the client may retry later (`-32000`).
    Busy(String),
    Internal(String),
}

impl RpcError {
    pub fn invalid_params(message: impl Into<String>) -> Self {
        RpcError::InvalidParams {
            message: message.into(),
            data: None,
        }
    }

    /// The JSON-RPC code for this error under `version` (None: version unknown, use modern).
    pub fn code(&self, version: Option<ProtocolVersion>) -> i64 {
        match self {
            RpcError::InvalidRequest(_) => code::INVALID_REQUEST,
            RpcError::MethodNotFound(_) => code::METHOD_NOT_FOUND,
            RpcError::InvalidParams { .. } => code::INVALID_PARAMS,
            RpcError::ResourceNotFound { .. } => match version {
                Some(v) if !v.is_modern() => code::RESOURCE_NOT_FOUND_LEGACY,
                _ => code::INVALID_PARAMS,
            },
            RpcError::UnsupportedVersion { .. } => code::UNSUPPORTED_VERSION,
            RpcError::MissingCapability(_) => code::MISSING_CLIENT_CAPABILITY,
            RpcError::ShuttingDown | RpcError::Busy(_) => code::SERVER_BUSY,
            RpcError::Internal(_) => code::INTERNAL_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            RpcError::InvalidRequest(m) => format!("Invalid request: {m}"),
            RpcError::MethodNotFound(m) => format!("Method not found: {m}"),
            RpcError::InvalidParams { message, .. } => message.clone(),
            RpcError::ResourceNotFound { message, .. } => message.clone(),
            RpcError::UnsupportedVersion { requested } => {
                format!("Unsupported protocol version: {requested}")
            }
            RpcError::MissingCapability(_) => "Missing required client capability".into(),
            RpcError::Busy(m) => format!("Server busy: {m}; retry later"),
            RpcError::ShuttingDown => {
                "Server shutting down: the request was stopped; retry on another instance or later"
                    .into()
            }
            RpcError::Internal(m) => format!("Internal error: {m}"),
        }
    }

    pub fn data(&self) -> Option<Value> {
        match self {
            RpcError::InvalidParams { data, .. } => data.clone(),
            RpcError::ResourceNotFound { uri, .. } => Some(json!({"uri": uri})),
            RpcError::UnsupportedVersion { requested } => Some(json!({
                "supported": supported_version_strings(),
                "requested": requested,
            })),
            RpcError::MissingCapability(caps) => Some(json!({"requiredCapabilities": caps})),
            _ => None,
        }
    }

    pub fn to_outgoing(
        &self,
        id: Option<&RequestId>,
        version: Option<ProtocolVersion>,
    ) -> Outgoing {
        Outgoing::error(id, self.code(version), &self.message(), self.data())
    }
}

impl From<LibraryError> for RpcError {
    fn from(e: LibraryError) -> Self {
        match &e {
            LibraryError::NotFound { uri }
            | LibraryError::NotAFile { uri }
            | LibraryError::NotRegular { uri, .. }
            | LibraryError::NotMedia { uri }
            | LibraryError::UnknownRoot { uri, .. } => {
                tracing::debug!(error = %e, "resource not found");
                RpcError::ResourceNotFound {
                    uri: uri.clone(),
                    message: format!("Resource not found: {e}"),
                }
            }
            LibraryError::Traversal { uri, .. } => {
                tracing::warn!(error = %e, "refused a path outside the media roots");
                RpcError::InvalidParams {
                    message: e.to_string(),
                    data: Some(json!({"uri": uri})),
                }
            }
            LibraryError::InvalidUri { uri, .. } | LibraryError::InvalidRange { uri, .. } => {
                tracing::debug!(error = %e, "bad resource URI");
                RpcError::InvalidParams {
                    message: e.to_string(),
                    data: Some(json!({"uri": uri})),
                }
            }
            LibraryError::TooLarge { uri, size, limit } => RpcError::InvalidParams {
                message: e.to_string(),
                data: Some(json!({
                    "uri": uri, "size": size, "inlineLimit": limit,
                    "rangeTemplate": crate::library::uri::RANGE_TEMPLATE,
                    "firstRange": format!("{uri}?offset=0&length={limit}"),
                })),
            },
            LibraryError::Changed { uri, .. } => {
                tracing::debug!(error = %e, "a file changed while it was read");
                RpcError::InvalidParams {
                    message: e.to_string(),
                    data: Some(json!({"uri": uri})),
                }
            }
            LibraryError::Io { .. }
            | LibraryError::RootSetup { .. }
            | LibraryError::ReadTimeout { .. } => {
                tracing::error!(error = %e, "I/O error serving a resource");
                RpcError::Internal(e.to_string())
            }
        }
    }
}

impl From<ResourceError> for RpcError {
    fn from(e: ResourceError) -> Self {
        match e {
            ResourceError::Library(l) => l.into(),
            ResourceError::InvalidCursor => RpcError::invalid_params("Invalid cursor"),
            ResourceError::NotFound { uri } => {
                tracing::debug!(%uri, "resource not found");
                RpcError::ResourceNotFound {
                    message: format!("Resource not found: {uri}"),
                    uri,
                }
            }
            ResourceError::Image { uri, source } => {
                use crate::media::image::ImageError as E;
                match source {
                    // Ours, not the client's: logged with their cause.
                    E::Encode(_) | E::Io(_) => {
                        tracing::error!(%uri, error = %source, "image rendering failed");
                        RpcError::Internal(format!("cannot render {uri}: {source}"))
                    }
                    _ => {
                        tracing::debug!(%uri, error = %source, "image variant refused");
                        RpcError::InvalidParams {
                            message: format!("cannot render {uri}: {source}"),
                            data: Some(json!({"uri": uri})),
                        }
                    }
                }
            }
            ResourceError::Video { uri, source } => {
                use crate::media::video::VideoError as E;
                match source {
                    // Ours, not the video's: logged with their cause.
                    E::Internal(_) | E::Io(_) => {
                        tracing::error!(%uri, error = %source, "video rendering failed");
                        RpcError::Internal(format!("cannot render {uri}: {source}"))
                    }
                    E::Cancelled => {
                        tracing::debug!(%uri, "video rendering cancelled");
                        RpcError::Internal(format!("cannot render {uri}: {source}"))
                    }
                    // The request's or the file's: unsupported, too large, corrupt, ffmpeg
                    // refusing the file.
                    _ => {
                        tracing::debug!(%uri, error = %source, "video variant refused");
                        RpcError::InvalidParams {
                            message: format!("cannot render {uri}: {source}"),
                            data: Some(json!({"uri": uri})),
                        }
                    }
                }
            }
            ResourceError::Audio { uri, source } => {
                tracing::debug!(%uri, error = %source, "audio segment failed");
                RpcError::InvalidParams {
                    message: format!("cannot render {uri}: {source}"),
                    data: Some(json!({"uri": uri})),
                }
            }
        }
    }
}

impl From<PromptError> for RpcError {
    fn from(e: PromptError) -> Self {
        match e {
            PromptError::Unknown(_)
            | PromptError::MissingArgument(_)
            | PromptError::InvalidArguments(_)
            | PromptError::InvalidArgument { .. } => {
                RpcError::invalid_params(format!("Invalid params: {e}"))
            }
            // A file named in a prompt argument answers like the file itself.
            PromptError::Library(l) => l.into(),
        }
    }
}

impl From<JobError> for RpcError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::ShuttingDown => RpcError::ShuttingDown,
            JobError::Panicked | JobError::Overdue(_) => RpcError::Internal(e.to_string()),
        }
    }
}

/// Maps a tool failure: most become `isError: true` results the model can act on; a few are
/// protocol errors.
pub fn tool_failure(tool: &str, e: ToolError) -> Result<ToolResult, RpcError> {
    match e {
        ToolError::MissingCapability(caps) => Err(RpcError::MissingCapability(caps)),
        ToolError::InvalidParams(m) => Err(RpcError::invalid_params(m)),
        ToolError::Internal(m) => Err(RpcError::Internal(m)),
        ToolError::Library(LibraryError::Traversal { .. }) => {
            tracing::warn!(tool, error = %e, "tool refused a path outside the media roots");
            Ok(ToolResult::error(format!("{tool}: {e}")))
        }
        ToolError::Library(LibraryError::Io { .. }) => {
            tracing::error!(tool, error = %e, "I/O error in tool");
            Ok(ToolResult::error(format!("{tool}: {e}")))
        }
        ToolError::Media(crate::media::MediaError::Image(
            crate::media::image::ImageError::Encode(_) | crate::media::image::ImageError::Io(_),
        )) => {
            // Ours, not the input's: logged as an error with its cause.
            tracing::error!(tool, error = %e, "image rendering failed in tool");
            Ok(ToolResult::error(format!("{tool}: {e}")))
        }
        ToolError::Media(crate::media::MediaError::Video(
            crate::media::video::VideoError::Internal(_) | crate::media::video::VideoError::Io(_),
        )) => {
            // Ours, not the video's: logged as an error with its cause. The other video
            // errors (unsupported, too large, corrupt, bad request, ffmpeg failing on the
            // file) are the input's and go back to the model as they are.
            tracing::error!(tool, error = %e, "video processing failed in tool");
            Ok(ToolResult::error(format!("{tool}: {e}")))
        }
        other => {
            tracing::debug!(tool, error = %other, "tool returned an error");
            Ok(ToolResult::error(format!("{tool}: {other}")))
        }
    }
}
