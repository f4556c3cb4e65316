//! Decoding: file bytes to 8-bit sRGB frames oriented as displayed, within [`ImageLimits`]
//! enforced from the header (before any pixel buffer exists) and again through the decoders' own
//! limits. JPEG through jpeg-decoder (CMYK/YCCK, DCT-domain downscaling), GIF/WebP animations
//! frame by frame, everything else through the `image` crate; HEIC/AVIF through an external
//! decoder whose PNG output comes back through here with the same limits.
//! Must not know about tokio, JSON, MCP, the library or the cache.

mod anim;
mod color;
mod jpeg;

pub(super) use anim::{count_gif_frames, count_webp_frames};
pub(super) use jpeg::map_jpeg_error;

use super::external::ExternalDecoders;
use super::probe::{self, map_image_error, unsupported};
use super::{ImageError, ImageInfo, ImageLimits};
use image::{DynamicImage, ImageDecoder, metadata::Orientation};
use std::io::{BufRead, Seek, SeekFrom};

/// Which frames of an animation to decode (a still image has one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Frames {
    #[default]
    First,
    /// N frames evenly spaced over the animation (all of them if it has fewer), first and last
    /// included. An animation longer than `max_frames` is spread over its first `max_frames`
    /// frames (the rest is never read; `info.frames_capped` says so).
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

/// The `image` crate's limits for ours (width and height strict, allocation advisory).
pub(super) fn image_limits(l: &ImageLimits) -> image::Limits {
    let mut lim = image::Limits::default();
    lim.max_image_width = Some(l.max_width);
    lim.max_image_height = Some(l.max_height);
    lim.max_alloc = Some(l.max_decoded_bytes);
    lim
}

/// Refuses a source whose header declares more than the limits allow, before decoding:
/// `frames` frames of `bytes_per_pixel` at the stored size.
pub fn check_limits(
    info: &ImageInfo,
    limits: &ImageLimits,
    frames: u32,
    bytes_per_pixel: u64,
) -> Result<(), ImageError> {
    let too = |what: &str, v: u64, max: u64| {
        Err(ImageError::TooLarge(format!(
            "{what} {v} is over the limit of {max} ({}x{} {} image)",
            info.width, info.height, info.format
        )))
    };
    if info.width > limits.max_width {
        return too("width", info.width.into(), limits.max_width.into());
    }
    if info.height > limits.max_height {
        return too("height", info.height.into(), limits.max_height.into());
    }
    if info.pixels() > limits.max_pixels {
        return too("pixel count", info.pixels(), limits.max_pixels);
    }
    if frames > limits.max_frames {
        return too("frame count", frames.into(), limits.max_frames.into());
    }
    let bytes = info
        .pixels()
        .saturating_mul(bytes_per_pixel)
        .saturating_mul(frames.into());
    if bytes > limits.max_decoded_bytes {
        return too("decoded size in bytes", bytes, limits.max_decoded_bytes);
    }
    Ok(())
}

fn check(cancelled: &dyn Fn() -> bool) -> Result<(), ImageError> {
    if cancelled() {
        Err(ImageError::Cancelled)
    } else {
        Ok(())
    }
}

