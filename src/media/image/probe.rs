//! Image probing: format, dimensions, colour type, alpha, ICC presence, frame count and EXIF
//! facts (orientation, date, camera, GPS on request) from the headers, without decoding pixels
//! (a decompression bomb costs microseconds to probe). HEIC/AVIF are read from their container.
//! Must not know about tokio, JSON or MCP.

mod exif;
pub(super) mod heif;

pub use exif::GpsPosition;

use super::{ImageError, ImageLimits};
use std::io::{BufRead, Read, Seek, SeekFrom};

/// Largest image (in pixels) the server will decode by default: 100 megapixels. Probing
/// larger headers works; decoding them is refused.
pub const MAX_DECODE_PIXELS: u64 = 100_000_000;

#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfo {
    /// Format name: "png", "jpeg", "gif", "webp", "tiff", "bmp", "ico", "qoi", "heic", "avif".
    pub format: &'static str,
    /// Stored dimensions.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1-8 (1 = as stored); for HEIC/AVIF the equivalent of `irot`/`imir`.
    pub orientation: u8,
    /// Dimensions as displayed (swapped for 90/270 degree orientations).
    pub display_width: u32,
    pub display_height: u32,
    /// Stored colour type: "l8", "la8", "rgb8", "rgba8", "l16", "la16", "rgb16", "rgba16",
    /// "cmyk", "ycck" (JPEG), "rgb32f", "rgba32f", "yuv" (HEIC/AVIF), "l1".."l4" (packed
    /// grey), "other".
    pub color_type: &'static str,
    /// Bits per channel as stored.
    pub bit_depth: u8,
    pub has_alpha: bool,
    /// An embedded ICC profile (decoding converts it to sRGB).
    pub icc: bool,
    /// Frames (1 for a still image), counted up to the frame limit; `None` when unknown.
    pub frames: Option<u32>,
    /// Counting stopped at the limit: the animation has at least `frames` frames.
    pub frames_capped: bool,
    /// EXIF `DateTimeOriginal` (else `DateTime`), "YYYY:MM:DD HH:MM:SS" as written.
    pub date_taken: Option<String>,
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    /// Only when asked for (`probe(.., with_gps: true)`): location is private by default.
    pub gps: Option<GpsPosition>,
}

impl ImageInfo {
    /// A still 8-bit RGB image with nothing else known (tests and synthetic sources).
    pub fn plain(format: &'static str, width: u32, height: u32) -> Self {
        ImageInfo {
            format,
            width,
            height,
            orientation: 1,
            display_width: width,
            display_height: height,
            color_type: "rgb8",
            bit_depth: 8,
            has_alpha: false,
            icc: false,
            frames: Some(1),
            frames_capped: false,
            date_taken: None,
            camera_make: None,
            camera_model: None,
            gps: None,
        }
    }
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
    /// Whether decoding would exceed [`MAX_DECODE_PIXELS`].
    pub fn over_decode_limit(&self) -> bool {
        self.pixels() > MAX_DECODE_PIXELS
    }
    /// Whether the orientation swaps width and height.
    pub fn swaps_axes(&self) -> bool {
        matches!(self.orientation, 5..=8)
    }
    fn set_orientation(&mut self, orientation: u8) {
        self.orientation = orientation;
        let swapped = self.swaps_axes();
        self.display_width = if swapped { self.height } else { self.width };
        self.display_height = if swapped { self.width } else { self.height };
    }
    fn set_exif(&mut self, raw: &[u8], with_gps: bool) {
        let f = exif::parse(raw);
        self.set_orientation(f.orientation.unwrap_or(1));
        self.date_taken = f.date_taken;
        self.camera_make = f.make;
        self.camera_model = f.model;
        self.gps = if with_gps { f.gps } else { None };
    }
}

pub(super) fn format_name(f: image::ImageFormat) -> &'static str {
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

/// What reads the formats this build does not.
pub(super) fn unsupported(what: &str) -> ImageError {
    ImageError::Unsupported(format!(
        "{what}: this server reads JPEG, PNG, GIF, WebP, BMP, TIFF, ICO and QOI (HEIC/HEIF and \
         AVIF through heif-convert or ffmpeg); convert it to one of those, e.g. with ImageMagick"
    ))
}

/// Maps an error of the `image` crate onto ours.
pub(super) fn map_image_error(e: image::ImageError) -> ImageError {
    use image::ImageError as E;
    match e {
        E::Limits(l) => ImageError::TooLarge(l.to_string()),
        E::Unsupported(u) => unsupported(&u.to_string()),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageError::Corrupt(format!("truncated: {io}"))
        }
        E::IoError(io) => ImageError::Io(io),
        other => ImageError::Corrupt(other.to_string()),
    }
}

/// The first bytes of the stream (at most `buf.len()`), position restored to the start.
pub(super) fn head<R: Read + Seek>(r: &mut R, buf: &mut [u8]) -> Result<usize, ImageError> {
    r.seek(SeekFrom::Start(0))?;
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    r.seek(SeekFrom::Start(0))?;
    Ok(n)
}

/// Reads the header of an image. GPS is returned only when `with_gps` is set.
pub fn probe<R: BufRead + Seek>(reader: R, with_gps: bool) -> Result<ImageInfo, ImageError> {
    probe_with(reader, with_gps, ImageLimits::default().max_frames)
}

