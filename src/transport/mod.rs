//! Transports: they own the bytes (stdio lines now; HTTP in its own issue), decode messages,
//! hand them to the server and write its answers. Never touch media or tools.

pub mod http;
pub mod stdio;
