//! All integration tests, in one binary with shared helpers (see `util`). They drive the real
//! `mcp-media` binary over stdio and Streamable HTTP.

mod audio;
mod fixtures;
mod http;
mod layering;
mod schema;
mod stdio;
mod util;
