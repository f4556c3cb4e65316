//! The media library: named roots, confinement of every path to its root, recursive scanning
//! with content sniffing, and reading file bytes (whole or by range) into `Bytes`.
//!
//! Confinement is enforced twice: URIs are parsed strictly (see [`uri`]), and every open goes
//! through a `cap_std::fs::Dir` for the root, which resolves symlinks itself and refuses any
//! path that would leave the root (`..`, absolute links, links pointing outside). Nothing
//! outside a root is ever opened. Must not know about MCP, JSON or async runtimes.

pub mod sniff;
pub mod uri;
pub mod watch;

pub use sniff::{MediaKind, Sniffed};

use bytes::Bytes;
use cap_std::ambient_authority;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LibraryError {
    #[error("invalid media URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: String },
    #[error("refused {uri:?}: {reason} (paths must stay inside their media root)")]
    Traversal { uri: String, reason: String },
    #[error("unknown media root {root:?} in {uri:?}; roots are: {known}")]
    UnknownRoot {
        uri: String,
        root: String,
        known: String,
    },
    #[error("no such file: {uri}")]
    NotFound { uri: String },
    #[error("{uri} is not a file")]
    NotAFile { uri: String },
    #[error(
        "{uri} is not a recognised audio, image or video file (content sniffing found no known format)"
    )]
    NotMedia { uri: String },
    #[error(
        "{uri} is {size} bytes, above the inline limit of {limit} bytes; read it in ranges with {uri}?offset=0&length={limit} (template media://{{root}}/{{+path}}{{?offset,length}})"
    )]
    TooLarge { uri: String, size: u64, limit: u64 },
    #[error("invalid range for {uri}: {reason}")]
    InvalidRange { uri: String, reason: String },
    #[error("I/O error on {uri}: {source}")]
    Io {
        uri: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use {path:?} as a media root: {reason}")]
    RootSetup { path: PathBuf, reason: String },
}

impl LibraryError {
    pub fn invalid_uri(uri: &str, reason: &str) -> Self {
        LibraryError::InvalidUri {
            uri: uri.into(),
            reason: reason.into(),
        }
    }
    fn io(uri: &str, e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => LibraryError::NotFound { uri: uri.into() },
            // cap-std reports escapes as PermissionDenied ("a path led outside of the
            // filesystem") or as a generic error mentioning it.
            std::io::ErrorKind::PermissionDenied => LibraryError::Traversal {
                uri: uri.into(),
                reason: "the path (or a symlink on it) leads outside the root or is not readable"
                    .into(),
            },
            _ if e.to_string().contains("outside of the filesystem") => LibraryError::Traversal {
                uri: uri.into(),
                reason: "a symlink on the path leads outside the root".into(),
            },
            _ => LibraryError::Io {
                uri: uri.into(),
                source: e,
            },
        }
    }
}

/// Limits of the library. Every bound is documented here.
#[derive(Clone, Debug)]
pub struct LibraryLimits {
    /// Most directory entries one scan looks at, over all roots (default 100,000). A scan that
    /// hits it stops and logs a warning; the index holds what was found so far.
    pub max_scan_entries: usize,
    /// Deepest directory level scanned below a root (default 32).
    pub max_depth: usize,
    /// How old the index may get before a listing rescans (default 10 s).
    pub rescan_interval: Duration,
}

impl Default for LibraryLimits {
    fn default() -> Self {
        LibraryLimits {
            max_scan_entries: 100_000,
            max_depth: 32,
            rescan_interval: Duration::from_secs(10),
        }
    }
}

pub struct Root {
    pub name: String,
    pub path: PathBuf,
    dir: cap_std::fs::Dir,
}

/// One media file found by a scan.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Index of its root in [`Library::roots`].
    pub root: usize,
    /// `/`-separated path relative to the root.
    pub rel: String,
    pub uri: String,
    pub size: u64,
    pub modified: Option<SystemTime>,
    pub kind: MediaKind,
    pub mime: &'static str,
}

impl Entry {
    pub fn file_name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
}

/// A snapshot of the library: all media entries in a deterministic order (root order, then
/// path in byte order).
#[derive(Debug, Default)]
pub struct Index {
    pub entries: Vec<Entry>,
    /// Whether the scan stopped at `max_scan_entries`.
    pub truncated: bool,
}

/// A URI resolved to a root and a relative path (validated, not yet opened).
#[derive(Clone, Debug)]
pub struct Resolved {
    pub root: usize,
    pub rel: String,
    pub uri: uri::MediaUri,
    /// The URI as the client sent it (echoed in results).
    pub original: String,
}

/// What a stat of a resolved file found.
#[derive(Clone, Debug)]
pub struct FileInfo {
    pub size: u64,
    pub modified: Option<SystemTime>,
    pub sniffed: Sniffed,
}

pub struct Library {
    roots: Vec<Root>,
    limits: LibraryLimits,
    index: Mutex<Option<(Instant, Arc<Index>)>>,
}

