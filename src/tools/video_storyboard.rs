//! Tool `video_storyboard`: one grid image of evenly spaced frames of a video (or of a part of
//! it), each labelled with its timestamp, within a model's image budget (long edge 1568 px,
//! 1 MiB of base64); the frames are gathered in parallel. The result names the derived URI,
//! whose `resources/read` gives the same bytes. Must not know about the server or transports.

use crate::derived::video::{
    STORYBOARD_DEFAULT_COUNT, STORYBOARD_LONG_EDGE, STORYBOARD_MAX_BYTES, STORYBOARD_MAX_COUNT,
    StoryboardSpec, canonical_seconds, render_storyboard, storyboard_uri,
};
use crate::protocol::types::{Content, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::video_frames::{VideoTools, check_time};
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub struct VideoStoryboard(pub VideoTools);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
    count: Option<u32>,
    columns: Option<u32>,
    start: Option<f64>,
    end: Option<f64>,
}

impl Tool for VideoStoryboard {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: "video_storyboard".into(),
            title: Some("See a video at a glance".into()),
            description: format!(
                "Return one image of count frames (default {STORYBOARD_DEFAULT_COUNT}, at most \
                 {STORYBOARD_MAX_COUNT}) spread evenly over a video (or over start..end \
                 seconds: the middle of each of count equal parts), in a grid read left to \
                 right, top to bottom, each cell labelled with its timestamp (m:ss.s). Fit for \
                 a model: long edge at most {STORYBOARD_LONG_EDGE} px, at most \
                 {STORYBOARD_MAX_BYTES} bytes (1 MiB of base64). columns sets the grid's width \
                 (default: the layout with the largest cells). structuredContent gives the grid, \
                 each cell's time and exact pts, and a media:// URI whose resources/read returns \
                 the same bytes. Use video_frames for a closer look at any time."
            ),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of a video"},
                    "count": {"type": "integer", "minimum": 1, "maximum": STORYBOARD_MAX_COUNT, "description": "Frames in the grid (default 16)"},
                    "columns": {"type": "integer", "minimum": 1, "maximum": STORYBOARD_MAX_COUNT, "description": "Grid columns (default: chosen for the largest cells)"},
                    "start": {"type": "number", "minimum": 0, "description": "From this time, seconds (default 0)"},
                    "end": {"type": "number", "exclusiveMinimum": 0, "description": "To this time, seconds (default: the end)"}
                },
                "required": ["uri"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "Derived URI: resources/read gives these bytes"},
                    "source": {"type": "string"},
                    "width": {"type": "integer"}, "height": {"type": "integer"},
                    "format": {"type": "string"}, "mimeType": {"type": "string"},
                    "bytes": {"type": "integer"},
                    "columns": {"type": "integer"}, "rows": {"type": "integer"},
                    "frames": {"type": "array", "items": {"type": "object", "properties": {
                        "index": {"type": "integer"}, "requested": {"type": "number"}, "pts": {"type": "number"}
                    }, "required": ["index", "requested", "pts"]}}
                },
                "required": ["uri", "source", "width", "height", "format", "bytes", "columns", "rows", "frames"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Video storyboard")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let spec = StoryboardSpec {
            count: a.count.unwrap_or(STORYBOARD_DEFAULT_COUNT),
            columns: a.columns,
            start: a
                .start
                .map(|s| check_time("start", s).map(canonical_seconds))
                .transpose()?,
            end: a
                .end
                .map(|e| check_time("end", e).map(canonical_seconds))
                .transpose()?,
        };
        spec.validate().map_err(ToolError::InvalidArguments)?;
        let r = self.0.resolve(&a.uri)?;
        let cancelled = || ctx.client.cancelled();
        let board = render_storyboard(
            &self.0.lib,
            &self.0.cache,
            &r,
            &spec,
            &self.0.video,
            None,
            &cancelled,
        )?;
        let m = &board.meta;
        let frames: Vec<Value> = m
            .cells
            .iter()
            .enumerate()
            .map(|(i, (t, pts))| json!({"index": i, "requested": t, "pts": (pts * 1e6).round() / 1e6}))
            .collect();
        let structured = json!({
            "uri": storyboard_uri(&r.uri.base(), &spec), "source": r.uri.base(),
            "width": m.width, "height": m.height, "format": m.format.as_str(),
            "mimeType": m.format.mime(), "bytes": board.data.len(),
            "columns": m.columns, "rows": m.rows, "frames": frames,
        });
        Ok(ToolResult {
            content: vec![
                Content::image(board.data, m.format.mime()).for_audience(&["assistant"]),
                Content::text(structured.to_string()),
            ],
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}
