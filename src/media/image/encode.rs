//! Encoding: JPEG (jpeg-encoder), PNG and lossless WebP, the format chosen from the content
//! when not asked, and a byte budget met by stepping quality, then size.
//! Must not know about tokio, JSON, MCP, the library, the cache or how images are decoded.
//!
//! - JPEG: jpeg-encoder (SIMD), 4:2:0 below quality 90 with averaged chroma (as libjpeg);
//!   alpha is composited over `spec.background`.
//! - PNG: image's encoder at its `Fast` level (fdeflate; 57x faster than the default level on
//!   a photo, for a file 10% larger); when that compresses better than 4:1 (graphics,
//!   screenshots) it is redone at the default level (3.5x the time, a quarter of the size on
//!   the bench's graphic). Opaque RGBA is written as RGB.
//! - WebP: lossless only (image's encoder). Lossy WebP needs libwebp, a C library (the `webp`
//!   crate builds it from source): not worth it for model-facing output, so it is not offered.
//! - Automatic format: PNG when the image has meaningful alpha (any pixel below 255) or at
//!   most [`MAX_PNG_COLOURS`] distinct colours (screenshots, diagrams: counted with an early
//!   exit, so a photo costs a few hundred pixels), JPEG otherwise.
//! - `max_bytes`, deterministically: JPEG quality steps down through [`QUALITY_STEPS`] (those
//!   below the asked quality), then the size shrinks by 3/4 per step (computed from the first
//!   size, the image re-rendered from the pre-resize source each time, never from the previous
//!   try) down to [`MIN_EDGE`] pixels on the long edge; PNG and WebP only shrink. Beyond that,
//!   [`ImageError::TooLarge`].

use super::ops;
use super::{Encoded, ImageError, OutputFormat, TransformSpec};
use image::{DynamicImage, ExtendedColorType, ImageEncoder};

/// JPEG quality when none is asked.
pub const DEFAULT_QUALITY: u8 = 85;
/// JPEG qualities tried, in order, to meet a byte budget.
pub const QUALITY_STEPS: [u8; 6] = [85, 75, 65, 55, 45, 35];
/// Each size step multiplies both sides by `SIZE_STEP_NUM / SIZE_STEP_DEN` (3/4).
pub const SIZE_STEP_NUM: u64 = 3;
pub const SIZE_STEP_DEN: u64 = 4;
/// Smallest long edge the size steps go down to.
pub const MIN_EDGE: u32 = 16;
/// Images with at most this many distinct colours are written as PNG by default.
pub const MAX_PNG_COLOURS: usize = 256;
/// PNG output compressed better than this ratio at the fast level is re-encoded at the
/// default level (see [`encode_as`]).
pub const PNG_GRAPHIC_RATIO: u64 = 4;
/// WebP's format limit, pixels a side.
pub const MAX_WEBP_EDGE: u32 = 16_384;

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidRequest(msg.into())
}

fn encode_err(e: impl std::fmt::Display) -> ImageError {
    ImageError::Encode(e.to_string())
}

/// Whether any pixel is less than fully opaque.
pub fn has_meaningful_alpha(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgba8(b) => b.as_raw().chunks_exact(4).any(|p| p.get(3) != Some(&255)),
        other if other.color().has_alpha() => other.to_rgba8().pixels().any(|p| p.0[3] != 255),
        _ => false,
    }
}

/// Whether the image has at most `max` distinct colours (alpha ignored). Stops at the
/// `max + 1`th colour; runs of one colour cost a comparison per pixel.
pub fn has_few_colours(img: &DynamicImage, max: usize) -> bool {
    fn count<'a>(pixels: impl Iterator<Item = &'a [u8]>, max: usize) -> bool {
        let mut seen: Vec<u32> = Vec::with_capacity(max + 1);
        let mut last = None;
        for p in pixels {
            let key = p.iter().take(3).fold(0u32, |k, &c| (k << 8) | u32::from(c));
            if last == Some(key) {
                continue;
            }
            last = Some(key);
            if let Err(at) = seen.binary_search(&key) {
                if seen.len() >= max {
                    return false;
                }
                seen.insert(at, key);
            }
        }
        true
    }
    match img {
        DynamicImage::ImageRgb8(b) => count(b.as_raw().chunks_exact(3), max),
        DynamicImage::ImageRgba8(b) => count(b.as_raw().chunks_exact(4), max),
        other => count(other.to_rgb8().as_raw().chunks_exact(3), max),
    }
}

