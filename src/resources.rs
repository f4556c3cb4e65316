//! Resources: the library's files as MCP resources (list, templates, read, completion of
//! template arguments).
//!
//! `resources/read` returns a file whole up to the inline limit, or the byte range named by
//! `?offset=&length=` (the template `media://{root}/{+path}{?offset,length}`), so any file can be
//! read in bounded chunks. `resources/list` pages are bounded by count (`--page-size`) and by
//! bytes ([`LIST_PAGE_BYTES`]). Must not know about the server, transports or JSON-RPC errors.

use crate::cache::DerivedCache;
use crate::derived::image::{self as derived_image, render_image};
use crate::derived::video::{self as derived_video, VideoDerivedError, VideoQuery};
use crate::derived::{DerivedError, render_audio};
use crate::library::{Library, LibraryError};
use crate::media::audio::segment::{self, SegmentSpec};
use crate::media::image::decode::DecodeOptions;
use crate::media::video::{VideoCtx, VideoError};
use crate::protocol::ProtocolVersion;
use crate::protocol::blob::{Blob, BlobSource, INLINE_BLOB_MAX};
use crate::protocol::cursor;
use crate::protocol::types::render_resource;
use crate::protocol::types::{ResourceBody, ResourceContents, ResourceInfo, ResourceTemplate};
use crate::provider::{Completions, ResourceProvider};
pub use crate::provider::{Page, ResourceError};
use crate::tools::media_list::entry_info;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The byte-range template.
pub use crate::library::uri::RANGE_TEMPLATE;
/// The derived-audio template.
pub const AUDIO_TEMPLATE: &str = "media://{root}/{+path}{?start,duration,format,rate,channels}";
/// The derived-image template.
pub const IMAGE_TEMPLATE: &str =
    "media://{root}/{+path}{?w,h,fit,crop,cropf,rotate,flip,format,quality,max_bytes,upscale}";

/// Most bytes of JSON a `resources/list` page's `resources` array may take (1 MiB). A page ends
/// early, before the item that would cross it, and its cursor continues exactly there; a page
/// always holds at least one item. Counted in the largest rendering (the newest revision's).
pub const LIST_PAGE_BYTES: usize = crate::config::DEFAULT_LIST_PAGE_BYTES;

