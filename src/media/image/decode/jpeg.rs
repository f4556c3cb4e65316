//! JPEG through jpeg-decoder: baseline, progressive and lossless; grey, YCbCr, CMYK and YCCK
//! (Adobe-inverted or not); DCT-domain downscaling by 1/2, 1/4 or 1/8 when the caller needs
//! no more; the embedded ICC profile applied (CMYK through a CMYK profile when there is one).
//! Must not know about EXIF orientation (the caller applies it) or other formats.

use super::super::ImageError;
use super::color;
use image::{DynamicImage, GrayImage, RgbImage};
use std::io::{Read, Seek, SeekFrom};

pub fn map_jpeg_error(e: jpeg_decoder::Error) -> ImageError {
    use jpeg_decoder::Error as E;
    match e {
        E::Format(m) => ImageError::Corrupt(format!("JPEG: {m}")),
        E::Unsupported(f) => ImageError::Unsupported(format!(
            "JPEG feature not supported here ({f:?}); re-save it as a baseline or progressive \
             JPEG, e.g. with ImageMagick"
        )),
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageError::Corrupt(format!("truncated JPEG: {io}"))
        }
        E::Io(io) => ImageError::Io(io),
        E::Internal(e) => ImageError::Corrupt(format!("JPEG: {e}")),
    }
}

/// Whether the JPEG carries an Adobe APP14 segment (its CMYK is then stored inverted), found by
/// walking the marker segments before the first scan.
pub fn has_adobe_marker<R: Read + Seek>(r: &mut R) -> Result<bool, ImageError> {
    r.seek(SeekFrom::Start(2))?;
    let mut found = false;
    for _ in 0..256 {
        let mut m = [0u8; 4];
        if r.read_exact(&mut m).is_err() {
            break;
        }
        let [0xFF, marker, hi, lo] = m else { break };
        // Start of scan, end of image, or anything that is not a length-prefixed segment.
        if matches!(marker, 0xDA | 0xD9 | 0x00 | 0xFF) {
            break;
        }
        let len = u16::from_be_bytes([hi, lo]);
        if len < 2 {
            break;
        }
        if marker == 0xEE && len >= 7 {
            let mut tag = [0u8; 5];
            if r.read_exact(&mut tag).is_ok() && &tag == b"Adobe" {
                found = true;
                break;
            }
            r.seek(SeekFrom::Current(i64::from(len) - 2 - 5))?;
        } else {
            r.seek(SeekFrom::Current(i64::from(len) - 2))?;
        }
    }
    r.seek(SeekFrom::Start(0))?;
    Ok(found)
}

/// The IDCT scale (8 = full, 4 = 1/2, 2 = 1/4, 1 = 1/8) that keeps both stored dimensions at
/// least `need`.
pub fn choose_scale(width: u32, height: u32, need: (u32, u32)) -> u32 {
    let scaled = |len: u32, s: u32| (len * s).div_ceil(8);
    [1, 2, 4]
        .into_iter()
        .find(|&s| scaled(width, s) >= need.0 && scaled(height, s) >= need.1)
        .unwrap_or(8)
}

/// Decodes a JPEG (already probed and within the limits) to 8-bit sRGB, scaled down by the
/// DCT when `need` (stored coordinates) allows.
pub fn decode<R: Read + Seek>(
    mut reader: R,
    need: Option<(u32, u32)>,
    max_bytes: u64,
) -> Result<DynamicImage, ImageError> {
    let adobe = has_adobe_marker(&mut reader)?;
    let mut dec = jpeg_decoder::Decoder::new(reader);
    dec.set_max_decoding_buffer_size(usize::try_from(max_bytes).unwrap_or(usize::MAX));
    dec.read_info().map_err(map_jpeg_error)?;
    let info = dec
        .info()
        .ok_or_else(|| ImageError::Corrupt("JPEG without a frame header".into()))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    if let Some(need) = need {
        let s = choose_scale(w, h, need);
        if s < 8 {
            let req = |len: u32| u16::try_from((len * s).div_ceil(8)).unwrap_or(u16::MAX);
            let (sw, sh) = dec.scale(req(w), req(h)).map_err(map_jpeg_error)?;
            if u32::from(sw) < need.0 || u32::from(sh) < need.1 {
                // jpeg-decoder picks by either axis: back to full size.
                dec.scale(info.width, info.height).map_err(map_jpeg_error)?;
            }
        }
    }
    let pixels = dec.decode().map_err(map_jpeg_error)?;
    let info = dec
        .info()
        .ok_or_else(|| ImageError::Corrupt("JPEG without a frame header".into()))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let icc = dec.icc_profile().filter(|p| !p.is_empty());
    let short = || ImageError::Corrupt("JPEG decoded to fewer pixels than declared".into());
    let img = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, pixels).ok_or_else(short)?)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let v = pixels
                .chunks_exact(2)
                .map(|b| match b {
                    &[a, b] => to8(u16::from_ne_bytes([a, b])),
                    _ => 0,
                })
                .collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v).ok_or_else(short)?)
        }
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, pixels).ok_or_else(short)?)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            let mut cmyk = pixels;
            // jpeg-decoder inverts all 4-channel data as Adobe writes it; without the Adobe
            // segment the file holds plain CMYK, so turn it back.
            if !adobe {
                cmyk.iter_mut().for_each(|v| *v = 255 - *v);
            }
            let rgb = color::cmyk_to_rgb(&cmyk, w, h, icc.as_deref()).ok_or_else(short)?;
            return Ok(DynamicImage::ImageRgb8(rgb));
        }
    };
    Ok(match icc {
        Some(p) => color::to_srgb(img, &p),
        None => img,
    })
}

/// 16 bits to 8, rounded.
pub fn to8(v: u16) -> u8 {
    u8::try_from((u32::from(v) * 255 + 32767) / 65535).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_keeps_both_axes_at_least_the_need() {
        // 12 MP to a 1568 px long edge: 1/2 (2000x1500 >= 1568x1176).
        assert_eq!(choose_scale(4000, 3000, (1568, 1176)), 4);
        assert_eq!(choose_scale(4000, 3000, (400, 300)), 1);
        assert_eq!(choose_scale(4000, 3000, (501, 300)), 2);
        assert_eq!(choose_scale(4000, 3000, (2001, 10)), 8);
        assert_eq!(choose_scale(4000, 3000, (10, 1501)), 8);
        assert_eq!(to8(65535), 255);
        assert_eq!(to8(0), 0);
        assert_eq!(to8(0x8080), 128);
    }
}
