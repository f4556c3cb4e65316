//! Geometry: crop, rotate, flip and resize (SIMD, fast_image_resize) with the fit modes.
//! Must not know about tokio, JSON, MCP, the library, the cache or how images are decoded
//! (it takes an already decoded 8-bit image and the size of the source it stands for).
//!
//! Coordinates: crops are given in the *original displayed* source (after EXIF orientation).
//! The decoded image may be smaller than that source (JPEG DCT-domain scaling), so every
//! rectangle is scaled by decoded/original before resampling; the output size depends only on
//! the original size and the spec, never on how small the decoder made the image.
//!
//! Fit rules (`max_width` x `max_height` is the box; a missing side is unconstrained):
//! - [`Fit::Inside`]: the largest size within the box with the source's aspect (each side
//!   within one pixel of it), never larger than the source unless `upscale`.
//! - [`Fit::Cover`] (both sides given): scaled to fill the box, the overflow cut from the
//!   centre; without `upscale` a source smaller than the box is only cropped, not enlarged, so
//!   the output may be smaller than the box. With one side given it behaves as `Inside`.
//! - [`Fit::Exact`]: exactly the box (the aspect is not kept; `upscale` is implied, since the
//!   size was asked for). With one side given, that side exactly and the other from the aspect.
//!
//! Resampling: fast_image_resize's Lanczos3 convolution (alpha premultiplied while
//! resampling). On the 4000x3000 -> 1568x1176 bench (benches/image_pipeline.rs) it costs a few
//! milliseconds more than CatmullRom and 20x less than `image::imageops::resize`, and it is
//! the sharper filter, the one libvips uses by default; see the README performance section.
//! To keep work small, the crop and the fit are resampled first, in the unrotated
//! orientation, and the (smaller) result is then rotated and flipped: the filter is
//! separable, so this gives the same image as rotating first.

use super::{Crop, Fit, Flip, ImageError, Rotation, TransformSpec};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use std::borrow::Cow;

/// Largest output side (JPEG's format limit; WebP's is lower and checked by the encoder).
pub const MAX_OUTPUT_EDGE: u32 = 65_535;
/// Largest output, in pixels (the default decode limit: asking for a larger output is an
/// invalid request, not a reason to allocate gigabytes).
pub const MAX_OUTPUT_PIXELS: u64 = 100_000_000;

/// The resampling filter (see the module doc for why).
pub const FILTER: FilterType = FilterType::Lanczos3;

/// A pixel rectangle in the displayed source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// What [`apply`] will do, in numbers: the region of the displayed source to resample (in
/// source pixels; fractional for a `Cover` crop), the size it is resampled to (before
/// rotation) and the final output size (after rotation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// The crop, in displayed source pixels.
    pub crop: Rect,
    /// `(x, y, width, height)` of the source region resampled: the crop, or its centred part
    /// with the output's aspect for `Cover`.
    pub region: (f64, f64, f64, f64),
    /// Size the region is resampled to, in the unrotated orientation.
    pub resample: (u32, u32),
    /// The output size (after rotation).
    pub output: (u32, u32),
}

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidRequest(msg.into())
}

/// The crop rectangle of `crop` in a displayed source of `src` pixels (the whole image when
/// `None`). Fractions are rounded to the nearest pixel edge.
pub fn crop_rect(src: (u32, u32), crop: Option<&Crop>) -> Result<Rect, ImageError> {
    let (w, h) = src;
    if w == 0 || h == 0 {
        return Err(invalid(format!("the source image is empty ({w}x{h})")));
    }
    match crop {
        None => Ok(Rect {
            x: 0,
            y: 0,
            width: w,
            height: h,
        }),
        Some(&Crop::Pixels {
            x,
            y,
            width,
            height,
        }) => {
            if width == 0 || height == 0 {
                return Err(invalid(format!(
                    "crop width and height must be at least 1 (got {width}x{height})"
                )));
            }
            let right = u64::from(x) + u64::from(width);
            let bottom = u64::from(y) + u64::from(height);
            if right > u64::from(w) || bottom > u64::from(h) {
                return Err(invalid(format!(
                    "crop {width}x{height} at ({x},{y}) lies outside the {w}x{h} image"
                )));
            }
            Ok(Rect {
                x,
                y,
                width,
                height,
            })
        }
        Some(&Crop::Fractions {
            x,
            y,
            width,
            height,
        }) => {
            for (name, v) in [("x", x), ("y", y), ("width", width), ("height", height)] {
                if !v.is_finite() || !(0.0..=1.0).contains(&v) {
                    return Err(invalid(format!(
                        "crop fraction {name} must be within 0..=1 (got {v})"
                    )));
                }
            }
            if width <= 0.0 || height <= 0.0 {
                return Err(invalid("crop fractions width and height must be above 0"));
            }
            // A little slack for fractions such as 0.1 + 0.9 that miss 1.0 in binary.
            const SLACK: f64 = 1e-9;
            if x + width > 1.0 + SLACK || y + height > 1.0 + SLACK {
                return Err(invalid(format!(
                    "crop fractions reach beyond the image (x + width = {}, y + height = {})",
                    x + width,
                    y + height
                )));
            }
            let (x0, x1) = edges(x, width, w);
            let (y0, y1) = edges(y, height, h);
            if x1 <= x0 || y1 <= y0 {
                return Err(invalid(format!(
                    "the crop is smaller than one pixel of the {w}x{h} image"
                )));
            }
            Ok(Rect {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            })
        }
    }
}

