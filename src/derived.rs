//! Derived media: the canonical URI of each artifact the server can make from a file, and
//! rendering one through the shared byte-bounded cache. Shared by resources (reading a derived
//! URI) and tools (planning and producing chunks). Every read checks the source's identity
//! first (one stat): a rewritten source is rendered again, a deleted one is not found.
//! Must not know about the server or MCP wire.

use crate::cache::DerivedCache;
use crate::library::{Library, LibraryError, MediaKind};
use crate::media::audio::segment::{self, SegmentSpec};
use crate::media::audio::{AudioError, MAX_CHUNK_SECONDS, decode, seekable};
use crate::media::image::OutputFormat;
use bytes::{BufMut, Bytes};
use thiserror::Error;

/// Appends an artifact's facts to the buffer the encoder wrote it into, then their length (u32)
/// and a 4-byte `magic` naming the kind of entry, so one cache entry holds both and the artifact
/// is sliced back out ([`split_trailer`]) without being copied.
pub(crate) fn with_trailer(
    mut data: Vec<u8>,
    magic: &[u8; 4],
    meta_len: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> Bytes {
    let start = data.len();
    data.reserve_exact(meta_len + 8);
    write(&mut data);
    data.put_u32(u32::try_from(data.len() - start).unwrap_or(u32::MAX));
    data.put_slice(magic);
    Bytes::from(data)
}

/// The artifact and its facts from an entry made by [`with_trailer`] with the same `magic`;
/// `None` for anything else.
pub(crate) fn split_trailer(entry: &Bytes, magic: &[u8; 4]) -> Option<(Bytes, Bytes)> {
    let magic_at = entry.len().checked_sub(4)?;
    if entry.get(magic_at..)? != magic {
        return None;
    }
    let len_at = magic_at.checked_sub(4)?;
    let len_bytes: [u8; 4] = entry.get(len_at..magic_at)?.try_into().ok()?;
    let start = len_at.checked_sub(usize::try_from(u32::from_be_bytes(len_bytes)).ok()?)?;
    Some((entry.slice(..start), entry.slice(start..len_at)))
}

/// One byte for an image format in a cache entry's facts.
pub(crate) fn format_code(f: OutputFormat) -> u8 {
    match f {
        OutputFormat::Jpeg => 0,
        OutputFormat::Png => 1,
        OutputFormat::Webp => 2,
    }
}

/// The format [`format_code`] wrote.
pub(crate) fn format_of(code: u8) -> Option<OutputFormat> {
    match code {
        0 => Some(OutputFormat::Jpeg),
        1 => Some(OutputFormat::Png),
        2 => Some(OutputFormat::Webp),
        _ => None,
    }
}

pub mod image;
pub mod video;

/// Why a derived artifact could not be made: the file itself (missing, outside the root, ...:
/// kept as the library said it, so it is answered like any missing resource) or the media.
#[derive(Debug, Error)]
pub enum DerivedError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Image(#[from] crate::media::image::ImageError),
    /// Extracting a video's soundtrack with ffmpeg failed.
    #[error(transparent)]
    Video(#[from] crate::media::video::VideoError),
}

impl From<video::VideoDerivedError> for DerivedError {
    fn from(e: video::VideoDerivedError) -> Self {
        match e {
            video::VideoDerivedError::Library(l) => DerivedError::Library(l),
            video::VideoDerivedError::Video(v) => DerivedError::Video(v),
            video::VideoDerivedError::Image(i) => DerivedError::Image(i),
        }
    }
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
/// front what would exceed `limit` bytes. A video's soundtrack that symphonia cannot read is
/// extracted by the ffmpeg `video` names first ([`video::audio_input`]).
pub fn render_audio(
    lib: &Library,
    cache: &DerivedCache,
    r: &crate::library::Resolved,
    spec: &SegmentSpec,
    limit: u64,
    video: Option<&crate::media::video::VideoCtx>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Rendered, DerivedError> {
    spec.validate()?;
    let key = audio_uri(&r.uri.base(), spec);
    // The source as it is now (one stat): gone means not found, changed means a miss.
    let source = lib.identity(r)?;
    if let Some(hit) = cache.get(&key, &source) {
        return Ok(Rendered {
            data: hit,
            corrupt_packets: 0,
        });
    }
    let stat = lib.stat(r)?;
    if stat.sniffed.kind == MediaKind::Image {
        return Err(AudioError::NoAudioTrack.into());
    }
    let input = video::audio_input(lib, r, video, cancelled)?;
    let ext = input.ext.clone();
    let info = decode::probe(seekable(input.open(lib, r)?.0), ext.as_deref(), stat.size)?;
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
    let (file, rendered_from) = input.open(lib, r)?;
    let seg = segment::render(seekable(file), ext.as_deref(), spec, cancelled)?;
    // Cache only what was made from the source as it was before and still is after.
    if rendered_from == Some(source) && lib.identity(r).ok() == Some(source) {
        cache.put(key, source, seg.data.clone());
    }
    Ok(Rendered {
        data: seg.data,
        corrupt_packets: seg.corrupt_packets,
    })
}

#[cfg(test)]
mod tests {
    use crate::library::{Library, LibraryLimits};
    use crate::media::audio::{Decoder, seekable, wav};

    #[test]
    fn a_library_file_truncated_while_decoded_fails_instead_of_ending_early() {
        let tmp = tempfile::tempdir().unwrap();
        let samples: Vec<f32> = (0..48_000 * 4 * 2)
            .map(|i| (i as f32 * 0.03).sin() * 0.3)
            .collect();
        let path = tmp.path().join("long.wav");
        std::fs::write(&path, wav::encode(&samples, 2, 48_000)).unwrap();
        let lib = Library::new(
            vec![("lib".into(), tmp.path().to_path_buf())],
            LibraryLimits::default(),
        )
        .unwrap();
        let r = lib.resolve("media://lib/long.wav").unwrap();
        let mut dec = Decoder::open(seekable(lib.open(&r).unwrap()), Some("wav")).unwrap();
        let mut out = vec![];
        assert_eq!(dec.read(48_000, &mut out).unwrap(), 48_000);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(300_000)
            .unwrap();
        let result = loop {
            match dec.read(48_000, &mut out) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        let err = result.expect_err("a truncated file must not decode as a shorter success");
        assert!(
            err.to_string().contains("changed while it was being read"),
            "{err}"
        );
    }
}
