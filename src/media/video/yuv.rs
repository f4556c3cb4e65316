//! Planar 8-bit YUV 4:2:0 pictures (what openh264 and rav1d give) to RGB8 (yuvutils-rs:
//! BT.601 / BT.709 / BT.2020, limited range unless the stream says full), then display
//! rotation. Must not know about decoders, containers or files.

use super::VideoError;
use image::RgbImage;
use yuvutils_rs::{YuvPlanarImage, YuvRange, YuvStandardMatrix, yuv420_to_rgb};

/// One decoded 4:2:0 picture, borrowed from the decoder.
#[derive(Clone, Copy, Debug)]
pub struct Planes<'a> {
    pub width: u32,
    pub height: u32,
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    pub y_stride: usize,
    pub u_stride: usize,
    pub v_stride: usize,
}

/// How the stream says its samples map to colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColorSpec {
    /// Full range (0-255) instead of limited (16-235).
    pub full_range: bool,
    /// ITU-T H.273 matrix coefficients (1 = BT.709, 5/6 = BT.601, 9/10 = BT.2020), when
    /// signalled.
    pub matrix: Option<u8>,
}

impl ColorSpec {
    fn matrix_for(self, height: u32) -> YuvStandardMatrix {
        match self.matrix {
            Some(1) => YuvStandardMatrix::Bt709,
            Some(5 | 6) => YuvStandardMatrix::Bt601,
            Some(7) => YuvStandardMatrix::Smpte240,
            Some(9 | 10) => YuvStandardMatrix::Bt2020,
            // Unspecified: BT.709 for HD, BT.601 for SD (what players do).
            _ if height >= 720 => YuvStandardMatrix::Bt709,
            _ => YuvStandardMatrix::Bt601,
        }
    }
}

/// Converts a picture to RGB.
pub fn to_rgb(p: &Planes<'_>, color: ColorSpec) -> Result<RgbImage, VideoError> {
    let (w, h) = (p.width, p.height);
    if w == 0 || h == 0 {
        return Err(VideoError::Corrupt("an empty picture".into()));
    }
    let stride = |s: usize| {
        u32::try_from(s).map_err(|_| VideoError::Corrupt("a picture stride too large".into()))
    };
    let img = YuvPlanarImage {
        y_plane: p.y,
        y_stride: stride(p.y_stride)?,
        u_plane: p.u,
        u_stride: stride(p.u_stride)?,
        v_plane: p.v,
        v_stride: stride(p.v_stride)?,
        width: w,
        height: h,
    };
    let len = (w as usize)
        .checked_mul(h as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| VideoError::TooLarge("a picture too large to convert".into()))?;
    let mut rgb = vec![0u8; len];
    let range = if color.full_range {
        YuvRange::Full
    } else {
        YuvRange::Limited
    };
    yuv420_to_rgb(&img, &mut rgb, w * 3, range, color.matrix_for(h))
        .map_err(|e| VideoError::Corrupt(format!("YUV to RGB: {e}")))?;
    RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| VideoError::Internal("RGB buffer of the wrong size".into()))
}

/// Applies a clockwise display rotation (0, 90, 180, 270; others are ignored).
pub fn rotate(img: RgbImage, degrees: u16) -> RgbImage {
    use image::imageops;
    match degrees {
        90 => imageops::rotate90(&img),
        180 => imageops::rotate180(&img),
        270 => imageops::rotate270(&img),
        _ => img,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, y: u8, u: u8, v: u8) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let cw = w.div_ceil(2) as usize;
        let ch = h.div_ceil(2) as usize;
        (
            vec![y; (w * h) as usize],
            vec![u; cw * ch],
            vec![v; cw * ch],
        )
    }

    fn planes<'a>(w: u32, h: u32, p: &'a (Vec<u8>, Vec<u8>, Vec<u8>)) -> Planes<'a> {
        let cw = w.div_ceil(2) as usize;
        Planes {
            width: w,
            height: h,
            y: &p.0,
            u: &p.1,
            v: &p.2,
            y_stride: w as usize,
            u_stride: cw,
            v_stride: cw,
        }
    }

    #[test]
    fn limited_range_black_white_and_red() {
        let black = flat(4, 2, 16, 128, 128);
        let img = to_rgb(&planes(4, 2, &black), ColorSpec::default()).unwrap();
        assert!(
            img.pixels().all(|p| p.0.iter().all(|&c| c <= 2)),
            "{:?}",
            img.get_pixel(0, 0)
        );
        let white = flat(4, 2, 235, 128, 128);
        let img = to_rgb(&planes(4, 2, &white), ColorSpec::default()).unwrap();
        assert!(img.pixels().all(|p| p.0.iter().all(|&c| c >= 253)));
        // BT.601 limited red: Y=81, Cb=90, Cr=240.
        let red = flat(3, 3, 81, 90, 240);
        let img = to_rgb(&planes(3, 3, &red), ColorSpec::default()).unwrap();
        let [r, g, b] = img.get_pixel(2, 2).0;
        assert!(r >= 250 && g <= 5 && b <= 5, "{r} {g} {b}");
    }

    #[test]
    fn full_range_is_honoured() {
        let p = flat(2, 2, 0, 128, 128);
        let full = ColorSpec {
            full_range: true,
            matrix: None,
        };
        assert_eq!(
            to_rgb(&planes(2, 2, &p), full).unwrap().get_pixel(0, 0).0,
            [0, 0, 0]
        );
        let p = flat(2, 2, 255, 128, 128);
        assert_eq!(
            to_rgb(&planes(2, 2, &p), full).unwrap().get_pixel(0, 0).0,
            [255, 255, 255]
        );
    }

    #[test]
    fn short_planes_are_an_error_not_a_panic() {
        let p = flat(2, 2, 0, 128, 128);
        let mut bad = planes(2, 2, &p);
        bad.height = 64;
        assert!(to_rgb(&bad, ColorSpec::default()).is_err());
    }

    #[test]
    fn rotation_swaps_dimensions_clockwise() {
        let mut img = RgbImage::new(4, 2);
        img.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        let r = rotate(img.clone(), 90);
        assert_eq!(r.dimensions(), (2, 4));
        // Top-left goes to top-right under a clockwise quarter turn.
        assert_eq!(r.get_pixel(1, 0).0, [255, 0, 0]);
        assert_eq!(rotate(img.clone(), 180).get_pixel(3, 1).0, [255, 0, 0]);
        let r = rotate(img, 270);
        assert_eq!(r.dimensions(), (2, 4));
        assert_eq!(r.get_pixel(0, 3).0, [255, 0, 0]);
    }
}
