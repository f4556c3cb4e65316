//! The whole image pipeline: file bytes to [`Encoded`](super::Encoded): probe, plan the
//! decode size from the spec, decode, transform, encode.
//! Must not know about tokio, JSON, MCP, the library or the cache.

use super::decode::DecodeOptions;
use super::{Encoded, ImageError, TransformSpec};
use std::io::{BufRead, Seek};

/// Renders an image file to [`Encoded`] under `spec`. Placeholder until the pipeline module
/// lands (the img-ops branch owns this file: its version replaces this one).
pub fn render<R: BufRead + Seek>(
    _reader: R,
    _opts: &DecodeOptions,
    _spec: &TransformSpec,
    _cancelled: &dyn Fn() -> bool,
) -> Result<Encoded, ImageError> {
    Err(ImageError::Unsupported(
        "the image pipeline is not built yet".into(),
    ))
}
