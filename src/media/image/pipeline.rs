//! The whole image pipeline: file bytes to [`Encoded`](super::Encoded): probe, plan the
//! decode size from the spec, decode, transform, encode.
//! Must not know about tokio, JSON, MCP, the library or the cache.

use super::decode::DecodeOptions;
use super::{Encoded, ImageError, TransformSpec};
use std::io::{BufRead, Seek};

/// File bytes to an encoded variant. Placeholder until the pipeline lands.
pub fn render<R: BufRead + Seek>(
    _reader: R,
    _opts: &DecodeOptions,
    _spec: &TransformSpec,
    _cancelled: &dyn Fn() -> bool,
) -> Result<Encoded, ImageError> {
    Err(ImageError::Unsupported(
        "image transforms are not built yet".into(),
    ))
}

/// Every selected frame of an animation, each encoded. Placeholder until the pipeline lands.
pub fn render_frames<R: BufRead + Seek>(
    _reader: R,
    _opts: &DecodeOptions,
    _spec: &TransformSpec,
    _cancelled: &dyn Fn() -> bool,
) -> Result<Vec<Encoded>, ImageError> {
    Err(ImageError::Unsupported(
        "image transforms are not built yet".into(),
    ))
}
