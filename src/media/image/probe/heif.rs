//! HEIF/HEIC/AVIF container headers (ISO BMFF): which of the two a file is (from `ftyp`), and the
//! primary image's stored size (`ispe`), orientation (`irot`/`imir`), alpha and ICC presence,
//! read from the `meta` box without decoding anything. Pixels come from an external decoder.
//! Must not know about pixels, decoders or processes.

use super::super::ImageError;
use std::io::{Read, Seek, SeekFrom};

/// Brands that make a file HEIC (HEVC-coded HEIF) or plain HEIF.
const HEIC_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// "heic" or "avif" when `head` (the first bytes of a file) is an `ftyp` box naming one.
pub fn kind(head: &[u8]) -> Option<&'static str> {
    if head.get(4..8)? != b"ftyp" {
        return None;
    }
    let size = usize::try_from(be32(head, 0)?).ok()?;
    let end = size.min(head.len());
    let major = head.get(8..12)?;
    let compatible = head.get(16..end).unwrap_or_default().chunks_exact(4);
    let brands: Vec<&[u8]> = std::iter::once(major).chain(compatible).collect();
    if brands
        .iter()
        .any(|b| AVIF_BRANDS.iter().any(|a| &a[..] == *b))
    {
        Some("avif")
    } else if brands
        .iter()
        .any(|b| HEIC_BRANDS.iter().any(|a| &a[..] == *b))
    {
        Some("heic")
    } else {
        None
    }
}

/// What the container says about its primary image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeifHeader {
    pub width: u32,
    pub height: u32,
    /// EXIF-style orientation 1-8 equivalent to the item's `irot`/`imir` transforms.
    pub orientation: u8,
    /// Bits per channel from `pixi`, when present.
    pub bit_depth: Option<u8>,
    pub has_alpha: bool,
    pub icc: bool,
}

/// Largest `meta` box read (real ones are a few KB; grids of many tiles some tens).
const MAX_META: u64 = 4 << 20;
/// Most top-level boxes walked before giving up on finding `meta`.
const MAX_TOP_BOXES: usize = 64;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(s.try_into().ok()?))
}

/// Child boxes of `data` as (type, body).
fn boxes(mut data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        let size = be32(data, 0)?;
        let kind: [u8; 4] = data.get(4..8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, data.len()),
            1 => (16, usize::try_from(be64(data, 8)?).ok()?),
            n => (8, usize::try_from(n).ok()?),
        };
        let body = data.get(header..size)?;
        data = data.get(size..).unwrap_or_default();
        Some((kind, body))
    })
}

fn corrupt(what: &str) -> ImageError {
    ImageError::Corrupt(format!("HEIF container: {what}"))
}

