//! Tool `video_frames`: the frames of a video shown at given times (or `count` evenly spread),
//! each through the image pipeline (fit for a model by default) as an `image` block while the
//! result's budget (1 MiB of base64) lasts, then as `resource_link`s to their derived frame
//! URIs; every frame's exact presentation time is in `structuredContent`. Also the context the
//! video tools share. Must not know about the server or transports.

use crate::cache::DerivedCache;
use crate::derived::image::format_from_name;
use crate::derived::video::{
    FrameLook, FrameSpec, VideoSource, canonical_seconds, frame_uri, open_source, render_frames,
};
use crate::library::{Library, Resolved};
use crate::media::image::{MODEL_LONG_EDGE, MODEL_MAX_BYTES};
use crate::media::video::VideoCtx;
use crate::protocol::types::{Content, ResourceInfo, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Default and largest number of frames one call returns.
pub const DEFAULT_COUNT: u32 = 4;
pub const MAX_FRAMES: usize = 16;
/// Raw bytes of `image` blocks one result may carry: 1 MiB of base64 once the text (
/// [`TEXT_PER_FRAME`] per frame) is set aside. Further frames are links.
pub const RESULT_BUDGET: u64 = MODEL_MAX_BYTES;
/// Bytes reserved per frame for its entry in the text block, `structuredContent` and, past
/// the budget, its `resource_link`.
pub const TEXT_PER_FRAME: u64 = 768;

/// What the video tools share: the library, the cache, how video is decoded, and the inline
/// read limit (the largest artifact `resources/read` returns whole).
#[derive(Clone)]
pub struct VideoTools {
    pub lib: Arc<Library>,
    pub cache: Arc<DerivedCache>,
    pub video: Arc<VideoCtx>,
    pub inline_limit: u64,
}

impl VideoTools {
    /// Resolves the URI of a video file: no query, exists, is a video (by content).
    pub(crate) fn resolve(&self, uri: &str) -> Result<Resolved, ToolError> {
        let r = self.lib.resolve(uri)?;
        if !r.uri.query.is_empty() {
            return Err(ToolError::InvalidArguments(format!(
                "pass the video's URI without a query: {}",
                r.uri.base()
            )));
        }
        let stat = self.lib.stat(&r)?;
        if stat.sniffed.kind != crate::library::MediaKind::Video {
            return Err(ToolError::InvalidArguments(format!(
                "{uri} is {}, not a video",
                stat.sniffed.kind.as_str()
            )));
        }
        Ok(r)
    }

    pub(crate) fn open(&self, r: &Resolved) -> Result<VideoSource, ToolError> {
        Ok(open_source(&self.lib, r, &self.video)?)
    }
}

/// Checks a time argument: finite and not negative.
pub(crate) fn check_time(name: &str, t: f64) -> Result<f64, ToolError> {
    if t.is_finite() && t >= 0.0 {
        Ok(t)
    } else {
        Err(ToolError::InvalidArguments(format!(
            "{name} must be a finite number of seconds >= 0, got {t}"
        )))
    }
}

pub struct VideoFrames(pub VideoTools);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
    times: Option<Vec<f64>>,
    count: Option<u32>,
    max_width: Option<u32>,
    max_height: Option<u32>,
    format: Option<String>,
    quality: Option<u8>,
}

