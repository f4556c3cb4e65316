//! Derived video artifacts: the canonical query of a frame (`?t=..&w=..`), a storyboard
//! (`?storyboard=N&columns=..&start=..&end=..`) and a clip (`?clip_start=..&clip_duration=..
//! &max_height=..`) of a video file, parsing them back, and rendering each through the shared
//! derived-media cache, keyed by the URI and the source's identity (checked on every read), so
//! a tool's output and a `resources/read` of its URI are the same bytes.
//!
//! Each kind has one discriminating key (`t`, `storyboard`, `clip_start`/`clip_duration`) that
//! neither the image nor the audio template uses, so a query names exactly one artifact.
//! Must not know about the server, MCP wire or tools.

use crate::cache::DerivedCache;
use crate::derived::image::format_from_name;
use crate::derived::{format_code, format_of, split_trailer, with_trailer};
use crate::library::{Library, LibraryError, MediaKind, Resolved, SourceId};
use crate::media::image::{ImageError, OutputFormat, TransformSpec, pipeline};
use crate::media::video::{
    self, FrameHint, VideoCtx, VideoError, VideoInfo, VideoInput, storyboard,
};
use bytes::{Buf, BufMut, Bytes};
use std::path::PathBuf;
use thiserror::Error;

/// Query keys of a derived frame, in canonical order (`t` discriminates).
pub const FRAME_KEYS: [&str; 5] = ["t", "w", "h", "format", "quality"];
/// Query keys of a derived storyboard, in canonical order (`storyboard`, the frame count,
/// discriminates).
pub const STORYBOARD_KEYS: [&str; 4] = ["storyboard", "columns", "start", "end"];
/// Query keys of a derived clip, in canonical order (`clip_start`/`clip_duration`
/// discriminate).
pub const CLIP_KEYS: [&str; 3] = ["clip_start", "clip_duration", "max_height"];

/// The frame template.
pub const FRAME_TEMPLATE: &str = "media://{root}/{+path}{?t,w,h,format,quality}";
/// The storyboard template.
pub const STORYBOARD_TEMPLATE: &str = "media://{root}/{+path}{?storyboard,columns,start,end}";
/// The clip template.
pub const CLIP_TEMPLATE: &str = "media://{root}/{+path}{?clip_start,clip_duration,max_height}";

/// Default and largest frame count of a storyboard.
pub const STORYBOARD_DEFAULT_COUNT: u32 = 16;
pub const STORYBOARD_MAX_COUNT: u32 = 64;
/// A storyboard's long edge and byte budget: one image fit for a model (1 MiB of base64).
pub const STORYBOARD_LONG_EDGE: u32 = crate::media::image::MODEL_LONG_EDGE;
pub const STORYBOARD_MAX_BYTES: u64 = crate::media::image::MODEL_MAX_BYTES;
/// Default clip height (pixels; never upscaled) and the largest a caller may ask for.
pub const CLIP_DEFAULT_HEIGHT: u32 = 720;
pub const CLIP_MAX_HEIGHT: u32 = 2160;

/// Why a derived video artifact could not be made: the file (kept as the library said it, so
/// a missing file answers like any missing resource), the video, or the image encoder.
#[derive(Debug, Error)]
pub enum VideoDerivedError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Image(#[from] ImageError),
}

type Result<T> = std::result::Result<T, VideoDerivedError>;

/// How a frame looks (everything but its time).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameLook {
    pub max_width: Option<u32>,
    pub max_height: Option<u32>,
    pub format: Option<OutputFormat>,
    pub quality: Option<u8>,
}

impl FrameLook {
    /// The image pipeline's spec: fit for a model (long edge 1568, 1 MiB of base64), the box
    /// replaced when either side is given (as `image_transform` does).
    pub fn transform(&self) -> TransformSpec {
        let mut spec = TransformSpec::for_model();
        if self.max_width.is_some() || self.max_height.is_some() {
            spec.max_width = self.max_width;
            spec.max_height = self.max_height;
        }
        spec.format = self.format;
        spec.quality = self.quality;
        spec
    }
}

/// One frame: the picture shown at `t` seconds (milliseconds precision), as `look` says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameSpec {
    pub t: f64,
    pub look: FrameLook,
}

/// A grid of `count` evenly spaced frames of `[start, end]` (default: the whole video).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoryboardSpec {
    pub count: u32,
    pub columns: Option<u32>,
    pub start: Option<f64>,
    pub end: Option<f64>,
}

/// `duration` seconds from `start`, as H.264/MP4 at most `max_height` pixels tall.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipSpec {
    pub start: f64,
    pub duration: f64,
    pub max_height: u32,
}

/// What a video query names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VideoQuery {
    Frame(FrameSpec),
    Storyboard(StoryboardSpec),
    Clip(ClipSpec),
}

