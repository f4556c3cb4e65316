//! The native engine: demux + H.264/AV1 decode + YUV to RGB + rotation, for frames at times and
//! regular scans. Must not know about ffmpeg, the tools or the cache.

use super::{Frame, FrameHint, VideoCtx, VideoError, VideoInfo};
use std::path::Path;

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
    Err(VideoError::Unsupported(
        "native video decoding is not built yet".into(),
    ))
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
    Err(VideoError::Unsupported(
        "native video decoding is not built yet".into(),
    ))
}