/// Pixel edges of the fractional span `start .. start + len` of `size` pixels (rounded,
/// clamped to the image).
fn edges(start: f64, len: f64, size: u32) -> (u32, u32) {
    let s = f64::from(size);
    // Halves round down, with a tolerance, so that `a/n + 1/n` and `(a+1)/n`, which may
    // differ in the last bit, give the same edge: adjacent fraction crops share it.
    // Finite and within 0..=size after the clamp, so the casts are exact.
    let edge = |v: f64| (v * s - 1e-7).round().clamp(0.0, s) as u32;
    (edge(start), edge(start + len))
}

fn swaps(rotation: Rotation) -> bool {
    matches!(rotation, Rotation::Cw90 | Rotation::Cw270)
}

/// `round(a * num / den)`, at least 1 (`den` > 0). In u128: `2 * a * num` of two u32 sides
/// (a hostile header and a huge box) overflows u64; the result saturates at `u64::MAX`.
fn scale_round(a: u32, num: u32, den: u32) -> u64 {
    let (a, num, den) = (u128::from(a), u128::from(num), u128::from(den.max(1)));
    let v = ((2 * a * num + den) / (2 * den)).max(1);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The fitted size of a (cropped, rotated) source of `src` pixels, before the output caps.
fn fit_raw(src: (u32, u32), spec: &TransformSpec) -> (u64, u64) {
    let (w, h) = src;
    let (w64, h64) = (u64::from(w), u64::from(h));
    match (spec.max_width, spec.max_height, spec.fit) {
        (None, None, _) => (w64, h64),
        (Some(bw), Some(bh), Fit::Exact) => (u64::from(bw), u64::from(bh)),
        (Some(bw), None, Fit::Exact) => (u64::from(bw), scale_round(h, bw, w)),
        (None, Some(bh), Fit::Exact) => (scale_round(w, bh, h), u64::from(bh)),
        (Some(bw), Some(bh), Fit::Cover) => {
            // Scale so both sides reach the box; the side that overshoots is cropped.
            let width_binds = u64::from(bw) * h64 >= u64::from(bh) * w64;
            let (sw, sh) = if width_binds {
                (u64::from(bw), scale_round(h, bw, w))
            } else {
                (scale_round(w, bh, h), u64::from(bh))
            };
            let enlarges = if width_binds { bw > w } else { bh > h };
            let (sw, sh) = if !spec.upscale && enlarges {
                (w64, h64)
            } else {
                (sw, sh)
            };
            (sw.min(u64::from(bw)), sh.min(u64::from(bh)))
        }
        (bw, bh, _) => {
            // Inside (and Cover with one side given).
            let fits = bw.is_none_or(|b| w <= b) && bh.is_none_or(|b| h <= b);
            if fits && !spec.upscale {
                return (w64, h64);
            }
            let width_binds = match (bw, bh) {
                (Some(bw), Some(bh)) => u64::from(bw) * h64 <= u64::from(bh) * w64,
                (Some(_), None) => true,
                _ => false,
            };
            match (width_binds, bw, bh) {
                (true, Some(bw), _) => (u64::from(bw), scale_round(h, bw, w)),
                (false, _, Some(bh)) => (scale_round(w, bh, h), u64::from(bh)),
                _ => (w64, h64),
            }
        }
    }
}

/// The fitted size of a (cropped, rotated) source of `src` pixels.
pub fn fit_size(src: (u32, u32), spec: &TransformSpec) -> Result<(u32, u32), ImageError> {
    if spec.max_width == Some(0) || spec.max_height == Some(0) {
        return Err(invalid(format!(
            "max_width and max_height must be at least 1 (got {:?} x {:?})",
            spec.max_width, spec.max_height
        )));
    }
    if src.0 == 0 || src.1 == 0 {
        return Err(invalid(format!(
            "the source image is empty ({}x{})",
            src.0, src.1
        )));
    }
    let (w, h) = fit_raw(src, spec);
    if w > u64::from(MAX_OUTPUT_EDGE)
        || h > u64::from(MAX_OUTPUT_EDGE)
        || w.saturating_mul(h) > MAX_OUTPUT_PIXELS
    {
        return Err(invalid(format!(
            "the output would be {w}x{h}, over the limit of {MAX_OUTPUT_EDGE} pixels a side \
             and {MAX_OUTPUT_PIXELS} pixels"
        )));
    }
    // Both are at most MAX_OUTPUT_EDGE, so they fit.
    Ok((
        u32::try_from(w).unwrap_or(MAX_OUTPUT_EDGE),
        u32::try_from(h).unwrap_or(MAX_OUTPUT_EDGE),
    ))
}

/// The output size `spec` gives for a displayed source of `src` pixels: the crop, then the
/// rotation, then the fit. Pure arithmetic: invalid requests are refused here, before
/// anything is decoded.
pub fn output_size(src: (u32, u32), spec: &TransformSpec) -> Result<(u32, u32), ImageError> {
    plan(src, spec).map(|p| p.output)
}

/// Everything [`apply`] will do to a displayed source of `src` pixels, in numbers.
pub fn plan(src: (u32, u32), spec: &TransformSpec) -> Result<Plan, ImageError> {
    let crop = crop_rect(src, spec.crop.as_ref())?;
    let swap = swaps(spec.rotate);
    let rotated = if swap {
        (crop.height, crop.width)
    } else {
        (crop.width, crop.height)
    };
    let output = fit_size(rotated, spec)?;
    let resample = if swap { (output.1, output.0) } else { output };
    let (cw, ch) = (f64::from(crop.width), f64::from(crop.height));
    let (tw, th) = (f64::from(resample.0), f64::from(resample.1));
    let mut region = (f64::from(crop.x), f64::from(crop.y), cw, ch);
    let cover = spec.fit == Fit::Cover && spec.max_width.is_some() && spec.max_height.is_some();
    if cover {
        // The centred part of the crop with the output's aspect.
        let (rw, rh) = if u64::from(crop.width) * u64::from(resample.1)
            > u64::from(crop.height) * u64::from(resample.0)
        {
            (ch * tw / th, ch)
        } else {
            (cw, cw * th / tw)
        };
        let (mut dx, mut dy) = ((cw - rw) / 2.0, (ch - rh) / 2.0);
        // Cropped but not scaled: keep whole pixels (a half-pixel shift would blur).
        if rw == tw && rh == th {
            dx = dx.floor();
            dy = dy.floor();
        }
        region = (region.0 + dx, region.1 + dy, rw, rh);
    }
    Ok(Plan {
        crop,
        region,
        resample,
        output,
    })
}

/// `img` as 8-bit RGB or RGBA (borrowed when it already is).
fn as_rgb8_or_rgba8(img: &DynamicImage) -> Cow<'_, DynamicImage> {
    match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => Cow::Borrowed(img),
        other if other.color().has_alpha() => {
            Cow::Owned(DynamicImage::ImageRgba8(other.to_rgba8()))
        }
        other => Cow::Owned(DynamicImage::ImageRgb8(other.to_rgb8())),
    }
}

