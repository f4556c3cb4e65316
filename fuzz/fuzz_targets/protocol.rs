//! Fuzz target: NDJSON line framing and JSON-RPC parsing (batches included).
//! Drives `mcp_media::fuzzing::protocol_stream`; a panic is a finding. Knows nothing else of the crate.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mcp_media::fuzzing::protocol_stream(data));
