//! Audio: probing, pull-based decoding with seeking, downmix, resampling and WAV chunks.
//!
//! Everything is synchronous over a `std::fs::File` (or any `symphonia` media source). Untrusted
//! input never panics and never allocates without bound: every limit is a named constant and
//! its own error variant, whose text names the limit and its value. Must not know about tokio,
//! JSON, MCP or the library (paths, roots).

pub mod decode;
pub mod layout;
pub mod resample;
pub mod segment;
pub mod source;
pub mod spectrogram;
pub mod wav;

pub use decode::{AudioInfo, Decoder, probe};
pub use source::seekable;

use thiserror::Error;

/// Most channels decoded (and produced).
pub const MAX_CHANNELS: usize = 32;
/// Highest output sample rate.
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// Lowest output sample rate.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Lowest source sample rate decoded: below it a "sound file" is not audio, and resampling it
/// to a usual rate costs out of all proportion to its size.
pub const MIN_SOURCE_RATE: u32 = 1_000;
/// Highest source sample rate decoded (twice the highest rate any common format uses).
pub const MAX_SOURCE_RATE: u32 = 768_000;
/// Largest resampling ratio, either way (output/input or input/output).
pub const MAX_RESAMPLE_RATIO: u32 = 96;
/// Largest resampling block, in frames: the FFT resampler works in blocks of
/// `rate / gcd(input rate, output rate)` frames on each side, so a pair of rates with a tiny
/// common divisor (e.g. 1001 Hz to 48000 Hz) needs huge FFTs. Every usual pair is far below.
pub const MAX_RESAMPLE_BLOCK: u32 = 16_384;
/// Most audio one request may decode, in seconds (a request over it is refused up front).
pub const MAX_DECODED_SECONDS: f64 = 4.0 * 3600.0;
/// Longest single chunk, in seconds.
pub const MAX_CHUNK_SECONDS: f64 = 600.0;
/// Consecutive corrupt packets tolerated before decoding gives up.
pub const MAX_CORRUPT_PACKETS: usize = 64;
/// Most samples (all channels) one decoded packet may hold: 65 536 frames of 8 channels (the
/// largest FLAC block at 8 channels). A bigger packet is refused as corrupt.
pub const MAX_PACKET_SAMPLES: usize = 512 * 1024;
/// Per-request ceiling on decoded audio held in memory before it is encoded, in samples (`f32`,
/// all channels; 4 Mi samples = 16 MiB): the decoder's pending packets, the block being
/// downmixed and the resampler's input. Rendering decodes, downmixes and resamples in blocks
/// sized from the input's channel count, so this holds whatever the input rate, channel count
/// or requested duration. (The encoded output is bounded separately, by the size limit.)
pub const MAX_BUFFERED_SAMPLES: usize = 4 * 1024 * 1024;

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
    #[error(
        "Opus output has 1 or 2 channels and this audio has {0}: ask for channels=1 (mono) or format wav"
    )]
    OpusChannels(usize),
    #[error("the file does not declare its sample rate")]
    UnknownSampleRate,
    #[error(
        "the file's sample rate {0} Hz is outside the supported source range {MIN_SOURCE_RATE}..={MAX_SOURCE_RATE} Hz"
    )]
    SourceRate(u32),
    #[error("sample rate {0} Hz is outside {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz")]
    BadSampleRate(u32),
    #[error("Opus encodes at 8000, 12000, 16000, 24000 or 48000 Hz, not {0}")]
    OpusRate(u32),
    #[error(
        "resampling {from} Hz to {to} Hz is a ratio above the limit of {MAX_RESAMPLE_RATIO}: ask for a rate closer to the file's"
    )]
    ResampleRatio { from: u32, to: u32 },
    #[error(
        "resampling {from} Hz to {to} Hz needs blocks of {block} frames; the limit is {MAX_RESAMPLE_BLOCK} (the two rates share too small a common divisor): ask for another rate"
    )]
    ResampleBlock { from: u32, to: u32, block: u64 },
    #[error(
        "resampling {channels} channels from {from} Hz to {to} Hz would hold {samples} samples; the limit is {limit}: ask for channels=1 or a rate closer to the file's",
        limit = resample::MAX_RESAMPLER_SAMPLES
    )]
    ResampleBuffer {
        from: u32,
        to: u32,
        channels: usize,
        samples: usize,
    },
    #[error("{0:.0} s of audio requested; the limit per request is {MAX_DECODED_SECONDS:.0} s")]
    TooLong(f64),
    #[error(
        "a segment of {0:.3} s was requested; one segment is at most {MAX_CHUNK_SECONDS:.0} s: ask for a shorter duration, or use the audio_transcode tool to get it in chunks"
    )]
    ChunkTooLong(f64),
    #[error("duration must be a positive number of seconds, got {0}")]
    BadDuration(f64),
    #[error("start must be a non-negative number of seconds, got {0}")]
    NegativeStart(f64),
    #[error(
        "the segment would be about {0} bytes, above the limit of {1} bytes: ask for a shorter duration, a lower rate or channels=1, or use the audio_transcode tool to get it in chunks"
    )]
    TooLarge(u64, u64),
    #[error("the audio stream is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the audio stream is corrupt: more than {MAX_CORRUPT_PACKETS} bad packets in a row (the last: {0})"
    )]
    TooManyCorruptPackets(String),
    #[error(
        "the audio stream is corrupt: a packet decoded to {0} samples; the limit is {MAX_PACKET_SAMPLES}"
    )]
    PacketTooLarge(usize),
    #[error("seeking to {0:.3} s failed: {1}")]
    Seek(f64, String),
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error("the Opus decoder could not start: {0}")]
    OpusDecoder(String),
    #[error("the Opus encoder failed: {0}")]
    OpusEncoder(String),
    #[error("rendering the spectrogram failed: {0}")]
    Spectrogram(String),
    #[error("no audio could be decoded from this file (0 frames)")]
    NoAudio,
    #[error("cancelled")]
    Cancelled,
}
