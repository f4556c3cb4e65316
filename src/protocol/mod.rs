//! The MCP wire: JSON-RPC 2.0 messages, protocol revisions, MCP types rendered per revision,
//! NDJSON line framing, SSE event framing and the zero-copy blob framing of outgoing messages
//! (large blobs produced block by block as they are written, from a `BlobSource`).
//!
//! Knows nothing of tokio, hyper, media, the server or transports (nor files: a blob source is
//! a trait): everything here is plain, synchronous and testable on byte buffers.

pub mod blob;
pub mod codec;
pub mod cursor;
pub mod frame;
pub mod jsonrpc;
pub mod sse;
pub mod types;
pub mod version;

pub use blob::{Blob, BlobError, BlobSource};
pub use frame::{Blobs, Frame, Framing, Outgoing};
pub use jsonrpc::{Message, RequestId};
pub use version::ProtocolVersion;

/// `_meta` keys reserved by the protocol.
pub mod meta {
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
    pub const PROGRESS_TOKEN: &str = "progressToken";
}

/// Log levels of `notifications/message`, in increasing severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl LogLevel {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "debug" => Self::Debug,
            "info" => Self::Info,
            "notice" => Self::Notice,
            "warning" => Self::Warning,
            "error" => Self::Error,
            "critical" => Self::Critical,
            "alert" => Self::Alert,
            "emergency" => Self::Emergency,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
            Self::Alert => "alert",
            Self::Emergency => "emergency",
        }
    }
}
