//! Colour conversion to sRGB: an embedded ICC profile (RGB, grey or CMYK) through moxcms, and
//! CMYK without a profile by the naive multiplicative formula (what PIL does). A profile that
//! does not parse or cannot be converted is ignored (the pixels are taken as sRGB), with a log
//! line: a broken profile must not make an image unreadable.
//! Must not know about formats, files or limits.

use image::{DynamicImage, RgbImage, RgbaImage};
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

fn profile(icc: &[u8]) -> Option<ColorProfile> {
    match ColorProfile::new_from_slice(icc) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::debug!("ignoring an ICC profile that does not parse: {e}");
            None
        }
    }
}

/// Runs `src` (in `layout`) through `icc` to sRGB in `dst_layout`; `None` when the profile does
/// not convert.
fn transform(
    icc: &ColorProfile,
    src: &[u8],
    layout: Layout,
    dst_layout: Layout,
    dst_len: usize,
) -> Option<Vec<u8>> {
    let srgb = ColorProfile::new_srgb();
    let t = icc
        .create_transform_8bit(layout, &srgb, dst_layout, TransformOptions::default())
        .map_err(|e| tracing::debug!("ICC transform refused: {e}"))
        .ok()?;
    let mut out = vec![0u8; dst_len];
    t.transform(src, &mut out)
        .map_err(|e| tracing::debug!("ICC transform failed: {e}"))
        .ok()?;
    Some(out)
}

/// Converts an 8-bit image with an embedded profile to sRGB (alpha kept).
pub fn to_srgb(img: DynamicImage, icc: &[u8]) -> DynamicImage {
    let Some(p) = profile(icc) else { return img };
    let (w, h) = (img.width(), img.height());
    let n = (w as usize) * (h as usize);
    match (p.color_space, img) {
        (DataColorSpace::Rgb, DynamicImage::ImageRgb8(rgb)) => {
            transform(&p, rgb.as_raw(), Layout::Rgb, Layout::Rgb, n * 3)
                .and_then(|v| RgbImage::from_raw(w, h, v))
                .map_or(DynamicImage::ImageRgb8(rgb), DynamicImage::ImageRgb8)
        }
        (DataColorSpace::Rgb, DynamicImage::ImageRgba8(rgba)) => {
            transform(&p, rgba.as_raw(), Layout::Rgba, Layout::Rgba, n * 4)
                .and_then(|v| RgbaImage::from_raw(w, h, v))
                .map_or(DynamicImage::ImageRgba8(rgba), DynamicImage::ImageRgba8)
        }
        (DataColorSpace::Gray, DynamicImage::ImageLuma8(l)) => {
            transform(&p, l.as_raw(), Layout::Gray, Layout::Rgb, n * 3)
                .and_then(|v| RgbImage::from_raw(w, h, v))
                .map_or(DynamicImage::ImageLuma8(l), DynamicImage::ImageRgb8)
        }
        (DataColorSpace::Gray, DynamicImage::ImageLumaA8(la)) => {
            transform(&p, la.as_raw(), Layout::GrayAlpha, Layout::Rgba, n * 4)
                .and_then(|v| RgbaImage::from_raw(w, h, v))
                .map_or(DynamicImage::ImageLumaA8(la), DynamicImage::ImageRgba8)
        }
        (cs, img) => {
            tracing::debug!("ICC profile for {cs:?} does not match the pixels; ignored");
            img
        }
    }
}

/// CMYK with 0 = no ink (as the ICC expects; Adobe files store it inverted and are turned
/// round before this) to sRGB: through the profile when there is a CMYK one, else naively
/// (R = 255 (1 - C)(1 - K), PIL's formula).
pub fn cmyk_to_rgb(cmyk: &[u8], w: u32, h: u32, icc: Option<&[u8]>) -> Option<RgbImage> {
    let n = (w as usize).checked_mul(h as usize)?;
    if cmyk.len() != n.checked_mul(4)? {
        return None;
    }
    if let Some(p) = icc.and_then(profile)
        && p.color_space == DataColorSpace::Cmyk
        && let Some(v) = transform(&p, cmyk, Layout::Rgba, Layout::Rgb, n * 3)
    {
        return RgbImage::from_raw(w, h, v);
    }
    let mut out = Vec::with_capacity(n * 3);
    for px in cmyk.chunks_exact(4) {
        let &[c, m, y, k] = px else { continue };
        let [c, m, y, k] = [c, m, y, k].map(u32::from);
        let nk = 255 - k;
        for ink in [c, m, y] {
            // (255 - ink) * (255 - k) / 255, rounded.
            out.push(u8::try_from(((255 - ink) * nk + 127) / 255).unwrap_or(255));
        }
    }
    RgbImage::from_raw(w, h, out)
}

/// Grey to RGB, for outputs that are always colour.
pub fn expand_gray(img: DynamicImage) -> DynamicImage {
    match img {
        DynamicImage::ImageLuma8(l) => {
            DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(l).to_rgb8())
        }
        DynamicImage::ImageLumaA8(la) => {
            DynamicImage::ImageRgba8(DynamicImage::ImageLumaA8(la).to_rgba8())
        }
        other => other,
    }
}
