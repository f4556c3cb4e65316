//! Derived media: the canonical URI of each artifact the server can make from a file, and
//! rendering one through the shared byte-bounded cache. Shared by resources (reading a derived
//! URI) and tools (planning and producing chunks). Must not know about the server or MCP wire.

use crate::cache::DerivedCache;
use crate::library::{Library, LibraryError, MediaKind};
use crate::media::audio::segment::{self, SegmentSpec};
use crate::media::audio::{AudioError, MAX_CHUNK_SECONDS, decode};
use thiserror::Error;

/// Why a derived artifact could not be made: the file itself (missing, outside the root, ...:
/// kept as the library said it, so it is answered like any missing resource) or the media.
#[derive(Debug, Error)]
pub enum DerivedError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// The canonical URI of a derived audio segment.
pub fn audio_uri(base: &str, spec: &SegmentSpec) -> String {
    format!("{base}?{}", spec.to_query())
}

/// A rendered artifact and how many corrupt packets were skipped making it (0 on a cache hit:
/// they were reported when it was made). Callers log them, once per request.
pub struct Rendered {
    pub data: bytes::Bytes,
    pub corrupt_packets: usize,
}

/// Renders a derived audio segment of a resolved file through the shared cache, refusing up
/// front what would exceed `limit` bytes.
pub fn render_audio(
    lib: &Library,
    cache: &DerivedCache,
    r: &crate::library::Resolved,
    spec: &SegmentSpec,
    limit: u64,
    cancelled: &dyn Fn() -> bool,
) -> Result<Rendered, DerivedError> {
    spec.validate()?;
    let key = audio_uri(&r.uri.base(), spec);
    if let Some(hit) = cache.get(&key) {
        return Ok(Rendered {
            data: hit,
            corrupt_packets: 0,
        });
    }
    let stat = lib.stat(r)?;
    if stat.sniffed.kind == MediaKind::Image {
        return Err(AudioError::NoAudioTrack.into());
    }
    let ext = r.rel.rsplit('.').next().map(str::to_owned);
    let info = decode::probe(Box::new(lib.open(r)?), ext.as_deref(), stat.size)?;
    let available = info
        .duration_seconds
        .map_or(f64::MAX, |d| (d - spec.start).max(0.0));
    let seconds = spec.duration.unwrap_or(MAX_CHUNK_SECONDS).min(available);
    let rate = spec
        .format
        .rate(spec.rate, info.sample_rate.unwrap_or(48_000));
    let channels = if spec.mono {
        1
    } else {
        info.channels.unwrap_or(2)
    };
    let estimate = spec.format.estimate_bytes(seconds, rate, channels);
    if estimate > limit {
        return Err(AudioError::TooLarge(estimate, limit).into());
    }
    let seg = segment::render(Box::new(lib.open(r)?), ext.as_deref(), spec, cancelled)?;
    cache.put(key, seg.data.clone());
    Ok(Rendered {
        data: seg.data,
        corrupt_packets: seg.corrupt_packets,
    })
}
