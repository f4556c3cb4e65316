//! Tool `image_tiles`: cuts a large image into a grid of tiles (optionally overlapping), each
//! within a model's budget, so a model can look at detail. Tiles come as `image` blocks while
//! the result's byte budget lasts, then as `resource_link`s to their derived URIs (rendered
//! when read); every tile's pixel rectangle is in `structuredContent`.
//! Must not know about the server or transports.

use crate::derived::image::{format_from_name, image_uri};
use crate::media::image::tiles::{TileSpec, grid};
use crate::media::image::{Crop, MODEL_LONG_EDGE, MODEL_MAX_BYTES, TransformSpec};
use crate::protocol::types::{Content, ResourceInfo, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::image_transform::{ImageCtx, resolve_image};
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::io::BufReader;

/// Raw bytes of `image` blocks one result may carry (1 MiB of base64, less the text that
/// describes the tiles: [`TEXT_PER_TILE`] each); further tiles are links.
pub const RESULT_BUDGET: u64 = MODEL_MAX_BYTES;
/// Bytes reserved per tile for its entry in the text block, in `structuredContent` and, past
/// the budget, its `resource_link`.
pub const TEXT_PER_TILE: u64 = 768;
/// Most tiles one call renders (each decodes the source): the rest come as links, rendered
/// when read.
pub const MAX_INLINE_TILES: usize = 16;

pub struct ImageTiles(pub ImageCtx);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
    rows: Option<u32>,
    cols: Option<u32>,
    tile_size: Option<u32>,
    overlap: Option<u32>,
    format: Option<String>,
    quality: Option<u8>,
    inline: Option<bool>,
}

impl Tool for ImageTiles {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: "image_tiles".into(),
            title: Some("Look at an image's detail in tiles".into()),
            description: format!(
                "Cut an image into a grid of tiles so a model can look at its detail: give rows \
                 and/or cols, or tile_size (pixels of the displayed image per tile; default \
                 {MODEL_LONG_EDGE}), and overlap in pixels. Each tile is cropped from the full \
                 image and fit for a model (long edge at most {MODEL_LONG_EDGE} px). Tiles come \
                 as image content while the result stays within {RESULT_BUDGET} bytes (1 MiB of \
                 base64), then as resource_links to media:// URIs (read them with \
                 resources/read). structuredContent lists every tile with its row, column and \
                 pixel rectangle. At most {MAX_INLINE_TILES} tiles are rendered inline."
            ),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of an image"},
                    "rows": {"type": "integer", "minimum": 1, "maximum": 16},
                    "cols": {"type": "integer", "minimum": 1, "maximum": 16},
                    "tile_size": {"type": "integer", "minimum": 64, "description": "Tile edge in source pixels (default 1568) when rows/cols are not given"},
                    "overlap": {"type": "integer", "minimum": 0, "description": "Pixels each tile shares with its neighbours (default 0)"},
                    "format": {"type": "string", "enum": ["jpeg", "png", "webp"]},
                    "quality": {"type": "integer", "minimum": 1, "maximum": 100},
                    "inline": {"type": "boolean", "description": "false: links only, nothing rendered now (default true)"}
                },
                "required": ["uri"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "source": {"type": "string"},
                    "sourceWidth": {"type": "integer"}, "sourceHeight": {"type": "integer"},
                    "rows": {"type": "integer"}, "cols": {"type": "integer"},
                    "tiles": {"type": "array", "items": {"type": "object", "properties": {
                        "row": {"type": "integer"}, "col": {"type": "integer"},
                        "x": {"type": "integer"}, "y": {"type": "integer"},
                        "width": {"type": "integer"}, "height": {"type": "integer"},
                        "uri": {"type": "string"}, "inline": {"type": "boolean"},
                        "outputWidth": {"type": "integer"}, "outputHeight": {"type": "integer"},
                        "bytes": {"type": "integer"}
                    }, "required": ["row", "col", "x", "y", "width", "height", "uri", "inline"]}}
                },
                "required": ["source", "sourceWidth", "sourceHeight", "rows", "cols", "tiles"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Image tiles")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let bad = ToolError::InvalidArguments;
        let r = resolve_image(&self.0.lib, &a.uri)?;
        let format = a
            .format
            .as_deref()
            .map(format_from_name)
            .transpose()
            .map_err(bad)?;
        if a.quality.is_some_and(|q| !(1..=100).contains(&q)) {
            return Err(ToolError::InvalidArguments("quality must be 1-100".into()));
        }
        let info = crate::media::image::probe(BufReader::new(self.0.lib.open(&r)?), false)?;
        let display = (info.display_width, info.display_height);
        let rects = grid(
            display,
            &TileSpec {
                rows: a.rows,
                cols: a.cols,
                tile_size: a.tile_size,
                overlap: a.overlap.unwrap_or(0),
            },
        )?;
        let rows = rects.iter().map(|t| t.row + 1).max().unwrap_or(0);
        let cols = rects.iter().map(|t| t.col + 1).max().unwrap_or(0);
        let base = r.uri.base();
        // Image bytes this result may carry: 1 MiB of base64 once the text is set aside.
        let text = rects.len() as u64 * TEXT_PER_TILE;
        let budget = (RESULT_BUDGET / 3 * 4).saturating_sub(text) / 4 * 3;
        let mut used = 0u64;
        let mut inline = a.inline.unwrap_or(true);
        let mut tiles = Vec::with_capacity(rects.len());
        let mut content = Vec::new();
        let n = rects.len();
        for (i, t) in rects.iter().enumerate() {
            let spec = TransformSpec {
                crop: Some(Crop::Pixels {
                    x: t.x,
                    y: t.y,
                    width: t.width,
                    height: t.height,
                }),
                format,
                quality: a.quality,
                ..TransformSpec::for_model()
            };
            let uri = image_uri(&base, &spec);
            let mut entry = json!({"row": t.row, "col": t.col, "x": t.x, "y": t.y,
                "width": t.width, "height": t.height, "uri": uri, "inline": false});
            let name = format!("{} tile r{}c{}", r.rel, t.row, t.col);
            // Rendered inline while allowed and within budget; once one is not, none after.
            inline = inline && i < MAX_INLINE_TILES;
            let mut rendered = false;
            if inline {
                let out = self.0.render(&r, &spec, &|| ctx.client.cancelled())?;
                rendered = used + out.data.len() as u64 <= budget;
                if rendered {
                    used += out.data.len() as u64;
                    entry["inline"] = true.into();
                    entry["outputWidth"] = out.meta.width.into();
                    entry["outputHeight"] = out.meta.height.into();
                    entry["bytes"] = out.data.len().into();
                    content.push(Content::image(out.data, out.meta.format.mime()));
                    ctx.client.progress(
                        (i + 1) as f64,
                        Some(n as f64),
                        Some(&format!("tile {}/{n}", i + 1)),
                    );
                }
                // Over the budget: this tile (now cached) and the rest become links.
                inline = rendered;
            }
            if !rendered {
                content.push(Content::Link(ResourceInfo {
                    uri: uri.clone(),
                    name,
                    title: None,
                    description: Some(format!(
                        "tile row {} col {}: pixels {}x{} at ({}, {})",
                        t.row, t.col, t.width, t.height, t.x, t.y
                    )),
                    mime_type: format.map(|f| f.mime().to_string()),
                    size: None,
                    annotations: None,
                }));
            }
            tiles.push(entry);
        }
        let structured = json!({
            "source": base, "sourceWidth": display.0, "sourceHeight": display.1,
            "rows": rows, "cols": cols, "tiles": tiles,
        });
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