/// The format for `img` when none is asked: PNG for alpha or few colours, else JPEG.
pub fn choose_format(img: &DynamicImage) -> OutputFormat {
    if has_meaningful_alpha(img) || has_few_colours(img, MAX_PNG_COLOURS) {
        OutputFormat::Png
    } else {
        OutputFormat::Jpeg
    }
}

/// 8-bit RGB of `img`, alpha composited over `background`.
fn flatten(img: &DynamicImage, background: [u8; 3]) -> Vec<u8> {
    let over = |c: u8, a: u8, bg: u8| -> u8 {
        let (c, a, bg) = (u32::from(c), u32::from(a), u32::from(bg));
        // At most 255 * 255 + 127 over 255: fits a u8.
        ((c * a + bg * (255 - a) + 127) / 255) as u8
    };
    let composite = |raw: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(raw.len() / 4 * 3);
        let [br, bgg, bb] = background;
        for p in raw.chunks_exact(4) {
            if let [r, g, b, a] = *p {
                // Opaque and clear pixels (most of them) need no arithmetic.
                match a {
                    255 => out.extend_from_slice(&[r, g, b]),
                    0 => out.extend_from_slice(&background),
                    _ => out.extend_from_slice(&[over(r, a, br), over(g, a, bgg), over(b, a, bb)]),
                }
            }
        }
        out
    };
    match img {
        DynamicImage::ImageRgb8(b) => b.as_raw().clone(),
        DynamicImage::ImageRgba8(b) => composite(b.as_raw()),
        other if other.color().has_alpha() => composite(other.to_rgba8().as_raw()),
        other => other.to_rgb8().into_raw(),
    }
}

/// Pixels and colour type for a lossless encoder: RGB for opaque images, RGBA otherwise.
fn lossless_pixels(img: &DynamicImage) -> (Vec<u8>, ExtendedColorType) {
    if has_meaningful_alpha(img) {
        match img {
            DynamicImage::ImageRgba8(b) => (b.as_raw().clone(), ExtendedColorType::Rgba8),
            other => (other.to_rgba8().into_raw(), ExtendedColorType::Rgba8),
        }
    } else {
        (flatten(img, [0, 0, 0]), ExtendedColorType::Rgb8)
    }
}

/// Encodes `img` once: no budget. `quality` is used by JPEG only.
pub fn encode_as(
    img: &DynamicImage,
    format: OutputFormat,
    quality: u8,
    background: [u8; 3],
) -> Result<Vec<u8>, ImageError> {
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return Err(invalid("cannot encode an empty image"));
    }
    let mut out = Vec::new();
    match format {
        OutputFormat::Jpeg => {
            let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
                return Err(invalid(format!(
                    "JPEG images are at most 65535 pixels a side (this one is {w}x{h})"
                )));
            };
            let rgb = flatten(img, background);
            let mut enc = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
            enc.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
            enc.encode(&rgb, w16, h16, jpeg_encoder::ColorType::Rgb)
                .map_err(encode_err)?;
        }
        OutputFormat::Png => {
            let (pixels, color) = lossless_pixels(img);
            let png = |level| -> Result<Vec<u8>, ImageError> {
                let mut out = Vec::new();
                image::codecs::png::PngEncoder::new_with_quality(
                    &mut out,
                    level,
                    image::codecs::png::FilterType::Adaptive,
                )
                .write_image(&pixels, w, h, color)
                .map_err(encode_err)?;
                Ok(out)
            };
            out = png(image::codecs::png::CompressionType::Fast)?;
            // Graphics (more than PNG_GRAPHIC_RATIO:1 at the fast level) shrink several times
            // more at the default level, which is cheap on such content; photos would pay
            // 50x the time for 10%.
            if (out.len() as u64).saturating_mul(PNG_GRAPHIC_RATIO) < pixels.len() as u64 {
                let smaller = png(image::codecs::png::CompressionType::Default)?;
                if smaller.len() < out.len() {
                    out = smaller;
                }
            }
        }
        OutputFormat::Webp => {
            if w > MAX_WEBP_EDGE || h > MAX_WEBP_EDGE {
                return Err(invalid(format!(
                    "WebP images are at most {MAX_WEBP_EDGE} pixels a side (this one is {w}x{h})"
                )));
            }
            let (pixels, color) = lossless_pixels(img);
            image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                .write_image(&pixels, w, h, color)
                .map_err(encode_err)?;
        }
    }
    Ok(out)
}

