//! Fuzz target: native video probing (MP4/MOV, MKV/WebM) and first-frame decoding (H.264, AV1)
//! of arbitrary bytes. Drives `mcp_media::fuzzing::video_probe`; a panic is a finding. Knows
//! nothing else of the crate.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mcp_media::fuzzing::video_probe(data));
