//! Clips: `duration` seconds from `start`, as H.264 in MP4 at a bounded height and bitrate,
//! written to a file (through ffmpeg, or natively with openh264's encoder and an MP4 muxer).
//! Must not know about the tools or the cache.

use super::{ClipInfo, VideoCtx, VideoError, VideoInfo};
use std::path::Path;

/// Writes the clip to `out`; `progress(seconds_of_video_done)` is called as work advances.
#[allow(clippy::too_many_arguments)]
pub fn clip(
    _path: &Path,
    _info: &VideoInfo,
    _start: f64,
    _duration: f64,
    _max_height: u32,
    _out: &Path,
    _ctx: &VideoCtx,
    _cancelled: &dyn Fn() -> bool,
    _progress: &mut dyn FnMut(f64),
) -> Result<ClipInfo, VideoError> {
    Err(VideoError::Unsupported("clips are not built yet".into()))
}
