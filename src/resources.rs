//! Resources: the library's files as MCP resources (list, templates, read, completion of
//! template arguments).
//!
//! `resources/read` returns a file whole up to the inline limit, or the byte range named by
//! `?offset=&length=` (the template `media://{root}/{+path}{?offset,length}`), so any file can be
//! read in bounded chunks. Must not know about the server, transports or JSON-RPC errors.

use crate::cache::DerivedCache;
use crate::derived::{DerivedError, render_audio};
use crate::library::{Library, LibraryError};
use crate::media::audio::segment::{self, SegmentSpec};
use crate::protocol::cursor;
use crate::protocol::types::{ResourceBody, ResourceContents, ResourceInfo, ResourceTemplate};
use crate::tools::media_list::entry_info;
use std::sync::Arc;
use thiserror::Error;

/// The byte-range template.
pub const RANGE_TEMPLATE: &str = "media://{root}/{+path}{?offset,length}";
/// The derived-audio template.
pub const AUDIO_TEMPLATE: &str = "media://{root}/{+path}{?start,duration,format,rate,channels}";

#[derive(Debug, Error)]
pub enum ResourceError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("{uri}: {source}")]
    Audio {
        uri: String,
        #[source]
        source: crate::media::audio::AudioError,
    },
}

pub struct Resources {
    lib: Arc<Library>,
    cache: Arc<DerivedCache>,
    inline_limit: u64,
    page_size: usize,
}

