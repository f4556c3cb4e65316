//! Tool `audio_transcode`: plans a stretch of an audio file as chunks (each a self-contained
//! WAV and a derived `media://...?start=..&duration=..` URI), renders them on every core (each
//! chunk is a sample-exact slice of the whole, so the order does not matter: see
//! `media::audio::segment::render`; the first chunk itself in slices on every core, so its
//! progress comes soonest), hands them on in order with a progress notification per
//! chunk, and returns `resource_link`s (or, with `inline`, `audio` blocks within a byte
//! budget). Must not know about the server or transports.

use crate::cache::DerivedCache;
use crate::derived::{DerivedError, audio_uri, render_audio_in_parts};
use crate::library::{Library, LibraryError};
use crate::media::audio::segment::{Format, SegmentSpec};
use crate::media::audio::{AudioError, MAX_CHUNK_SECONDS, MAX_DECODED_SECONDS, decode};
use crate::protocol::types::{Content, ResourceInfo, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::{
    Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args, resolve_audio,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Default chunk length, seconds.
pub const DEFAULT_CHUNK_SECONDS: f64 = 30.0;
/// Default and largest raw bytes per chunk: 768 KiB, so a chunk's base64 stays under 1 MiB.
pub const DEFAULT_MAX_CHUNK_BYTES: u64 = 768 * 1024;
/// Raw bytes of `audio` blocks one result may carry with `inline: true` (base64 under 1 MiB).
pub const INLINE_BUDGET: usize = 768 * 1024;
/// Most chunks one call plans.
pub const MAX_CHUNKS: usize = 2000;
/// Shortest slice of the first chunk when it is rendered on several cores (each slice decodes
/// its own pre-roll, [`crate::media::audio::segment::DECODER_PREROLL_SECONDS`]).
pub const MIN_SLICE_SECONDS: f64 = 5.0;

pub struct AudioTranscode {
    lib: Arc<Library>,
    cache: Arc<DerivedCache>,
    /// ffmpeg for the soundtracks of videos symphonia cannot read.
    video: Option<Arc<crate::media::video::VideoCtx>>,
    /// Threads rendering chunks at once for one call.
    workers: usize,
}

impl AudioTranscode {
    pub fn new(lib: Arc<Library>, cache: Arc<DerivedCache>) -> Self {
        AudioTranscode {
            lib,
            cache,
            video: None,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Renders at most `workers` chunks at once (at least 1).
    #[cfg(test)]
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Reads the soundtracks of videos symphonia cannot read through `video`'s ffmpeg.
    pub fn with_video(mut self, video: Arc<crate::media::video::VideoCtx>) -> Self {
        self.video = Some(video);
        self
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
    start: Option<f64>,
    duration: Option<f64>,
    format: Option<String>,
    sample_rate: Option<u32>,
    channels: Option<u32>,
    chunk_seconds: Option<f64>,
    max_chunk_bytes: Option<u64>,
    inline: Option<bool>,
}

impl Tool for AudioTranscode {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: "audio_transcode".into(),
            title: Some("Transcode audio into chunks".into()),
            description: "Decode a stretch of an audio file (or a video's audio track) and cut it \
                into chunks a model can take: each chunk is a self-contained WAV (16-bit PCM) or Ogg Opus file at \
                the requested sample rate and channels, returned as a resource_link to a \
                media://...?start=..&duration=.. URI (read it with resources/read), or inline as \
                audio content with inline: true. For speech models use sample_rate 16000, \
                channels 1. Chunks never exceed max_chunk_bytes (default 786432, i.e. under 1 MiB \
                of base64). Progress is reported per chunk."
                .into(),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of an audio (or video) file"},
                    "start": {"type": "number", "minimum": 0, "description": "Start, seconds (default 0)"},
                    "duration": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds to transcode (default: to the end)"},
                    "format": {"type": "string", "enum": ["wav", "opus"], "description": "wav (16-bit PCM, default) or opus (Ogg Opus, 10-20x smaller; rates 8000/12000/16000/24000/48000)"},
                    "sample_rate": {"type": "integer", "minimum": 8000, "maximum": 384000, "description": "Output rate in Hz (default: the file's)"},
                    "channels": {"type": "integer", "enum": [1], "description": "1 to downmix to mono (default: keep the file's channels)"},
                    "chunk_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_CHUNK_SECONDS, "description": "Chunk length (default 30)"},
                    "max_chunk_bytes": {"type": "integer", "minimum": 4096, "maximum": 8388608, "description": "Largest chunk in raw bytes (default 786432)"},
                    "inline": {"type": "boolean", "description": "Return audio content blocks instead of links (within a 768 KiB budget)"}
                },
                "required": ["uri"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string"}, "format": {"type": "string"}, "mimeType": {"type": "string"},
                    "sampleRate": {"type": "integer"}, "channels": {"type": "integer"},
                    "start": {"type": "number"}, "duration": {"type": "number"}, "chunkSeconds": {"type": "number"},
                    "chunks": {"type": "array", "items": {"type": "object", "properties": {
                        "index": {"type": "integer"}, "uri": {"type": "string"}, "start": {"type": "number"},
                        "duration": {"type": "number"}, "size": {"type": "integer"}
                    }, "required": ["index", "uri", "start", "duration", "size"]}},
                    "complete": {"type": "boolean"},
                    "corruptPacketsSkipped": {"type": "integer", "description": "Undecodable packets skipped (silence in their place)"},
                    "note": {"type": "string"}
                },
                "required": ["uri", "format", "sampleRate", "channels", "start", "duration", "chunks", "complete"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Transcode audio")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let (r, stat) = resolve_audio(&self.lib, &a.uri)?;
        // The plan is made for this version of the file; every chunk must come from it.
        let planned = self.lib.identity(&r)?;
        let format = match a.format.as_deref() {
            None => Format::Wav,
            Some(f) => Format::parse(f).ok_or_else(|| {
                ToolError::InvalidArguments(format!(
                    "unsupported format {f:?}; supported: wav, opus"
                ))
            })?,
        };
        if a.channels.is_some_and(|c| c != 1) {
            return Err(ToolError::InvalidArguments(
                "channels must be 1 (mono) or omitted (keep)".into(),
            ));
        }
        let cancelled = || ctx.client.cancelled();
        // The file, or a video's soundtrack extracted by ffmpeg when symphonia cannot read it.
        let input =
            crate::derived::video::audio_input(&self.lib, &r, self.video.as_deref(), &cancelled)?;
        let ext = input.ext.clone();
        let info = decode::probe(
            crate::media::audio::seekable(input.open(&self.lib, &r)?.0),
            ext.as_deref(),
            stat.size,
        )
        .map_err(ToolError::from)?;
        if !info.decodable {
            return Err(ToolError::from(AudioError::UnsupportedCodec(info.codec)));
        }
        let start = a.start.unwrap_or(0.0);
        let measured = info.duration_seconds.is_none();
        let total = match info.duration_seconds {
            Some(d) => d,
            // The container does not say (Matroska or WebM without a duration, a WAV from a
            // streaming recorder): decode to the real end of the data, or as far as asked.
            None => {
                let mut dec = decode::Decoder::open(
                    crate::media::audio::seekable(input.open(&self.lib, &r)?.0),
                    ext.as_deref(),
                )
                .map_err(ToolError::from)?;
                let rate = f64::from(dec.rate);
                let until = start.max(0.0) + a.duration.unwrap_or(MAX_DECODED_SECONDS + 1.0);
                let frames = dec
                    .count_frames((until * rate).ceil() as u64, &|| ctx.client.cancelled())
                    .map_err(ToolError::from)?;
                frames as f64 / rate
            }
        };
        if total <= 0.0 {
            return Err(ToolError::from(AudioError::NoAudio));
        }
        if !(0.0..=total.max(0.0)).contains(&start) {
            return Err(ToolError::InvalidArguments(format!(
                "start {start} s is outside the file (0..{total:.3} s)"
            )));
        }
        let mut duration = a.duration.unwrap_or(total - start).min(total - start);
        if duration <= 0.0 {
            return Err(ToolError::InvalidArguments(format!(
                "nothing to transcode: start {start} s is the end of the file ({total:.3} s)"
            )));
        }
        if duration > MAX_DECODED_SECONDS {
            return Err(ToolError::from(AudioError::TooLong(duration)));
        }
        let rate = format.rate(a.sample_rate, info.sample_rate.unwrap_or(48_000));
        if format == Format::Opus && !crate::media::audio::segment::OPUS_RATES.contains(&rate) {
            return Err(ToolError::InvalidArguments(format!(
                "Opus needs sample_rate 8000, 12000, 16000, 24000 or 48000, not {rate}"
            )));
        }
        let mono = a.channels == Some(1);
        let channels = if mono { 1 } else { info.channels.unwrap_or(2) };
        let max_bytes = a
            .max_chunk_bytes
            .unwrap_or(DEFAULT_MAX_CHUNK_BYTES)
            .clamp(4096, 8 << 20);
        // Each format by its own size estimate (WAV exact, Opus by its bitrate).
        let by_bytes = format.seconds_for_bytes(max_bytes, rate, channels);
        let asked = a.chunk_seconds.unwrap_or(DEFAULT_CHUNK_SECONDS);
        if !(asked > 0.0 && asked <= MAX_CHUNK_SECONDS) {
            return Err(ToolError::InvalidArguments(format!(
                "chunk_seconds must be in (0, {MAX_CHUNK_SECONDS}]"
            )));
        }
        // Whole milliseconds keep the chunk URIs short and exact.
        let chunk = (asked.min(by_bytes) * 1000.0).floor() / 1000.0;
        if chunk < 0.001 {
            return Err(ToolError::InvalidArguments(
                "max_chunk_bytes is too small for this rate and channel count".into(),
            ));
        }
        let n = ((duration / chunk).ceil() as usize).max(1);
        if n > MAX_CHUNKS {
            return Err(ToolError::InvalidArguments(format!(
                "{n} chunks needed; the limit is {MAX_CHUNKS}: use a longer chunk_seconds or a shorter duration"
            )));
        }
        let base = r.uri.base();
        let name = r.rel.rsplit('/').next().unwrap_or(&r.rel).to_string();
        let inline = a.inline.unwrap_or(false);
        let mut chunks = vec![];
        let mut content = vec![];
        let mut inline_bytes = 0usize;
        let mut note = None;
        let mut corrupt = 0usize;
        // The plan: chunk i's start, duration and spec.
        let plan: Vec<(f64, f64, SegmentSpec)> = (0..n)
            .map(|i| {
                let c_start = ((start + i as f64 * chunk) * 1000.0).round() / 1000.0;
                let c_dur = (chunk.min(start + duration - c_start) * 1000.0).round() / 1000.0;
                let spec = SegmentSpec {
                    start: c_start,
                    duration: Some(c_dur),
                    format,
                    rate: Some(rate),
                    mono,
                };
                (c_start, c_dur, spec)
            })
            .take_while(|(_, d, _)| *d > 0.0)
            .collect();
        // Chunk `i` on up to `parts` threads (in slices, joined: the same bytes).
        let render_parts = |i: usize, parts: usize| {
            if ctx.client.cancelled() {
                return Err(DerivedError::Audio(AudioError::Cancelled));
            }
            let spec = &plan
                .get(i)
                .ok_or(DerivedError::Audio(AudioError::NoAudio))?
                .2;
            render_audio_in_parts(
                &self.lib,
                &self.cache,
                &r,
                spec,
                max_bytes,
                self.video.as_deref(),
                &cancelled,
                parts,
            )
        };
        // The first chunk on every core at once, before the others start, so its progress
        // comes as soon as it can; then one chunk per core. Slices of at least
        // MIN_SLICE_SECONDS: each decodes its own pre-roll.
        let slices = plan.first().map_or(0, |(_, d, _)| {
            self.workers.min((d / MIN_SLICE_SECONDS).floor() as usize)
        });
        let first = std::sync::Mutex::new((slices > 1).then(|| render_parts(0, slices)));
        let render = |i: usize| {
            let early = (i == 0)
                .then(|| {
                    first
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .take()
                })
                .flatten();
            early.unwrap_or_else(|| render_parts(i, 1))
        };
        let mut failed = None;
        crate::media::parallel::ordered(plan.len(), self.workers, &render, &mut |i, made| {
            let Some((c_start, c_dur, spec)) = plan.get(i) else {
                return false;
            };
            let (c_start, c_dur) = (*c_start, *c_dur);
            let uri = audio_uri(&base, spec);
            // A chunk that failed because the file changed under it (a worker ahead of this
            // one can meet the change first) says that, not how the read went wrong.
            if made.is_err() && self.lib.identity(&r).ok() != Some(planned) {
                failed = Some(ToolError::Library(LibraryError::Changed {
                    uri: r.original.clone(),
                    how: format!("it changed while chunk {} of {n} was made", i + 1),
                }));
                return false;
            }
            let rendered = match made {
                Ok(x) => x,
                // A measured length can run a few milliseconds past what the container lets
                // us seek to (e.g. Opus pre-skip in Matroska): there the data has ended.
                Err(DerivedError::Audio(AudioError::Seek(..))) if measured && i > 0 => {
                    duration = c_start - start;
                    return false;
                }
                Err(e) => {
                    failed = Some(ToolError::from(e));
                    return false;
                }
            };
            match self.lib.identity(&r) {
                Ok(now) if now == planned => {}
                Ok(_) => {
                    failed = Some(ToolError::Library(LibraryError::Changed {
                        uri: r.original.clone(),
                        how: format!("it changed while chunk {} of {n} was made", i + 1),
                    }));
                    return false;
                }
                Err(e) => {
                    failed = Some(ToolError::Library(e));
                    return false;
                }
            }
            corrupt += rendered.corrupt_packets;
            let data = rendered.data;
            if inline && inline_bytes + data.len() > INLINE_BUDGET {
                note = Some(format!(
                    "stopped after {i} of {n} chunks: inline audio is limited to {INLINE_BUDGET} bytes per result; call again with start={c_start} or without inline to get links"
                ));
                return false;
            }
            chunks.push(json!({"index": i, "uri": uri, "start": c_start, "duration": c_dur, "size": data.len()}));
            ctx.client.progress(
                ((c_start + c_dur - start) * 1000.0).round() / 1000.0,
                Some((duration * 1000.0).round() / 1000.0),
                Some(&format!("chunk {}/{n} ready: {uri}", i + 1)),
            );
            if inline {
                inline_bytes += data.len();
                content.push(Content::audio(data, format.mime()));
            } else {
                content.push(Content::Link(ResourceInfo {
                    uri: uri.clone(),
                    name: format!(
                        "{name} [{c_start:.3}-{:.3} s].{}",
                        c_start + c_dur,
                        format.as_str()
                    ),
                    title: None,
                    description: Some(format!("{c_dur:.3} s at {rate} Hz, {channels} channel(s)")),
                    mime_type: Some(format.mime().into()),
                    size: Some(data.len() as u64),
                    annotations: None,
                }));
            }
            true
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if ctx.client.cancelled() {
            return Err(ToolError::Cancelled);
        }
        if corrupt > 0 {
            // One line per request, however many chunks.
            tracing::warn!(uri = %base, skipped = corrupt, "skipped corrupt audio packets");
        }
        let mut structured = json!({
            "uri": base, "format": format.as_str(), "mimeType": format.mime(), "sampleRate": rate,
            "channels": channels, "start": start, "duration": duration, "chunkSeconds": chunk,
            "chunks": chunks, "complete": note.is_none(),
        });
        if let Some(n) = &note {
            structured["note"] = n.clone().into();
        }
        if corrupt > 0 {
            structured["corruptPacketsSkipped"] = corrupt.into();
        }
        let mut all = vec![Content::text(structured.to_string())];
        all.extend(content);
        Ok(ToolResult {
            content: all,
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::LibraryLimits;
    use crate::protocol::{LogLevel, ProtocolVersion};
    use crate::tools::{ClientBridge, ListKind};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A client that, on the first progress report, truncates `path` to `to` bytes.
    struct Truncator {
        path: PathBuf,
        to: u64,
        reports: AtomicUsize,
    }
    impl ClientBridge for Truncator {
        fn cancelled(&self) -> bool {
            false
        }
        fn progress(&self, _: f64, _: Option<f64>, _: Option<&str>) {
            if self.reports.fetch_add(1, Ordering::SeqCst) == 0 {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&self.path)
                    .unwrap()
                    .set_len(self.to)
                    .unwrap();
            }
        }
        fn log(&self, _: LogLevel, _: Value) {}
        fn request(&self, _: &str, _: Value) -> Result<Value, ToolError> {
            Err(ToolError::Client("none".into()))
        }
        fn sleep(&self, _: Duration) -> Result<(), ToolError> {
            Ok(())
        }
        fn list_changed(&self, _: ListKind) {}
    }

    /// A client that records its progress reports.
    #[derive(Default)]
    struct Recorder(std::sync::Mutex<Vec<f64>>);
    impl ClientBridge for Recorder {
        fn cancelled(&self) -> bool {
            false
        }
        fn progress(&self, p: f64, _: Option<f64>, _: Option<&str>) {
            self.0.lock().unwrap().push(p);
        }
        fn log(&self, _: LogLevel, _: Value) {}
        fn request(&self, _: &str, _: Value) -> Result<Value, ToolError> {
            unreachable!()
        }
        fn sleep(&self, _: Duration) -> Result<(), ToolError> {
            Ok(())
        }
        fn list_changed(&self, _: ListKind) {}
    }

    #[test]
    fn chunks_made_by_many_workers_are_those_one_makes_in_the_same_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("r");
        std::fs::create_dir_all(&root).unwrap();
        // 12 s of stereo 44.1 kHz: two tones and a little deterministic noise.
        let mut seed = 7u32;
        let samples: Vec<f32> = (0..44_100 * 12 * 2)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                (i as f32 * 0.031).sin() * 0.3 + (i as f32 * 0.0021).cos() * 0.2 + noise * 0.05
            })
            .collect();
        std::fs::write(
            root.join("long.wav"),
            crate::media::audio::wav::encode(&samples, 2, 44_100),
        )
        .unwrap();
        let lib =
            Arc::new(Library::new(vec![("r".into(), root)], LibraryLimits::default()).unwrap());
        // 1.3 s chunks: ten of them, the first whole; 10.5 s chunks: the first is long enough to
        // be rendered in two slices on two or more workers (MIN_SLICE_SECONDS each).
        for (chunk, n) in [(1.3, 10), (10.5, 2)] {
            same_chunks_whatever_the_workers(&lib, chunk, n);
        }
    }

    fn same_chunks_whatever_the_workers(lib: &Arc<Library>, chunk: f64, n: usize) {
        let args = json!({"uri": "media://r/long.wav", "chunk_seconds": chunk, "sample_rate": 16000,
            "channels": 1, "inline": true});
        let run = |workers: usize| {
            // Each run its own cache: nothing is served from the other's.
            let tool = AudioTranscode::new(lib.clone(), Arc::new(DerivedCache::new(1 << 24)))
                .with_workers(workers);
            let client = Recorder::default();
            let ctx = ToolCtx {
                version: ProtocolVersion::LATEST,
                client_caps: &Value::Null,
                input_responses: None,
                request_state: None,
                client: &client,
            };
            let out = match tool.call(args.as_object().unwrap(), &ctx).unwrap() {
                ToolOutcome::Complete(r) => r,
                _ => panic!("complete"),
            };
            let progress = client.0.into_inner().unwrap();
            (out.content, progress)
        };
        let (one, one_progress) = run(1);
        let (four, four_progress) = run(4);
        assert_eq!(one.len(), 1 + n, "a summary and {n} chunks");
        assert_eq!(
            one, four,
            "four workers make the very same chunks, in order ({chunk} s chunks)"
        );
        assert_eq!(one_progress, four_progress);
        assert!(
            one_progress.windows(2).all(|w| w[0] < w[1]),
            "{one_progress:?}"
        );
    }

    #[test]
    fn a_source_truncated_between_chunks_fails_the_transcode() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("r");
        std::fs::create_dir_all(&root).unwrap();
        let samples: Vec<f32> = (0..16_000 * 6)
            .map(|i| (i as f32 * 0.05).sin() * 0.3)
            .collect();
        let path = root.join("long.wav");
        std::fs::write(&path, crate::media::audio::wav::encode(&samples, 1, 16_000)).unwrap();
        let lib =
            Arc::new(Library::new(vec![("r".into(), root)], LibraryLimits::default()).unwrap());
        let tool = AudioTranscode::new(lib, Arc::new(DerivedCache::new(1 << 24)));
        let client = Truncator {
            path,
            to: 44 + 16_000 * 2 * 3, // 3 of 6 seconds left
            reports: AtomicUsize::new(0),
        };
        let ctx = ToolCtx {
            version: ProtocolVersion::LATEST,
            client_caps: &Value::Null,
            input_responses: None,
            request_state: None,
            client: &client,
        };
        let args = json!({"uri": "media://r/long.wav", "chunk_seconds": 1.0});
        let out = tool.call(args.as_object().unwrap(), &ctx);
        assert!(client.reports.load(Ordering::SeqCst) >= 1);
        match out {
            Err(ToolError::Library(LibraryError::Changed { uri, .. })) => {
                assert_eq!(uri, "media://r/long.wav")
            }
            Err(e) => panic!("expected a Changed error, got {e}"),
            Ok(_) => panic!("a transcode of a file truncated mid-way must not succeed"),
        }
    }
}
