//! Derived images: the canonical query of an image variant
//! (`media://{root}/{+path}?w=..&h=..&fit=..&format=..`), parsing it back, and rendering a
//! variant through the shared cache, checked against the source's identity on every read.
//! The same spec always gives the same bytes, so a tool's output and a `resources/read` of its
//! URI are byte-identical. Must not know about the server or MCP wire.

use super::{DerivedError, format_code, format_of, split_trailer, with_trailer};
use crate::cache::DerivedCache;
use crate::library::{Library, MediaKind, Resolved};
use crate::media::image::decode::DecodeOptions;
use crate::media::image::{
    Crop, Fit, Flip, ImageError, OutputFormat, Rotation, TransformSpec, pipeline,
};
use bytes::{Buf, BufMut, Bytes};
use std::io::BufReader;

/// Query keys of a derived image, in canonical order.
pub const QUERY_KEYS: [&str; 11] = [
    "w",
    "h",
    "fit",
    "crop",
    "cropf",
    "rotate",
    "flip",
    "format",
    "quality",
    "max_bytes",
    "upscale",
];

/// Whether a query names an image variant (rather than an audio segment or a byte range).
/// `format` alone is shared with audio segments: it counts when its value is an image format.
pub fn is_image_query(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(k, v)| {
        if k == "format" {
            parse_format(v).is_some()
        } else {
            QUERY_KEYS.contains(&k.as_str())
        }
    })
}

fn parse_format(v: &str) -> Option<OutputFormat> {
    match v {
        "jpeg" | "jpg" => Some(OutputFormat::Jpeg),
        "png" => Some(OutputFormat::Png),
        "webp" => Some(OutputFormat::Webp),
        _ => None,
    }
}

/// Parses an output format name (`jpeg`, `jpg`, `png`, `webp`).
pub fn format_from_name(v: &str) -> Result<OutputFormat, String> {
    parse_format(v).ok_or_else(|| format!("unsupported image format {v:?} (jpeg, png or webp)"))
}

pub fn fit_from_name(v: &str) -> Result<Fit, String> {
    match v {
        "inside" => Ok(Fit::Inside),
        "cover" => Ok(Fit::Cover),
        "exact" | "fill" => Ok(Fit::Exact),
        _ => Err(format!("fit must be inside, cover or exact, got {v:?}")),
    }
}

pub fn rotation_from_degrees(d: i64) -> Result<Rotation, String> {
    match d.rem_euclid(360) {
        0 => Ok(Rotation::None),
        90 => Ok(Rotation::Cw90),
        180 => Ok(Rotation::Cw180),
        270 => Ok(Rotation::Cw270),
        _ => Err(format!("rotate must be a multiple of 90 degrees, got {d}")),
    }
}

pub fn flip_from_name(v: &str) -> Result<Flip, String> {
    match v {
        "none" => Ok(Flip::None),
        "horizontal" | "h" => Ok(Flip::Horizontal),
        "vertical" | "v" => Ok(Flip::Vertical),
        "both" => Ok(Flip::Both),
        _ => Err(format!(
            "flip must be horizontal, vertical or both, got {v:?}"
        )),
    }
}

fn fit_name(f: Fit) -> &'static str {
    match f {
        Fit::Inside => "inside",
        Fit::Cover => "cover",
        Fit::Exact => "exact",
    }
}

fn degrees(r: Rotation) -> u32 {
    match r {
        Rotation::None => 0,
        Rotation::Cw90 => 90,
        Rotation::Cw180 => 180,
        Rotation::Cw270 => 270,
    }
}

fn flip_name(f: Flip) -> &'static str {
    match f {
        Flip::None => "none",
        Flip::Horizontal => "horizontal",
        Flip::Vertical => "vertical",
        Flip::Both => "both",
    }
}

