//! AV1 decoding in process (rav1d), behind the default `av1` cargo feature: compressed
//! packets to planar YUV pictures. Must not know about containers, files or the image pipeline.
//! The parts here that only read bytes (keyframe check, av1C) need no feature.

/// Pixel format and bit depth from an av1C record ("yuv420p", 8), when it parses.
pub fn config_format(av1c: &[u8]) -> Option<(String, u8)> {
    let (&marker, &b2) = (av1c.first()?, av1c.get(2)?);
    if marker & 0x80 == 0 {
        return None;
    }
    let profile = av1c.get(1)? >> 5;
    let high = b2 & 0x40 != 0;
    let twelve = b2 & 0x20 != 0;
    let mono = b2 & 0x10 != 0;
    let (sx, sy) = (b2 & 0x08 != 0, b2 & 0x04 != 0);
    let depth = match (profile, high, twelve) {
        (2, true, true) => 12,
        (_, true, _) => 10,
        _ => 8,
    };
    let base = match (mono, sx, sy) {
        (true, _, _) => "gray",
        (false, true, true) => "yuv420p",
        (false, true, false) => "yuv422p",
        _ => "yuv444p",
    };
    Some(if depth == 8 {
        (base.to_string(), 8)
    } else {
        (format!("{base}{depth}le"), depth)
    })
}

/// Iterates (obu_type, payload) of a low-overhead AV1 bitstream (stops on malformed data).
fn obus(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let &h = rest.first()?;
        let kind = (h >> 3) & 0x0f;
        let ext = h & 0x04 != 0;
        let has_size = h & 0x02 != 0;
        let mut pos = 1 + usize::from(ext);
        let size = if has_size {
            let mut v = 0usize;
            let mut i = 0;
            loop {
                let &b = rest.get(pos)?;
                pos += 1;
                v |= usize::from(b & 0x7f) << (7 * i);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if i == 8 {
                    return None;
                }
            }
            v
        } else {
            rest.len().checked_sub(pos)?
        };
        let payload = rest.get(pos..pos.checked_add(size)?)?;
        rest = rest.get(pos + size..).unwrap_or_default();
        Some((kind, payload))
    })
}

/// Whether a temporal unit can start decoding: it carries a sequence header (encoders put one
/// on every key frame) and its first frame header is a shown key frame.
pub fn is_key(_extra: &[u8], data: &[u8]) -> bool {
    const SEQUENCE_HEADER: u8 = 1;
    const FRAME_HEADER: u8 = 3;
    const FRAME: u8 = 6;
    let mut seq = false;
    for (kind, payload) in obus(data) {
        match kind {
            SEQUENCE_HEADER => seq = true,
            FRAME_HEADER | FRAME if seq => {
                // Without reduced_still_picture_header: show_existing_frame(1),
                // frame_type(2) = KEY_FRAME (0).
                return payload
                    .first()
                    .is_some_and(|b| b & 0x80 == 0 && (b >> 5) & 0x03 == 0);
            }
            FRAME_HEADER | FRAME => return false,
            _ => {}
        }
    }
    false
}

#[cfg(feature = "av1")]
mod ffi;
#[cfg(feature = "av1")]
pub use ffi::Decoder;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn av1c_formats() {
        // marker|version, profile 0 level 8, 8-bit 4:2:0.
        assert_eq!(
            config_format(&[0x81, 0x08, 0x0c, 0]),
            Some(("yuv420p".into(), 8))
        );
        // high_bitdepth: 10-bit.
        assert_eq!(
            config_format(&[0x81, 0x08, 0x4c, 0]),
            Some(("yuv420p10le".into(), 10))
        );
        assert_eq!(config_format(&[]), None);
        assert_eq!(config_format(&[0x01, 0, 0, 0]), None);
    }

    #[test]
    fn key_detection_reads_obus_without_panicking() {
        // temporal delimiter (type 2, size 0), sequence header (type 1, 1 byte), frame
        // (type 6) whose first byte says shown key frame.
        let tu = [0x12, 0x00, 0x0a, 0x01, 0x00, 0x32, 0x01, 0x10];
        assert!(is_key(&[], &tu));
        // The same without the sequence header is not a starting point.
        let inter = [0x12, 0x00, 0x32, 0x01, 0x10];
        assert!(!is_key(&[], &inter));
        // Truncated sizes and junk.
        assert!(!is_key(&[], &[0x0a, 0xff]));
        assert!(!is_key(
            &[],
            &[0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]
        ));
    }
}
