//! Fuzz target: the audio_transcode pipeline on one chunk (decode, 16 kHz mono, WAV/Opus).
//! Drives `mcp_media::fuzzing::audio_transcode`; a panic is a finding. Knows nothing else of the crate.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mcp_media::fuzzing::audio_transcode(data));
