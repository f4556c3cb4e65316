//! All integration tests, in one binary with shared helpers (see `util`, `http`). They drive
//! the real `mcp-media` binary over stdio and Streamable HTTP, and (`inproc`) the server
//! in-process over in-memory pipes.
#![allow(clippy::print_stdout)] // tests report figures; the server under test owns its own stdout

mod audio;
mod auth;
mod discovery;
mod faults;
mod files;
mod fixtures;
mod fuzz_regressions;
mod hostile;
mod http;
mod images;
mod inproc;
mod layering;
mod oauth;
mod oauth_http;
mod pipeline;
mod schema;
mod shutdown;
mod stdio;
mod streaming;
mod util;
mod video;
mod video_engine;
