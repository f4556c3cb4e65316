//! External decoders for formats with no pure-Rust decoder (HEIC/HEIF, AVIF): ffmpeg or
//! libheif's `heif-convert`, found at run time, run as a child process (no shell) with a
//! timeout and a bound on what it may write.
//! Must not know about tokio, JSON, MCP, the library or the cache.

use std::path::PathBuf;
use std::time::Duration;

/// Which external decoders exist and how far they are trusted.
#[derive(Clone, Debug, Default)]
pub struct ExternalDecoders {
    pub heif_convert: Option<PathBuf>,
    pub ffmpeg: Option<PathBuf>,
    /// Longest a child may run.
    pub timeout: Duration,
    /// Most bytes a child may produce.
    pub max_output_bytes: u64,
}
