//! mcp-media: a Model Context Protocol server that serves a media library (audio, images,
//! video) to models and agents, over stdio (and Streamable HTTP, in progress).
//!
//! # Layout
//! Data flows one way, through layers that each know only the layer below:
//! transport -> server -> tools / resources / prompts -> library, media.
//!
//! - [`protocol`]: the wire only: JSON-RPC messages, revisions, MCP types rendered per
//!   revision, NDJSON framing, zero-copy blob framing. No tokio, no media.
//! - [`server`]: transport-agnostic dispatch: era/version routing, in-flight table and
//!   cancellation, the blocking-job bridge, and the one place errors become wire errors.
//! - [`transport`]: stdio (one reader, one writer task). Never touches media or tools.
//! - [`library`]: media roots, path confinement, scanning, content sniffing, URIs.
//! - [`tools`]: one file per tool; plain synchronous code.
//! - [`resources`], [`prompts`]: resources and prompts over the library.
//! - [`media`]: synchronous media pipelines (image probing now). No tokio, JSON or MCP.
//! - [`conformance`]: the conformance suite's fixtures, behind `--conformance`.
//! - [`config`]: settings and every limit, documented in one place.
//! - [`derived`]: canonical URIs of derived artifacts (audio segments) and their rendering
//!   through [`cache`], the one byte-bounded cache shared by all pipelines.
//!
//! Dependency rules (held by `tests/layering.rs`): protocol uses no other module; media and
//! library use neither protocol nor server nor transport; tools/resources/prompts use protocol,
//! media, library and config only; server never uses transport; transport never uses tools or
//! media.

pub mod build;
pub mod cache;
pub mod config;
pub mod conformance;
pub mod derived;
pub mod library;
pub mod media;
pub mod prompts;
pub mod protocol;
pub mod provider;
pub mod resources;
pub mod server;
pub mod tools;
pub mod transport;