/// Seconds rounded to whole milliseconds: the precision URIs carry, so what a tool renders is
/// what its URI names.
pub fn canonical_seconds(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Seconds as a URI writes them: at most 3 decimals, no trailing zeros.
fn secs(x: f64) -> String {
    let s = format!("{:.3}", canonical_seconds(x));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Whether a query names a derived video artifact (checked before the image and audio
/// queries: a frame's `w`/`format` would otherwise read as an image variant).
pub fn is_video_query(pairs: &[(String, String)]) -> bool {
    pairs.iter().any(|(k, _)| {
        matches!(
            k.as_str(),
            "t" | "storyboard" | "clip_start" | "clip_duration"
        )
    })
}

fn time_value(k: &str, v: &str) -> std::result::Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(canonical_seconds)
        .ok_or_else(|| format!("{k} must be a non-negative number of seconds, got {v:?}"))
}

fn positive_u32(k: &str, v: &str) -> std::result::Result<u32, String> {
    v.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{k} must be a whole number of at least 1, got {v:?}"))
}

fn unknown(k: &str, keys: &[&str], what: &str) -> String {
    format!("unknown parameter {k:?} ({what} take {})", keys.join(", "))
}

/// Parses a video query (the pairs of a `media://` URI), validating every value.
pub fn from_query(pairs: &[(String, String)]) -> std::result::Result<VideoQuery, String> {
    let has = |key: &str| pairs.iter().any(|(k, _)| k == key);
    if has("t") {
        let mut t = None;
        let mut look = FrameLook::default();
        for (k, v) in pairs {
            match k.as_str() {
                "t" => t = Some(time_value(k, v)?),
                "w" => look.max_width = Some(positive_u32(k, v)?),
                "h" => look.max_height = Some(positive_u32(k, v)?),
                "format" => look.format = Some(format_from_name(v)?),
                "quality" => {
                    look.quality = Some(
                        v.parse::<u8>()
                            .ok()
                            .filter(|q| (1..=100).contains(q))
                            .ok_or_else(|| format!("quality must be 1-100, got {v:?}"))?,
                    )
                }
                other => return Err(unknown(other, &FRAME_KEYS, "video frames")),
            }
        }
        let t = t.ok_or("t is required")?;
        return Ok(VideoQuery::Frame(FrameSpec { t, look }));
    }
    if has("storyboard") {
        let mut s = StoryboardSpec {
            count: STORYBOARD_DEFAULT_COUNT,
            columns: None,
            start: None,
            end: None,
        };
        for (k, v) in pairs {
            match k.as_str() {
                "storyboard" => s.count = positive_u32(k, v)?,
                "columns" => s.columns = Some(positive_u32(k, v)?),
                "start" => s.start = Some(time_value(k, v)?),
                "end" => s.end = Some(time_value(k, v)?),
                other => return Err(unknown(other, &STORYBOARD_KEYS, "storyboards")),
            }
        }
        s.validate()?;
        return Ok(VideoQuery::Storyboard(s));
    }
    if has("clip_start") || has("clip_duration") {
        let (mut start, mut duration, mut max_height) = (None, None, CLIP_DEFAULT_HEIGHT);
        for (k, v) in pairs {
            match k.as_str() {
                "clip_start" => start = Some(time_value(k, v)?),
                "clip_duration" => duration = Some(time_value(k, v)?),
                "max_height" => max_height = positive_u32(k, v)?,
                other => return Err(unknown(other, &CLIP_KEYS, "clips")),
            }
        }
        let c = ClipSpec {
            start: start.ok_or("clip_start is required")?,
            duration: duration.ok_or("clip_duration is required")?,
            max_height,
        };
        c.validate()?;
        return Ok(VideoQuery::Clip(c));
    }
    Err("not a video query (t, storyboard or clip_start/clip_duration)".into())
}

impl FrameSpec {
    /// The canonical query: keys in [`FRAME_KEYS`] order, unset ones left out.
    pub fn to_query(self) -> String {
        let mut q = vec![format!("t={}", secs(self.t))];
        if let Some(w) = self.look.max_width {
            q.push(format!("w={w}"));
        }
        if let Some(h) = self.look.max_height {
            q.push(format!("h={h}"));
        }
        if let Some(f) = self.look.format {
            q.push(format!("format={}", f.as_str()));
        }
        if let Some(v) = self.look.quality {
            q.push(format!("quality={v}"));
        }
        q.join("&")
    }
}

impl StoryboardSpec {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=STORYBOARD_MAX_COUNT).contains(&self.count) {
            return Err(format!(
                "a storyboard has 1 to {STORYBOARD_MAX_COUNT} frames, not {}",
                self.count
            ));
        }
        if let Some(c) = self.columns
            && !(1..=self.count).contains(&c)
        {
            return Err(format!(
                "columns must be 1 to the frame count ({}), not {c}",
                self.count
            ));
        }
        if let (Some(s), Some(e)) = (self.start, self.end)
            && e <= s
        {
            return Err(format!("end ({e} s) must be after start ({s} s)"));
        }
        Ok(())
    }

    /// The canonical query: keys in [`STORYBOARD_KEYS`] order, unset ones left out.
    pub fn to_query(self) -> String {
        let mut q = vec![format!("storyboard={}", self.count)];
        if let Some(c) = self.columns {
            q.push(format!("columns={c}"));
        }
        if let Some(s) = self.start {
            q.push(format!("start={}", secs(s)));
        }
        if let Some(e) = self.end {
            q.push(format!("end={}", secs(e)));
        }
        q.join("&")
    }

    /// The range covered in a video of `duration` seconds (`None`: unknown).
    pub fn range(&self, duration: Option<f64>) -> std::result::Result<(f64, f64), VideoError> {
        let start = self.start.unwrap_or(0.0);
        let end = match (self.end, duration) {
            (Some(e), Some(d)) => e.min(d),
            (Some(e), None) => e,
            (None, Some(d)) => d,
            (None, None) => {
                return Err(VideoError::InvalidRequest(
                    "the video's duration is unknown: give end".into(),
                ));
            }
        };
        if end <= start {
            return Err(VideoError::InvalidRequest(format!(
                "nothing to show between {start} s and {end} s (the video lasts {} s)",
                duration.map_or("an unknown time".into(), |d| format!("{d:.3}"))
            )));
        }
        Ok((start, end))
    }

    /// The times shown: the middle of each of `count` equal parts of the range, to the
    /// millisecond.
    pub fn times(&self, (start, end): (f64, f64)) -> Vec<f64> {
        let n = f64::from(self.count);
        (0..self.count)
            .map(|i| canonical_seconds(start + (f64::from(i) + 0.5) * (end - start) / n))
            .collect()
    }
}

