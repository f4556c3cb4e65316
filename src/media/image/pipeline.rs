//! The whole image pipeline: file bytes to [`Encoded`](super::Encoded): probe, plan the
//! decode size from the spec, decode, transform, encode.
//! Must not know about tokio, JSON, MCP, the library or the cache.
