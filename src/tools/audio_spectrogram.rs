//! Tool `audio_spectrogram`: renders a stretch of audio as a spectrogram PNG so a vision model
//! can "see" it (time left to right, frequency bottom to top, documented colour map).
//! Must not know about the server or transports.

use crate::library::Library;
use crate::media::audio::decode::{Decoder, downmix_mono, sanitize};
use crate::media::audio::spectrogram::{SpectrogramSpec, render};
use crate::protocol::types::{Content, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::{
    Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args, resolve_audio,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Longest stretch one spectrogram covers, seconds.
pub const MAX_SECONDS: f64 = 120.0;

pub struct AudioSpectrogram {
    lib: Arc<Library>,
    /// ffmpeg for the soundtracks of videos symphonia cannot read.
    video: Option<Arc<crate::media::video::VideoCtx>>,
}

impl AudioSpectrogram {
    pub fn new(lib: Arc<Library>) -> Self {
        AudioSpectrogram { lib, video: None }
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
    width: Option<u32>,
    height: Option<u32>,
    max_hz: Option<f32>,
    floor_db: Option<f32>,
}

impl Tool for AudioSpectrogram {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: "audio_spectrogram".into(),
            title: Some("Audio spectrogram".into()),
            description: "Render a stretch of an audio file (or a video's audio track) as a \
                spectrogram PNG: time runs left to right (grey ticks every second), frequency \
                from 0 Hz at the bottom to max_hz at the top (ticks every kHz), energy from \
                floor_db (black) through purple, magenta and orange to 0 dBFS (pale yellow). \
                Useful to see speech, silence, music structure or noise without listening."
                .into(),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of an audio or video file"},
                    "start": {"type": "number", "minimum": 0, "description": "Start, seconds (default 0)"},
                    "duration": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECONDS, "description": "Seconds shown (default: up to 30)"},
                    "width": {"type": "integer", "minimum": 16, "maximum": 4096, "description": "Pixels (default 800)"},
                    "height": {"type": "integer", "minimum": 16, "maximum": 4096, "description": "Pixels (default 400)"},
                    "max_hz": {"type": "number", "minimum": 100, "description": "Top frequency (default 8000, at most Nyquist)"},
                    "floor_db": {"type": "number", "maximum": -10, "minimum": -160, "description": "dBFS shown as black (default -90)"}
                },
                "required": ["uri"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string"}, "start": {"type": "number"}, "duration": {"type": "number"},
                    "width": {"type": "integer"}, "height": {"type": "integer"}, "maxHz": {"type": "number"},
                    "floorDb": {"type": "number"}, "sampleRate": {"type": "integer"}, "colorMap": {"type": "string"}
                },
                "required": ["uri", "start", "duration", "width", "height", "maxHz", "floorDb"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Audio spectrogram")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        // A query is refused: the stretch is given by start and duration.
        let (r, _) = resolve_audio(&self.lib, &a.uri)?;
        let start = a.start.unwrap_or(0.0);
        if !(start.is_finite() && start >= 0.0) {
            return Err(ToolError::InvalidArguments(
                "start must be a non-negative number".into(),
            ));
        }
        let duration = a.duration.unwrap_or(30.0);
        if !(duration > 0.0 && duration <= MAX_SECONDS) {
            return Err(ToolError::InvalidArguments(format!(
                "duration must be in (0, {MAX_SECONDS}] seconds"
            )));
        }
        // The file, or a video's soundtrack extracted by ffmpeg when symphonia cannot read it.
        let input =
            crate::derived::video::audio_input(&self.lib, &r, self.video.as_deref(), &|| {
                ctx.client.cancelled()
            })?;
        let mut dec = Decoder::open(
            crate::media::audio::seekable(input.open(&self.lib, &r)?.0),
            input.ext.as_deref(),
        )
        .map_err(ToolError::from)?;
        dec.seek(start).map_err(ToolError::from)?;
        let rate = dec.rate;
        let want = (duration * f64::from(rate)) as usize;
        let mut mono = Vec::with_capacity(want);
        let mut buf = Vec::new();
        while mono.len() < want {
            if ctx.client.cancelled() {
                return Err(ToolError::Cancelled);
            }
            buf.clear();
            let n = dec
                .read((want - mono.len()).min(rate as usize), &mut buf)
                .map_err(ToolError::from)?;
            if n == 0 {
                break;
            }
            sanitize(&mut buf);
            mono.extend(downmix_mono(&buf, dec.channels.max(1)));
        }
        if mono.is_empty() {
            return Err(ToolError::InvalidArguments(format!(
                "no audio at {start} s (past the end of the file?)"
            )));
        }
        let spec = SpectrogramSpec {
            width: a.width.unwrap_or(800),
            height: a.height.unwrap_or(400),
            max_hz: a.max_hz.unwrap_or(8000.0),
            floor_db: a.floor_db.unwrap_or(-90.0).clamp(-160.0, -10.0),
        };
        let (png, max_hz) = render(&mono, rate, &spec).map_err(ToolError::from)?;
        let shown = mono.len() as f64 / f64::from(rate);
        let structured = json!({
            "uri": r.uri.base(), "start": start, "duration": (shown * 1000.0).round() / 1000.0,
            "width": spec.width.clamp(16, 4096), "height": spec.height.clamp(16, 4096), "maxHz": max_hz,
            "floorDb": spec.floor_db, "sampleRate": rate,
            "colorMap": "black -> purple -> magenta -> orange -> pale yellow (floorDb .. 0 dBFS); time left to right, ticks every 1 s; 0 Hz at the bottom, ticks every 1 kHz",
        });
        Ok(ToolResult {
            content: vec![
                Content::text(structured.to_string()),
                Content::image(png, "image/png"),
            ],
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}
