//! Tool `video_clip`: cuts `duration` seconds from `start` of a video as H.264 in MP4 at a
//! bounded height, for a person to watch: a `resource_link` to the clip's derived URI
//! (`?clip_start=..&clip_duration=..&max_height=..`, read back with `resources/read`),
//! annotated for the user, plus the clip itself as an embedded blob when it is small
//! ([`EMBED_MAX_BYTES`]). Progress is reported per second of video processed; cancelling stops
//! the engine (ffmpeg's child is killed). Must not know about the server or transports.

use crate::derived::video::{
    CLIP_DEFAULT_HEIGHT, CLIP_MAX_HEIGHT, ClipSpec, canonical_seconds, clip_uri, render_clip,
};
use crate::protocol::types::{
    Annotations, Content, ResourceBody, ResourceContents, ResourceInfo, ToolAnnotations, ToolDef,
    ToolResult,
};
use crate::tools::video_frames::{VideoTools, check_time};
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Largest clip also embedded in the result as a blob (raw bytes; 256 KiB, about 341 KiB of
/// base64): a few seconds at low resolution. Larger clips are only linked.
pub const EMBED_MAX_BYTES: u64 = 256 * 1024;

pub struct VideoClip(pub VideoTools);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
    start: f64,
    duration: f64,
    max_height: Option<u32>,
}

impl Tool for VideoClip {
    fn def(&self) -> ToolDef {
        let max = self.0.video.limits.max_clip_seconds;
        ToolDef {
            name: "video_clip".into(),
            title: Some("Cut a video clip".into()),
            description: format!(
                "Cut duration seconds from start of a video as an H.264/MP4 clip for a person to \
                 watch (at most {max} s; max_height bounds the picture, default \
                 {CLIP_DEFAULT_HEIGHT} px, never upscaled). Returns a resource_link to a \
                 media://...?clip_start=..&clip_duration=.. URI (read it with resources/read; \
                 mimeType video/mp4), and the clip embedded when it is at most \
                 {EMBED_MAX_BYTES} bytes. A model cannot watch a clip: use video_frames or \
                 video_storyboard to see the video. Progress is reported per second of video."
            ),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of a video"},
                    "start": {"type": "number", "minimum": 0, "description": "Start, seconds"},
                    "duration": {"type": "number", "exclusiveMinimum": 0, "maximum": max, "description": "Length, seconds"},
                    "max_height": {"type": "integer", "minimum": 16, "maximum": CLIP_MAX_HEIGHT, "description": "Tallest picture in pixels (default 720)"}
                },
                "required": ["uri", "start", "duration"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "The clip's URI: resources/read gives the MP4"},
                    "source": {"type": "string"},
                    "start": {"type": "number"}, "duration": {"type": "number"},
                    "width": {"type": "integer"}, "height": {"type": "integer"},
                    "bytes": {"type": "integer"}, "mimeType": {"type": "string"},
                    "engine": {"type": "string"}, "embedded": {"type": "boolean"}
                },
                "required": ["uri", "source", "start", "duration", "width", "height", "bytes", "mimeType", "embedded"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Video clip")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let bad = ToolError::InvalidArguments;
        let start = canonical_seconds(check_time("start", a.start)?);
        if !(a.duration.is_finite() && a.duration > 0.0) {
            return Err(bad(format!(
                "duration must be a number of seconds > 0, got {}",
                a.duration
            )));
        }
        let duration = canonical_seconds(a.duration);
        let max = self.0.video.limits.max_clip_seconds;
        if duration > max {
            return Err(bad(format!(
                "duration may be at most {max} s (--max-clip-seconds), got {duration} s"
            )));
        }
        let spec = ClipSpec {
            start,
            duration,
            max_height: a.max_height.unwrap_or(CLIP_DEFAULT_HEIGHT),
        };
        spec.validate().map_err(bad)?;
        let r = self.0.resolve(&a.uri)?;
        let mut last = -1.0f64;
        let clip = render_clip(
            &self.0.lib,
            &self.0.cache,
            &r,
            &spec,
            &self.0.video,
            self.0.inline_limit,
            &|| ctx.client.cancelled(),
            &mut |done| {
                // One report per whole second of video (and the last).
                let done = done.clamp(0.0, duration);
                if done.floor() > last || done >= duration {
                    last = done.floor();
                    ctx.client.progress(
                        (done * 1000.0).round() / 1000.0,
                        Some(duration),
                        Some(&format!("{done:.1} of {duration} s")),
                    );
                }
            },
        )?;
        let base = r.uri.base();
        let uri = clip_uri(&base, &spec);
        let name = r.rel.rsplit('/').next().unwrap_or(&r.rel);
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let size = clip.data.len() as u64;
        let embedded = size <= EMBED_MAX_BYTES;
        let info = &clip.info;
        let structured = json!({
            "uri": uri, "source": base, "start": start,
            "duration": (info.duration * 1000.0).round() / 1000.0,
            "width": info.width, "height": info.height, "bytes": size,
            "mimeType": "video/mp4", "engine": info.engine.as_str(), "embedded": embedded,
        });
        let mut content = vec![
            Content::text(structured.to_string()),
            Content::Link(ResourceInfo {
                uri: uri.clone(),
                name: format!(
                    "{stem} [{start}-{} s].mp4",
                    canonical_seconds(start + duration)
                ),
                title: None,
                description: Some(format!(
                    "{:.3} s clip, {}x{} H.264/MP4, {size} bytes",
                    info.duration, info.width, info.height
                )),
                mime_type: Some("video/mp4".into()),
                size: Some(size),
                annotations: Some(Annotations {
                    audience: vec!["user"],
                    ..Default::default()
                }),
            }),
        ];
        if embedded {
            content.push(Content::Embedded(ResourceContents {
                uri,
                mime_type: Some("video/mp4".into()),
                body: ResourceBody::Blob(clip.data.into()),
            }));
        }
        Ok(ToolResult {
            content,
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}
