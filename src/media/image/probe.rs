//! Image probing: format, dimensions and EXIF orientation from the header, without decoding
//! pixels (so a decompression bomb costs microseconds to probe).
//! Must not know about tokio, JSON or MCP.

use super::ImageError;
use std::io::{BufRead, Seek};

/// Largest image (in pixels) the server will decode by default: 100 megapixels. Probing
/// larger headers works; decoding them is refused.
pub const MAX_DECODE_PIXELS: u64 = 100_000_000;

#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfo {
    /// Format name, e.g. "png", "jpeg".
    pub format: &'static str,
    /// Stored dimensions.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1-8 (1 = as stored).
    pub orientation: u8,
    /// Dimensions as displayed (swapped for 90/270 degree orientations).
    pub display_width: u32,
    pub display_height: u32,
}

impl ImageInfo {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
    /// Whether decoding would exceed [`MAX_DECODE_PIXELS`].
    pub fn over_decode_limit(&self) -> bool {
        self.pixels() > MAX_DECODE_PIXELS
    }
}

fn format_name(f: image::ImageFormat) -> &'static str {
    use image::ImageFormat as F;
    match f {
        F::Png => "png",
        F::Jpeg => "jpeg",
        F::Gif => "gif",
        F::WebP => "webp",
        F::Tiff => "tiff",
        F::Bmp => "bmp",
        F::Ico => "ico",
        F::Qoi => "qoi",
        _ => "other",
    }
}

/// Reads the header of an image.
pub fn probe<R: BufRead + Seek>(reader: R) -> Result<ImageInfo, ImageError> {
    use image::ImageDecoder;
    let reader = image::ImageReader::new(reader).with_guessed_format()?;
    let format = reader
        .format()
        .ok_or_else(|| ImageError::Unsupported("unrecognised image format".into()))?;
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| ImageError::Corrupt(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder.orientation().map(|o| o.to_exif()).unwrap_or(1);
    let swapped = matches!(orientation, 5..=8);
    Ok(ImageInfo {
        format: format_name(format),
        width,
        height,
        orientation,
        display_width: if swapped { height } else { width },
        display_height: if swapped { width } else { height },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn probes_png_header_and_refuses_garbage() {
        let mut png = Vec::new();
        image::RgbaImage::new(3, 2)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let info = probe(Cursor::new(&png)).unwrap();
        assert_eq!(
            (info.format, info.width, info.height, info.orientation),
            ("png", 3, 2, 1)
        );
        assert!(probe(Cursor::new(b"not an image at all")).is_err());
        assert!(probe(Cursor::new(&png[..20])).is_err());
    }
}
