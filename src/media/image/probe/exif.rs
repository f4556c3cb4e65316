//! EXIF facts read from a raw TIFF-structured EXIF block (as the containers hand it over):
//! orientation, date taken, camera make and model, GPS position in decimal degrees.
//! Must not know about pixels, files or formats: it only reads the block it is given.

use exif::{In, Tag, Value};

/// A GPS position in decimal degrees (south and west negative), altitude in metres (below
/// sea level negative).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpsPosition {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
}

/// What the EXIF block says that the probe reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExifFacts {
    /// 1-8, when present and valid.
    pub orientation: Option<u8>,
    /// `DateTimeOriginal` (else `DateTime`) as written, "YYYY:MM:DD HH:MM:SS".
    pub date_taken: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub gps: Option<GpsPosition>,
}

/// Most bytes of EXIF looked at (a real block is a few KB; thumbnails make it up to 64 KB).
const MAX_EXIF: usize = 1 << 20;

/// Parses a raw EXIF block. A block that does not parse yields no facts (never an error: EXIF
/// is advisory).
pub fn parse(raw: &[u8]) -> ExifFacts {
    let raw = raw.get(..raw.len().min(MAX_EXIF)).unwrap_or_default();
    // Some writers keep the "Exif\0\0" APP1 prefix.
    let raw = raw.strip_prefix(b"Exif\0\0").unwrap_or(raw);
    let Ok(exif) = exif::Reader::new().read_raw(raw.to_vec()) else {
        return ExifFacts::default();
    };
    let field = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);
    let orientation = field(Tag::Orientation)
        .and_then(|v| v.get_uint(0))
        .and_then(|o| u8::try_from(o).ok())
        .filter(|o| (1..=8).contains(o));
    let date_taken = field(Tag::DateTimeOriginal)
        .and_then(ascii)
        .or_else(|| field(Tag::DateTime).and_then(ascii));
    ExifFacts {
        orientation,
        date_taken,
        make: field(Tag::Make).and_then(ascii),
        model: field(Tag::Model).and_then(ascii),
        gps: gps(&|tag| field(tag)),
    }
}

/// The first ASCII string of a value, trimmed of NULs and spaces; `None` when empty.
fn ascii(v: &Value) -> Option<String> {
    let Value::Ascii(parts) = v else { return None };
    let s = String::from_utf8_lossy(parts.first()?);
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.chars().take(256).collect())
}

/// Degrees, minutes, seconds (three rationals) to decimal degrees.
fn dms(v: &Value) -> Option<f64> {
    let Value::Rational(r) = v else { return None };
    let part = |i: usize| {
        r.get(i)
            .filter(|x| x.denom != 0)
            .map(|x| f64::from(x.num) / f64::from(x.denom))
    };
    let deg = part(0)?;
    Some(deg + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0)
}

fn reference(v: Option<&Value>) -> Option<u8> {
    match v? {
        Value::Ascii(parts) => parts.first()?.first().copied(),
        _ => None,
    }
}

fn gps<'a>(field: &dyn Fn(Tag) -> Option<&'a Value>) -> Option<GpsPosition> {
    let mut lat = dms(field(Tag::GPSLatitude)?)?;
    let mut lon = dms(field(Tag::GPSLongitude)?)?;
    if matches!(reference(field(Tag::GPSLatitudeRef)), Some(b'S' | b's')) {
        lat = -lat;
    }
    if matches!(reference(field(Tag::GPSLongitudeRef)), Some(b'W' | b'w')) {
        lon = -lon;
    }
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return None;
    }
    let altitude = field(Tag::GPSAltitude).and_then(|v| match v {
        Value::Rational(r) => r
            .first()
            .filter(|x| x.denom != 0)
            .map(|x| f64::from(x.num) / f64::from(x.denom)),
        _ => None,
    });
    let below = field(Tag::GPSAltitudeRef).and_then(|v| v.get_uint(0)) == Some(1);
    Some(GpsPosition {
        latitude: lat,
        longitude: lon,
        altitude: altitude.map(|a| if below { -a } else { a }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use exif::experimental::Writer;
    use exif::{Field, Rational};

    fn block(fields: &[Field]) -> Vec<u8> {
        let mut w = Writer::new();
        for f in fields {
            w.push_field(f);
        }
        let mut out = std::io::Cursor::new(Vec::new());
        w.write(&mut out, false).unwrap();
        out.into_inner()
    }

    fn field(tag: Tag, value: Value) -> Field {
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        }
    }

    fn r(num: u32, denom: u32) -> Rational {
        Rational { num, denom }
    }

    #[test]
    fn reads_orientation_date_camera_and_gps_in_decimal_degrees() {
        let raw = block(&[
            field(Tag::Orientation, Value::Short(vec![6])),
            field(Tag::Make, Value::Ascii(vec![b"Acme".to_vec()])),
            field(Tag::Model, Value::Ascii(vec![b"Phone 12".to_vec()])),
            field(
                Tag::DateTimeOriginal,
                Value::Ascii(vec![b"2024:05:06 07:08:09".to_vec()]),
            ),
            field(Tag::GPSLatitudeRef, Value::Ascii(vec![b"S".to_vec()])),
            field(
                Tag::GPSLatitude,
                Value::Rational(vec![r(33, 1), r(51, 1), r(3564, 100)]),
            ),
            field(Tag::GPSLongitudeRef, Value::Ascii(vec![b"E".to_vec()])),
            field(
                Tag::GPSLongitude,
                Value::Rational(vec![r(151, 1), r(12, 1), r(3, 1)]),
            ),
            field(Tag::GPSAltitudeRef, Value::Byte(vec![1])),
            field(Tag::GPSAltitude, Value::Rational(vec![r(125, 10)])),
        ]);
        let f = parse(&raw);
        assert_eq!(f.orientation, Some(6));
        assert_eq!(f.make.as_deref(), Some("Acme"));
        assert_eq!(f.model.as_deref(), Some("Phone 12"));
        assert_eq!(f.date_taken.as_deref(), Some("2024:05:06 07:08:09"));
        let g = f.gps.unwrap();
        assert!((g.latitude - -(33.0 + 51.0 / 60.0 + 35.64 / 3600.0)).abs() < 1e-9);
        assert!((g.longitude - (151.0 + 12.0 / 60.0 + 3.0 / 3600.0)).abs() < 1e-9);
        assert_eq!(g.altitude, Some(-12.5));
        // The APP1 prefix is accepted too.
        let mut prefixed = b"Exif\0\0".to_vec();
        prefixed.extend_from_slice(&raw);
        assert_eq!(parse(&prefixed), f);
    }

    #[test]
    fn garbage_and_invalid_values_yield_nothing() {
        assert_eq!(parse(b"not exif"), ExifFacts::default());
        assert_eq!(parse(&[]), ExifFacts::default());
        let raw = block(&[
            field(Tag::Orientation, Value::Short(vec![9])),
            field(Tag::GPSLatitude, Value::Rational(vec![r(1, 0)])),
            field(Tag::GPSLongitude, Value::Rational(vec![r(10, 1)])),
        ]);
        let f = parse(&raw);
        assert_eq!((f.orientation, f.gps), (None, None));
    }
}
