//! `media://ROOT/relative/path?query` URIs: building them from paths and parsing them back,
//! with every traversal trick refused before any file system call.
//!
//! Segments are percent-encoded per RFC 3986 (spaces, `#`, `%`, `?` and non-ASCII round-trip).
//! Parsing refuses `..` and `.` segments, empty segments, encoded slashes, NUL bytes, hidden
//! (dot) names and invalid UTF-8. Must not touch the file system or know about MCP.

use crate::library::LibraryError;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

pub const SCHEME: &str = "media://";

/// The template of a byte range of any media file (`resources/read` with `offset`/`length`).
pub const RANGE_TEMPLATE: &str = "media://{root}/{+path}{?offset,length}";

/// Characters encoded inside one path segment: everything outside RFC 3986 `pchar`, plus `/`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A parsed, validated media URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaUri {
    pub root: String,
    /// Decoded relative path segments (never empty, never `.`/`..`, no `/` or NUL inside).
    pub segments: Vec<String>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
}

impl MediaUri {
    /// The relative path with `/` separators.
    pub fn rel_path(&self) -> String {
        self.segments.join("/")
    }
    /// The URI without its query.
    pub fn base(&self) -> String {
        build(&self.root, &self.rel_path())
    }
}

/// Builds `media://ROOT/rel` from a root name and a `/`-separated relative path.
pub fn build(root: &str, rel: &str) -> String {
    let mut s = String::with_capacity(SCHEME.len() + root.len() + rel.len() + 8);
    s.push_str(SCHEME);
    s.extend(utf8_percent_encode(root, SEGMENT));
    for seg in rel.split('/') {
        s.push('/');
        s.extend(utf8_percent_encode(seg, SEGMENT));
    }
    s
}

fn decode_segment(raw: &str, uri: &str) -> Result<String, LibraryError> {
    let bytes: Vec<u8> = percent_decode_str(raw).collect();
    let seg = String::from_utf8(bytes)
        .map_err(|_| LibraryError::invalid_uri(uri, "a path segment is not valid UTF-8"))?;
    if seg.is_empty() {
        return Err(LibraryError::invalid_uri(uri, "empty path segment"));
    }
    if seg == "." || seg == ".." {
        return Err(LibraryError::Traversal {
            uri: uri.into(),
            reason: format!("'{seg}' segments are not allowed"),
        });
    }
    if seg.contains('\0') {
        return Err(LibraryError::Traversal {
            uri: uri.into(),
            reason: "NUL byte in path".into(),
        });
    }
    if seg.contains('/') {
        return Err(LibraryError::Traversal {
            uri: uri.into(),
            reason: "encoded '/' inside a path segment".into(),
        });
    }
    if seg.starts_with('.') {
        return Err(LibraryError::invalid_uri(
            uri,
            "hidden files are not served",
        ));
    }
    Ok(seg)
}

/// Parses and validates a media URI. Does not check that the root or file exists.
pub fn parse(uri: &str) -> Result<MediaUri, LibraryError> {
    let rest = uri
        .strip_prefix(SCHEME)
        .ok_or_else(|| LibraryError::invalid_uri(uri, "expected a media://ROOT/PATH URI"))?;
    if rest.contains('#') {
        return Err(LibraryError::invalid_uri(uri, "fragments are not allowed"));
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut parts = path.split('/');
    let root_raw = parts.next().unwrap_or("");
    let root = decode_segment(root_raw, uri)
        .map_err(|_| LibraryError::invalid_uri(uri, "missing or invalid root name"))?;
    let segments = parts
        .map(|p| decode_segment(p, uri))
        .collect::<Result<Vec<_>, _>>()?;
    if segments.is_empty() {
        return Err(LibraryError::invalid_uri(
            uri,
            "no file path after the root name",
        ));
    }
    let mut pairs = Vec::new();
    if let Some(q) = query {
        for kv in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| {
                String::from_utf8(percent_decode_str(&s.replace('+', " ")).collect())
                    .map_err(|_| LibraryError::invalid_uri(uri, "query is not valid UTF-8"))
            };
            pairs.push((dec(k)?, dec(v)?));
        }
    }
    Ok(MediaUri {
        root,
        segments,
        query: pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_names() {
        for rel in [
            "images/café au lait #1.png",
            "a/100% done?.wav",
            "日本/音楽.flac",
            "x/[1] {a} b+c.mp3",
        ] {
            let uri = build("lib", rel);
            assert!(!uri.contains(' '), "{uri}");
            let p = parse(&uri).unwrap();
            assert_eq!(p.root, "lib");
            assert_eq!(p.rel_path(), rel);
            assert!(p.query.is_empty());
            assert_eq!(p.base(), uri);
        }
    }

    #[test]
    fn refuses_traversal_and_tricks() {
        for bad in [
            "media://lib/../etc/passwd",
            "media://lib/a/%2e%2e/%2e%2e/etc/passwd",
            "media://lib/a/..%2f..%2fetc",
            "media://lib/a%00.wav",
            "media://lib//etc/passwd",
            "media://lib/.hidden",
            "media://lib/a/./b",
            "media://lib",
            "media:///etc/passwd",
            "file:///etc/passwd",
            "media://lib/a#frag",
            "media://lib/%ff.wav",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn parses_query() {
        let p = parse("media://lib/a.wav?offset=10&length=20").unwrap();
        assert_eq!(
            p.query,
            vec![
                ("offset".into(), "10".into()),
                ("length".into(), "20".into())
            ]
        );
    }
}
