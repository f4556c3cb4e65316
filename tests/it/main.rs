//! All integration tests, in one binary with shared helpers (see `util`). They drive the real
//! `mcp-media` binary over stdio.

mod audio;
mod fixtures;
mod layering;
mod pipeline;
mod schema;
mod stdio;
mod util;
