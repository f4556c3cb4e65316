//! Video probing: container, duration and every track, natively (symphonia's MP4/MKV readers)
//! or through ffprobe; decides which [`Engine`] decodes the picture. Must not know about the
//! tools or the cache.

use super::{VideoCtx, VideoError, VideoInfo};
use std::path::Path;

/// The facts of a video file (never decodes pixels).
pub fn probe(_path: &Path, _ctx: &VideoCtx) -> Result<VideoInfo, VideoError> {
    Err(VideoError::Unsupported(
        "video probing is not built yet".into(),
    ))
}