/// A fraction as the query writes it: at most 6 decimals, no trailing zeros.
fn frac(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A fraction as the URI will carry it (6 decimals): a spec rendered from what a caller gave
/// must be the spec its URI names, or a `resources/read` of the URI could crop a pixel apart.
pub fn canonical_fraction(x: f64) -> f64 {
    frac(x).parse().unwrap_or(x)
}

/// The canonical query of a spec: keys in [`QUERY_KEYS`] order, defaults left out. Parsing it
/// gives the spec back (fractions to 6 decimals).
pub fn to_query(spec: &TransformSpec) -> String {
    let mut q: Vec<String> = Vec::new();
    if let Some(w) = spec.max_width {
        q.push(format!("w={w}"));
    }
    if let Some(h) = spec.max_height {
        q.push(format!("h={h}"));
    }
    if spec.fit != Fit::Inside {
        q.push(format!("fit={}", fit_name(spec.fit)));
    }
    match spec.crop {
        Some(Crop::Pixels {
            x,
            y,
            width,
            height,
        }) => q.push(format!("crop={x},{y},{width},{height}")),
        Some(Crop::Fractions {
            x,
            y,
            width,
            height,
        }) => q.push(format!(
            "cropf={},{},{},{}",
            frac(x),
            frac(y),
            frac(width),
            frac(height)
        )),
        None => {}
    }
    if spec.rotate != Rotation::None {
        q.push(format!("rotate={}", degrees(spec.rotate)));
    }
    if spec.flip != Flip::None {
        q.push(format!("flip={}", flip_name(spec.flip)));
    }
    if let Some(f) = spec.format {
        q.push(format!("format={}", f.as_str()));
    }
    if let Some(v) = spec.quality {
        q.push(format!("quality={v}"));
    }
    if let Some(b) = spec.max_bytes {
        q.push(format!("max_bytes={b}"));
    }
    if spec.upscale {
        q.push("upscale=1".into());
    }
    q.join("&")
}

/// The canonical URI of an image variant.
pub fn image_uri(base: &str, spec: &TransformSpec) -> String {
    let q = to_query(spec);
    if q.is_empty() {
        // No transform at all still names a derived image (re-encoded, oriented), not the file.
        format!("{base}?fit=inside")
    } else {
        format!("{base}?{q}")
    }
}

fn four<T: std::str::FromStr>(k: &str, v: &str) -> Result<[T; 4], String> {
    let parts: Vec<T> = v
        .split(',')
        .map(|p| p.trim().parse::<T>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{k} must be four numbers x,y,width,height, got {v:?}"))?;
    <[T; 4]>::try_from(parts)
        .map_err(|_| format!("{k} must be four numbers x,y,width,height, got {v:?}"))
}

/// Parses an image variant's query (the pairs of a `media://` URI).
pub fn from_query(pairs: &[(String, String)]) -> Result<TransformSpec, String> {
    let mut spec = TransformSpec::default();
    for (k, v) in pairs {
        let int = || {
            v.parse::<u64>()
                .map_err(|_| format!("{k} must be a non-negative integer, got {v:?}"))
        };
        let dim = || {
            int().and_then(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{k} must be between 1 and {}, got {v:?}", u32::MAX))
            })
        };
        match k.as_str() {
            "w" => spec.max_width = Some(dim()?),
            "h" => spec.max_height = Some(dim()?),
            "fit" => spec.fit = fit_from_name(v)?,
            "crop" => {
                let [x, y, width, height] = four::<u32>(k, v)?;
                spec.crop = Some(Crop::Pixels {
                    x,
                    y,
                    width,
                    height,
                });
            }
            "cropf" => {
                let [x, y, width, height] = four::<f64>(k, v)?;
                spec.crop = Some(Crop::Fractions {
                    x,
                    y,
                    width,
                    height,
                });
            }
            "rotate" => {
                let d: i64 = v
                    .parse()
                    .map_err(|_| format!("rotate must be 0, 90, 180 or 270, got {v:?}"))?;
                spec.rotate = rotation_from_degrees(d)?;
            }
            "flip" => spec.flip = flip_from_name(v)?,
            "format" => spec.format = Some(format_from_name(v)?),
            "quality" => {
                spec.quality = Some(
                    u8::try_from(int()?)
                        .ok()
                        .filter(|q| (1..=100).contains(q))
                        .ok_or_else(|| format!("quality must be 1-100, got {v:?}"))?,
                )
            }
            "max_bytes" => spec.max_bytes = Some(int()?),
            "upscale" => {
                spec.upscale = match v.as_str() {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    _ => return Err(format!("upscale must be 1 or 0, got {v:?}")),
                }
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?} (image variants take {})",
                    QUERY_KEYS.join(", ")
                ));
            }
        }
    }
    Ok(spec)
}

/// What a rendered variant is, kept with its bytes in the cache.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageMeta {
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub quality: Option<u8>,
    /// What was done to meet the byte budget.
    pub steps: Vec<String>,
    /// The source as displayed.
    pub source_width: u32,
    pub source_height: u32,
}

pub struct RenderedImage {
    pub data: Bytes,
    pub meta: ImageMeta,
}

/// Cache entries are the image bytes as the encoder wrote them, then the meta, its length (u32)
/// and `META_MAGIC`: the meta is appended to the encoder's buffer and the image is sliced back
/// out, so the image itself is never copied.
const META_MAGIC: &[u8; 4] = b"MMI1";

fn pack(meta: &ImageMeta, data: Vec<u8>) -> Bytes {
    let steps = meta.steps.join("\n");
    with_trailer(data, META_MAGIC, 2 + 16 + steps.len(), |d| {
        d.push(format_code(meta.format));
        d.push(meta.quality.unwrap_or(0));
        for v in [
            meta.width,
            meta.height,
            meta.source_width,
            meta.source_height,
        ] {
            d.put_u32(v);
        }
        d.put_slice(steps.as_bytes());
    })
}

fn unpack(entry: &Bytes) -> Option<RenderedImage> {
    let (data, mut m) = split_trailer(entry, META_MAGIC)?;
    if m.remaining() < 2 + 16 {
        return None;
    }
    let format = format_of(m.get_u8())?;
    let quality = Some(m.get_u8()).filter(|q| *q > 0);
    let (width, height, source_width, source_height) =
        (m.get_u32(), m.get_u32(), m.get_u32(), m.get_u32());
    let steps = std::str::from_utf8(&m)
        .ok()?
        .split('\n')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Some(RenderedImage {
        data,
        meta: ImageMeta {
            format,
            width,
            height,
            quality,
            steps,
            source_width,
            source_height,
        },
    })
}