/// The quality asked by `spec`, validated (default [`DEFAULT_QUALITY`]).
fn quality_of(spec: &TransformSpec) -> Result<u8, ImageError> {
    match spec.quality {
        None => Ok(DEFAULT_QUALITY),
        Some(q @ 1..=100) => Ok(q),
        Some(q) => Err(invalid(format!("quality must be within 1..=100 (got {q})"))),
    }
}

/// The box of size step `k` (1, 2, ...) from a first size of `first`: each side times
/// (3/4)^k, rounded down, at least 1. Integer arithmetic: the same on every machine.
pub fn step_box(first: (u32, u32), k: u32) -> (u32, u32) {
    let scale = |side: u32| -> u32 {
        let num = u128::from(SIZE_STEP_NUM).saturating_pow(k);
        let den = u128::from(SIZE_STEP_DEN).saturating_pow(k);
        let v = u128::from(side).saturating_mul(num) / den.max(1);
        u32::try_from(v).unwrap_or(side).max(1)
    };
    (scale(first.0), scale(first.1))
}

/// Encodes `img` (already transformed) as `spec` asks, within `spec.max_bytes`; smaller
/// sizes are resized from `img` itself. The format is `spec.format`, or chosen from `img`.
pub fn encode(
    img: &DynamicImage,
    spec: &TransformSpec,
    cancelled: &dyn Fn() -> bool,
) -> Result<Encoded, ImageError> {
    let format = spec.format.unwrap_or_else(|| choose_format(img));
    let source = (img.width(), img.height());
    let mut smaller = |(bw, bh): (u32, u32)| {
        let s = TransformSpec {
            max_width: Some(bw),
            max_height: Some(bh),
            ..TransformSpec::default()
        };
        ops::apply(img, source, &s, cancelled)
    };
    encode_with(img.clone(), format, spec, cancelled, &mut smaller)
}

