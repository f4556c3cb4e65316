//! Video: probe, seek and decode frames, scene changes and clips. Natively where a pure-Rust or
//! bundled decoder exists (symphonia demuxes MP4/MOV and MKV/WebM; openh264 decodes H.264;
//! rav1d decodes AV1), through the system `ffmpeg` (a child process, never a shell) for the
//! rest. Frames come out as 8-bit RGB, oriented as displayed (rotation / display matrix
//! applied); the image pipeline resizes and encodes them, the audio pipeline takes soundtracks.
//!
//! The contract shared by the modules (and by the tools and derived resources above):
//! - [`probe()`]: container, duration, every track; which [`Engine`] can decode the picture.
//! - [`frames_at`]: frames nearest given presentation times (seek to the keyframe before each
//!   target, decode forward only as far as needed), each with its exact timestamp.
//! - [`scan`]: small frames at a regular interval, for scene detection ([`scenes`]).
//! - [`clip`]: a bounded H.264/MP4 clip written to a file.
//! - [`storyboard`]: frames composed into one labelled grid image.
//!
//! Every function checks `cancelled` at least once per decoded frame (and a child process is
//! killed when it fires), honours [`VideoLimits`] before allocating, and never panics on input.
//! Must not know about tokio, JSON, MCP, the library or the cache.

pub mod av1;
pub mod clip;
pub mod demux;
pub mod ffmpeg;
pub mod h264;
pub mod native;
pub mod probe;
pub mod scenes;
pub mod storyboard;
pub mod yuv;

pub use probe::probe;

use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Why a video could not be read or made. Everything but `Internal` and `Io` names a problem
/// with the file, the request or the machine's tools (mapped to the wire in one place).
#[derive(Debug, Error)]
pub enum VideoError {
    /// Not a video, or a codec/container nothing here decodes (the message says what would,
    /// e.g. "install ffmpeg to decode VP9").
    #[error("unsupported video: {0}")]
    Unsupported(String),
    /// Over a configured limit (dimensions, duration, frames decoded, output size).
    #[error("video too large: {0}")]
    TooLarge(String),
    /// Truncated or corrupt data (the native decoder and, where tried, ffmpeg both failed).
    #[error("corrupt video: {0}")]
    Corrupt(String),
    /// The request itself is impossible (a time past the end, an empty range, ...).
    #[error("invalid video request: {0}")]
    InvalidRequest(String),
    /// ffmpeg failed, timed out, wrote too much, or is not installed (and was needed).
    #[error("ffmpeg: {0}")]
    External(String),
    /// Our own bug (an encoder or muxer failed on frames we made).
    #[error("internal video error: {0}")]
    Internal(String),
    #[error("the request was cancelled")]
    Cancelled,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Bounds on what one request may make the server do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoLimits {
    /// Largest coded width and height, in pixels (checked from the header before decoding).
    pub max_width: u32,
    pub max_height: u32,
    /// Largest width x height.
    pub max_pixels: u64,
    /// Most frames one request may decode (seeking decodes from the keyframe before each
    /// target; a scan decodes what it samples).
    pub max_decoded_frames: u64,
    /// Largest compressed packet accepted, in bytes.
    pub max_packet_bytes: usize,
    /// Longest clip, in seconds.
    pub max_clip_seconds: f64,
    /// Largest clip file, in bytes.
    pub max_clip_bytes: u64,
    /// Longest an ffmpeg child may run.
    pub external_timeout: Duration,
}

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            max_width: 8192,
            max_height: 8192,
            max_pixels: 8192 * 4320,
            max_decoded_frames: 20_000,
            max_packet_bytes: 64 << 20,
            max_clip_seconds: 300.0,
            max_clip_bytes: 256 << 20,
            external_timeout: Duration::from_secs(120),
        }
    }
}

/// What decodes a file's picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// In process: symphonia demux + openh264 (H.264) or rav1d (AV1).
    Native,
    /// The system ffmpeg.
    Ffmpeg,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Native => "native",
            Engine::Ffmpeg => "ffmpeg",
        }
    }
}

/// How video is decoded on this machine: the limits, and the ffmpeg/ffprobe found at start-up
/// (`None`: not installed; native formats still work, the others fail naming what is missing).
#[derive(Clone, Debug, Default)]
pub struct VideoCtx {
    pub limits: VideoLimits,
    pub ffmpeg: Option<PathBuf>,
    pub ffprobe: Option<PathBuf>,
    /// Worker threads a request may use (storyboards decode segments in parallel).
    pub threads: usize,
}

