//! Fuzz target: media:// URIs, derived-audio queries, cursors and Last-Event-ID.
//! Drives `mcp_media::fuzzing::uris`; a panic is a finding. Knows nothing else of the crate.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mcp_media::fuzzing::uris(data));