/// Reads the `meta` box of an ISO BMFF file and describes its primary image.
pub fn read_header<R: Read + Seek>(mut r: R) -> Result<HeifHeader, ImageError> {
    r.seek(SeekFrom::Start(0))?;
    let mut pos = 0u64;
    for _ in 0..MAX_TOP_BOXES {
        let mut head = [0u8; 16];
        let n = read_up_to(&mut r, &mut head)?;
        if n < 8 {
            break;
        }
        let size32 = be32(&head, 0).unwrap_or(0);
        let (header_len, size) = match size32 {
            1 if n >= 16 => (16, be64(&head, 8).unwrap_or(0)),
            1 => return Err(corrupt("truncated box header")),
            0 => (8, u64::MAX),
            s => (8, u64::from(s)),
        };
        if size < header_len {
            return Err(corrupt("box smaller than its header"));
        }
        if head.get(4..8) == Some(b"meta") {
            let len = size - header_len;
            if len > MAX_META {
                return Err(corrupt("meta box too large"));
            }
            r.seek(SeekFrom::Start(pos + header_len))?;
            let mut body = Vec::new();
            r.by_ref().take(len).read_to_end(&mut body)?;
            return parse_meta(&body);
        }
        pos = pos
            .checked_add(size)
            .ok_or_else(|| corrupt("box size overflow"))?;
        r.seek(SeekFrom::Start(pos))?;
    }
    Err(corrupt("no meta box"))
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Orientation as (clockwise quarter turns, then a horizontal flip).
#[derive(Clone, Copy)]
struct Turn(u8, bool);

impl Turn {
    fn then(self, next: Turn) -> Turn {
        // A flip followed by a rotation r equals the rotation -r followed by the flip.
        let r = if self.1 { 4 - next.0 % 4 } else { next.0 };
        Turn((self.0 + r) % 4, self.1 ^ next.1)
    }
    fn exif(self) -> u8 {
        match (self.0 % 4, self.1) {
            (0, false) => 1,
            (0, true) => 2,
            (2, false) => 3,
            (2, true) => 4,
            (1, true) => 5,
            (1, false) => 6,
            (3, true) => 7,
            _ => 8,
        }
    }
}

fn parse_meta(meta: &[u8]) -> Result<HeifHeader, ImageError> {
    // `meta` is a full box: version and flags come first.
    let children = meta.get(4..).ok_or_else(|| corrupt("short meta box"))?;
    let mut primary: Option<u32> = None;
    let mut properties: Vec<([u8; 4], &[u8])> = vec![];
    let mut associations: Vec<(u32, Vec<u16>)> = vec![];
    for (kind, body) in boxes(children) {
        match &kind {
            b"pitm" => {
                primary = match body.first() {
                    Some(0) => be16(body, 4).map(u32::from),
                    Some(_) => be32(body, 4),
                    None => None,
                }
            }
            b"iprp" => {
                for (k, b) in boxes(body) {
                    match &k {
                        b"ipco" => properties = boxes(b).collect(),
                        b"ipma" => associations.extend(parse_ipma(b)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // The primary item's properties (1-based indices into `ipco`), in order.
    let own: Vec<([u8; 4], &[u8])> = associations
        .iter()
        .find(|(item, _)| Some(*item) == primary)
        .map(|(_, idx)| {
            idx.iter()
                .filter_map(|&i| properties.get(usize::from(i).checked_sub(1)?).copied())
                .collect()
        })
        .unwrap_or_default();
    let ispe = |b: &[u8]| Some((be32(b, 4)?, be32(b, 8)?));
    let (width, height) = own
        .iter()
        .filter(|(k, _)| k == b"ispe")
        .find_map(|(_, b)| ispe(b))
        // Without a usable primary item, the largest image described.
        .or_else(|| {
            properties
                .iter()
                .filter(|(k, _)| k == b"ispe")
                .filter_map(|(_, b)| ispe(b))
                .max_by_key(|(w, h)| u64::from(*w) * u64::from(*h))
        })
        .ok_or_else(|| corrupt("no image size (ispe)"))?;
    let mut turn = Turn(0, false);
    for (k, b) in &own {
        match k {
            // Anticlockwise quarter turns.
            b"irot" => turn = turn.then(Turn((4 - b.first().map_or(0, |a| a & 3)) % 4, false)),
            // Axis 0: mirrored about the vertical axis (left-right); 1: top-bottom.
            b"imir" => {
                turn = turn.then(if b.first().is_some_and(|a| a & 1 == 1) {
                    Turn(2, true)
                } else {
                    Turn(0, true)
                })
            }
            _ => {}
        }
    }
    let bit_depth = own
        .iter()
        .find(|(k, _)| k == b"pixi")
        .and_then(|(_, b)| b.get(5).copied());
    let icc = own
        .iter()
        .any(|(k, b)| k == b"colr" && matches!(b.get(..4), Some(b"prof" | b"rICC")));
    let has_alpha = properties
        .iter()
        .any(|(k, b)| k == b"auxC" && b.windows(5).any(|w| w.eq_ignore_ascii_case(b"alpha")));
    Ok(HeifHeader {
        width,
        height,
        orientation: turn.exif(),
        bit_depth,
        has_alpha,
        icc,
    })
}

/// `ipma` entries: item id and its property indices.
fn parse_ipma(b: &[u8]) -> Vec<(u32, Vec<u16>)> {
    let mut out = vec![];
    let (Some(&version), Some(&flags)) = (b.first(), b.get(3)) else {
        return out;
    };
    let Some(count) = be32(b, 4) else { return out };
    let mut at = 8usize;
    for _ in 0..count.min(1 << 16) {
        let item = if version < 1 {
            let Some(v) = be16(b, at) else { break };
            at += 2;
            u32::from(v)
        } else {
            let Some(v) = be32(b, at) else { break };
            at += 4;
            v
        };
        let Some(&n) = b.get(at) else { break };
        at += 1;
        let mut idx = vec![];
        for _ in 0..n {
            if flags & 1 == 1 {
                let Some(v) = be16(b, at) else { break };
                at += 2;
                idx.push(v & 0x7fff);
            } else {
                let Some(&v) = b.get(at) else { break };
                at += 1;
                idx.push(u16::from(v & 0x7f));
            }
        }
        out.push((item, idx));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn full(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        bx(kind, &[&[0, 0, 0, 0][..], body].concat())
    }

    /// A minimal HEIC header: item 1 is primary, with ispe 4032x3024 and the given transforms.
    fn heic(transforms: &[Vec<u8>]) -> Vec<u8> {
        let mut ipco = full(
            b"ispe",
            &[&4032u32.to_be_bytes()[..], &3024u32.to_be_bytes()].concat(),
        );
        // A second, smaller image (a thumbnail) first in the list must not be taken.
        let mut props = full(
            b"ispe",
            &[&320u32.to_be_bytes()[..], &240u32.to_be_bytes()].concat(),
        );
        props.append(&mut ipco);
        for t in transforms {
            props.extend_from_slice(t);
        }
        let n = 1 + transforms.len();
        let mut ipma = vec![0, 0, 0, 0, 0, 0, 0, 2];
        ipma.extend_from_slice(&2u16.to_be_bytes());
        ipma.extend_from_slice(&[1, 1]);
        ipma.extend_from_slice(&1u16.to_be_bytes());
        ipma.push(u8::try_from(n).unwrap());
        for i in 0..n {
            ipma.push(u8::try_from(i + 2).unwrap());
        }
        let iprp = bx(b"iprp", &[bx(b"ipco", &props), bx(b"ipma", &ipma)].concat());
        let meta = full(b"meta", &[full(b"pitm", &[0, 1]), iprp].concat());
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        [ftyp, meta, bx(b"mdat", &[0; 16])].concat()
    }

    #[test]
    fn reads_primary_size_and_orientation() {
        let plain = heic(&[]);
        assert_eq!(kind(&plain), Some("heic"));
        let h = read_header(Cursor::new(&plain)).unwrap();
        assert_eq!((h.width, h.height, h.orientation), (4032, 3024, 1));
        // irot 3 (270 anticlockwise = 90 clockwise) is EXIF 6; irot 1 is EXIF 8.
        for (angle, exif) in [(1u8, 8u8), (2, 3), (3, 6)] {
            let h = read_header(Cursor::new(heic(&[bx(b"irot", &[angle])]))).unwrap();
            assert_eq!(h.orientation, exif, "irot {angle}");
        }
        let h = read_header(Cursor::new(heic(&[bx(b"imir", &[0])]))).unwrap();
        assert_eq!(h.orientation, 2);
        let h = read_header(Cursor::new(heic(&[bx(b"imir", &[1])]))).unwrap();
        assert_eq!(h.orientation, 4);
        // Rotate 90 clockwise then mirror left-right: EXIF 5 (transpose).
        let h = read_header(Cursor::new(heic(&[bx(b"irot", &[3]), bx(b"imir", &[0])]))).unwrap();
        assert_eq!(h.orientation, 5);
    }

    #[test]
    fn brands_and_garbage() {
        assert_eq!(kind(&bx(b"ftyp", b"avif\0\0\0\0mif1avif")), Some("avif"));
        assert_eq!(kind(&bx(b"ftyp", b"mif1\0\0\0\0mif1miaf")), Some("heic"));
        assert_eq!(kind(&bx(b"ftyp", b"isom\0\0\0\0isomiso2")), None);
        assert_eq!(kind(b"\x89PNG"), None);
        let plain = heic(&[]);
        for cut in [0, 10, 30, 60, plain.len() - 20] {
            let _ = read_header(Cursor::new(&plain[..cut]));
        }
        assert!(read_header(Cursor::new(&plain[..30])).is_err());
    }
}