/// Renders an image variant of a resolved file through the shared cache, refusing what
/// would exceed `limit` encoded bytes.
pub fn render_image(
    lib: &Library,
    cache: &DerivedCache,
    r: &Resolved,
    spec: &TransformSpec,
    opts: &DecodeOptions,
    limit: u64,
    cancelled: &dyn Fn() -> bool,
) -> Result<RenderedImage, DerivedError> {
    let key = image_uri(&r.uri.base(), spec);
    let source = lib.identity(r)?;
    if let Some(hit) = cache.get(&key, &source).as_ref().and_then(unpack) {
        return Ok(hit);
    }
    let stat = lib.stat(r)?;
    if stat.sniffed.kind != MediaKind::Image {
        return Err(ImageError::Unsupported(format!(
            "{} is {}, not an image",
            r.original,
            stat.sniffed.kind.as_str()
        ))
        .into());
    }
    let file = lib.open(r)?;
    let rendered_from = file.id();
    let (out, source_size) =
        pipeline::render_with_source(BufReader::new(file), opts, spec, cancelled)?;
    if out.bytes.len() as u64 > limit {
        return Err(ImageError::TooLarge(format!(
            "the variant is {} bytes, over the limit of {limit} bytes; ask for smaller w/h or set max_bytes",
            out.bytes.len()
        ))
        .into());
    }
    let meta = ImageMeta {
        format: out.format,
        width: out.width,
        height: out.height,
        quality: out.quality,
        steps: out.steps,
        source_width: source_size.0,
        source_height: source_size.1,
    };
    let entry = pack(&meta, out.bytes);
    let rendered = unpack(&entry).ok_or_else(|| ImageError::Encode("cache entry".into()))?;
    // Cache only what was made from the source as it was before and still is after.
    if rendered_from == Some(source) && lib.identity(r).ok() == Some(source) {
        cache.put(key, source, entry);
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn queries_round_trip_canonically() {
        for q in [
            "w=800",
            "w=800&h=600&fit=cover&format=jpeg&quality=80",
            "crop=10,20,300,200&rotate=90&flip=horizontal&format=png",
            "cropf=0.1,0.2,0.5,0.25&max_bytes=100000&upscale=1",
            "h=1568&fit=exact&format=webp",
        ] {
            let spec = from_query(&pairs(q)).unwrap();
            assert_eq!(to_query(&spec), q);
        }
        // Order and aliases do not matter: the canonical form is one string.
        let a = from_query(&pairs("format=jpg&w=10&rotate=-90")).unwrap();
        assert_eq!(to_query(&a), "w=10&rotate=270&format=jpeg");
    }

    #[test]
    fn a_fraction_given_to_a_tool_is_the_fraction_its_uri_names() {
        let x = canonical_fraction(0.100_499_96);
        let spec = TransformSpec {
            crop: Some(Crop::Fractions {
                x,
                y: 0.0,
                width: 0.5,
                height: 0.5,
            }),
            ..TransformSpec::default()
        };
        let back = from_query(&pairs(&to_query(&spec))).unwrap();
        assert_eq!(back, spec);
        assert_eq!(x, 0.1005);
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        for (q, needle) in [
            ("w=0", "between 1"),
            ("w=-5", "non-negative"),
            ("fit=stretch", "fit must be"),
            ("rotate=45", "multiple of 90"),
            ("crop=1,2,3", "four numbers"),
            ("quality=0", "1-100"),
            ("format=gif", "unsupported image format"),
            ("zoom=2", "unknown parameter"),
        ] {
            let e = from_query(&pairs(q)).unwrap_err();
            assert!(e.contains(needle), "{q}: {e}");
        }
    }

    #[test]
    fn image_queries_are_told_from_audio_and_range_queries() {
        assert!(is_image_query(&pairs("w=100")));
        assert!(is_image_query(&pairs("format=png")));
        assert!(!is_image_query(&pairs("format=wav&start=0")));
        assert!(!is_image_query(&pairs("offset=0&length=10")));
        assert!(!is_image_query(&pairs("")));
    }

    #[test]
    fn cache_entries_keep_the_meta_and_slice_the_bytes() {
        let meta = ImageMeta {
            format: OutputFormat::Png,
            width: 3,
            height: 4,
            quality: None,
            steps: vec!["a".into(), "b c".into()],
            source_width: 30,
            source_height: 40,
        };
        let e = pack(&meta, b"\x89PNG-bytes".to_vec());
        let back = unpack(&e).unwrap();
        assert_eq!(back.meta, meta);
        assert_eq!(&back.data[..], b"\x89PNG-bytes");
        // The image is a view of the entry, not a copy.
        assert_eq!(back.data.as_ptr(), e.as_ptr());
        assert!(unpack(&Bytes::from_static(b"MMI1")).is_none());
        assert!(unpack(&Bytes::from_static(b"\xff\xff\xff\xffMMI1")).is_none());
    }
}