/// [`probe`] counting frames up to `max_frames`.
pub(super) fn probe_with<R: BufRead + Seek>(
    mut reader: R,
    with_gps: bool,
    max_frames: u32,
) -> Result<ImageInfo, ImageError> {
    let mut first = [0u8; 64];
    let n = head(&mut reader, &mut first)?;
    let first = first.get(..n).unwrap_or_default();
    if first.is_empty() {
        return Err(ImageError::Corrupt("empty file".into()));
    }
    if let Some(kind) = heif::kind(first) {
        let h = heif::read_header(&mut reader)?;
        let mut info = ImageInfo::plain(kind, h.width, h.height);
        info.set_orientation(h.orientation);
        info.color_type = "yuv";
        info.bit_depth = h.bit_depth.unwrap_or(8);
        info.has_alpha = h.has_alpha;
        info.icc = h.icc;
        return Ok(info);
    }
    let format = image::guess_format(first).map_err(|_| unsupported("unrecognised format"))?;
    let name = format_name(format);
    if name == "other" {
        return Err(unsupported(&format!("{format:?} image")));
    }
    if format == image::ImageFormat::Jpeg {
        return probe_jpeg(reader, with_gps);
    }
    let mut info = {
        use image::ImageDecoder;
        let mut ir = image::ImageReader::with_format(&mut reader, format);
        ir.limits(header_limits());
        let mut dec = ir.into_decoder().map_err(map_image_error)?;
        let (w, h) = dec.dimensions();
        let mut info = ImageInfo::plain(name, w, h);
        let ct = dec.original_color_type();
        (info.color_type, info.bit_depth) = color_name(ct);
        info.has_alpha = dec.color_type().has_alpha();
        info.icc = matches!(dec.icc_profile(), Ok(Some(p)) if !p.is_empty());
        if let Ok(Some(raw)) = dec.exif_metadata() {
            info.set_exif(&raw, with_gps);
        }
        info
    };
    match format {
        image::ImageFormat::Gif => {
            let (n, capped) = super::decode::count_gif_frames(&mut reader, max_frames)?;
            info.frames = Some(n);
            info.frames_capped = capped;
        }
        image::ImageFormat::WebP => {
            let n = super::decode::count_webp_frames(&mut reader)?;
            info.frames = Some(n.min(max_frames));
            info.frames_capped = n > max_frames;
        }
        _ => {}
    }
    Ok(info)
}

/// Limits for reading headers only (nothing large is allocated).
fn header_limits() -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(64 << 20);
    l
}

fn color_name(ct: image::ExtendedColorType) -> (&'static str, u8) {
    use image::ExtendedColorType as C;
    let name = match ct {
        C::A8 => "a8",
        C::L1 => "l1",
        C::L2 => "l2",
        C::L4 => "l4",
        C::L8 => "l8",
        C::La8 => "la8",
        C::Rgb8 | C::Bgr8 => "rgb8",
        C::Rgba8 | C::Bgra8 => "rgba8",
        C::L16 => "l16",
        C::La16 => "la16",
        C::Rgb16 => "rgb16",
        C::Rgba16 => "rgba16",
        C::Rgb32F => "rgb32f",
        C::Rgba32F => "rgba32f",
        C::Cmyk8 => "cmyk",
        C::Cmyk16 => "cmyk16",
        _ => "other",
    };
    let channels = u16::from(ct.channel_count().max(1));
    let depth = u8::try_from(ct.bits_per_pixel() / channels).unwrap_or(8);
    (name, depth)
}

/// JPEG headers through jpeg-decoder (which tells CMYK and YCCK apart).
fn probe_jpeg<R: BufRead + Seek>(mut reader: R, with_gps: bool) -> Result<ImageInfo, ImageError> {
    reader.seek(SeekFrom::Start(0))?;
    let mut dec = jpeg_decoder::Decoder::new(&mut reader);
    dec.read_info().map_err(super::decode::map_jpeg_error)?;
    let i = dec
        .info()
        .ok_or_else(|| ImageError::Corrupt("JPEG without a frame header".into()))?;
    let mut info = ImageInfo::plain("jpeg", u32::from(i.width), u32::from(i.height));
    (info.color_type, info.bit_depth) = match i.pixel_format {
        jpeg_decoder::PixelFormat::L8 => ("l8", 8),
        jpeg_decoder::PixelFormat::L16 => ("l16", 16),
        jpeg_decoder::PixelFormat::RGB24 => ("rgb8", 8),
        jpeg_decoder::PixelFormat::CMYK32 => ("cmyk", 8),
    };
    info.icc = dec.icc_profile().is_some_and(|p| !p.is_empty());
    if let Some(raw) = dec.exif_data() {
        let raw = raw.to_vec();
        info.set_exif(&raw, with_gps);
    }
    Ok(info)
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
        let info = probe(Cursor::new(&png), false).unwrap();
        assert_eq!(
            (info.format, info.width, info.height, info.orientation),
            ("png", 3, 2, 1)
        );
        assert_eq!(
            (info.color_type, info.bit_depth, info.has_alpha, info.icc),
            ("rgba8", 8, true, false)
        );
        assert_eq!((info.frames, info.frames_capped), (Some(1), false));
        assert!(matches!(
            probe(Cursor::new(b"not an image at all"), false),
            Err(ImageError::Unsupported(_))
        ));
        assert!(matches!(
            probe(Cursor::new(&png[..20]), false),
            Err(ImageError::Corrupt(_))
        ));
        assert!(matches!(
            probe(Cursor::new(b""), false),
            Err(ImageError::Corrupt(_))
        ));
    }
}