/// Resamples the region `(x, y, w, h)` of `img` (its own pixels) to `size`, with [`FILTER`].
/// A whole-pixel region of the same size is copied, not resampled.
pub fn resample(
    img: &DynamicImage,
    region: (f64, f64, f64, f64),
    size: (u32, u32),
) -> Result<DynamicImage, ImageError> {
    let img = as_rgb8_or_rgba8(img);
    let (iw, ih) = (f64::from(img.width()), f64::from(img.height()));
    if iw < 1.0 || ih < 1.0 || size.0 == 0 || size.1 == 0 {
        return Err(invalid("cannot resize an empty image"));
    }
    // Clamp against rounding: the region must lie within the image and be at least a pixel
    // (or the whole image, if smaller).
    let x = region.0.clamp(0.0, iw - 1.0);
    let y = region.1.clamp(0.0, ih - 1.0);
    let w = region.2.clamp(1.0_f64.min(iw - x), iw - x);
    let h = region.3.clamp(1.0_f64.min(ih - y), ih - y);
    let whole = x.fract() == 0.0 && y.fract() == 0.0;
    if whole && w == f64::from(size.0) && h == f64::from(size.1) {
        // In range by the clamps above.
        return Ok(img.crop_imm(x as u32, y as u32, size.0, size.1));
    }
    let mut dst = DynamicImage::new(size.0, size.1, img.color());
    // Premultiplying alpha costs more than the resize itself: only when some pixel is not
    // opaque (the scan stops at the first such pixel).
    let translucent = img.color().has_alpha() && super::encode::has_meaningful_alpha(&img);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FILTER))
        .use_alpha(translucent)
        .crop(x, y, w, h);
    Resizer::new()
        .resize(img.as_ref(), &mut dst, &options)
        .map_err(|e| ImageError::Encode(format!("resize failed: {e}")))?;
    Ok(dst)
}