impl Tool for VideoFrames {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: "video_frames".into(),
            title: Some("See frames of a video".into()),
            description: format!(
                "Return frames of a video as images a model can look at: the frames shown at \
                 the given times (seconds; a time past the end gives the last frame), or count \
                 frames spread evenly (the middle of each of count equal parts; default \
                 {DEFAULT_COUNT}; at most {MAX_FRAMES} either way). Each frame is fit for a \
                 model (long edge at most {MODEL_LONG_EDGE} px unless max_width/max_height \
                 say otherwise, rotation applied). Frames come as image content while the \
                 result stays within {RESULT_BUDGET} bytes (1 MiB of base64), then as \
                 resource_links to media://...?t= URIs (read them with resources/read). \
                 structuredContent lists every frame with its requested time and exact \
                 presentation timestamp (pts)."
            ),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of a video"},
                    "times": {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1, "maxItems": MAX_FRAMES, "description": "Seconds from the start (not with count)"},
                    "count": {"type": "integer", "minimum": 1, "maximum": MAX_FRAMES, "description": "Frames spread evenly over the video (default 4; not with times)"},
                    "max_width": {"type": "integer", "minimum": 1, "description": "Largest frame width (default: 1568 on the long edge)"},
                    "max_height": {"type": "integer", "minimum": 1, "description": "Largest frame height"},
                    "format": {"type": "string", "enum": ["jpeg", "png", "webp"], "description": "Image format (default: chosen from the content)"},
                    "quality": {"type": "integer", "minimum": 1, "maximum": 100, "description": "JPEG quality (default 85)"}
                },
                "required": ["uri"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string"},
                    "duration": {"type": "number"},
                    "frames": {"type": "array", "items": {"type": "object", "properties": {
                        "index": {"type": "integer"},
                        "requested": {"type": "number", "description": "The time asked for, seconds"},
                        "pts": {"type": "number", "description": "Presentation time of the frame shown, seconds"},
                        "uri": {"type": "string", "description": "Derived URI: resources/read gives these bytes"},
                        "width": {"type": "integer"}, "height": {"type": "integer"},
                        "format": {"type": "string"}, "bytes": {"type": "integer"},
                        "inline": {"type": "boolean", "description": "Whether the frame is an image block of this result (else a resource_link)"}
                    }, "required": ["index", "requested", "pts", "uri", "width", "height", "format", "bytes", "inline"]}}
                },
                "required": ["uri", "frames"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Video frames")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let bad = ToolError::InvalidArguments;
        if a.max_width == Some(0) || a.max_height == Some(0) {
            return Err(bad("max_width and max_height must be at least 1".into()));
        }
        if a.quality.is_some_and(|q| !(1..=100).contains(&q)) {
            return Err(bad("quality must be 1-100".into()));
        }
        let look = FrameLook {
            max_width: a.max_width,
            max_height: a.max_height,
            format: a
                .format
                .as_deref()
                .map(format_from_name)
                .transpose()
                .map_err(bad)?,
            quality: a.quality,
        };
        let requested: Option<Vec<f64>> = match (&a.times, a.count) {
            (Some(_), Some(_)) => {
                return Err(bad("give times or count, not both".into()));
            }
            (Some(ts), None) => {
                if ts.is_empty() || ts.len() > MAX_FRAMES {
                    return Err(bad(format!(
                        "times must hold 1 to {MAX_FRAMES} times, got {}",
                        ts.len()
                    )));
                }
                Some(
                    ts.iter()
                        .map(|&t| check_time("each time", t).map(canonical_seconds))
                        .collect::<Result<_, _>>()?,
                )
            }
            (None, Some(n)) if n == 0 || n as usize > MAX_FRAMES => {
                return Err(bad(format!("count must be 1 to {MAX_FRAMES}, got {n}")));
            }
            (None, _) => None,
        };
        let r = self.0.resolve(&a.uri)?;
        // Probed once here: spreading frames needs the duration, and the render reuses it.
        let src = self.0.open(&r)?;
        let duration = crate::derived::video::picture_duration(&src.info);
        let times = match requested {
            Some(t) => t,
            None => {
                let n = a.count.unwrap_or(DEFAULT_COUNT);
                let d = duration.ok_or_else(|| {
                    bad("the video's duration is unknown: give times instead of count".into())
                })?;
                (0..n)
                    .map(|i| canonical_seconds((f64::from(i) + 0.5) * d / f64::from(n)))
                    .collect()
            }
        };
        let n = times.len();
        let mut done = 0usize;
        let frames = render_frames(
            &self.0.lib,
            &self.0.cache,
            &r,
            &times,
            &look,
            &self.0.video,
            Some(src),
            &|| ctx.client.cancelled(),
            &mut |_| {
                done += 1;
                ctx.client.progress(
                    done as f64,
                    Some(n as f64),
                    Some(&format!("frame {done}/{n}")),
                );
            },
        )?;
        let base = r.uri.base();
        let name = r.rel.rsplit('/').next().unwrap_or(&r.rel).to_string();
        let text = n as u64 * TEXT_PER_FRAME;
        let budget = (RESULT_BUDGET / 3 * 4).saturating_sub(text) / 4 * 3;
        let mut used = 0u64;
        let mut inline = true;
        let mut list = Vec::with_capacity(n);
        let mut content = Vec::with_capacity(n + 1);
        for (i, (t, f)) in times.iter().zip(frames).enumerate() {
            let uri = frame_uri(&base, &FrameSpec { t: *t, look });
            let size = f.data.len() as u64;
            // Inline while within budget; once one is not, none after (the order is kept).
            inline = inline && used + size <= budget;
            let m = f.meta;
            list.push(json!({
                "index": i, "requested": t, "pts": (m.pts * 1e6).round() / 1e6, "uri": uri,
                "width": m.width, "height": m.height, "format": m.format.as_str(),
                "bytes": size, "inline": inline,
            }));
            if inline {
                used += size;
                content.push(Content::image(f.data, m.format.mime()).for_audience(&["assistant"]));
            } else {
                content.push(
                    Content::Link(ResourceInfo {
                        uri,
                        name: format!("{name} frame at {t} s"),
                        title: None,
                        description: Some(format!(
                            "frame shown at {t} s (pts {:.3} s), {}x{} {}",
                            m.pts,
                            m.width,
                            m.height,
                            m.format.as_str()
                        )),
                        mime_type: Some(m.format.mime().into()),
                        size: Some(size),
                        annotations: None,
                    })
                    .for_audience(&["assistant"]),
                );
            }
        }
        let mut structured = json!({"uri": base, "frames": list});
        if let Some(d) = duration {
            structured["duration"] = json!((d * 1000.0).round() / 1000.0);
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