impl Library {
    /// Opens the roots. Each is `(name, path)`; names must be unique, non-empty, without `/`.
    pub fn new(roots: Vec<(String, PathBuf)>, limits: LibraryLimits) -> Result<Self, LibraryError> {
        let mut out: Vec<Root> = Vec::new();
        for (name, path) in roots {
            let setup = |reason: String| LibraryError::RootSetup {
                path: path.clone(),
                reason,
            };
            if name.is_empty() || name.contains('/') || name.starts_with('.') || name.contains('\0')
            {
                return Err(setup(format!("invalid root name {name:?}")));
            }
            if out.iter().any(|r| r.name == name) {
                return Err(setup(format!(
                    "root name {name:?} is used twice; name roots explicitly with NAME=PATH"
                )));
            }
            let canon = path
                .canonicalize()
                .map_err(|e| setup(format!("cannot resolve: {e}")))?;
            if !canon.is_dir() {
                return Err(setup("not a directory".into()));
            }
            let dir = cap_std::fs::Dir::open_ambient_dir(&canon, ambient_authority())
                .map_err(|e| setup(format!("cannot open: {e}")))?;
            out.push(Root {
                name,
                path: canon,
                dir,
            });
        }
        Ok(Library {
            roots: out,
            limits,
            index: Mutex::new(None),
        })
    }

    pub fn roots(&self) -> &[Root] {
        &self.roots
    }

    pub fn root_names(&self) -> String {
        self.roots
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The current index, rescanning first if it is older than the rescan interval.
    /// Blocking (file system walk): call from a blocking context.
    pub fn index(&self) -> Arc<Index> {
        let mut guard = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, idx)) = guard.as_ref()
            && at.elapsed() < self.limits.rescan_interval
        {
            return idx.clone();
        }
        let idx = Arc::new(self.scan());
        *guard = Some((Instant::now(), idx.clone()));
        idx
    }

    /// Forgets the cached index so the next [`Library::index`] rescans.
    pub fn invalidate(&self) {
        *self.index.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn scan(&self) -> Index {
        let started = Instant::now();
        let mut entries = Vec::new();
        let mut seen = 0usize;
        let mut truncated = false;
        'roots: for (ri, root) in self.roots.iter().enumerate() {
            let walker = walkdir::WalkDir::new(&root.path)
                .follow_links(false)
                .max_depth(self.limits.max_depth)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for item in walker {
                seen += 1;
                if seen > self.limits.max_scan_entries {
                    truncated = true;
                    tracing::warn!(
                        limit = self.limits.max_scan_entries,
                        "library scan stopped at the entry limit; raise --max-scan-entries"
                    );
                    break 'roots;
                }
                let item = match item {
                    Ok(i) => i,
                    Err(e) => {
                        tracing::debug!(error = %e, "skipping unreadable entry");
                        continue;
                    }
                };
                let ft = item.file_type();
                if !(ft.is_file() || ft.is_symlink()) {
                    continue;
                }
                let Ok(rel) = item.path().strip_prefix(&root.path) else {
                    continue;
                };
                let Some(rel) = rel_to_string(rel) else {
                    tracing::debug!(path = ?item.path(), "skipping a file whose name is not UTF-8");
                    continue;
                };
                let uri = uri::build(&root.name, &rel);
                match self.stat_rel(ri, &rel, &uri) {
                    Ok(info) => entries.push(Entry {
                        root: ri,
                        rel,
                        uri,
                        size: info.size,
                        modified: info.modified,
                        kind: info.sniffed.kind,
                        mime: info.sniffed.mime,
                    }),
                    Err(LibraryError::NotMedia { .. }) => {}
                    Err(e) => tracing::debug!(error = %e, "skipping file"),
                }
            }
        }
        entries.sort_by(|a, b| (a.root, a.rel.as_bytes()).cmp(&(b.root, b.rel.as_bytes())));
        tracing::debug!(files = entries.len(), elapsed = ?started.elapsed(), "library scanned");
        Index { entries, truncated }
    }

    /// Parses and validates a URI and finds its root. Opens nothing.
    pub fn resolve(&self, uri_text: &str) -> Result<Resolved, LibraryError> {
        let parsed = uri::parse(uri_text)?;
        let root = self
            .roots
            .iter()
            .position(|r| r.name == parsed.root)
            .ok_or_else(|| LibraryError::UnknownRoot {
                uri: uri_text.into(),
                root: parsed.root.clone(),
                known: self.root_names(),
            })?;
        Ok(Resolved {
            root,
            rel: parsed.rel_path(),
            uri: parsed,
            original: uri_text.into(),
        })
    }

    fn open_rel(&self, root: usize, rel: &str, uri: &str) -> Result<std::fs::File, LibraryError> {
        let dir = &self.roots[root].dir;
        let file = dir.open(rel).map_err(|e| LibraryError::io(uri, e))?;
        let file = file.into_std();
        let meta = file.metadata().map_err(|e| LibraryError::io(uri, e))?;
        if !meta.is_file() {
            return Err(LibraryError::NotAFile { uri: uri.into() });
        }
        Ok(file)
    }

    fn stat_rel(&self, root: usize, rel: &str, uri: &str) -> Result<FileInfo, LibraryError> {
        let mut file = self.open_rel(root, rel, uri)?;
        let meta = file.metadata().map_err(|e| LibraryError::io(uri, e))?;
        let mut head = Vec::with_capacity(sniff::SNIFF_BYTES);
        (&mut file)
            .take(sniff::SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| LibraryError::io(uri, e))?;
        let sniffed = sniff::sniff(&head, Path::new(rel))
            .ok_or_else(|| LibraryError::NotMedia { uri: uri.into() })?;
        Ok(FileInfo {
            size: meta.len(),
            modified: meta.modified().ok(),
            sniffed,
        })
    }

    /// Opens a resolved media file for reading (confined to its root).
    pub fn open(&self, r: &Resolved) -> Result<std::fs::File, LibraryError> {
        self.open_rel(r.root, &r.rel, &r.original)
    }

    /// Size, time and sniffed kind of a resolved file; `NotMedia` if it is not media.
    pub fn stat(&self, r: &Resolved) -> Result<FileInfo, LibraryError> {
        self.stat_rel(r.root, &r.rel, &r.original)
    }

    /// Reads `len` bytes at `offset` (clamped to the end of the file) into one `Bytes`.
    /// `len` must already be bounded by the caller's limit.
    pub fn read_range(&self, r: &Resolved, offset: u64, len: u64) -> Result<Bytes, LibraryError> {
        let mut file = self.open(r)?;
        let size = file
            .metadata()
            .map_err(|e| LibraryError::io(&r.original, e))?
            .len();
        if offset > size {
            return Err(LibraryError::InvalidRange {
                uri: r.original.clone(),
                reason: format!("offset {offset} is past the end of the file ({size} bytes)"),
            });
        }
        let n = len.min(size - offset);
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| LibraryError::io(&r.original, e))?;
        let mut buf = Vec::with_capacity(n as usize);
        (&mut file)
            .take(n)
            .read_to_end(&mut buf)
            .map_err(|e| LibraryError::io(&r.original, e))?;
        Ok(Bytes::from(buf))
    }
}

