//! Derived media: the canonical URI of each artifact the server can make from a file, and
//! rendering one through the shared byte-bounded cache. Shared by resources (reading a derived
//! URI) and tools (planning and producing chunks). Every read checks the source's identity
//! first (one stat): a rewritten source is rendered again, a deleted one is not found.
//! Must not know about the server or MCP wire.

use crate::cache::DerivedCache;
use crate::library::SourceId;
use crate::library::{Library, LibraryError, MediaKind};
use crate::media::audio::segment::{self, SegmentSpec};
use crate::media::audio::{AudioError, MAX_CHUNK_SECONDS, decode, seekable, wav};
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
    render_audio_with(
        lib,
        cache,
        r,
        spec,
        limit,
        video,
        cancelled,
        &|input, ext| render_one(lib, r, input, ext, spec, cancelled),
    )
}

/// `spec` rendered from a fresh open of `input`, and the version of the file it came from.
fn render_one(
    lib: &Library,
    r: &crate::library::Resolved,
    input: &video::AudioInput,
    ext: Option<&str>,
    spec: &SegmentSpec,
    cancelled: &dyn Fn() -> bool,
) -> Result<(segment::Segment, Option<SourceId>), DerivedError> {
    let (file, from) = input.open(lib, r)?;
    Ok((segment::render(seekable(file), ext, spec, cancelled)?, from))
}