/// Decodes an image: the first frame, or evenly spaced frames of an animation.
pub fn decode<R: BufRead + Seek>(
    mut reader: R,
    opts: &DecodeOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<Decoded, ImageError> {
    let limits = &opts.limits;
    let info = probe::probe_with(&mut reader, false, limits.max_frames)?;
    check(cancelled)?;
    if matches!(info.format, "heic" | "avif") {
        return decode_external(reader, info, opts, cancelled);
    }
    let format =
        image::ImageFormat::from_extension(info.format).ok_or_else(|| unsupported(info.format))?;
    let n_frames = info.frames.unwrap_or(1).max(1);
    let indices = match opts.frames {
        Frames::Evenly(n) if n_frames > 1 => anim::evenly(n, n_frames),
        _ => vec![0],
    };
    let count = u32::try_from(indices.len()).unwrap_or(u32::MAX);
    // Worst case of what is held: RGBA8 output frames, or the 16-bit decode of one frame.
    let bpp = if info.bit_depth > 8 { 8 } else { 4 };
    check_limits(&info, limits, count, bpp)?;
    let frames: Vec<DynamicImage> = if indices.len() > 1 {
        let icc = icc_of(&mut reader, format)?;
        let raw = anim::decode_frames(&mut reader, format, &indices, limits, cancelled)?;
        raw.into_iter()
            .map(|f| {
                finish(
                    to_rgb_or_rgba(DynamicImage::ImageRgba8(f)),
                    icc.as_deref(),
                    &info,
                )
            })
            .collect()
    } else if format == image::ImageFormat::Jpeg {
        let need = opts
            .min_size
            .map(|(w, h)| if info.swaps_axes() { (h, w) } else { (w, h) });
        let img = jpeg::decode(&mut reader, need, limits.max_decoded_bytes)?;
        vec![orient(img, info.orientation)]
    } else {
        reader.seek(SeekFrom::Start(0))?;
        let mut ir = image::ImageReader::with_format(&mut reader, format);
        ir.limits(image_limits(limits));
        let mut dec = ir.into_decoder().map_err(map_image_error)?;
        let icc = dec.icc_profile().ok().flatten().filter(|p| !p.is_empty());
        check(cancelled)?;
        let img = DynamicImage::from_decoder(dec).map_err(map_image_error)?;
        vec![finish(to_rgb_or_rgba(img), icc.as_deref(), &info)]
    };
    check(cancelled)?;
    Ok(Decoded { frames, info })
}

/// The embedded ICC profile of a GIF or WebP (read apart from the frame iterator).
fn icc_of<R: BufRead + Seek>(
    reader: &mut R,
    format: image::ImageFormat,
) -> Result<Option<Vec<u8>>, ImageError> {
    reader.seek(SeekFrom::Start(0))?;
    let mut ir = image::ImageReader::with_format(&mut *reader, format);
    ir.limits(image::Limits::default());
    let mut dec = ir.into_decoder().map_err(map_image_error)?;
    Ok(dec.icc_profile().ok().flatten().filter(|p| !p.is_empty()))
}

/// Any decoded image as 8-bit RGB, or RGBA when it has alpha (16-bit rounded, grey expanded).
fn to_rgb_or_rgba(img: DynamicImage) -> DynamicImage {
    match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// ICC to sRGB, grey to RGB, then orientation.
fn finish(img: DynamicImage, icc: Option<&[u8]>, info: &ImageInfo) -> DynamicImage {
    let img = match icc {
        Some(p) => color::to_srgb(img, p),
        None => img,
    };
    orient(color::expand_gray(img), info.orientation)
}

fn orient(mut img: DynamicImage, orientation: u8) -> DynamicImage {
    if let Some(o) = Orientation::from_exif(orientation) {
        img.apply_orientation(o);
    }
    color::expand_gray(img)
}

/// HEIC/AVIF: limits checked on the container's size, pixels from the external decoder (which
/// applies the container's rotation and mirroring), its PNG decoded here with the same limits.
fn decode_external<R: BufRead + Seek>(
    mut reader: R,
    info: ImageInfo,
    opts: &DecodeOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<Decoded, ImageError> {
    check_limits(
        &info,
        &opts.limits,
        1,
        if info.bit_depth > 8 { 8 } else { 4 },
    )?;
    reader.seek(SeekFrom::Start(0))?;
    let png = opts
        .external
        .decode_to_png(&mut reader, info.format, cancelled)?;
    let inner = DecodeOptions {
        limits: opts.limits,
        frames: Frames::First,
        min_size: None,
        external: ExternalDecoders::default(),
    };
    let out = decode(std::io::Cursor::new(png), &inner, cancelled)?;
    if out.info.format != "png" {
        return Err(ImageError::External(format!(
            "the external decoder wrote {} instead of PNG",
            out.info.format
        )));
    }
    Ok(Decoded {
        frames: out.frames,
        info,
    })
}

#[cfg(test)]
mod tests;