impl ClipSpec {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.duration <= 0.0 {
            return Err("clip_duration must be more than 0 seconds".into());
        }
        if !(16..=CLIP_MAX_HEIGHT).contains(&self.max_height) {
            return Err(format!(
                "max_height must be 16 to {CLIP_MAX_HEIGHT}, not {}",
                self.max_height
            ));
        }
        Ok(())
    }

    /// The canonical query: every key, in [`CLIP_KEYS`] order.
    pub fn to_query(self) -> String {
        format!(
            "clip_start={}&clip_duration={}&max_height={}",
            secs(self.start),
            secs(self.duration),
            self.max_height
        )
    }
}

/// The canonical URI of a derived frame.
pub fn frame_uri(base: &str, spec: &FrameSpec) -> String {
    format!("{base}?{}", spec.to_query())
}

/// The canonical URI of a derived storyboard.
pub fn storyboard_uri(base: &str, spec: &StoryboardSpec) -> String {
    format!("{base}?{}", spec.to_query())
}

/// The canonical URI of a derived clip.
pub fn clip_uri(base: &str, spec: &ClipSpec) -> String {
    format!("{base}?{}", spec.to_query())
}

/// A video file, as opened for one request: the opened handle the engines read (never a
/// path, so nothing can be swapped between the library's checks and the decode), its identity
/// (from that handle) and its facts.
pub struct VideoSource {
    pub input: VideoInput,
    pub id: SourceId,
    pub info: VideoInfo,
}

/// Opens a video file for the engines through the library (inside its root, a regular file)
/// and probes it; it must be a video (by content).
pub fn open_source(lib: &Library, r: &Resolved, ctx: &VideoCtx) -> Result<VideoSource> {
    let stat = lib.stat(r)?;
    if stat.sniffed.kind != MediaKind::Video {
        return Err(VideoError::Unsupported(format!(
            "{} is {}, not a video",
            r.original,
            stat.sniffed.kind.as_str()
        ))
        .into());
    }
    let file = lib.open(r)?;
    let id = match file.id() {
        Some(id) => id,
        None => lib.identity(r)?,
    };
    let input =
        VideoInput::new(file.into_inner(), &r.original, lib.read_deadline()).map_err(|source| {
            LibraryError::Io {
                uri: r.original.clone(),
                source,
            }
        })?;
    let info = video::probe(&input, ctx)?;
    Ok(VideoSource { input, id, info })
}

/// How long the picture lasts: the first video track's duration, else the container's (which
/// may include a longer soundtrack).
pub fn picture_duration(info: &VideoInfo) -> Option<f64> {
    info.video
        .first()
        .and_then(|t| t.duration)
        .or(info.duration)
        .filter(|d| d.is_finite() && *d > 0.0)
}

/// The picture's displayed size (first video track), if the probe knows it.
fn display_size(info: &VideoInfo) -> Option<(u32, u32)> {
    info.video
        .first()
        .map(|t| (t.display_width, t.display_height))
        .filter(|(w, h)| *w > 0 && *h > 0)
}

/// Whether the source is still the file `id` names (after a render: cache only then).
fn unchanged(lib: &Library, r: &Resolved, id: SourceId) -> bool {
    lib.identity(r).ok() == Some(id)
}

/// What the audio pipeline reads for a file: the file itself, or, for a video whose container
/// or audio codec symphonia cannot read (AVI, MPEG-TS, ...), its soundtrack as a WAV that
/// ffmpeg extracted (kept by [`SOUNDTRACKS`]).
pub struct AudioInput {
    /// The extension to hint the audio probe with.
    pub ext: Option<String>,
    /// The extracted soundtrack and the identity of the file it was extracted from.
    extracted: Option<(VideoInput, SourceId)>,
}

/// A reader of an [`AudioInput`]: the library's file, or the extracted WAV (positioned reads,
/// its own cursor).
pub enum AudioReader {
    File(crate::library::MediaFile),
    Wav(crate::media::video::InputReader),
}

impl std::io::Read for AudioReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            AudioReader::File(f) => f.read(buf),
            AudioReader::Wav(f) => f.read(buf),
        }
    }
}

impl std::io::Seek for AudioReader {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        match self {
            AudioReader::File(f) => f.seek(pos),
            AudioReader::Wav(f) => f.seek(pos),
        }
    }
}

impl AudioInput {
    /// A fresh reader of the input (wrap it with `media::audio::seekable`), and the identity
    /// of the file it comes from when known (for the caller's "cache only what was made from
    /// the source as it is" check).
    pub fn open(&self, lib: &Library, r: &Resolved) -> Result<(AudioReader, Option<SourceId>)> {
        match &self.extracted {
            None => {
                let f = lib.open(r)?;
                let id = f.id();
                Ok((AudioReader::File(f), id))
            }
            Some((wav, id)) => Ok((AudioReader::Wav(wav.reader()), Some(*id))),
        }
    }
}

