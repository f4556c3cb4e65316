//! mcp-media: a Model Context Protocol server that serves a media library (audio, images,
//! video) to models and agents, over stdio and Streamable HTTP.
//!
//! # Layout
//! Data flows one way, through layers that each know only the layer below:
//! transport -> server -> providers (tools / resources / prompts) -> derived, cache -> library,
//! media. The composition root ([`build`]) is the only place that assembles them.
//!
//! - [`protocol`]: the wire only: JSON-RPC messages, revisions, MCP types rendered per
//!   revision, NDJSON and SSE framing, zero-copy blob framing (large blobs streamed block by
//!   block from their files, `protocol::blob`). No tokio, no media.
//! - [`server`]: transport-agnostic: a request's context worked out once, a method table with
//!   one handler module per method family, blocking jobs with their permits and cancellation,
//!   batches, and the one place errors become wire errors. Holds providers behind traits.
//! - [`transport`]: stdio (a reader that never waits on work, one writer) and Streamable HTTP
//!   (routes, legacy sessions, SSE bodies). Never touches media, tools or providers.
//! - [`auth`]: bearer-token validation for HTTP (static tokens, JWT, introspection) answering
//!   grants (subject, scopes). Knows nothing of MCP methods; used by the transport only.
//! - `provider`: the traits tools, resources and prompts are served through, and their errors.
//! - `tools`: one file per tool; plain synchronous code.
//! - `resources`, `prompts`: resources and prompts over the library.
//! - `conformance`: the conformance suite's fixtures: one more provider, behind `--conformance`.
//! - `derived`: canonical URIs of derived artifacts (audio segments) and their rendering
//!   through `cache`, the one byte-bounded cache shared by all pipelines.
//! - `library`: media roots, path confinement, scanning, content sniffing, URIs, watching.
//! - [`media`]: synchronous media pipelines. No tokio, JSON or MCP.
//! - [`config`]: settings and every limit, documented in one place.
//! - [`build`]: the composition root: builds the library, cache, providers and server.
//! - `fuzzing` (hidden): one `&[u8]` entry point per untrusted-input parser, for `fuzz/`.
//!
//! Dependency rules: `tests/it/layering.rs` holds them as an allow-list (which crate modules
//! and which external crates each module may use), so they cannot drift silently.
//! Modules are `pub(crate)` unless the binary, benches or tests need them.

#![deny(unsafe_code)] // deny, not forbid: src/media/video/av1/ffi.rs alone allows it (rav1d C API).

pub mod auth;
pub mod build;
pub(crate) mod cache;
pub mod config;
pub(crate) mod conformance;
pub(crate) mod derived;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod library;
pub mod media;
pub(crate) mod prompts;
pub mod protocol;
pub(crate) mod provider;
pub(crate) mod resources;
pub mod server;
pub(crate) mod tools;
pub mod transport;