/// One page of a list.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl Resources {
    pub fn new(
        lib: Arc<Library>,
        cache: Arc<DerivedCache>,
        inline_limit: u64,
        page_size: usize,
    ) -> Self {
        Resources {
            lib,
            cache,
            inline_limit,
            page_size,
        }
    }

    pub fn library(&self) -> &Arc<Library> {
        &self.lib
    }

    /// A page of every media file under the roots (blocking: may rescan).
    pub fn list(&self, cursor_text: Option<&str>) -> Result<Page<ResourceInfo>, ResourceError> {
        let index = self.lib.index();
        let offset = match cursor_text {
            None => 0,
            Some(c) => cursor::decode("resources", c).ok_or(ResourceError::InvalidCursor)?,
        };
        if offset > index.entries.len() {
            return Err(ResourceError::InvalidCursor);
        }
        let (range, next) = cursor::page(index.entries.len(), offset, self.page_size);
        Ok(Page {
            items: index.entries[range]
                .iter()
                .map(|e| entry_info(&self.lib, e))
                .collect(),
            next_cursor: next.map(|n| cursor::encode("resources", n)),
        })
    }

    pub fn templates(&self) -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: AUDIO_TEMPLATE.into(),
            name: "audio-segment".into(),
            title: Some("Audio segment, transcoded".into()),
            description: Some(
                "Any stretch of any audio file (or a video's audio track) as a self-contained WAV: \
                 start and duration in seconds, rate in Hz (e.g. 16000), channels=1 to downmix. \
                 Deterministic: the same parameters always give the same bytes."
                    .into(),
            ),
            mime_type: Some("audio/wav".into()),
        }, ResourceTemplate {
            uri_template: RANGE_TEMPLATE.into(),
            name: "media-byte-range".into(),
            title: Some("Byte range of a media file".into()),
            description: Some(format!(
                "Any media file, or the byte range [offset, offset+length) of it. Use ranges for \
                 files above the inline limit of {} bytes; length may not exceed that limit.",
                self.inline_limit
            )),
            mime_type: None,
        }]
    }

    /// Reads a media URI (blocking file I/O).
    pub fn read(&self, uri: &str) -> Result<Vec<ResourceContents>, ResourceError> {
        let r = self.lib.resolve(uri)?;
        if r.uri
            .query
            .iter()
            .any(|(k, _)| segment::QUERY_KEYS.contains(&k.as_str()))
        {
            return self.read_audio(&r, uri);
        }
        let mut offset: Option<u64> = None;
        let mut length: Option<u64> = None;
        for (k, v) in &r.uri.query {
            let num = || {
                v.parse::<u64>().map_err(|_| LibraryError::InvalidRange {
                    uri: uri.into(),
                    reason: format!("{k} must be a non-negative integer, got {v:?}"),
                })
            };
            match k.as_str() {
                "offset" => offset = Some(num()?),
                "length" => length = Some(num()?),
                other => {
                    return Err(LibraryError::invalid_uri(
                        uri,
                        &format!(
                            "unknown parameter {other:?} (this template takes offset and length)"
                        ),
                    )
                    .into());
                }
            }
        }
        let info = self.lib.stat(&r)?;
        let data = if offset.is_none() && length.is_none() {
            if info.size > self.inline_limit {
                return Err(LibraryError::TooLarge {
                    uri: r.uri.base(),
                    size: info.size,
                    limit: self.inline_limit,
                }
                .into());
            }
            self.lib.read_range(&r, 0, info.size)?
        } else {
            let off = offset.unwrap_or(0);
            let len =
                length.unwrap_or_else(|| info.size.saturating_sub(off).min(self.inline_limit));
            if len > self.inline_limit {
                return Err(LibraryError::InvalidRange {
                    uri: uri.into(),
                    reason: format!(
                        "length {len} exceeds the limit of {} bytes",
                        self.inline_limit
                    ),
                }
                .into());
            }
            self.lib.read_range(&r, off, len)?
        };
        let mime = if offset.is_some() || length.is_some() {
            // A slice of a container is not a playable file of that type.
            "application/octet-stream".to_string()
        } else {
            info.sniffed.mime.to_string()
        };
        Ok(vec![ResourceContents {
            uri: uri.into(),
            mime_type: Some(mime),
            body: ResourceBody::Blob(data),
        }])
    }

    /// Renders (or fetches from the cache) a derived audio segment.
    fn read_audio(
        &self,
        r: &crate::library::Resolved,
        uri: &str,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        let spec =
            SegmentSpec::from_query(&r.uri.query).map_err(|reason| LibraryError::InvalidUri {
                uri: uri.into(),
                reason,
            })?;
        let data = render_audio(&self.lib, &self.cache, r, &spec, self.inline_limit, &|| {
            false
        })
        .map_err(|e| match e {
            // A missing file or an escape is the same answer as for the plain file.
            DerivedError::Library(l) => ResourceError::Library(l),
            DerivedError::Audio(source) => ResourceError::Audio {
                uri: uri.into(),
                source,
            },
        })?;
        if data.corrupt_packets > 0 {
            tracing::warn!(%uri, skipped = data.corrupt_packets, "skipped corrupt audio packets");
        }
        Ok(vec![ResourceContents {
            uri: uri.into(),
            mime_type: Some(spec.format.mime().into()),
            body: ResourceBody::Blob(data.data),
        }])
    }

    /// Completion values for an argument of [`RANGE_TEMPLATE`] (at most 100, plus the total).
    pub fn complete(&self, arg: &str, value: &str, root_ctx: Option<&str>) -> (Vec<String>, usize) {
        let candidates: Vec<String> = match arg {
            "root" => self
                .lib
                .roots()
                .iter()
                .map(|r| r.name.clone())
                .filter(|n| n.starts_with(value))
                .collect(),
            "path" | "+path" => {
                let root = root_ctx.and_then(|n| self.lib.roots().iter().position(|r| r.name == n));
                self.lib
                    .index()
                    .entries
                    .iter()
                    .filter(|e| root.is_none_or(|r| e.root == r))
                    .filter(|e| e.rel.starts_with(value))
                    .map(|e| e.rel.clone())
                    .collect()
            }
            _ => vec![],
        };
        let total = candidates.len();
        (candidates.into_iter().take(100).collect(), total)
    }
}