/// How many extracted soundtracks are kept (each at most
/// [`video::ffmpeg::MAX_AUDIO_BYTES`] of temporary disk).
pub const MAX_SOUNDTRACKS: usize = 3;

/// Extracted soundtracks by the identity of their video, most recently used last, at most
/// [`MAX_SOUNDTRACKS`]. Each is an open, already unlinked temporary file: the disk it takes is
/// freed when the last reader of an evicted entry is done, and when the process ends however
/// it ends. (While ffmpeg is still writing one, it is a named file in a private directory that
/// a crash at that moment would leave behind.) Reading a long AVI's soundtrack chunk by chunk
/// extracts it once, not once per chunk.
static SOUNDTRACKS: Soundtracks = Soundtracks(std::sync::Mutex::new(Vec::new()));

/// Open soundtracks by the identity of their video, most recently used last, at most
/// [`MAX_SOUNDTRACKS`].
struct Soundtracks(std::sync::Mutex<Vec<(SourceId, VideoInput)>>);

impl Soundtracks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(SourceId, VideoInput)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The soundtrack of `id`, now the most recently used.
    fn get(&self, id: &SourceId) -> Option<VideoInput> {
        let mut all = self.lock();
        let i = all.iter().position(|(k, _)| k == id)?;
        let hit = all.remove(i);
        let wav = hit.1.clone();
        all.push(hit);
        Some(wav)
    }

    /// Keeps `wav` as the soundtrack of `id`, dropping the least recently used past the bound.
    fn keep(&self, id: SourceId, wav: &VideoInput) {
        let mut all = self.lock();
        all.retain(|(k, _)| *k != id);
        all.push((id, wav.clone()));
        while all.len() > MAX_SOUNDTRACKS {
            all.remove(0);
        }
    }
}

/// The audio input of a resolved file. Audio files, and videos whose soundtrack symphonia
/// reads, are read as they are; for other videos (when `video` knows an ffmpeg) the soundtrack
/// is extracted first, once per version of the file while it stays among the
/// [`MAX_SOUNDTRACKS`] most recently used. Without ffmpeg, such a video is read as it is and
/// the audio pipeline's own error says what failed.
pub fn audio_input(
    lib: &Library,
    r: &Resolved,
    video: Option<&VideoCtx>,
    cancelled: &dyn Fn() -> bool,
) -> Result<AudioInput> {
    let ext = r.rel.rsplit('.').next().map(str::to_owned);
    let native = AudioInput {
        ext: ext.clone(),
        extracted: None,
    };
    let Some(ctx) = video.filter(|c| c.ffmpeg.is_some()) else {
        return Ok(native);
    };
    let stat = lib.stat(r)?;
    if stat.sniffed.kind != MediaKind::Video {
        return Ok(native);
    }
    let wav_input = |wav| AudioInput {
        ext: Some("wav".into()),
        extracted: Some(wav),
    };
    let current = lib.identity(r)?;
    if let Some(wav) = SOUNDTRACKS.get(&current) {
        return Ok(wav_input((wav, current)));
    }
    let readable = match crate::media::audio::decode::probe(
        crate::media::audio::seekable(lib.open(r)?),
        ext.as_deref(),
        stat.size,
    ) {
        Ok(info) => info.decodable,
        // No audio track is the answer whoever reads it.
        Err(crate::media::audio::AudioError::NoAudioTrack) => true,
        Err(_) => false,
    };
    if readable {
        return Ok(native);
    }
    let src = open_source(lib, r, ctx)?;
    let (dir, path) = video::ffmpeg::extract_audio(&src.input, ctx, cancelled)?;
    let file = std::fs::File::open(&path).map_err(VideoError::Io)?;
    // Unlinked from here on: the open file is all that is left of it.
    drop(dir);
    let wav = VideoInput::new(
        file,
        &format!("soundtrack of {}", r.uri.base()),
        lib.read_deadline(),
    )
    .map_err(VideoError::Io)?;
    if src.id == current && unchanged(lib, r, src.id) {
        SOUNDTRACKS.keep(src.id, &wav);
    }
    Ok(wav_input((wav, src.id)))
}