/// Applies `spec`'s geometry (crop, rotate, flip, fit; not the encoding) to `img`, a decoded
/// image standing for a displayed source of `source` pixels (`img` may be smaller: DCT
/// scaling). The result is 8-bit RGB or RGBA, of size [`output_size`]`(source, spec)`.
pub fn apply(
    img: &DynamicImage,
    source: (u32, u32),
    spec: &TransformSpec,
    cancelled: &dyn Fn() -> bool,
) -> Result<DynamicImage, ImageError> {
    if cancelled() {
        return Err(ImageError::Cancelled);
    }
    let plan = plan(source, spec)?;
    let sx = f64::from(img.width()) / f64::from(source.0);
    let sy = f64::from(img.height()) / f64::from(source.1);
    let (x, y, w, h) = plan.region;
    let region = if img.width() == source.0 && img.height() == source.1 {
        plan.region
    } else {
        (x * sx, y * sy, w * sx, h * sy)
    };
    let out = resample(img, region, plan.resample)?;
    if cancelled() {
        return Err(ImageError::Cancelled);
    }
    let out = match spec.rotate {
        Rotation::None => out,
        Rotation::Cw90 => out.rotate90(),
        Rotation::Cw180 => out.rotate180(),
        Rotation::Cw270 => out.rotate270(),
    };
    Ok(match spec.flip {
        Flip::None => out,
        Flip::Horizontal => out.fliph(),
        Flip::Vertical => out.flipv(),
        Flip::Both => out.rotate180(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn spec(mw: Option<u32>, mh: Option<u32>, fit: Fit, upscale: bool) -> TransformSpec {
        TransformSpec {
            max_width: mw,
            max_height: mh,
            fit,
            upscale,
            ..TransformSpec::default()
        }
    }

    /// A spread of sizes: tiny, prime, extreme aspect ratios, around the model edge.
    fn sizes() -> Vec<u32> {
        vec![
            1, 2, 3, 7, 13, 64, 97, 100, 333, 640, 1000, 1567, 1568, 1569, 2000, 3001, 4000,
            12_345, 65_535,
        ]
    }

    fn boxes() -> Vec<Option<u32>> {
        vec![
            None,
            Some(1),
            Some(2),
            Some(10),
            Some(99),
            Some(500),
            Some(1568),
            Some(5000),
        ]
    }

    /// |out_h - h * out_w / w| < 1 and the same the other way: the aspect is kept to a pixel.
    fn assert_aspect_within_a_pixel(src: (u32, u32), out: (u32, u32), ctx: &str) {
        let (w, h) = (f64::from(src.0), f64::from(src.1));
        let (ow, oh) = (f64::from(out.0), f64::from(out.1));
        // One side is exact (the binding one); the other rounded, or clamped to 1 pixel.
        let dh = (oh - h * ow / w).abs();
        let dw = (ow - w * oh / h).abs();
        assert!(
            dh <= 1.0 || dw <= 1.0,
            "{ctx}: aspect of {out:?} is off {src:?} (dh {dh}, dw {dw})"
        );
        // And the rounded side is within a pixel of the exact value.
        assert!(dh.min(dw) <= 1.0, "{ctx}");
    }

    #[test]
    fn inside_fit_rules_hold_for_every_size_and_box() {
        for &w in &sizes() {
            for &h in &sizes() {
                if u64::from(w) * u64::from(h) > MAX_OUTPUT_PIXELS {
                    continue;
                }
                for &bw in &boxes() {
                    for &bh in &boxes() {
                        let s = spec(bw, bh, Fit::Inside, false);
                        let ctx = format!("{w}x{h} into {bw:?}x{bh:?}");
                        let (ow, oh) = output_size((w, h), &s).unwrap();
                        // Within the box.
                        assert!(bw.is_none_or(|b| ow <= b), "{ctx}: width {ow}");
                        assert!(bh.is_none_or(|b| oh <= b), "{ctx}: height {oh}");
                        // Never upscaled.
                        assert!(ow <= w && oh <= h, "{ctx}: upscaled to {ow}x{oh}");
                        assert!(ow >= 1 && oh >= 1, "{ctx}");
                        assert_aspect_within_a_pixel((w, h), (ow, oh), &ctx);
                        let fits = bw.is_none_or(|b| w <= b) && bh.is_none_or(|b| h <= b);
                        if fits {
                            assert_eq!((ow, oh), (w, h), "{ctx}: resized though it fits");
                        } else {
                            // As large as the box allows: one side touches it.
                            assert!(
                                Some(ow) == bw || Some(oh) == bh,
                                "{ctx}: {ow}x{oh} touches neither side"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn inside_with_upscale_fills_the_binding_side() {
        for &w in &sizes()[..12] {
            for &h in &sizes()[..12] {
                for &bw in &boxes()[1..] {
                    for &bh in &boxes()[1..] {
                        let s = spec(bw, bh, Fit::Inside, true);
                        let ctx = format!("{w}x{h} up into {bw:?}x{bh:?}");
                        let Ok((ow, oh)) = output_size((w, h), &s) else {
                            continue; // over the output caps (extreme aspect upscaled)
                        };
                        assert!(
                            bw.is_none_or(|b| ow <= b) && bh.is_none_or(|b| oh <= b),
                            "{ctx}"
                        );
                        assert!(Some(ow) == bw || Some(oh) == bh, "{ctx}: {ow}x{oh}");
                        assert_aspect_within_a_pixel((w, h), (ow, oh), &ctx);
                    }
                }
            }
        }
    }

    #[test]
    fn one_side_given_leaves_the_other_unconstrained() {
        // 4000x1000 with max_width 1568 only: height follows the aspect.
        let s = spec(Some(1568), None, Fit::Inside, false);
        assert_eq!(output_size((4000, 1000), &s).unwrap(), (1568, 392));
        // max_height only, a tall image.
        let s = spec(None, Some(100), Fit::Inside, false);
        assert_eq!(output_size((300, 3000), &s).unwrap(), (10, 100));
        // A constraint the image already meets: untouched, however large the other side.
        let s = spec(Some(5000), None, Fit::Inside, false);
        assert_eq!(output_size((4000, 20_000), &s).unwrap(), (4000, 20_000));
        // Exact with one side: that side exactly (even upwards), the other by aspect.
        let s = spec(Some(800), None, Fit::Exact, false);
        assert_eq!(output_size((400, 300), &s).unwrap(), (800, 600));
        // Cover with one side behaves as Inside.
        let s = spec(Some(200), None, Fit::Cover, false);
        assert_eq!(output_size((400, 300), &s).unwrap(), (200, 150));
    }

    #[test]
    fn cover_fills_the_box_and_crops_the_centre() {
        for &w in &sizes()[..15] {
            for &h in &sizes()[..15] {
                for &bw in &boxes()[1..] {
                    for &bh in &boxes()[1..] {
                        let (bw, bh) = (bw.unwrap(), bh.unwrap());
                        let ctx = format!("{w}x{h} cover {bw}x{bh}");
                        let p = plan((w, h), &spec(Some(bw), Some(bh), Fit::Cover, false)).unwrap();
                        let (ow, oh) = p.output;
                        assert!(ow <= bw && oh <= bh, "{ctx}: {ow}x{oh}");
                        if w >= bw && h >= bh {
                            assert_eq!((ow, oh), (bw, bh), "{ctx}: box not filled");
                        } else {
                            // Not upscaled: only cropped to the box where it overflows.
                            assert_eq!((ow, oh), (bw.min(w), bh.min(h)), "{ctx}");
                        }
                        // The region is inside the source, centred, with the output's aspect.
                        let (rx, ry, rw, rh) = p.region;
                        assert!(rx >= 0.0 && ry >= 0.0, "{ctx}");
                        assert!(rx + rw <= f64::from(w) + 1e-6, "{ctx}: {:?}", p.region);
                        assert!(ry + rh <= f64::from(h) + 1e-6, "{ctx}: {:?}", p.region);
                        assert!(
                            (rx - (f64::from(w) - rw - rx)).abs() <= 1.0,
                            "{ctx}: not centred"
                        );
                        assert!(
                            (ry - (f64::from(h) - rh - ry)).abs() <= 1.0,
                            "{ctx}: not centred"
                        );
                        let aspect_err = (rw * f64::from(oh) - rh * f64::from(ow)).abs();
                        assert!(
                            aspect_err <= rw.max(rh) * 1e-9 + 1e-6,
                            "{ctx}: {:?}",
                            p.region
                        );
                        // Rounding the scaled side never shrinks the region below a pixel.
                        assert!(rw >= 1.0 - 1e-9 || w < 1, "{ctx}");
                    }
                }
            }
        }
    }

    #[test]
    fn cover_with_upscale_always_fills_the_box() {
        let s = spec(Some(800), Some(800), Fit::Cover, true);
        let p = plan((400, 200), &s).unwrap();
        assert_eq!(p.output, (800, 800));
        assert_eq!(p.region, (100.0, 0.0, 200.0, 200.0));
    }

    #[test]
    fn exact_gives_the_box() {
        for &w in &sizes()[..12] {
            for &h in &sizes()[..12] {
                let s = spec(Some(321), Some(123), Fit::Exact, false);
                assert_eq!(output_size((w, h), &s).unwrap(), (321, 123));
            }
        }
    }

    #[test]
    fn huge_header_sizes_and_boxes_do_not_overflow() {
        // A hostile header may declare up to u32::MAX a side; the request is arithmetic on it
        // before the decoder refuses the image. Every answer is a size or an InvalidRequest.
        let sides = [1, 2, 65_535, 65_536, u32::MAX - 1, u32::MAX];
        let boxes = [None, Some(1), Some(65_535), Some(u32::MAX)];
        for &w in &sides {
            for &h in &sides {
                for &bw in &boxes {
                    for &bh in &boxes {
                        for fit in [Fit::Inside, Fit::Cover, Fit::Exact] {
                            for upscale in [false, true] {
                                let s = spec(bw, bh, fit, upscale);
                                match plan((w, h), &s) {
                                    Ok(p) => {
                                        assert!(p.output.0 <= MAX_OUTPUT_EDGE);
                                        assert!(p.output.1 <= MAX_OUTPUT_EDGE);
                                    }
                                    Err(ImageError::InvalidRequest(_)) => {}
                                    Err(e) => panic!("{e}"),
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn no_box_keeps_the_size() {
        let s = TransformSpec::default();
        assert_eq!(output_size((4000, 3000), &s).unwrap(), (4000, 3000));
    }

    #[test]
    fn for_model_caps_the_long_edge_at_1568() {
        let s = TransformSpec::for_model();
        assert_eq!(output_size((4000, 3000), &s).unwrap(), (1568, 1176));
        assert_eq!(output_size((3000, 4000), &s).unwrap(), (1176, 1568));
        assert_eq!(output_size((100_000, 1), &s).unwrap(), (1568, 1));
        assert_eq!(output_size((800, 600), &s).unwrap(), (800, 600));
    }

    #[test]
    fn rotation_swaps_sides_before_the_fit() {
        let mut s = spec(Some(1000), Some(500), Fit::Inside, false);
        s.rotate = Rotation::Cw90;
        // 2000x4000 rotated is 4000x2000, fitted into 1000x500.
        let p = plan((2000, 4000), &s).unwrap();
        assert_eq!(p.output, (1000, 500));
        assert_eq!(p.resample, (500, 1000));
        s.rotate = Rotation::Cw180;
        assert_eq!(output_size((2000, 4000), &s).unwrap(), (250, 500));
    }

    #[test]
    fn crops_in_pixels_and_fractions() {
        let src = (1000, 500);
        let px = Crop::Pixels {
            x: 100,
            y: 50,
            width: 300,
            height: 200,
        };
        assert_eq!(
            crop_rect(src, Some(&px)).unwrap(),
            Rect {
                x: 100,
                y: 50,
                width: 300,
                height: 200
            }
        );
        let fr = Crop::Fractions {
            x: 0.1,
            y: 0.1,
            width: 0.3,
            height: 0.4,
        };
        assert_eq!(
            crop_rect(src, Some(&fr)).unwrap(),
            Rect {
                x: 100,
                y: 50,
                width: 300,
                height: 200
            }
        );
        // Fractions summing to 1 with binary error still reach the edge exactly.
        let fr = Crop::Fractions {
            x: 0.1,
            y: 0.7,
            width: 0.9,
            height: 0.3,
        };
        let r = crop_rect((333, 777), Some(&fr)).unwrap();
        assert_eq!(r.x + r.width, 333);
        assert_eq!(r.y + r.height, 777);
        // The whole image.
        let all = Crop::Fractions {
            x: 0.0,
            y: 0.0,
            width: 1.0,
            height: 1.0,
        };
        assert_eq!(
            crop_rect((7, 9), Some(&all)).unwrap(),
            crop_rect((7, 9), None).unwrap()
        );
    }

    #[test]
    fn fraction_crops_tile_the_image_without_gaps() {
        // Adjacent fraction crops share their pixel edges, for every size.
        for &w in &sizes() {
            for n in 1..=7u32 {
                let mut next = 0;
                for i in 0..n {
                    let c = Crop::Fractions {
                        x: f64::from(i) / f64::from(n),
                        y: 0.0,
                        width: 1.0 / f64::from(n),
                        height: 1.0,
                    };
                    match crop_rect((w, 1), Some(&c)) {
                        Ok(r) => {
                            assert_eq!(r.x, next, "{w} / {n}, piece {i}");
                            next = r.x + r.width;
                        }
                        Err(ImageError::InvalidRequest(_)) => assert!(n > w, "{w} / {n}"),
                        Err(e) => panic!("{e}"),
                    }
                }
                if n <= w {
                    assert_eq!(next, w, "{w} / {n}");
                }
            }
        }
    }

    #[test]
    fn invalid_requests_are_refused_with_a_reason() {
        let src = (100, 50);
        let cases: Vec<(TransformSpec, &str)> = vec![
            (spec(Some(0), None, Fit::Inside, false), "at least 1"),
            (spec(Some(10), Some(0), Fit::Cover, false), "at least 1"),
            (
                TransformSpec {
                    crop: Some(Crop::Pixels {
                        x: 90,
                        y: 0,
                        width: 11,
                        height: 10,
                    }),
                    ..TransformSpec::default()
                },
                "outside",
            ),
            (
                TransformSpec {
                    crop: Some(Crop::Pixels {
                        x: u32::MAX,
                        y: u32::MAX,
                        width: u32::MAX,
                        height: 1,
                    }),
                    ..TransformSpec::default()
                },
                "outside",
            ),
            (
                TransformSpec {
                    crop: Some(Crop::Pixels {
                        x: 0,
                        y: 0,
                        width: 0,
                        height: 10,
                    }),
                    ..TransformSpec::default()
                },
                "at least 1",
            ),
            (
                TransformSpec {
                    crop: Some(Crop::Fractions {
                        x: -0.1,
                        y: 0.0,
                        width: 0.5,
                        height: 0.5,
                    }),
                    ..TransformSpec::default()
                },
                "0..=1",
            ),
            (
                TransformSpec {
                    crop: Some(Crop::Fractions {
                        x: 0.0,
                        y: 0.0,
                        width: f64::NAN,
                        height: 0.5,
                    }),
                    ..TransformSpec::default()
                },
                "0..=1",
            ),
            (
                TransformSpec {
                    crop: Some(Crop::Fractions {
                        x: 0.6,
                        y: 0.0,
                        width: 0.5,
                        height: 0.5,
                    }),
                    ..TransformSpec::default()
                },
                "beyond",
            ),
            (
                TransformSpec {
                    crop: Some(Crop::Fractions {
                        x: 0.0,
                        y: 0.0,
                        width: 0.0,
                        height: 0.5,
                    }),
                    ..TransformSpec::default()
                },
                "above 0",
            ),
            (
                TransformSpec {
                    crop: Some(Crop::Fractions {
                        x: 0.5,
                        y: 0.0,
                        width: 0.001,
                        height: 0.5,
                    }),
                    ..TransformSpec::default()
                },
                "smaller than one pixel",
            ),
            (
                spec(Some(100_000), Some(100_000), Fit::Exact, false),
                "over the limit",
            ),
            (
                spec(Some(60_000), None, Fit::Inside, true),
                "over the limit",
            ),
        ];
        for (s, needle) in cases {
            match output_size(src, &s) {
                Err(ImageError::InvalidRequest(m)) => {
                    assert!(m.contains(needle), "{m:?} lacks {needle:?} for {s:?}")
                }
                other => panic!("{s:?}: {other:?}"),
            }
        }
        assert!(matches!(
            output_size((0, 10), &TransformSpec::default()),
            Err(ImageError::InvalidRequest(_))
        ));
    }

    /// An RGB image whose pixel (x, y) is (x, y, 7) (coordinates mod 256).
    fn coords(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 7])
        }))
    }

    fn px(img: &DynamicImage, x: u32, y: u32) -> [u8; 3] {
        img.to_rgb8().get_pixel(x, y).0
    }

    #[test]
    fn apply_crops_exact_pixels_without_resampling() {
        let img = coords(200, 100);
        let s = TransformSpec {
            crop: Some(Crop::Pixels {
                x: 10,
                y: 20,
                width: 30,
                height: 40,
            }),
            ..TransformSpec::default()
        };
        let out = apply(&img, (200, 100), &s, &|| false).unwrap();
        assert_eq!((out.width(), out.height()), (30, 40));
        assert_eq!(px(&out, 0, 0), [10, 20, 7]);
        assert_eq!(px(&out, 29, 39), [39, 59, 7]);
    }

    #[test]
    fn apply_rotates_and_flips_like_the_definitions() {
        let img = coords(4, 3);
        let run = |rotate, flip| {
            let s = TransformSpec {
                rotate,
                flip,
                ..TransformSpec::default()
            };
            apply(&img, (4, 3), &s, &|| false).unwrap()
        };
        // Clockwise 90: the top-left of the output is the source's bottom-left.
        let r = run(Rotation::Cw90, Flip::None);
        assert_eq!((r.width(), r.height()), (3, 4));
        assert_eq!(px(&r, 0, 0), [0, 2, 7]);
        assert_eq!(px(&r, 2, 0), [0, 0, 7]);
        let r = run(Rotation::Cw270, Flip::None);
        assert_eq!(px(&r, 0, 0), [3, 0, 7]);
        let r = run(Rotation::Cw180, Flip::None);
        assert_eq!(px(&r, 0, 0), [3, 2, 7]);
        let r = run(Rotation::None, Flip::Horizontal);
        assert_eq!(px(&r, 0, 0), [3, 0, 7]);
        let r = run(Rotation::None, Flip::Vertical);
        assert_eq!(px(&r, 0, 0), [0, 2, 7]);
        let r = run(Rotation::None, Flip::Both);
        assert_eq!(px(&r, 0, 0), [3, 2, 7]);
        // Rotation first, then the flip (of the rotated image).
        let r = run(Rotation::Cw90, Flip::Horizontal);
        assert_eq!((r.width(), r.height()), (3, 4));
        assert_eq!(px(&r, 0, 0), [0, 0, 7]);
    }

    #[test]
    fn apply_resizes_to_the_planned_size_and_keeps_content_in_place() {
        // Left half red, right half blue: after a resize the halves stay where they were.
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(400, 300, |x, _| {
            if x < 200 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        }));
        let s = spec(Some(100), Some(100), Fit::Inside, false);
        let out = apply(&img, (400, 300), &s, &|| false).unwrap();
        assert_eq!((out.width(), out.height()), (100, 75));
        assert_eq!(px(&out, 10, 30), [255, 0, 0]);
        assert_eq!(px(&out, 90, 30), [0, 0, 255]);
        // Cover on a square box keeps the centre: both colours present, split at the middle.
        let s = spec(Some(60), Some(60), Fit::Cover, false);
        let out = apply(&img, (400, 300), &s, &|| false).unwrap();
        assert_eq!((out.width(), out.height()), (60, 60));
        assert_eq!(px(&out, 5, 30), [255, 0, 0]);
        assert_eq!(px(&out, 55, 30), [0, 0, 255]);
    }

    #[test]
    fn apply_scales_crops_onto_a_smaller_decoded_image() {
        // The source is 800x600 displayed; the decoder gave a quarter-size 200x150 image
        // with a marker square at source (400..480, 300..360) -> decoded (100..120, 75..90).
        let decoded = DynamicImage::ImageRgb8(RgbImage::from_fn(200, 150, |x, y| {
            if (100..120).contains(&x) && (75..90).contains(&y) {
                Rgb([0, 255, 0])
            } else {
                Rgb([0, 0, 0])
            }
        }));
        let s = TransformSpec {
            crop: Some(Crop::Pixels {
                x: 400,
                y: 300,
                width: 80,
                height: 60,
            }),
            max_width: Some(20),
            ..TransformSpec::default()
        };
        let out = apply(&decoded, (800, 600), &s, &|| false).unwrap();
        // The size comes from the original source, not the decoded one.
        assert_eq!((out.width(), out.height()), (20, 15));
        for (x, y) in [(0, 0), (19, 14), (10, 7)] {
            assert_eq!(px(&out, x, y), [0, 255, 0], "({x},{y})");
        }
    }

    #[test]
    fn apply_keeps_alpha_and_does_not_bleed_transparent_colour() {
        // Opaque white on the left, fully transparent *black* on the right: premultiplied
        // resampling must not darken the opaque side's edge colour.
        let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(64, 64, |x, _| {
            if x < 32 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        }));
        let out = apply(
            &img,
            (64, 64),
            &spec(Some(16), None, Fit::Inside, false),
            &|| false,
        )
        .unwrap()
        .to_rgba8();
        assert_eq!(out.dimensions(), (16, 16));
        let edge = out.get_pixel(7, 8).0;
        assert!(edge[3] > 0);
        assert!(edge[0] >= 250, "edge colour darkened: {edge:?}");
        assert_eq!(out.get_pixel(15, 8).0[3], 0);
    }

    #[test]
    fn opaque_rgba_resizes_like_rgb() {
        // The opaque path skips premultiplication: the colours must equal the RGB resize.
        let rgb = DynamicImage::ImageRgb8(RgbImage::from_fn(300, 200, |x, y| {
            Rgb([
                (x * 7 % 256) as u8,
                (y * 13 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        }));
        let rgba = DynamicImage::ImageRgba8(rgb.to_rgba8());
        let s = spec(Some(77), None, Fit::Inside, false);
        let a = apply(&rgb, (300, 200), &s, &|| false).unwrap();
        let b = apply(&rgba, (300, 200), &s, &|| false).unwrap();
        assert!(matches!(b, DynamicImage::ImageRgba8(_)));
        assert_eq!(a.to_rgb8(), b.to_rgb8());
        assert!(b.to_rgba8().pixels().all(|p| p.0[3] == 255));
    }

    #[test]
    fn apply_accepts_other_pixel_types_and_honours_cancel() {
        let img = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(
            50,
            40,
            image::Luma([40_000u16]),
        ));
        let out = apply(
            &img,
            (50, 40),
            &spec(Some(10), None, Fit::Inside, false),
            &|| false,
        )
        .unwrap();
        assert!(matches!(out, DynamicImage::ImageRgb8(_)));
        assert_eq!((out.width(), out.height()), (10, 8));
        assert!(matches!(
            apply(&img, (50, 40), &TransformSpec::default(), &|| true),
            Err(ImageError::Cancelled)
        ));
    }

    #[test]
    fn apply_output_size_matches_output_size_for_random_specs() {
        // A small deterministic sweep over crops, rotations and fits.
        let img = coords(97, 61);
        let mut seed = 12345u64;
        let mut next = |m: u32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % u64::from(m)) as u32
        };
        for _ in 0..300 {
            let x = next(90);
            let y = next(55);
            let s = TransformSpec {
                crop: Some(Crop::Pixels {
                    x,
                    y,
                    width: 1 + next(97 - x),
                    height: 1 + next(61 - y),
                }),
                max_width: [None, Some(1 + next(120))][next(2) as usize],
                max_height: [None, Some(1 + next(120))][next(2) as usize],
                fit: [Fit::Inside, Fit::Cover, Fit::Exact][next(3) as usize],
                upscale: next(2) == 1,
                rotate: [
                    Rotation::None,
                    Rotation::Cw90,
                    Rotation::Cw180,
                    Rotation::Cw270,
                ][next(4) as usize],
                flip: [Flip::None, Flip::Horizontal, Flip::Vertical, Flip::Both][next(4) as usize],
                ..TransformSpec::default()
            };
            let want = output_size((97, 61), &s).unwrap();
            let out = apply(&img, (97, 61), &s, &|| false).unwrap();
            assert_eq!((out.width(), out.height()), want, "{s:?}");
        }
    }
}
