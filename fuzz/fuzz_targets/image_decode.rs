//! Fuzz target: image probing and decoding of arbitrary bytes (JPEG, PNG, GIF, WebP, BMP, TIFF,
//! ICO, QOI, HEIC/AVIF headers). Drives `mcp_media::fuzzing::image_decode`; a panic is a
//! finding. Knows nothing else of the crate.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mcp_media::fuzzing::image_decode(data));
