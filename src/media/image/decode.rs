//! Decoding: file bytes to 8-bit sRGB frames oriented as displayed, within [`ImageLimits`]
//! enforced through the decoders' own limits (before any large allocation).
//! Must not know about tokio, JSON, MCP, the library or the cache.

use super::external::ExternalDecoders;
use super::{ImageError, ImageInfo, ImageLimits};
use std::io::{BufRead, Seek};

/// Which frames of an animation to decode (a still image has one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Frames {
    #[default]
    First,
    /// N frames evenly spaced over the animation (all of them if it has fewer).
    Evenly(u32),
}

#[derive(Clone, Debug, Default)]
pub struct DecodeOptions {
    pub limits: ImageLimits,
    pub frames: Frames,
    /// The decoder may return a smaller image (e.g. JPEG DCT-domain scaling) as long as both
    /// displayed dimensions stay at least these.
    pub min_size: Option<(u32, u32)>,
    pub external: ExternalDecoders,
}

/// Decoded frames (8-bit RGB or RGBA, sRGB, oriented as displayed) and the source's facts.
pub struct Decoded {
    pub frames: Vec<image::DynamicImage>,
    /// The source as probed: its displayed size is the coordinate space of crops.
    pub info: ImageInfo,
}

/// Decodes an image. Placeholder until the decode module lands.
pub fn decode<R: BufRead + Seek>(
    _reader: R,
    _opts: &DecodeOptions,
    _cancelled: &dyn Fn() -> bool,
) -> Result<Decoded, ImageError> {
    Err(ImageError::Unsupported(
        "image decoding is not built yet".into(),
    ))
}
