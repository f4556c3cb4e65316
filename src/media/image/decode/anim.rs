//! Animations (GIF, WebP): counting frames cheaply (GIF without LZW-decoding them, WebP from its
//! chunk headers) and decoding N evenly spaced frames, each composited onto the full canvas as
//! it is displayed (disposal and blending by the `image` crate's frame iterators).
//! Must not know about files, EXIF or colour profiles.

use super::super::probe::map_image_error;
use super::super::{ImageError, ImageLimits};
use image::{AnimationDecoder, ImageDecoder, RgbaImage};
use std::io::{BufRead, Seek, SeekFrom};

fn gif_error(e: gif::DecodingError) -> ImageError {
    match e {
        gif::DecodingError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageError::Corrupt(format!("truncated GIF: {io}"))
        }
        gif::DecodingError::Io(io) => ImageError::Io(io),
        other => ImageError::Corrupt(format!("GIF: {other}")),
    }
}

/// Frames of a GIF, counted up to `max` without decoding them; `true` when there are more.
/// A stream that breaks off after its first frame counts the frames before the break (as
/// browsers show them).
pub fn count_gif_frames<R: BufRead + Seek>(
    reader: &mut R,
    max: u32,
) -> Result<(u32, bool), ImageError> {
    reader.seek(SeekFrom::Start(0))?;
    let mut opts = gif::DecodeOptions::new();
    opts.skip_frame_decoding(true);
    let mut dec = opts.read_info(&mut *reader).map_err(gif_error)?;
    let mut n = 0u32;
    while n < max {
        match dec.next_frame_info() {
            Ok(Some(_)) => n += 1,
            Ok(None) => return Ok((n, false)),
            Err(_) if n > 0 => return Ok((n, false)),
            Err(e) => return Err(gif_error(e)),
        }
    }
    let more = matches!(dec.next_frame_info(), Ok(Some(_)));
    Ok((n, more))
}

/// Frames of a WebP (1 for a still image), from the chunk headers.
pub fn count_webp_frames<R: BufRead + Seek>(reader: &mut R) -> Result<u32, ImageError> {
    reader.seek(SeekFrom::Start(0))?;
    let dec = image_webp::WebPDecoder::new(&mut *reader)
        .map_err(|e| ImageError::Corrupt(format!("WebP: {e}")))?;
    Ok(if dec.is_animated() {
        dec.num_frames().max(1)
    } else {
        1
    })
}

/// `n` indices spread evenly over `0..total`, first and last included.
pub fn evenly(n: u32, total: u32) -> Vec<u32> {
    if total == 0 || n == 0 {
        return vec![];
    }
    if n >= total {
        return (0..total).collect();
    }
    if n == 1 {
        return vec![0];
    }
    let (n, last) = (u64::from(n), u64::from(total - 1));
    (0..n)
        .map(|i| u32::try_from((i * last + (n - 1) / 2) / (n - 1)).unwrap_or(0))
        .collect()
}

/// Decodes the frames at `indices` (ascending) of a GIF or WebP animation, full canvas each.
pub fn decode_frames<R: BufRead + Seek>(
    mut reader: R,
    format: image::ImageFormat,
    indices: &[u32],
    limits: &ImageLimits,
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<RgbaImage>, ImageError> {
    reader.seek(SeekFrom::Start(0))?;
    let lim = super::image_limits(limits);
    let frames = match format {
        image::ImageFormat::Gif => {
            let mut d = image::codecs::gif::GifDecoder::new(reader).map_err(map_image_error)?;
            d.set_limits(lim).map_err(map_image_error)?;
            d.into_frames()
        }
        image::ImageFormat::WebP => {
            let mut d = image::codecs::webp::WebPDecoder::new(reader).map_err(map_image_error)?;
            d.set_limits(lim).map_err(map_image_error)?;
            d.into_frames()
        }
        other => {
            return Err(ImageError::Unsupported(format!(
                "{other:?} has no animation frames"
            )));
        }
    };
    let Some(&last) = indices.last() else {
        return Ok(vec![]);
    };
    let mut out = Vec::with_capacity(indices.len());
    let mut wanted = indices.iter().peekable();
    for (i, frame) in (0u32..).zip(frames) {
        if cancelled() {
            return Err(ImageError::Cancelled);
        }
        let frame = match frame {
            Ok(f) => f,
            // A broken tail: keep what was shown before it.
            Err(_) if !out.is_empty() => break,
            Err(e) => return Err(map_image_error(e)),
        };
        if wanted.peek() == Some(&&i) {
            wanted.next();
            out.push(frame.into_buffer());
        }
        if i >= last {
            break;
        }
    }
    if out.is_empty() {
        return Err(ImageError::Corrupt("animation without a frame".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evenly_spreads_first_to_last() {
        assert_eq!(evenly(1, 10), vec![0]);
        assert_eq!(evenly(2, 10), vec![0, 9]);
        assert_eq!(evenly(4, 10), vec![0, 3, 6, 9]);
        assert_eq!(evenly(5, 3), vec![0, 1, 2]);
        assert_eq!(evenly(3, 0), Vec::<u32>::new());
    }
}
