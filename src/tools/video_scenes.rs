//! Tool `video_scenes`: the times where a video's picture changes (cuts), from small frames
//! sampled a few times a second and compared cheaply (colour histogram and pixel difference),
//! so a model can ask for the frames that matter. Each scene names the derived URI of its
//! first frame. Must not know about the server or transports.

use crate::derived::video::{FrameLook, FrameSpec, canonical_seconds, frame_uri};
use crate::media::video::scenes::{self, DEFAULT_MAX, DEFAULT_THRESHOLD, Options};
use crate::protocol::types::{Content, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::video_frames::VideoTools;
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Most scenes one call may ask for.
pub const MAX_SCENES: usize = 500;

pub struct VideoScenes(pub VideoTools);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
    threshold: Option<f64>,
    max: Option<usize>,
}

/// `m:ss.s`.
fn clock(t: f64) -> String {
    let tenths = (t.max(0.0) * 10.0).round() as u64;
    format!("{}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
}

impl Tool for VideoScenes {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: "video_scenes".into(),
            title: Some("Find the scene changes of a video".into()),
            description: format!(
                "Find the times where a video's picture changes (cuts between shots): small \
                 frames sampled about 4 times a second are compared (colour histogram and pixel \
                 difference); a change that stands out from the one before scores 0..1, and \
                 scores above threshold (default {DEFAULT_THRESHOLD}; lower finds more) are \
                 scenes, at least 1 s apart, the max (default {DEFAULT_MAX}) strongest kept. \
                 structuredContent lists each scene's time (seconds: the first sample after the \
                 cut) and score, and the media:// URI of the frame shown then (resources/read \
                 it, or pass the times to video_frames)."
            ),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of a video"},
                    "threshold": {"type": "number", "minimum": 0, "maximum": 1, "description": "Score above which a change is a scene (default 0.3)"},
                    "max": {"type": "integer", "minimum": 1, "maximum": MAX_SCENES, "description": "Most scenes returned, the strongest (default 100)"}
                },
                "required": ["uri"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string"},
                    "threshold": {"type": "number"},
                    "duration": {"type": "number"},
                    "scenes": {"type": "array", "items": {"type": "object", "properties": {
                        "time": {"type": "number"}, "score": {"type": "number"},
                        "frame": {"type": "string", "description": "Derived URI of the frame shown at time"}
                    }, "required": ["time", "score", "frame"]}}
                },
                "required": ["uri", "threshold", "scenes"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Video scenes")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let threshold = a.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(ToolError::InvalidArguments(format!(
                "threshold must be within 0..1, got {threshold}"
            )));
        }
        let max = a.max.unwrap_or(DEFAULT_MAX);
        if !(1..=MAX_SCENES).contains(&max) {
            return Err(ToolError::InvalidArguments(format!(
                "max must be 1 to {MAX_SCENES}, got {max}"
            )));
        }
        let r = self.0.resolve(&a.uri)?;
        let src = self.0.open(&r)?;
        let opts = Options {
            threshold,
            max,
            ..Options::default()
        };
        let mut last = -1.0f64;
        let found = scenes::detect(
            &src.input,
            &src.info,
            None,
            &opts,
            &self.0.video,
            &|| ctx.client.cancelled(),
            &mut |done, total| {
                // One report per whole second of video scanned.
                if done.floor() > last {
                    last = done.floor();
                    ctx.client.progress(
                        (done * 1000.0).round() / 1000.0,
                        Some((total * 1000.0).round() / 1000.0),
                        Some(&format!("{done:.1} of {total:.1} s scanned")),
                    );
                }
            },
        )?;
        let base = r.uri.base();
        let list: Vec<Value> = found
            .iter()
            .map(|s| {
                let t = canonical_seconds(s.time);
                let frame = frame_uri(
                    &base,
                    &FrameSpec {
                        t,
                        look: FrameLook::default(),
                    },
                );
                json!({"time": t, "score": (s.score * 1000.0).round() / 1000.0, "frame": frame})
            })
            .collect();
        let mut structured = json!({"uri": base, "threshold": threshold, "scenes": list});
        if let Some(d) = src.info.duration {
            structured["duration"] = json!(canonical_seconds(d));
        }
        let summary = if found.is_empty() {
            format!("No scene changes above {threshold} in {base}.")
        } else {
            let at: Vec<String> = found
                .iter()
                .map(|s| format!("{} (score {:.2})", clock(s.time), s.score))
                .collect();
            format!(
                "{} scene change(s) in {base}: {}.",
                found.len(),
                at.join(", ")
            )
        };
        Ok(ToolResult {
            content: vec![
                Content::text(summary),
                Content::text(structured.to_string()),
            ],
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}
