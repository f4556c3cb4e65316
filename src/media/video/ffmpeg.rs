//! The ffmpeg engine: the system `ffmpeg`/`ffprobe` as child processes (argument vector, no
//! shell, cleared environment, stdin closed, a timeout, bounded output, killed on
//! cancellation) for what native decoding cannot do: probing, frames, scans, clips and
//! soundtracks of any container. Must not know about the native engine, tools or the cache.

use super::{Frame, FrameHint, VideoCtx, VideoError, VideoInfo};
use std::path::Path;

/// What to install when ffmpeg is needed and missing.
pub const INSTALL_HINT: &str = "install ffmpeg to decode this video";

/// See [`super::frames_at`].
pub fn frames_at(
    _path: &Path,
    _info: &VideoInfo,
    _times: &[f64],
    _hint: FrameHint,
    _ctx: &VideoCtx,
    _cancelled: &dyn Fn() -> bool,
    _on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    Err(VideoError::External("not built yet".into()))
}

/// See [`super::scan`].
#[allow(clippy::too_many_arguments)]
pub fn scan(
    _path: &Path,
    _info: &VideoInfo,
    _range: (f64, f64),
    _interval: f64,
    _size: (u32, u32),
    _ctx: &VideoCtx,
    _cancelled: &dyn Fn() -> bool,
    _on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    Err(VideoError::External("not built yet".into()))
}

/// TEMPORARY STUB (helper vnative): helper vffmpeg's real `probe` replaces this on merge.
pub fn probe(_path: &Path, _ctx: &VideoCtx) -> Result<VideoInfo, VideoError> {
    Err(VideoError::Unsupported(format!(
        "not a container the native engine reads: {INSTALL_HINT}"
    )))
}
