//! All integration tests, in one binary with shared helpers (see `util`). They drive the real
//! `mcp-media` binary over stdio and Streamable HTTP.
#![allow(clippy::print_stdout)] // tests report figures; the server under test owns its own stdout

mod audio;
mod fixtures;
mod fuzz_regressions;
mod hostile;
mod http;
mod layering;
mod pipeline;
mod schema;
mod shutdown;
mod stdio;
mod util;