/// A rendered frame and what it is.
#[derive(Clone, Debug)]
pub struct RenderedFrame {
    pub data: Bytes,
    pub meta: FrameMeta,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameMeta {
    /// The exact presentation time of the frame shown, seconds.
    pub pts: f64,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
}

/// Cache entries of frames: the encoded image with its format, pts, width and height in a
/// trailer ([`with_trailer`]) marked [`FRAME_MAGIC`].
const FRAME_MAGIC: &[u8; 4] = b"MMV1";
const FRAME_META_LEN: usize = 1 + 8 + 4 + 4;

fn pack_frame(meta: &FrameMeta, data: Vec<u8>) -> Bytes {
    with_trailer(data, FRAME_MAGIC, FRAME_META_LEN, |d| {
        d.push(format_code(meta.format));
        d.put_f64(meta.pts);
        d.put_u32(meta.width);
        d.put_u32(meta.height);
    })
}

fn unpack_frame(entry: &Bytes) -> Option<RenderedFrame> {
    let (data, mut m) = split_trailer(entry, FRAME_MAGIC)?;
    if m.remaining() != FRAME_META_LEN {
        return None;
    }
    let format = format_of(m.get_u8())?;
    let (pts, width, height) = (m.get_f64(), m.get_u32(), m.get_u32());
    Some(RenderedFrame {
        data,
        meta: FrameMeta {
            pts,
            format,
            width,
            height,
        },
    })
}

/// Renders the frames at `times` (seconds, canonical) of a resolved video as `look` says,
/// through the cache: cached ones are not decoded again, the rest are decoded in one pass
/// (the engine seeks to each). `on_frame(i)` is called as each frame is ready (cached first,
/// then in decode order). Results are in the order of `times`. `opened`: the source, when
/// the caller already probed it.
#[allow(clippy::too_many_arguments)]
pub fn render_frames(
    lib: &Library,
    cache: &DerivedCache,
    r: &Resolved,
    times: &[f64],
    look: &FrameLook,
    ctx: &VideoCtx,
    opened: Option<VideoSource>,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize),
) -> Result<Vec<RenderedFrame>> {
    let base = r.uri.base();
    let keys: Vec<String> = times
        .iter()
        .map(|&t| frame_uri(&base, &FrameSpec { t, look: *look }))
        .collect();
    let current = lib.identity(r)?;
    let mut out: Vec<Option<RenderedFrame>> = keys
        .iter()
        .map(|k| cache.get(k, &current).as_ref().and_then(unpack_frame))
        .collect();
    for (i, f) in out.iter().enumerate() {
        if f.is_some() {
            on_frame(i);
        }
    }
    let missing: Vec<usize> = (0..times.len()).filter(|i| out[*i].is_none()).collect();
    if !missing.is_empty() {
        let src = match opened {
            Some(s) => s,
            None => open_source(lib, r, ctx)?,
        };
        let spec = look.transform();
        let display = display_size(&src.info);
        let hint = FrameHint {
            min_size: display.and_then(|d| pipeline::plan_min_size(d, &spec).ok().flatten()),
        };
        let want: Vec<f64> = missing.iter().map(|&i| times[i]).collect();
        let mut image_err: Option<ImageError> = None;
        let mut made: Vec<(usize, Bytes, FrameMeta)> = Vec::with_capacity(missing.len());
        let res = video::frames_at(
            &src.input,
            &src.info,
            &want,
            hint,
            ctx,
            cancelled,
            &mut |j, frame| {
                let Some(&i) = missing.get(j) else {
                    return Ok(());
                };
                let source = display.unwrap_or((frame.image.width(), frame.image.height()));
                let img = ::image::DynamicImage::ImageRgb8(frame.image);
                match pipeline::render_decoded(&img, source, &spec, cancelled) {
                    Ok(enc) => {
                        let meta = FrameMeta {
                            pts: frame.pts,
                            format: enc.format,
                            width: enc.width,
                            height: enc.height,
                        };
                        made.push((i, pack_frame(&meta, enc.bytes), meta));
                        on_frame(i);
                        Ok(())
                    }
                    Err(ImageError::Cancelled) => Err(VideoError::Cancelled),
                    Err(e) => {
                        image_err = Some(e);
                        Err(VideoError::Internal("frame encoding failed".into()))
                    }
                }
            },
        );
        if let Some(e) = image_err {
            return Err(e.into());
        }
        res?;
        let keep = unchanged(lib, r, src.id) && src.id == current;
        for (i, entry, _) in made {
            let Some(rendered) = unpack_frame(&entry) else {
                return Err(VideoError::Internal("frame cache entry".into()).into());
            };
            if keep && let Some(k) = keys.get(i) {
                cache.put(k.clone(), src.id, entry);
            }
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(rendered);
            }
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, f)| {
            f.ok_or_else(|| {
                VideoError::Internal(format!("the engine delivered no frame for time {i}")).into()
            })
        })
        .collect()
}