/// [`render_audio`] on up to `parts` threads: a WAV segment is rendered as that many
/// consecutive slices at once and joined, the same bytes sooner (each slice is sample-exact:
/// see [`segment::render`]). Where a slice is not sample-exact (a seek in a coarse time base:
/// Matroska, WebM) or the format is not WAV, the segment is rendered whole instead.
#[allow(clippy::too_many_arguments)]
pub fn render_audio_in_parts(
    lib: &Library,
    cache: &DerivedCache,
    r: &crate::library::Resolved,
    spec: &SegmentSpec,
    limit: u64,
    video: Option<&crate::media::video::VideoCtx>,
    cancelled: &(dyn Fn() -> bool + Sync),
    parts: usize,
) -> Result<Rendered, DerivedError> {
    let slices = slices(spec, parts);
    if slices.len() < 2 {
        return render_audio(lib, cache, r, spec, limit, video, cancelled);
    }
    render_audio_with(
        lib,
        cache,
        r,
        spec,
        limit,
        video,
        cancelled,
        &|input, ext| {
            let one = |s: &SegmentSpec| render_one(lib, r, input, ext, s, cancelled);
            let made: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = slices.iter().map(|s| scope.spawn(move || one(s))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            let mut segs = Vec::with_capacity(made.len());
            let mut from = None;
            for m in made {
                let (seg, f) = m?;
                // Every slice from the same version of the file.
                if from.is_some() && from != f {
                    from = None;
                    break;
                }
                from = f;
                segs.push(seg);
            }
            let joined = segs
                .iter()
                .all(|s| s.sample_exact)
                .then(|| wav::join(&segs.iter().map(|s| s.data.clone()).collect::<Vec<_>>()))
                .flatten();
            match (joined, segs.len() == slices.len() && from.is_some()) {
                (Some(data), true) => Ok((
                    segment::Segment {
                        data,
                        corrupt_packets: segs.iter().map(|s| s.corrupt_packets).sum(),
                        seconds: segs.iter().map(|s| s.seconds).sum(),
                        peak_buffered_samples: segs
                            .iter()
                            .map(|s| s.peak_buffered_samples)
                            .max()
                            .unwrap_or(0),
                        ..segs.swap_remove(0)
                    },
                    from,
                )),
                // Not sample-exact slices, or the file changed between them: render it whole.
                _ => one(spec),
            }
        },
    )
}

/// `spec` cut into `parts` consecutive slices of whole milliseconds (as chunk URIs are), each
/// at least a second; empty when it cannot or need not be cut (not WAV, or too short).
fn slices(spec: &SegmentSpec, parts: usize) -> Vec<SegmentSpec> {
    let Some(duration) = spec.duration else {
        return vec![];
    };
    if spec.format != segment::Format::Wav || parts < 2 {
        return vec![];
    }
    let ms = (duration * 1000.0).round() as u64;
    let parts = (parts as u64).min(ms / 1000);
    if parts < 2 {
        return vec![];
    }
    let start = (spec.start * 1000.0).round() as u64;
    let step = ms / parts;
    (0..parts)
        .map(|i| {
            let from = start + i * step;
            let to = if i + 1 == parts {
                start + ms
            } else {
                from + step
            };
            SegmentSpec {
                start: from as f64 / 1000.0,
                duration: Some((to - from) as f64 / 1000.0),
                ..spec.clone()
            }
        })
        .collect()
}

/// The cache lookup, checks and cache fill around `make`, which renders `spec` from the input
/// (given with its extension hint) and says from which version of the file.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn render_audio_with(
    lib: &Library,
    cache: &DerivedCache,
    r: &crate::library::Resolved,
    spec: &SegmentSpec,
    limit: u64,
    video: Option<&crate::media::video::VideoCtx>,
    cancelled: &dyn Fn() -> bool,
    make: &dyn Fn(
        &video::AudioInput,
        Option<&str>,
    ) -> Result<(segment::Segment, Option<SourceId>), DerivedError>,
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
    let (seg, rendered_from) = make(&input, ext.as_deref())?;
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
    use super::{render_audio, render_audio_in_parts, slices};
    use crate::cache::DerivedCache;
    use crate::library::{Library, LibraryLimits};
    use crate::media::audio::segment::{Format, SegmentSpec};
    use crate::media::audio::{Decoder, seekable, wav};

    fn samples() -> Library {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        Library::new(vec![("samples".into(), root)], LibraryLimits::default()).unwrap()
    }

    fn spec(start: f64, duration: f64, format: Format) -> SegmentSpec {
        SegmentSpec {
            start,
            duration: Some(duration),
            format,
            rate: Some(16_000),
            mono: true,
        }
    }

    #[test]
    fn slices_tile_the_segment_in_whole_milliseconds() {
        let s = slices(&spec(1.5, 30.0, Format::Wav), 2);
        let got: Vec<(f64, f64)> = s.iter().map(|s| (s.start, s.duration.unwrap())).collect();
        assert_eq!(got, vec![(1.5, 15.0), (16.5, 15.0)]);
        let s = slices(&spec(0.0, 10.001, Format::Wav), 3);
        let got: Vec<(f64, f64)> = s.iter().map(|s| (s.start, s.duration.unwrap())).collect();
        assert_eq!(got, vec![(0.0, 3.333), (3.333, 3.333), (6.666, 3.335)]);
        // At least a second each; Opus pages do not join; one part is no slicing.
        assert_eq!(slices(&spec(0.0, 1.5, Format::Wav), 2).len(), 0);
        assert_eq!(slices(&spec(0.0, 2.5, Format::Wav), 4).len(), 2);
        assert!(slices(&spec(0.0, 30.0, Format::Opus), 2).is_empty());
        assert!(slices(&spec(0.0, 30.0, Format::Wav), 1).is_empty());
    }

    /// A segment rendered in slices on several threads is byte for byte the segment rendered
    /// whole: for codecs whose containers seek to the frame (sliced), and for Matroska / WebM
    /// (coarse seeks: rendered whole instead), from the start and from within the file.
    #[test]
    fn a_segment_rendered_in_parts_is_the_segment_rendered_whole() {
        let lib = samples();
        for (uri, start, duration) in [
            ("media://samples/audio/tone.flac", 0.0, 3.0),
            ("media://samples/audio/tone.flac", 0.25, 2.5),
            ("media://samples/audio/tone.mp3", 0.0, 3.0),
            ("media://samples/audio/tone.mp3", 0.4, 2.2),
            ("media://samples/audio/tone.ogg", 0.3, 2.5),
            ("media://samples/audio/tone.wav", 0.0, 3.0),
            ("media://samples/video/clip.mkv", 0.0, 2.0),
            ("media://samples/video/clip_vp9_opus.webm", 0.0, 2.0),
        ] {
            let r = lib.resolve(uri).unwrap();
            let s = spec(start, duration, Format::Wav);
            let whole = render_audio(
                &lib,
                &DerivedCache::new(1 << 26),
                &r,
                &s,
                1 << 24,
                None,
                &|| false,
            )
            .unwrap()
            .data;
            assert!(whole.len() > wav::HEADER_LEN + 16_000, "{uri}");
            for parts in [2, 3] {
                let cache = DerivedCache::new(1 << 26);
                let split =
                    render_audio_in_parts(&lib, &cache, &r, &s, 1 << 24, None, &|| false, parts)
                        .unwrap()
                        .data;
                assert!(
                    split == whole,
                    "{uri} from {start} s in {parts} parts: {} bytes, whole {}",
                    split.len(),
                    whole.len()
                );
                // The joined chunk is cached under the whole chunk's URI.
                let again = render_audio(&lib, &cache, &r, &s, 1 << 24, None, &|| false).unwrap();
                assert!(again.data == whole, "{uri}");
            }
        }
    }

    /// What the slicing rests on: the slices, rendered each on its own, join to the whole (for a
    /// container that seeks to the frame).
    #[test]
    fn slices_rendered_alone_join_to_the_whole() {
        let lib = samples();
        for uri in [
            "media://samples/audio/tone.flac",
            "media://samples/audio/tone.mp3",
        ] {
            let r = lib.resolve(uri).unwrap();
            let one = |s: &SegmentSpec| {
                let cache = DerivedCache::new(1 << 26);
                render_audio(&lib, &cache, &r, s, 1 << 24, None, &|| false)
                    .unwrap()
                    .data
            };
            for (start, duration, n) in [(0.0, 3.0, 3), (0.1, 2.8, 2)] {
                let s = spec(start, duration, Format::Wav);
                let parts: Vec<_> = slices(&s, n).iter().map(one).collect();
                assert_eq!(parts.len(), n);
                assert!(
                    wav::join(&parts).unwrap() == one(&s),
                    "{uri} from {start} s"
                );
            }
        }
    }

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