fn rel_to_string(rel: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            std::path::Component::Normal(s) => parts.push(s.to_str()?),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Formats a time as RFC 3339 (ISO 8601), seconds precision, UTC.
pub fn iso8601(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

    fn lib_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Library) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("lib");
        for (p, data) in files {
            let full = root.join(p);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, data).unwrap();
        }
        fs::create_dir_all(&root).unwrap();
        let lib = Library::new(vec![("lib".into(), root)], LibraryLimits::default()).unwrap();
        (tmp, lib)
    }

    #[test]
    fn scan_classifies_by_content_and_skips_hidden() {
        let (_t, lib) = lib_with(&[
            ("b/pic.wav", PNG),
            ("a.png", PNG),
            (".hidden/x.png", PNG),
            ("notes.txt", b"hello"),
        ]);
        let idx = lib.index();
        let rels: Vec<_> = idx.entries.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(rels, vec!["a.png", "b/pic.wav"]);
        assert_eq!(idx.entries[1].kind, MediaKind::Image);
    }

    #[test]
    fn symlink_escape_is_refused_but_inner_link_works() {
        let (tmp, lib) = lib_with(&[("a.png", PNG)]);
        let outside = tmp.path().join("secret.png");
        fs::write(&outside, PNG).unwrap();
        let root = tmp.path().join("lib");
        std::os::unix::fs::symlink(&outside, root.join("escape.png")).unwrap();
        std::os::unix::fs::symlink("../secret.png", root.join("escape_rel.png")).unwrap();
        std::os::unix::fs::symlink("a.png", root.join("inner.png")).unwrap();
        for name in ["escape.png", "escape_rel.png"] {
            let r = lib.resolve(&format!("media://lib/{name}")).unwrap();
            let err = lib.read_range(&r, 0, 10).unwrap_err();
            assert!(
                matches!(err, LibraryError::Traversal { .. }),
                "{name}: {err}"
            );
        }
        let r = lib.resolve("media://lib/inner.png").unwrap();
        assert_eq!(lib.read_range(&r, 0, 4).unwrap().as_ref(), &PNG[..4]);
        let rels: Vec<_> = lib.index().entries.iter().map(|e| e.rel.clone()).collect();
        assert_eq!(rels, vec!["a.png", "inner.png"]);
    }

    #[test]
    fn unknown_root_and_missing_file() {
        let (_t, lib) = lib_with(&[("a.png", PNG)]);
        assert!(matches!(
            lib.resolve("media://nope/a.png"),
            Err(LibraryError::UnknownRoot { .. })
        ));
        let r = lib.resolve("media://lib/missing.png").unwrap();
        assert!(matches!(lib.stat(&r), Err(LibraryError::NotFound { .. })));
    }

    #[test]
    fn ranges() {
        let (_t, lib) = lib_with(&[("a.png", PNG)]);
        let r = lib.resolve("media://lib/a.png").unwrap();
        assert_eq!(lib.read_range(&r, 1, 3).unwrap().as_ref(), b"PNG");
        assert_eq!(
            lib.read_range(&r, PNG.len() as u64 - 2, 100).unwrap().len(),
            2
        );
        assert!(lib.read_range(&r, 1000, 1).is_err());
    }
}