/// A video file's facts.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Container name: "mp4", "mov", "matroska", "webm", "avi", ...
    pub container: String,
    /// Seconds, when known.
    pub duration: Option<f64>,
    /// Overall bitrate, bits per second, when known.
    pub bitrate: Option<u64>,
    pub video: Vec<VideoTrack>,
    pub audio: Vec<AudioTrack>,
    /// What decodes the first video track's picture here (`None`: nothing on this machine).
    pub engine: Option<Engine>,
}

/// One video track.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoTrack {
    pub id: u32,
    /// Short codec name: "h264", "hevc", "av1", "vp8", "vp9", "mpeg4", "prores", ...
    pub codec: String,
    /// Coded size.
    pub width: u32,
    pub height: u32,
    /// Size as displayed (after rotation and sample aspect ratio).
    pub display_width: u32,
    pub display_height: u32,
    /// Clockwise rotation to apply for display: 0, 90, 180 or 270.
    pub rotation: u16,
    /// Average frames per second, when known.
    pub frame_rate: Option<f64>,
    /// e.g. "yuv420p", "yuv420p10le".
    pub pixel_format: Option<String>,
    pub bit_depth: Option<u8>,
    pub bitrate: Option<u64>,
    pub frames: Option<u64>,
    pub duration: Option<f64>,
    /// Seconds between keyframes, when cheap to know (from the sample table / index).
    pub keyframe_interval: Option<f64>,
}

/// One audio track, as far as the container says.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioTrack {
    pub id: u32,
    pub codec: String,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
    pub bitrate: Option<u64>,
    pub duration: Option<f64>,
}

/// One decoded frame, oriented as displayed.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Presentation timestamp, seconds from the start of the stream.
    pub pts: f64,
    pub image: ::image::RgbImage,
}

/// A request for frames: the decoder may deliver frames already scaled down, but never below
/// `min_size` (so the image pipeline's resize still has enough pixels), aspect kept.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameHint {
    pub min_size: Option<(u32, u32)>,
}

/// The clip a [`clip`] call wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipInfo {
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    pub bytes: u64,
    pub engine: Engine,
}

/// Calls `on_frame(i, frame)` with the frame shown at each `times[i]` (seconds; any order,
/// duplicates allowed; a time past the last frame gives the last frame), in ascending time
/// order. The native engine first when the codec is native, ffmpeg when it is not or when the
/// native decoder fails on this stream (and ffmpeg is installed).
pub fn frames_at(
    input: &VideoInput,
    info: &VideoInfo,
    times: &[f64],
    hint: FrameHint,
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    dispatch(
        info,
        ctx,
        |on: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>| {
            native::frames_at(input, info, times, hint, ctx, cancelled, on)
        },
        |on: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>| {
            ffmpeg::frames_at(input, info, times, hint, ctx, cancelled, on)
        },
        on_frame,
    )
}

/// Calls `on_frame(i, frame)` with small frames (each fitting in `size`, aspect kept) sampled
/// at `start + i * interval` for every such time before `end` (the end excluded; the frame
/// shown at each sample time), for
/// scene detection. At most `limits.max_decoded_frames` are decoded.
#[allow(clippy::too_many_arguments)]
pub fn scan(
    input: &VideoInput,
    info: &VideoInfo,
    range: (f64, f64),
    interval: f64,
    size: (u32, u32),
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    dispatch(
        info,
        ctx,
        |on: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>| {
            native::scan(input, info, range, interval, size, ctx, cancelled, on)
        },
        |on: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>| {
            ffmpeg::scan(input, info, range, interval, size, ctx, cancelled, on)
        },
        on_frame,
    )
}

/// Native first, ffmpeg when the native engine cannot (and it is installed). A native failure
/// after frames were delivered is not retried (the caller already has part of the answer).
fn dispatch(
    info: &VideoInfo,
    ctx: &VideoCtx,
    native: impl FnOnce(
        &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
    ) -> Result<(), VideoError>,
    external: impl FnOnce(
        &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
    ) -> Result<(), VideoError>,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    match info.engine {
        Some(Engine::Native) => {
            let mut delivered = 0usize;
            let r = native(&mut |i, f| {
                delivered += 1;
                on_frame(i, f)
            });
            match r {
                Err(e @ (VideoError::Unsupported(_) | VideoError::Corrupt(_)))
                    if delivered == 0 && ctx.ffmpeg.is_some() =>
                {
                    tracing::debug!("native video decode failed ({e}); trying ffmpeg");
                    external(on_frame)
                }
                r => r,
            }
        }
        Some(Engine::Ffmpeg) => external(on_frame),
        None => Err(VideoError::Unsupported(format!(
            "no decoder for {} here: {}",
            info.video
                .first()
                .map_or("this file's picture", |t| t.codec.as_str()),
            ffmpeg::INSTALL_HINT
        ))),
    }
}

