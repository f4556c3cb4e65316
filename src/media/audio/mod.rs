//! Audio: probing, pull-based decoding with seeking, downmix, resampling and WAV chunks.
//!
//! Everything is synchronous over a `std::fs::File` (or any `symphonia` media source). Untrusted
//! input never panics and never allocates without bound: every limit is a named constant and
//! its own error variant. Must not know about tokio, JSON or MCP.

pub mod decode;
pub mod layout;
pub mod segment;
pub mod spectrogram;
pub mod wav;

pub use decode::{AudioInfo, Decoder, probe};

use thiserror::Error;

/// Most channels decoded (and produced).
pub const MAX_CHANNELS: usize = 32;
/// Highest sample rate accepted in or out.
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// Lowest output sample rate.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Most audio one request may decode, in seconds (a request over it is refused up front).
pub const MAX_DECODED_SECONDS: f64 = 4.0 * 3600.0;
/// Longest single chunk, in seconds.
pub const MAX_CHUNK_SECONDS: f64 = 600.0;
/// Consecutive corrupt packets tolerated before decoding gives up.
pub const MAX_CORRUPT_PACKETS: usize = 64;

#[derive(Debug, Error)]
pub enum AudioError {
    #[error("not a readable audio file: {0}")]
    Unreadable(String),
    #[error("no audio track in this file")]
    NoAudioTrack,
    #[error("unsupported audio codec {0} (symphonia has no decoder for it)")]
    UnsupportedCodec(String),
    #[error("the file has {0} channels; the limit is {MAX_CHANNELS}")]
    TooManyChannels(usize),
    #[error("sample rate {0} Hz is outside {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz")]
    BadSampleRate(u32),
    #[error("{0:.0} s of audio requested; the limit per request is {MAX_DECODED_SECONDS:.0} s")]
    TooLong(f64),
    #[error(
        "the segment would be about {0} bytes, above the limit of {1} bytes: ask for a shorter duration, a lower rate or channels=1, or use the audio_transcode tool to get it in chunks"
    )]
    TooLarge(u64, u64),
    #[error("the audio stream is corrupt: {0}")]
    Corrupt(String),
    #[error("seeking to {0:.3} s failed: {1}")]
    Seek(f64, String),
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("cancelled")]
    Cancelled,
}
