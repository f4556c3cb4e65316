//! Fuzz target: audio sniffing, probing and decoding of arbitrary bytes (WAV, AIFF, CAF, ...).
//! Drives `mcp_media::fuzzing::audio_decode`; a panic is a finding. Knows nothing else of the crate.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mcp_media::fuzzing::audio_decode(data));