/// An opened video file, shared by everything that reads it: never a path, so nothing can
/// swap what a path points to between the library's checks and the read (the library opened
/// it inside its root, as a regular file). Each [`VideoInput::reader`] has its own position
/// (positioned reads on the one handle), so parallel decoders do not disturb each other; an
/// ffmpeg child gets the handle as its stdin and opens `/dev/stdin` (a fresh, seekable open
/// of the same file, see [`VideoInput::child_stdin`]).
#[derive(Clone, Debug)]
pub struct VideoInput {
    file: std::sync::Arc<std::fs::File>,
    size: u64,
    name: String,
    /// Longest one read call may take (the library's read deadline).
    deadline: Duration,
}

impl VideoInput {
    /// `name` is what messages call the file (its URI).
    pub fn new(file: std::fs::File, name: &str, deadline: Duration) -> std::io::Result<Self> {
        let size = file.metadata()?.len();
        Ok(VideoInput {
            file: std::sync::Arc::new(file),
            size,
            name: name.to_string(),
            deadline,
        })
    }
    /// Opens a file by path: for benchmarks and tests, which own their files. The server
    /// opens through the library ([`VideoInput::new`] on the handle it checked).
    pub fn from_path(path: &std::path::Path) -> std::io::Result<Self> {
        let f = std::fs::File::open(path)?;
        Self::new(f, &path.to_string_lossy(), Duration::from_secs(30))
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The opened handle (for a child process's stdin).
    pub fn handle(&self) -> &std::fs::File {
        &self.file
    }
    /// The file's size when it was opened.
    pub fn len(&self) -> u64 {
        self.size
    }
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
    /// A reader from the start, with its own position.
    pub fn reader(&self) -> InputReader {
        InputReader {
            file: self.file.clone(),
            pos: 0,
            size: self.size,
            deadline: self.deadline,
        }
    }
    /// The handle as a child's stdin; the child reads the input as `/dev/stdin`.
    pub fn child_stdin(&self) -> std::io::Result<std::process::Stdio> {
        Ok(std::process::Stdio::from(self.file.try_clone()?))
    }
    /// What a child process names the input on its command line (with [`Self::child_stdin`]).
    pub const CHILD_PATH: &'static str = "/dev/stdin";
}

/// A [`VideoInput`] read by position: `Read + Seek` without moving anyone else's position
/// (a clone reads on from the same place, on its own). A read call that outlasts the deadline
/// fails (slow or stuck storage).
#[derive(Clone, Debug)]
pub struct InputReader {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
    size: u64,
    deadline: Duration,
}

impl InputReader {
    /// The file's size when it was opened.
    pub fn len(&self) -> u64 {
        self.size
    }
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
}

impl std::io::Read for InputReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt as _;
        let started = std::time::Instant::now();
        let n = self.file.read_at(buf, self.pos)?;
        if started.elapsed() > self.deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("a read took longer than {:?}", self.deadline),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for InputReader {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.size.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let p = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.pos = p;
        Ok(p)
    }
}

impl symphonia::core::io::MediaSource for InputReader {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.size)
    }
}

#[cfg(test)]
mod input_tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};

    #[test]
    fn readers_keep_their_own_positions_and_children_read_dev_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.bin");
        std::fs::write(&p, b"0123456789").unwrap();
        let input = VideoInput::new(
            std::fs::File::open(&p).unwrap(),
            "v",
            Duration::from_secs(5),
        )
        .unwrap();
        let (mut a, mut b) = (input.reader(), input.reader());
        let mut x = [0u8; 3];
        a.read_exact(&mut x).unwrap();
        assert_eq!(&x, b"012");
        b.seek(SeekFrom::End(-2)).unwrap();
        let mut y = Vec::new();
        b.read_to_end(&mut y).unwrap();
        assert_eq!(y, b"89");
        a.read_exact(&mut x).unwrap();
        assert_eq!(&x, b"345", "a's position is its own");
        assert!(a.seek(SeekFrom::Current(-100)).is_err());
        // A child reads the whole file through /dev/stdin (a fresh open, from the start).
        let out = std::process::Command::new("cat")
            .arg(VideoInput::CHILD_PATH)
            .stdin(input.child_stdin().unwrap())
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"0123456789");
    }
}