pub struct Resources {
    lib: Arc<Library>,
    cache: Arc<DerivedCache>,
    image: DecodeOptions,
    video: Arc<VideoCtx>,
    inline_limit: u64,
    page_size: usize,
    page_bytes: usize,
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
            image: DecodeOptions::default(),
            video: Arc::new(VideoCtx::default()),
            inline_limit,
            page_size,
            page_bytes: LIST_PAGE_BYTES,
        }
    }

    /// How images are decoded for derived image variants (limits, external decoders).
    pub fn with_image_options(mut self, opts: DecodeOptions) -> Self {
        self.image = opts;
        self
    }

    /// How video is decoded for derived frames, storyboards and clips (limits, ffmpeg).
    pub fn with_video(mut self, video: Arc<VideoCtx>) -> Self {
        self.video = video;
        self
    }

    /// Replaces [`LIST_PAGE_BYTES`] as the byte bound of a `resources/list` page.
    pub fn with_page_bytes(mut self, page_bytes: usize) -> Self {
        self.page_bytes = page_bytes.max(1);
        self
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
        let (range, _) = cursor::page(index.entries.len(), offset, self.page_size);
        let mut items = Vec::with_capacity(range.len());
        // `[` and `]`, then each item and its comma.
        let mut bytes = 2;
        for e in index.entries.get(range).unwrap_or_default() {
            let info = entry_info(&self.lib, e);
            let size = serde_json::to_vec(&render_resource(ProtocolVersion::LATEST, &info))
                .map_or(0, |v| v.len())
                + usize::from(!items.is_empty());
            if !items.is_empty() && bytes + size > self.page_bytes {
                break;
            }
            bytes += size;
            items.push(info);
        }
        let end = offset + items.len();
        Ok(Page {
            items,
            next_cursor: (end < index.entries.len()).then(|| cursor::encode("resources", end)),
        })
    }

    pub fn templates(&self) -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: IMAGE_TEMPLATE.into(),
            name: "image-variant".into(),
            title: Some("Image, resized or transformed".into()),
            description: Some(
                "Any image as a model-ready variant: w and h bound the output (fit=inside keeps \
                 the aspect and never upscales unless upscale=1; cover crops to fill; exact \
                 stretches), crop=x,y,width,height in pixels or cropf= in fractions of the \
                 displayed image, rotate=90|180|270, flip=horizontal|vertical|both, \
                 format=jpeg|png|webp (default: chosen from the content), quality=1-100, \
                 max_bytes=a byte budget (quality is lowered first, then size). EXIF \
                 orientation is applied. Deterministic: the same parameters always give the \
                 same bytes."
                    .into(),
            ),
            mime_type: None,
        }, ResourceTemplate {
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
            uri_template: derived_video::FRAME_TEMPLATE.into(),
            name: "video-frame".into(),
            title: Some("Video frame".into()),
            description: Some(
                "The frame of a video shown at t seconds (a time past the end gives the last \
                 frame), rotation applied, fit for a model like an image variant: w and h \
                 bound it (default: long edge 1568), format=jpeg|png|webp, quality=1-100. \
                 Deterministic: video_frames returns the same bytes."
                    .into(),
            ),
            mime_type: None,
        }, ResourceTemplate {
            uri_template: derived_video::STORYBOARD_TEMPLATE.into(),
            name: "video-storyboard".into(),
            title: Some("Video storyboard".into()),
            description: Some(format!(
                "One grid image of storyboard=N (1-{}) evenly spaced frames of a video (or of \
                 start..end seconds), each labelled with its time, in columns columns (default: \
                 the layout with the largest cells); long edge at most {} px, at most {} bytes. \
                 Deterministic: video_storyboard returns the same bytes.",
                derived_video::STORYBOARD_MAX_COUNT,
                derived_video::STORYBOARD_LONG_EDGE,
                derived_video::STORYBOARD_MAX_BYTES
            )),
            mime_type: Some("image/jpeg".into()),
        }, ResourceTemplate {
            uri_template: derived_video::CLIP_TEMPLATE.into(),
            name: "video-clip".into(),
            title: Some("Video clip, H.264/MP4".into()),
            description: Some(format!(
                "clip_duration seconds from clip_start of a video as an H.264/MP4 file for a \
                 person to watch, at most max_height pixels tall (default {}; never upscaled). \
                 At most {} bytes (the inline limit) and {} s.",
                derived_video::CLIP_DEFAULT_HEIGHT,
                self.inline_limit,
                self.video.limits.max_clip_seconds
            )),
            mime_type: Some("video/mp4".into()),
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
    pub fn read(
        &self,
        uri: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        let r = self.lib.resolve(uri)?;
        // Before images: a frame's w/h/format are image keys too.
        if derived_video::is_video_query(&r.uri.query) {
            return self.read_video(&r, uri, cancelled);
        }
        if derived_image::is_image_query(&r.uri.query) {
            return self.read_image(&r, uri, cancelled);
        }
        if r.uri
            .query
            .iter()
            .any(|(k, _)| segment::QUERY_KEYS.contains(&k.as_str()))
        {
            return self.read_audio(&r, uri, cancelled);
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
        let (off, len) = if offset.is_none() && length.is_none() {
            if info.size > self.inline_limit {
                return Err(LibraryError::TooLarge {
                    uri: r.uri.base(),
                    size: info.size,
                    limit: self.inline_limit,
                }
                .into());
            }
            (0, info.size)
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
            (off, len)
        };
        let data = self.file_blob(&r, off, len, cancelled)?;
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

    /// `len` bytes of a file from `off` (clamped to its end): read now when small, otherwise
    /// the opened file itself, read block by block when the answer is written (so no answer
    /// holds a whole file: see `protocol::blob`). The range is read through once here first
    /// (into a small buffer, see `PositionedFile::check_readable`), so a file that cannot be
    /// read answers the same error as before streaming, before any of the answer is sent;
    /// only a change in the moment between that check and the sending ends the answer midway.
    fn file_blob(
        &self,
        r: &crate::library::Resolved,
        off: u64,
        len: u64,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Blob, ResourceError> {
        if len <= INLINE_BLOB_MAX as u64 {
            return Ok(self.lib.read_range(r, off, len)?.into());
        }
        let file = self.lib.open_positioned(r)?;
        let size = file.size();
        if off > size {
            return Err(LibraryError::InvalidRange {
                uri: r.original.clone(),
                reason: format!("offset {off} is past the end of the file ({size} bytes)"),
            }
            .into());
        }
        let n = len.min(size - off);
        file.check_readable(off, n, cancelled)?;
        Ok(Blob::from_source(Arc::new(FileBlob(file)), off, n))
    }

    /// Renders (or fetches from the cache) a derived image variant.
    fn read_image(
        &self,
        r: &crate::library::Resolved,
        uri: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        let spec = query_spec(r, uri, derived_image::from_query)?;
        let out = render_image(
            &self.lib,
            &self.cache,
            r,
            &spec,
            &self.image,
            self.inline_limit,
            cancelled,
        )
        .map_err(|e| derived_failure(uri, e))?;
        Ok(vec![ResourceContents {
            uri: uri.into(),
            mime_type: Some(out.meta.format.mime().into()),
            body: ResourceBody::Blob(out.data.into()),
        }])
    }

    /// Renders (or fetches from the cache) a derived video frame, storyboard or clip.
    fn read_video(
        &self,
        r: &crate::library::Resolved,
        uri: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        let q = query_spec(r, uri, derived_video::from_query)?;
        let fail = |e| video_failure(uri, e);
        let (mime, data) = match q {
            VideoQuery::Frame(f) => {
                let mut frames = derived_video::render_frames(
                    &self.lib,
                    &self.cache,
                    r,
                    &[f.t],
                    &f.look,
                    &self.video,
                    None,
                    cancelled,
                    &mut |_| {},
                )
                .map_err(fail)?;
                let frame = frames
                    .pop()
                    .ok_or_else(|| fail(VideoError::Internal("no frame rendered".into()).into()))?;
                (frame.meta.format.mime(), frame.data)
            }
            VideoQuery::Storyboard(s) => {
                let board = derived_video::render_storyboard(
                    &self.lib,
                    &self.cache,
                    r,
                    &s,
                    &self.video,
                    None,
                    cancelled,
                )
                .map_err(fail)?;
                (board.meta.format.mime(), board.data)
            }
            VideoQuery::Clip(c) => {
                let clip = derived_video::render_clip(
                    &self.lib,
                    &self.cache,
                    r,
                    &c,
                    &self.video,
                    self.inline_limit,
                    cancelled,
                    &mut |_| {},
                )
                .map_err(fail)?;
                ("video/mp4", clip.data)
            }
        };
        Ok(vec![ResourceContents {
            uri: uri.into(),
            mime_type: Some(mime.into()),
            body: ResourceBody::Blob(data.into()),
        }])
    }

    /// Renders (or fetches from the cache) a derived audio segment.
    fn read_audio(
        &self,
        r: &crate::library::Resolved,
        uri: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        let spec = query_spec(r, uri, SegmentSpec::from_query)?;
        let data = render_audio(
            &self.lib,
            &self.cache,
            r,
            &spec,
            self.inline_limit,
            Some(&self.video),
            cancelled,
        )
        .map_err(|e| derived_failure(uri, e))?;
        if data.corrupt_packets > 0 {
            tracing::warn!(%uri, skipped = data.corrupt_packets, "skipped corrupt audio packets");
        }
        Ok(vec![ResourceContents {
            uri: uri.into(),
            mime_type: Some(spec.format.mime().into()),
            body: ResourceBody::Blob(data.data.into()),
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

/// The spec a derived URI's query names (`parse` is the artifact's parser); a query it refuses
/// is an invalid URI, with the parser's reason.
fn query_spec<T>(
    r: &crate::library::Resolved,
    uri: &str,
    parse: impl Fn(&[(String, String)]) -> Result<T, String>,
) -> Result<T, ResourceError> {
    parse(&r.uri.query).map_err(|reason| {
        LibraryError::InvalidUri {
            uri: uri.into(),
            reason,
        }
        .into()
    })
}

/// Why a derived artifact of `uri` failed, as a resource error. A missing file or an escape is
/// the same answer as for the plain file.
fn derived_failure(uri: &str, e: DerivedError) -> ResourceError {
    match e {
        DerivedError::Library(l) => ResourceError::Library(l),
        DerivedError::Audio(source) => ResourceError::Audio {
            uri: uri.into(),
            source,
        },
        DerivedError::Image(source) => ResourceError::Image {
            uri: uri.into(),
            source,
        },
        DerivedError::Video(e) => video_failure(uri, VideoDerivedError::Video(e)),
    }
}

/// Why a derived video artifact of `uri` failed, as a resource error (mapped to the wire in
/// `server/error.rs` like every other).
fn video_failure(uri: &str, e: VideoDerivedError) -> ResourceError {
    match e {
        VideoDerivedError::Library(l) => ResourceError::Library(l),
        VideoDerivedError::Image(source) => ResourceError::Image {
            uri: uri.into(),
            source,
        },
        VideoDerivedError::Video(source) => ResourceError::Video {
            uri: uri.into(),
            source,
        },
    }
}

impl ResourceProvider for Resources {
    fn list(&self, cursor: Option<&str>) -> Result<Page<ResourceInfo>, ResourceError> {
        Resources::list(self, cursor)
    }
    fn templates(&self) -> Vec<ResourceTemplate> {
        Resources::templates(self)
    }
    fn owns(&self, uri: &str) -> bool {
        uri.starts_with("media://")
    }
    fn read(
        &self,
        uri: &str,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ResourceContents>, ResourceError> {
        Resources::read(self, uri, cancelled)
    }
    /// Derived segments render (heavy); byte ranges and whole files are plain reads.
    fn read_cost(&self, uri: &str) -> crate::tools::Cost {
        let derived = uri.split_once('?').is_some_and(|(_, q)| {
            q.split('&').any(|kv| {
                let k = kv.split_once('=').map_or(kv, |x| x.0);
                segment::QUERY_KEYS.contains(&k)
                    || derived_image::QUERY_KEYS.contains(&k)
                    || derived_video::FRAME_KEYS.contains(&k)
                    || derived_video::STORYBOARD_KEYS.contains(&k)
                    || derived_video::CLIP_KEYS.contains(&k)
            })
        });
        if derived {
            crate::tools::Cost::Heavy
        } else {
            crate::tools::Cost::Light
        }
    }
    /// Only the byte-range template reads files as they are; the others render.
    fn template_cost(&self, uri_template: &str) -> crate::tools::Cost {
        if uri_template == RANGE_TEMPLATE {
            crate::tools::Cost::Light
        } else {
            crate::tools::Cost::Heavy
        }
    }
    fn complete(
        &self,
        template: &str,
        arg: &str,
        value: &str,
        context: &Map<String, Value>,
    ) -> Option<Completions> {
        [
            RANGE_TEMPLATE,
            AUDIO_TEMPLATE,
            IMAGE_TEMPLATE,
            derived_video::FRAME_TEMPLATE,
            derived_video::STORYBOARD_TEMPLATE,
            derived_video::CLIP_TEMPLATE,
        ]
        .contains(&template)
        .then(|| {
            let root = context.get("root").and_then(Value::as_str);
            Resources::complete(self, arg, value, root)
        })
    }
}

/// A library file as a blob source: read by position when its answer is written.
#[derive(Debug)]
struct FileBlob(crate::library::PositionedFile);

impl BlobSource for FileBlob {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.0
            .read_exact_at(offset, buf)
            .map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::LibraryLimits;
    use std::path::PathBuf;

    fn resources(page_size: usize) -> Resources {
        let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
        let lib = Arc::new(
            Library::new(vec![("samples".into(), samples)], LibraryLimits::default()).unwrap(),
        );
        Resources::new(
            lib,
            Arc::new(DerivedCache::new(1 << 20)),
            1 << 20,
            page_size,
        )
    }

    /// All pages, following cursors; with each page's JSON size.
    fn all_pages(r: &Resources) -> Vec<(Vec<String>, usize)> {
        let mut out = vec![];
        let mut cur: Option<String> = None;
        loop {
            let p = r.list(cur.as_deref()).unwrap();
            let json: Vec<Value> = p
                .items
                .iter()
                .map(|i| render_resource(ProtocolVersion::LATEST, i))
                .collect();
            let size = serde_json::to_vec(&json).unwrap().len();
            out.push((p.items.into_iter().map(|i| i.uri).collect(), size));
            match p.next_cursor {
                Some(c) => cur = Some(c),
                None => return out,
            }
        }
    }

    use serde_json::Value;

    #[test]
    fn pages_end_before_the_byte_bound_and_continue_exactly() {
        let whole = all_pages(&resources(1000));
        assert_eq!(whole.len(), 1, "the samples fit one default page");
        let all = &whole[0].0;
        assert!(all.len() > 10);
        let bound = whole[0].1 / 4;
        let pages = all_pages(&resources(1000).with_page_bytes(bound));
        assert!(pages.len() >= 4, "{} pages", pages.len());
        for (items, size) in &pages {
            assert!(!items.is_empty());
            assert!(*size <= bound, "page of {size} bytes over {bound}");
        }
        let joined: Vec<String> = pages.into_iter().flat_map(|(i, _)| i).collect();
        assert_eq!(
            &joined, all,
            "pages concatenate to the whole list, in order"
        );
    }

    #[test]
    fn an_item_larger_than_the_bound_still_gets_its_own_page() {
        let all = all_pages(&resources(1000))[0].0.clone();
        let pages = all_pages(&resources(1000).with_page_bytes(1));
        assert_eq!(pages.len(), all.len());
        assert!(pages.iter().all(|(i, _)| i.len() == 1));
    }
}