/// Encodes `first` in `format` within `spec.max_bytes`. For a size step, `smaller(box)` must
/// render the image again, from the source before any resize, to fit within `box` (both sides
/// at most the box, as [`step_box`] computes them from `first`'s size).
pub fn encode_with(
    first: DynamicImage,
    format: OutputFormat,
    spec: &TransformSpec,
    cancelled: &dyn Fn() -> bool,
    smaller: &mut dyn FnMut((u32, u32)) -> Result<DynamicImage, ImageError>,
) -> Result<Encoded, ImageError> {
    let quality = quality_of(spec)?;
    if spec.max_bytes == Some(0) {
        return Err(invalid("max_bytes must be at least 1"));
    }
    let jpeg = format == OutputFormat::Jpeg;
    let done = |img: &DynamicImage, bytes: Vec<u8>, q: u8, steps: Vec<String>| Encoded {
        bytes,
        format,
        width: img.width(),
        height: img.height(),
        quality: jpeg.then_some(q),
        steps,
    };
    if cancelled() {
        return Err(ImageError::Cancelled);
    }
    let Some(max) = spec.max_bytes else {
        let bytes = encode_as(&first, format, quality, spec.background)?;
        return Ok(done(&first, bytes, quality, Vec::new()));
    };
    let describe = |img: &DynamicImage, q: u8, len: usize| {
        let q = if jpeg {
            format!(" q{q}")
        } else {
            String::new()
        };
        let verdict = if len as u64 <= max {
            "fits".to_owned()
        } else {
            format!("over {max}")
        };
        format!(
            "{} {}x{}{q}: {len} bytes, {verdict}",
            format.as_str(),
            img.width(),
            img.height()
        )
    };
    let qualities: Vec<u8> = if jpeg {
        std::iter::once(quality)
            .chain(QUALITY_STEPS.into_iter().filter(|&s| s < quality))
            .collect()
    } else {
        vec![quality]
    };
    let mut steps = Vec::new();
    let mut last = (quality, 0usize);
    for (i, &q) in qualities.iter().enumerate() {
        if cancelled() {
            return Err(ImageError::Cancelled);
        }
        let bytes = encode_as(&first, format, q, spec.background)?;
        if i > 0 || bytes.len() as u64 > max {
            steps.push(describe(&first, q, bytes.len()));
        }
        if bytes.len() as u64 <= max {
            return Ok(done(&first, bytes, q, steps));
        }
        last = (q, bytes.len());
    }
    let q = last.0;
    let dims = (first.width(), first.height());
    let mut prev = dims;
    let mut smallest = (dims, last.1);
    for k in 1.. {
        let b = step_box(dims, k);
        if b.0.max(b.1) < MIN_EDGE || b == prev {
            break;
        }
        prev = b;
        if cancelled() {
            return Err(ImageError::Cancelled);
        }
        let img = smaller(b)?;
        let bytes = encode_as(&img, format, q, spec.background)?;
        steps.push(describe(&img, q, bytes.len()));
        if bytes.len() as u64 <= max {
            return Ok(done(&img, bytes, q, steps));
        }
        smallest = ((img.width(), img.height()), bytes.len());
    }
    let ((sw, sh), len) = smallest;
    let q = if jpeg {
        format!(" at quality {q}")
    } else {
        String::new()
    };
    Err(ImageError::TooLarge(format!(
        "cannot fit the image in {max} bytes: the smallest try, {} {sw}x{sh}{q}, took {len}",
        format.as_str()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    /// Photo-like: smooth gradients plus deterministic noise (thousands of colours).
    fn photo(w: u32, h: u32) -> DynamicImage {
        let mut seed = 7u32;
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = (seed >> 27) as u8;
            Rgb([
                ((x * 255 / w.max(1)) as u8).wrapping_add(n),
                ((y * 255 / h.max(1)) as u8).wrapping_add(n / 2),
                (((x + y) * 127 / (w + h)) as u8).wrapping_add(n),
            ])
        }))
    }

    /// Diagram-like: three flat colours.
    fn diagram(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            match (x / 10 + y / 10) % 3 {
                0 => Rgb([255, 255, 255]),
                1 => Rgb([0, 0, 0]),
                _ => Rgb([200, 30, 30]),
            }
        }))
    }

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).unwrap()
    }

    #[test]
    fn auto_format_picks_png_for_alpha_and_few_colours_else_jpeg() {
        assert_eq!(choose_format(&photo(64, 64)), OutputFormat::Jpeg);
        assert_eq!(choose_format(&diagram(64, 64)), OutputFormat::Png);
        // Opaque RGBA photo: JPEG; one translucent pixel: PNG.
        let mut rgba = photo(64, 64).to_rgba8();
        assert_eq!(
            choose_format(&DynamicImage::ImageRgba8(rgba.clone())),
            OutputFormat::Jpeg
        );
        rgba.put_pixel(63, 63, Rgba([1, 2, 3, 254]));
        assert_eq!(
            choose_format(&DynamicImage::ImageRgba8(rgba)),
            OutputFormat::Png
        );
        // The colour threshold is exact: 256 colours is PNG, 257 is JPEG.
        let n_colours = |n: u32| {
            DynamicImage::ImageRgb8(RgbImage::from_fn(n, 2, |x, _| {
                Rgb([(x % 256) as u8, (x / 256) as u8, 9])
            }))
        };
        assert!(has_few_colours(&n_colours(256), 256));
        assert!(!has_few_colours(&n_colours(257), 256));
        assert_eq!(choose_format(&n_colours(256)), OutputFormat::Png);
        assert_eq!(choose_format(&n_colours(257)), OutputFormat::Jpeg);
    }

    #[test]
    fn every_format_decodes_back_to_the_same_size_and_lossless_ones_to_the_same_pixels() {
        let img = diagram(123, 45);
        for format in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::Webp] {
            let bytes = encode_as(&img, format, 85, [255; 3]).unwrap();
            let guessed = image::guess_format(&bytes).unwrap();
            assert_eq!(guessed.to_mime_type(), format.mime());
            let back = decode(&bytes);
            assert_eq!((back.width(), back.height()), (123, 45), "{format:?}");
            if format != OutputFormat::Jpeg {
                assert_eq!(back.to_rgb8(), img.to_rgb8(), "{format:?} not lossless");
            }
        }
        // With alpha, PNG and WebP keep it exactly.
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(20, 10, |x, y| {
            Rgba([x as u8 * 10, y as u8 * 20, 5, (x * 12) as u8])
        }));
        for format in [OutputFormat::Png, OutputFormat::Webp] {
            let back = decode(&encode_as(&rgba, format, 85, [0; 3]).unwrap());
            assert_eq!(back.to_rgba8(), rgba.to_rgba8(), "{format:?}");
        }
    }

    #[test]
    fn opaque_rgba_is_written_as_rgb_png() {
        let img = DynamicImage::ImageRgba8(diagram(30, 30).to_rgba8());
        let back = decode(&encode_as(&img, OutputFormat::Png, 85, [0; 3]).unwrap());
        assert_eq!(back.color(), image::ColorType::Rgb8);
    }

    #[test]
    fn png_of_a_graphic_is_redone_at_the_default_level_and_a_photo_is_not() {
        let fast = |img: &DynamicImage| {
            let rgb = img.to_rgb8();
            let mut out = Vec::new();
            image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            )
            .write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                ExtendedColorType::Rgb8,
            )
            .unwrap();
            out
        };
        let graphic = diagram(400, 300);
        let ours = encode_as(&graphic, OutputFormat::Png, 85, [0; 3]).unwrap();
        assert!(
            ours.len() < fast(&graphic).len(),
            "{} vs {}",
            ours.len(),
            fast(&graphic).len()
        );
        let photo = photo(200, 150);
        assert_eq!(
            encode_as(&photo, OutputFormat::Png, 85, [0; 3]).unwrap(),
            fast(&photo)
        );
    }

    #[test]
    fn jpeg_composites_alpha_over_the_background() {
        // Left: fully transparent red; right: opaque blue. Background green.
        let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(64, 32, |x, _| {
            if x < 32 {
                Rgba([255, 0, 0, 0])
            } else {
                Rgba([0, 0, 255, 255])
            }
        }));
        let spec = TransformSpec {
            format: Some(OutputFormat::Jpeg),
            background: [0, 255, 0],
            ..TransformSpec::default()
        };
        let out = encode(&img, &spec, &|| false).unwrap();
        assert_eq!(out.quality, Some(DEFAULT_QUALITY));
        let back = decode(&out.bytes).to_rgb8();
        let close = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12);
        assert!(
            close(back.get_pixel(8, 16).0, [0, 255, 0]),
            "{:?}",
            back.get_pixel(8, 16)
        );
        assert!(
            close(back.get_pixel(56, 16).0, [0, 0, 255]),
            "{:?}",
            back.get_pixel(56, 16)
        );
        // Half alpha: half way between.
        let half =
            DynamicImage::ImageRgba8(RgbaImage::from_pixel(16, 16, Rgba([255, 255, 255, 128])));
        assert_eq!(flatten(&half, [0, 0, 0]).first(), Some(&128));
    }

    #[test]
    fn quality_is_honoured_and_validated() {
        let img = photo(256, 256);
        let size = |q| {
            encode_as(&img, OutputFormat::Jpeg, q, [0; 3])
                .unwrap()
                .len()
        };
        assert!(size(30) < size(85) && size(85) < size(100));
        for q in [0u8, 101, 255] {
            let spec = TransformSpec {
                quality: Some(q),
                ..TransformSpec::default()
            };
            assert!(matches!(
                encode(&img, &spec, &|| false),
                Err(ImageError::InvalidRequest(_))
            ));
        }
        let spec = TransformSpec {
            max_bytes: Some(0),
            ..TransformSpec::default()
        };
        assert!(matches!(
            encode(&img, &spec, &|| false),
            Err(ImageError::InvalidRequest(_))
        ));
    }

    #[test]
    fn max_bytes_steps_quality_before_size() {
        let img = photo(512, 384);
        let q85 = encode_as(&img, OutputFormat::Jpeg, 85, [0; 3])
            .unwrap()
            .len() as u64;
        let q55 = encode_as(&img, OutputFormat::Jpeg, 55, [0; 3])
            .unwrap()
            .len() as u64;
        // A budget between q55 and q65: quality steps only, the size kept.
        let spec = TransformSpec {
            format: Some(OutputFormat::Jpeg),
            max_bytes: Some(q55),
            ..TransformSpec::default()
        };
        let out = encode(&img, &spec, &|| false).unwrap();
        assert!(out.bytes.len() as u64 <= q55 && q55 < q85);
        assert_eq!((out.width, out.height), (512, 384));
        assert_eq!(out.quality, Some(55));
        assert_eq!(out.steps.len(), 4, "{:?}", out.steps); // 85, 75, 65 over; 55 fits
        assert!(out.steps[0].contains("q85") && out.steps[3].contains("fits"));
        // No budget needed: no steps.
        let spec = TransformSpec {
            max_bytes: Some(q85),
            format: Some(OutputFormat::Jpeg),
            ..TransformSpec::default()
        };
        let out = encode(&img, &spec, &|| false).unwrap();
        assert!(out.steps.is_empty());
        assert_eq!(out.quality, Some(85));
    }

    #[test]
    fn max_bytes_then_steps_size_from_the_pre_resize_image() {
        let img = photo(512, 384);
        let q35 = encode_as(&img, OutputFormat::Jpeg, 35, [0; 3])
            .unwrap()
            .len() as u64;
        let budget = q35 / 3;
        let spec = TransformSpec {
            format: Some(OutputFormat::Jpeg),
            max_bytes: Some(budget),
            ..TransformSpec::default()
        };
        let mut asked = Vec::new();
        let mut smaller = |b: (u32, u32)| {
            asked.push(b);
            ops::apply(
                &img,
                (512, 384),
                &TransformSpec {
                    max_width: Some(b.0),
                    max_height: Some(b.1),
                    ..TransformSpec::default()
                },
                &|| false,
            )
        };
        let out = encode_with(
            img.clone(),
            OutputFormat::Jpeg,
            &spec,
            &|| false,
            &mut smaller,
        )
        .unwrap();
        assert!(out.bytes.len() as u64 <= budget);
        assert_eq!(out.quality, Some(35));
        // Boxes are (3/4)^k of the first size, each asked once, in order.
        let want: Vec<_> = (1..=asked.len() as u32)
            .map(|k| step_box((512, 384), k))
            .collect();
        assert_eq!(asked, want);
        assert_eq!(asked[0], (384, 288));
        assert_eq!((out.width, out.height), *asked.last().unwrap());
        // 6 quality tries + one line per size try.
        assert_eq!(out.steps.len(), 6 + asked.len(), "{:?}", out.steps);
        let back = decode(&out.bytes);
        assert_eq!((back.width(), back.height()), (out.width, out.height));
    }

    #[test]
    fn png_and_webp_budgets_step_size_only() {
        let img = photo(300, 200);
        for format in [OutputFormat::Png, OutputFormat::Webp] {
            let full = encode_as(&img, format, 85, [0; 3]).unwrap().len() as u64;
            let spec = TransformSpec {
                format: Some(format),
                max_bytes: Some(full / 2),
                ..TransformSpec::default()
            };
            let out = encode(&img, &spec, &|| false).unwrap();
            assert!(out.bytes.len() as u64 <= full / 2, "{format:?}");
            assert!(out.width < 300 && out.height < 200, "{format:?}");
            assert_eq!(out.quality, None);
            assert_eq!(out.format, format);
        }
    }

    #[test]
    fn impossible_budget_is_too_large() {
        let spec = TransformSpec {
            max_bytes: Some(50),
            ..TransformSpec::default()
        };
        match encode(&photo(200, 200), &spec, &|| false) {
            Err(ImageError::TooLarge(m)) => assert!(m.contains("50 bytes"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn same_input_and_spec_give_identical_bytes() {
        for spec in [
            TransformSpec::for_model(),
            TransformSpec {
                max_bytes: Some(8_000),
                ..TransformSpec::default()
            },
            TransformSpec {
                format: Some(OutputFormat::Webp),
                max_bytes: Some(40_000),
                ..TransformSpec::default()
            },
        ] {
            let a = encode(&photo(400, 300), &spec, &|| false).unwrap();
            let b = encode(&photo(400, 300), &spec, &|| false).unwrap();
            assert_eq!(a, b, "{spec:?}");
        }
    }

    #[test]
    fn format_limits_and_cancel_are_errors_not_panics() {
        let wide = DynamicImage::ImageRgb8(RgbImage::new(MAX_WEBP_EDGE + 1, 1));
        assert!(matches!(
            encode_as(&wide, OutputFormat::Webp, 85, [0; 3]),
            Err(ImageError::InvalidRequest(_))
        ));
        let too_wide = DynamicImage::ImageRgb8(RgbImage::new(65_536, 1));
        assert!(matches!(
            encode_as(&too_wide, OutputFormat::Jpeg, 85, [0; 3]),
            Err(ImageError::InvalidRequest(_))
        ));
        let empty = DynamicImage::ImageRgb8(RgbImage::new(0, 0));
        assert!(encode_as(&empty, OutputFormat::Png, 85, [0; 3]).is_err());
        assert!(matches!(
            encode(&photo(8, 8), &TransformSpec::default(), &|| true),
            Err(ImageError::Cancelled)
        ));
        // Other pixel types are converted, not refused.
        let gray = DynamicImage::ImageLumaA8(image::ImageBuffer::from_pixel(
            5,
            5,
            image::LumaA([100u8, 50]),
        ));
        for f in [OutputFormat::Jpeg, OutputFormat::Png, OutputFormat::Webp] {
            let back = decode(&encode_as(&gray, f, 85, [0; 3]).unwrap());
            assert_eq!((back.width(), back.height()), (5, 5));
        }
    }
}