/// A rendered storyboard and what it shows.
#[derive(Clone, Debug)]
pub struct RenderedStoryboard {
    pub data: Bytes,
    pub meta: StoryboardMeta,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoryboardMeta {
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub columns: u32,
    pub rows: u32,
    /// Each cell's requested time and the exact pts of the frame in it, seconds, in order.
    pub cells: Vec<(f64, f64)>,
}

/// Cache entries of storyboards: the image with its format, grid and cells in a trailer
/// ([`with_trailer`]) marked [`STORYBOARD_MAGIC`].
const STORYBOARD_MAGIC: &[u8; 4] = b"MMS1";

fn pack_storyboard(meta: &StoryboardMeta, data: Vec<u8>) -> Bytes {
    with_trailer(data, STORYBOARD_MAGIC, 17 + 16 * meta.cells.len(), |d| {
        d.push(format_code(meta.format));
        for v in [meta.width, meta.height, meta.columns, meta.rows] {
            d.put_u32(v);
        }
        for (t, pts) in &meta.cells {
            d.put_f64(*t);
            d.put_f64(*pts);
        }
    })
}

fn unpack_storyboard(entry: &Bytes) -> Option<RenderedStoryboard> {
    let (data, mut m) = split_trailer(entry, STORYBOARD_MAGIC)?;
    if m.remaining() < 17 || !(m.remaining() - 17).is_multiple_of(16) {
        return None;
    }
    let format = format_of(m.get_u8())?;
    let (width, height, columns, rows) = (m.get_u32(), m.get_u32(), m.get_u32(), m.get_u32());
    let mut cells = Vec::with_capacity(m.remaining() / 16);
    while m.remaining() >= 16 {
        cells.push((m.get_f64(), m.get_f64()));
    }
    Some(RenderedStoryboard {
        data,
        meta: StoryboardMeta {
            format,
            width,
            height,
            columns,
            rows,
            cells,
        },
    })
}

/// Renders a storyboard of a resolved video through the cache: the frames at
/// [`StoryboardSpec::times`] gathered in parallel (`ctx.threads` decoders), composed into one
/// labelled grid and encoded within the model's budget (long edge 1568 px, 1 MiB of base64).
/// `opened`: the source, when the caller already probed it.
pub fn render_storyboard(
    lib: &Library,
    cache: &DerivedCache,
    r: &Resolved,
    spec: &StoryboardSpec,
    ctx: &VideoCtx,
    opened: Option<VideoSource>,
    cancelled: &dyn Fn() -> bool,
) -> Result<RenderedStoryboard> {
    spec.validate().map_err(VideoError::InvalidRequest)?;
    let key = storyboard_uri(&r.uri.base(), spec);
    let current = lib.identity(r)?;
    if let Some(hit) = cache
        .get(&key, &current)
        .as_ref()
        .and_then(unpack_storyboard)
    {
        return Ok(hit);
    }
    let src = match opened {
        Some(s) => s,
        None => open_source(lib, r, ctx)?,
    };
    let range = spec.range(picture_duration(&src.info))?;
    let times = spec.times(range);
    let display = display_size(&src.info).unwrap_or((1280, 720));
    let grid = storyboard::plan(display, spec.count, spec.columns, STORYBOARD_LONG_EDGE);
    let hint = FrameHint {
        min_size: Some(grid.cell),
    };
    let frames = with_sync_cancel(cancelled, |stop| {
        storyboard::gather(&src.input, &src.info, &times, hint, ctx, stop)
    })?;
    let cells: Vec<(f64, f64)> = times
        .iter()
        .zip(&frames)
        .map(|(t, f)| (*t, f.pts))
        .collect();
    let (enc, grid) = storyboard::render(&frames, display, spec.columns, true, None, cancelled)?;
    if enc.bytes.len() as u64 > STORYBOARD_MAX_BYTES {
        return Err(VideoError::Internal(format!(
            "the storyboard is {} bytes, over its budget of {STORYBOARD_MAX_BYTES}",
            enc.bytes.len()
        ))
        .into());
    }
    let meta = StoryboardMeta {
        format: enc.format,
        width: enc.width,
        height: enc.height,
        columns: grid.columns,
        rows: grid.rows,
        cells,
    };
    let entry = pack_storyboard(&meta, enc.bytes);
    let rendered = unpack_storyboard(&entry)
        .ok_or_else(|| VideoError::Internal("storyboard cache entry".into()))?;
    if src.id == current && unchanged(lib, r, src.id) {
        cache.put(key, src.id, entry);
    }
    Ok(rendered)
}

/// Runs `work` on a scoped thread with a cancellation check it may share between threads,
/// while this thread polls `cancelled` (which need not be `Sync`) every 10 ms and passes it on.
fn with_sync_cancel<T: Send>(
    cancelled: &dyn Fn() -> bool,
    work: impl FnOnce(&(dyn Fn() -> bool + Sync)) -> T + Send,
) -> T {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(cancelled());
    std::thread::scope(|s| {
        let h = s.spawn(|| work(&|| stop.load(Ordering::Relaxed)));
        while !h.is_finished() {
            if cancelled() {
                stop.store(true, Ordering::Relaxed);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// A rendered clip: MP4 bytes and what they are.
pub struct RenderedClip {
    pub data: Bytes,
    pub info: video::ClipInfo,
}

/// Cache entries of clips: the MP4 with its width, height, duration and engine in a trailer
/// ([`with_trailer`]) marked [`CLIP_MAGIC`].
const CLIP_MAGIC: &[u8; 4] = b"MMC1";
const CLIP_META_LEN: usize = 4 + 4 + 8 + 1;

fn pack_clip(info: &video::ClipInfo, data: Vec<u8>) -> Bytes {
    with_trailer(data, CLIP_MAGIC, CLIP_META_LEN, |d| {
        d.put_u32(info.width);
        d.put_u32(info.height);
        d.put_f64(info.duration);
        d.push(match info.engine {
            video::Engine::Native => 0,
            video::Engine::Ffmpeg => 1,
        });
    })
}

fn unpack_clip(entry: &Bytes) -> Option<RenderedClip> {
    let (data, mut m) = split_trailer(entry, CLIP_MAGIC)?;
    if m.remaining() != CLIP_META_LEN {
        return None;
    }
    let (width, height, duration) = (m.get_u32(), m.get_u32(), m.get_f64());
    let engine = match m.get_u8() {
        0 => video::Engine::Native,
        1 => video::Engine::Ffmpeg,
        _ => return None,
    };
    Some(RenderedClip {
        info: video::ClipInfo {
            width,
            height,
            duration,
            bytes: data.len() as u64,
            engine,
        },
        data,
    })
}

/// A file under the system temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(ext: &str) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let p = dir.join(format!("mcp-media-{}-{n}.{ext}", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
            {
                Ok(_) => return Ok(TempFile(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary file name"))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Renders a clip of a resolved video through the cache. The clip must fit `limit` bytes
/// (the inline read limit: a clip is delivered by `resources/read` whole); `progress` gets
/// the seconds of video done.
#[allow(clippy::too_many_arguments)]
pub fn render_clip(
    lib: &Library,
    cache: &DerivedCache,
    r: &Resolved,
    spec: &ClipSpec,
    ctx: &VideoCtx,
    limit: u64,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(f64),
) -> Result<RenderedClip> {
    spec.validate().map_err(VideoError::InvalidRequest)?;
    let key = clip_uri(&r.uri.base(), spec);
    let current = lib.identity(r)?;
    if let Some(hit) = cache.get(&key, &current).as_ref().and_then(unpack_clip) {
        return Ok(hit);
    }
    if spec.duration > ctx.limits.max_clip_seconds {
        return Err(VideoError::TooLarge(format!(
            "a clip may last at most {} s (--max-clip-seconds), not {} s",
            ctx.limits.max_clip_seconds, spec.duration
        ))
        .into());
    }
    let src = open_source(lib, r, ctx)?;
    if let Some(d) = picture_duration(&src.info)
        && spec.start >= d
    {
        return Err(VideoError::InvalidRequest(format!(
            "the clip starts at {} s, at or past the end of the video ({d:.3} s)",
            spec.start
        ))
        .into());
    }
    let out = TempFile::new("mp4").map_err(VideoError::Io)?;
    let mut bounded = ctx.clone();
    bounded.limits.max_clip_bytes = bounded.limits.max_clip_bytes.min(limit);
    let info = video::clip::clip(
        &src.input,
        &src.info,
        spec.start,
        spec.duration,
        spec.max_height,
        &out.0,
        &bounded,
        cancelled,
        progress,
    )?;
    let size = std::fs::metadata(&out.0).map_err(VideoError::Io)?.len();
    if size > limit {
        return Err(VideoError::TooLarge(format!(
            "the clip is {size} bytes, over the read limit of {limit} bytes: ask for a shorter \
             duration or a smaller max_height"
        ))
        .into());
    }
    let entry = pack_clip(&info, std::fs::read(&out.0).map_err(VideoError::Io)?);
    let rendered =
        unpack_clip(&entry).ok_or_else(|| VideoError::Internal("clip cache entry".into()))?;
    if src.id == current && unchanged(lib, r, src.id) {
        cache.put(key, src.id, entry);
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

    fn round_trip(q: &str) -> String {
        match from_query(&pairs(q)).unwrap() {
            VideoQuery::Frame(f) => f.to_query(),
            VideoQuery::Storyboard(s) => s.to_query(),
            VideoQuery::Clip(c) => c.to_query(),
        }
    }

    /// The first `tool` on PATH.
    fn on_path(tool: &str) -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    }

    #[test]
    fn a_soundtrack_is_extracted_once_and_leaves_no_temporary_file() {
        use std::io::Read;
        let ffmpeg = on_path("ffmpeg").expect("ffmpeg on PATH (Debian package ffmpeg)");
        let ffprobe = on_path("ffprobe").expect("ffprobe on PATH (Debian package ffmpeg)");
        let tmp = tempfile::tempdir().unwrap();
        // Its own copy: the identity (inode) is then this test's alone.
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/samples/video/clip_mpeg4_mp3.avi"
            ),
            tmp.path().join("a.avi"),
        )
        .unwrap();
        let lib = Library::new(
            vec![("lib".into(), tmp.path().to_path_buf())],
            crate::library::LibraryLimits::default(),
        )
        .unwrap();
        let r = lib.resolve("media://lib/a.avi").unwrap();
        let ctx = VideoCtx {
            ffmpeg: Some(ffmpeg),
            ffprobe: Some(ffprobe),
            ..VideoCtx::default()
        };
        let read_all = |input: &AudioInput| {
            let (mut reader, id) = input.open(&lib, &r).unwrap();
            assert_eq!(id, Some(lib.identity(&r).unwrap()));
            let mut bytes = vec![];
            reader.read_to_end(&mut bytes).unwrap();
            bytes
        };
        let first = audio_input(&lib, &r, Some(&ctx), &|| false).unwrap();
        assert_eq!(first.ext.as_deref(), Some("wav"));
        let wav = read_all(&first);
        assert_eq!(&wav[..4], b"RIFF");
        let Some((extracted, _)) = &first.extracted else {
            panic!("extracted")
        };
        // Unlinked: nothing of it is left under the temporary directory's name.
        let fd = std::os::fd::AsRawFd::as_raw_fd(extracted.handle());
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        assert!(
            target.to_string_lossy().ends_with("(deleted)"),
            "{target:?}"
        );
        let second = audio_input(&lib, &r, Some(&ctx), &|| false).unwrap();
        // Two readers, each from the start: the same bytes, one extraction.
        assert_eq!(read_all(&second), wav);
        assert_eq!(read_all(&first), wav);
        // The second is the first's extraction (the same open file), not a new one.
        let Some((again, _)) = &second.extracted else {
            panic!("extracted")
        };
        assert!(std::ptr::eq(extracted.handle(), again.handle()));
    }

    #[test]
    fn at_most_max_soundtracks_are_kept_the_least_recently_used_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let input = |i: u64| {
            let p = tmp.path().join(format!("{i}.wav"));
            std::fs::write(&p, b"RIFF").unwrap();
            VideoInput::from_path(&p).unwrap()
        };
        let id = |i: u64| SourceId {
            dev: 1,
            ino: i,
            size: 4,
            mtime_ns: 0,
        };
        let kept = Soundtracks(std::sync::Mutex::new(Vec::new()));
        for i in 0..MAX_SOUNDTRACKS as u64 {
            kept.keep(id(i), &input(i));
        }
        // Using the oldest makes it the newest: the next one in drops the second oldest.
        assert!(kept.get(&id(0)).is_some());
        kept.keep(id(99), &input(99));
        assert_eq!(kept.lock().len(), MAX_SOUNDTRACKS);
        assert!(
            kept.get(&id(1)).is_none(),
            "the least recently used is gone"
        );
        for i in [0, 2, 99] {
            assert!(kept.get(&id(i)).is_some(), "{i} is kept");
        }
    }

    #[test]
    fn queries_round_trip_canonically() {
        for q in [
            "t=1.5",
            "t=0&w=640&h=360&format=jpeg&quality=80",
            "t=12.345&format=png",
            "storyboard=16",
            "storyboard=9&columns=3&start=1&end=2.5",
            "clip_start=0&clip_duration=2&max_height=360",
        ] {
            assert_eq!(round_trip(q), q);
        }
        // Order, aliases, precision and defaults do not matter: one canonical string.
        assert_eq!(
            round_trip("format=jpg&t=1.50049&w=10"),
            "t=1.5&w=10&format=jpeg"
        );
        assert_eq!(
            round_trip("clip_duration=3.0&clip_start=1"),
            "clip_start=1&clip_duration=3&max_height=720"
        );
    }

    #[test]
    fn bad_queries_say_what_is_wrong() {
        for (q, needle) in [
            ("t=-1", "non-negative"),
            ("t=NaN", "non-negative"),
            ("t=1&w=0", "at least 1"),
            ("t=1&fit=cover", "unknown parameter"),
            ("t=1&quality=101", "1-100"),
            ("storyboard=0", "at least 1"),
            ("storyboard=65", "1 to 64"),
            ("storyboard=4&columns=5", "columns"),
            ("storyboard=4&start=3&end=2", "after start"),
            ("clip_start=1", "clip_duration is required"),
            ("clip_start=1&clip_duration=0", "more than 0"),
            ("clip_start=1&clip_duration=1&max_height=8", "16 to"),
        ] {
            let e = from_query(&pairs(q)).unwrap_err();
            assert!(e.contains(needle), "{q}: {e}");
        }
    }

    #[test]
    fn video_queries_are_told_from_image_and_audio_ones() {
        assert!(is_video_query(&pairs("t=1&w=100")));
        assert!(is_video_query(&pairs("storyboard=4&start=1")));
        assert!(is_video_query(&pairs("clip_start=1&clip_duration=2")));
        assert!(!is_video_query(&pairs("w=100&format=png")));
        assert!(!is_video_query(&pairs("start=1&duration=2&format=wav")));
        assert!(!is_video_query(&pairs("offset=0&length=10")));
    }

    #[test]
    fn storyboard_times_are_the_middles_of_equal_parts() {
        let s = StoryboardSpec {
            count: 4,
            columns: None,
            start: Some(2.0),
            end: None,
        };
        let range = s.range(Some(10.0)).unwrap();
        assert_eq!(range, (2.0, 10.0));
        assert_eq!(s.times(range), vec![3.0, 5.0, 7.0, 9.0]);
        assert!(s.range(None).is_err(), "no duration and no end");
        let past = StoryboardSpec {
            start: Some(11.0),
            ..s
        };
        assert!(past.range(Some(10.0)).is_err());
    }

    #[test]
    fn frame_cache_entries_keep_the_meta_and_slice_the_bytes() {
        let meta = FrameMeta {
            pts: 1.4666,
            format: OutputFormat::Jpeg,
            width: 640,
            height: 360,
        };
        let e = pack_frame(&meta, b"\xff\xd8jpeg".to_vec());
        let back = unpack_frame(&e).unwrap();
        assert_eq!(back.meta, meta);
        assert_eq!(&back.data[..], b"\xff\xd8jpeg");
        assert_eq!(back.data.as_ptr(), e.as_ptr());
        assert!(unpack_frame(&Bytes::from_static(b"MMV1")).is_none());
    }

    #[test]
    fn storyboard_cache_entries_keep_the_meta_and_slice_the_image() {
        let meta = StoryboardMeta {
            format: OutputFormat::Jpeg,
            width: 1568,
            height: 882,
            columns: 4,
            rows: 4,
            cells: vec![(0.5, 0.467), (1.5, 1.5)],
        };
        let e = pack_storyboard(&meta, b"\xff\xd8grid".to_vec());
        let back = unpack_storyboard(&e).unwrap();
        assert_eq!(back.meta, meta);
        assert_eq!(&back.data[..], b"\xff\xd8grid");
        assert_eq!(back.data.as_ptr(), e.as_ptr());
        assert!(unpack_storyboard(&Bytes::from_static(b"\xff\xff\xff\xffMMS1")).is_none());
    }

    #[test]
    fn clip_cache_entries_keep_the_info_and_slice_the_mp4() {
        let info = video::ClipInfo {
            width: 640,
            height: 360,
            duration: 2.0,
            bytes: 9,
            engine: video::Engine::Ffmpeg,
        };
        let e = pack_clip(&info, b"ftyp-mp4!".to_vec());
        let back = unpack_clip(&e).unwrap();
        assert_eq!(back.info, info);
        assert_eq!(&back.data[..], b"ftyp-mp4!");
        assert_eq!(back.data.as_ptr(), e.as_ptr());
        assert!(unpack_clip(&Bytes::from_static(b"MMC1")).is_none());
    }
}
