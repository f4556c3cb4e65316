//! Image pipeline: probe, decode (with limits enforced through the decoder), orient, convert to
//! sRGB, crop/rotate/flip/resize, encode within a byte budget, and tile. Synchronous; every
//! function checks `cancelled` between stages.
//!
//! The contract shared by the modules (and by the tools and derived resources above):
//! - [`probe`]: header facts without decoding pixels (microseconds for a bomb).
//! - [`decode`]: bytes to 8-bit sRGB frames, oriented as displayed, within [`ImageLimits`];
//!   HEIC/AVIF through an external decoder ([`external`]).
//! - [`ops`] and [`encode`]: [`TransformSpec`] applied to a decoded image, to [`Encoded`].
//! - [`tiles`]: a grid of pixel rectangles over a decoded image.
//! - [`pipeline`]: file bytes to [`Encoded`] (plans the decode size hint from the spec).
//!
//! Must not know about tokio, JSON, MCP, the library or the cache.

pub mod decode;
pub mod encode;
pub mod external;
pub mod ops;
pub mod pipeline;
pub mod probe;
pub mod tiles;

pub use probe::{ImageInfo, probe};

use thiserror::Error;

/// Why an image could not be read or made. Which are the client's fault and which ours is
/// decided once, where errors meet the wire: everything but `Encode` and `Io` names a problem
/// with the file or the request.
#[derive(Debug, Error)]
pub enum ImageError {
    /// Not an image, or a format no decoder here reads (the message says what would).
    #[error("unsupported image: {0}")]
    Unsupported(String),
    /// Over a configured limit (dimensions, pixels, decoded bytes, frames): refused before
    /// the large allocation.
    #[error("image too large: {0}")]
    TooLarge(String),
    /// Truncated or corrupt data.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// The request itself is impossible (a crop outside the image, a zero size, ...).
    #[error("invalid image request: {0}")]
    InvalidRequest(String),
    /// An external decoder (HEIC/AVIF) failed, timed out or is not installed.
    #[error("external decoder: {0}")]
    External(String),
    /// Our encoder failed (a bug, not the input).
    #[error("encoding failed: {0}")]
    Encode(String),
    #[error("the request was cancelled")]
    Cancelled,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Decoding limits, enforced through the decoder's own limits before any large allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest width and height, in stored pixels.
    pub max_width: u32,
    pub max_height: u32,
    /// Largest width x height.
    pub max_pixels: u64,
    /// Largest decoded buffer, in bytes (all frames together).
    pub max_decoded_bytes: u64,
    /// Most frames an animation may have to be decoded (probing counts up to this and stops).
    pub max_frames: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_width: 20_000,
            max_height: 20_000,
            max_pixels: 100_000_000,
            max_decoded_bytes: 512 * 1024 * 1024,
            max_frames: 1_000,
        }
    }
}

/// How the output box is filled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fit {
    /// Within the box, aspect kept (default).
    #[default]
    Inside,
    /// Fills the box, aspect kept, the overflow cropped from the centre.
    Cover,
    /// Exactly the box, aspect not kept.
    Exact,
}

/// A crop rectangle in the displayed (oriented) source image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Crop {
    Pixels {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },
    /// Fractions of the width and height, each in 0..=1.
    Fractions {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rotation {
    #[default]
    None,
    Cw90,
    Cw180,
    Cw270,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flip {
    #[default]
    None,
    Horizontal,
    Vertical,
    Both,
}

/// Encoded output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Jpeg,
    Png,
    /// Lossless WebP.
    Webp,
}

impl OutputFormat {
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
        }
    }
}

/// What to make of a decoded image. Order of operations: crop (in the displayed source),
/// rotate, flip, resize (fit into `max_width` x `max_height`), encode.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformSpec {
    pub max_width: Option<u32>,
    pub max_height: Option<u32>,
    pub fit: Fit,
    /// Allow output larger than the (cropped, rotated) source. Off by default.
    pub upscale: bool,
    pub crop: Option<Crop>,
    pub rotate: Rotation,
    pub flip: Flip,
    /// `None`: chosen from the content (JPEG for photos, PNG for alpha or few colours).
    pub format: Option<OutputFormat>,
    /// JPEG quality 1-100 (default 85); ignored by lossless formats.
    pub quality: Option<u8>,
    /// Byte budget for the encoded output: quality is stepped down first, then size.
    pub max_bytes: Option<u64>,
    /// Background composited under alpha when the output format has none (JPEG).
    pub background: [u8; 3],
}

impl Default for TransformSpec {
    fn default() -> Self {
        TransformSpec {
            max_width: None,
            max_height: None,
            fit: Fit::Inside,
            upscale: false,
            crop: None,
            rotate: Rotation::None,
            flip: Flip::None,
            format: None,
            quality: None,
            max_bytes: None,
            background: [255, 255, 255],
        }
    }
}

/// The long edge a model sees best (several vision models resample above it).
pub const MODEL_LONG_EDGE: u32 = 1568;
/// 1 MiB after base64 (a popular desktop client's limit per tool result), as raw bytes.
pub const MODEL_MAX_BYTES: u64 = 1024 * 1024 / 4 * 3;

impl TransformSpec {
    /// The fit-for-model default: long edge at most [`MODEL_LONG_EDGE`], never upscaled, at
    /// most [`MODEL_MAX_BYTES`], format chosen from the content.
    pub fn for_model() -> Self {
        TransformSpec {
            max_width: Some(MODEL_LONG_EDGE),
            max_height: Some(MODEL_LONG_EDGE),
            max_bytes: Some(MODEL_MAX_BYTES),
            ..TransformSpec::default()
        }
    }
}

/// An encoded image and what was done to reach it.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    /// The JPEG quality used (None for lossless formats).
    pub quality: Option<u8>,
    /// Human-readable steps taken to meet `max_bytes` (empty when none were needed).
    pub steps: Vec<String>,
}
