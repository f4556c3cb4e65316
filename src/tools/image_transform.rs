//! Tool `image_transform`: any image in the library as one `image` content block a model
//! accepts (by default: long edge at most 1568 px, never upscaled, at most 1 MiB of base64, the
//! format chosen from the content), or the variant the arguments ask for (resize with a fit
//! mode, crop, rotate, flip, format, quality, byte budget). The result names the derived URI,
//! whose `resources/read` gives the same bytes; animations give N evenly spaced frames.
//! Must not know about the server or transports.

use crate::cache::DerivedCache;
use crate::derived::image::{
    canonical_fraction, fit_from_name, flip_from_name, format_from_name, image_uri, render_image,
    rotation_from_degrees,
};
use crate::library::{Library, MediaKind};
use crate::media::image::decode::DecodeOptions;
use crate::media::image::{Crop, MODEL_MAX_BYTES, TransformSpec};
use crate::protocol::types::{Content, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Most frames one call returns from an animation.
pub const MAX_FRAMES: u32 = 16;

/// What the image tools share: the library, the cache, how images are decoded, and the
/// largest `max_bytes` a caller may ask for (the inline read limit).
#[derive(Clone)]
pub struct ImageCtx {
    pub lib: Arc<Library>,
    pub cache: Arc<DerivedCache>,
    pub opts: DecodeOptions,
    pub max_bytes_limit: u64,
}

impl ImageCtx {
    /// Renders (or fetches from the cache) the variant `spec` of a resolved image.
    pub(crate) fn render(
        &self,
        r: &crate::library::Resolved,
        spec: &TransformSpec,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<crate::derived::image::RenderedImage, ToolError> {
        Ok(render_image(
            &self.lib,
            &self.cache,
            r,
            spec,
            &self.opts,
            self.max_bytes_limit,
            cancelled,
        )?)
    }
}

pub struct ImageTransform(pub ImageCtx);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CropArg {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    unit: Option<String>,
}

impl CropArg {
    pub(crate) fn to_crop(&self) -> Result<Crop, ToolError> {
        let bad = |m: String| ToolError::InvalidArguments(m);
        match self.unit.as_deref().unwrap_or("px") {
            "px" | "pixels" => {
                let px = |v: f64, name: &str| {
                    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
                        Ok(v as u32)
                    } else {
                        Err(bad(format!(
                            "crop.{name} must be a whole number of pixels >= 0, got {v}"
                        )))
                    }
                };
                Ok(Crop::Pixels {
                    x: px(self.x, "x")?,
                    y: px(self.y, "y")?,
                    width: px(self.width, "width")?,
                    height: px(self.height, "height")?,
                })
            }
            "fraction" => Ok(Crop::Fractions {
                x: canonical_fraction(self.x),
                y: canonical_fraction(self.y),
                width: canonical_fraction(self.width),
                height: canonical_fraction(self.height),
            }),
            other => Err(bad(format!(
                "crop.unit must be px or fraction, got {other:?}"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
    max_width: Option<u32>,
    max_height: Option<u32>,
    fit: Option<String>,
    crop: Option<CropArg>,
    rotate: Option<i64>,
    flip: Option<String>,
    format: Option<String>,
    quality: Option<u8>,
    max_bytes: Option<u64>,
    upscale: Option<bool>,
    frames: Option<u32>,
}

/// The crop property of a tool's input schema.
pub(crate) fn crop_schema() -> Value {
    json!({"type": "object", "description": "Crop rectangle in the displayed image (after EXIF orientation), before resizing: pixels by default, or fractions 0-1 of the width and height with unit: fraction",
        "properties": {
            "x": {"type": "number", "minimum": 0}, "y": {"type": "number", "minimum": 0},
            "width": {"type": "number", "exclusiveMinimum": 0}, "height": {"type": "number", "exclusiveMinimum": 0},
            "unit": {"type": "string", "enum": ["px", "fraction"]}
        },
        "required": ["x", "y", "width", "height"], "additionalProperties": false})
}

/// Resolves the URI of an image file: no query, exists, is an image.
pub(crate) fn resolve_image(
    lib: &Library,
    uri: &str,
) -> Result<crate::library::Resolved, ToolError> {
    let r = lib.resolve(uri)?;
    if !r.uri.query.is_empty() {
        return Err(ToolError::InvalidArguments(format!(
            "pass the image's URI without a query: {}",
            r.uri.base()
        )));
    }
    let stat = lib.stat(&r)?;
    if stat.sniffed.kind != MediaKind::Image {
        return Err(ToolError::InvalidArguments(format!(
            "{uri} is {}, not an image",
            stat.sniffed.kind.as_str()
        )));
    }
    Ok(r)
}

impl ImageTransform {
    fn spec(&self, a: &Args) -> Result<TransformSpec, ToolError> {
        let bad = ToolError::InvalidArguments;
        let mut spec = TransformSpec::for_model();
        if a.max_width.is_some() || a.max_height.is_some() {
            spec.max_width = a.max_width;
            spec.max_height = a.max_height;
        }
        if a.max_width == Some(0) || a.max_height == Some(0) {
            return Err(bad("max_width and max_height must be at least 1".into()));
        }
        if let Some(f) = &a.fit {
            spec.fit = fit_from_name(f).map_err(bad)?;
        }
        spec.crop = a.crop.as_ref().map(CropArg::to_crop).transpose()?;
        if let Some(d) = a.rotate {
            spec.rotate = rotation_from_degrees(d).map_err(bad)?;
        }
        if let Some(f) = &a.flip {
            spec.flip = flip_from_name(f).map_err(bad)?;
        }
        if let Some(f) = &a.format {
            spec.format = Some(format_from_name(f).map_err(bad)?);
        }
        if let Some(q) = a.quality {
            if !(1..=100).contains(&q) {
                return Err(bad(format!("quality must be 1-100, got {q}")));
            }
            spec.quality = Some(q);
        }
        if let Some(b) = a.max_bytes {
            if b > self.0.max_bytes_limit {
                return Err(bad(format!(
                    "max_bytes may be at most {} (the inline limit), got {b}",
                    self.0.max_bytes_limit
                )));
            }
            spec.max_bytes = Some(b);
        }
        spec.upscale = a.upscale.unwrap_or(false);
        Ok(spec)
    }
}

impl Tool for ImageTransform {
    fn def(&self) -> ToolDef {
        ToolDef {
            name: "image_transform".into(),
            title: Some("See an image".into()),
            description: format!(
                "Return an image from the library as image content a model can look at. With no \
                 options it is fit for a model: long edge at most 1568 px, never upscaled, at most \
                 {MODEL_MAX_BYTES} bytes (1 MiB of base64), JPEG for photos and PNG for images \
                 with transparency or few colours, EXIF orientation applied. Options: \
                 max_width/max_height with fit (inside keeps the aspect, cover crops to fill, \
                 exact stretches), crop (pixels, or fractions with unit: fraction), rotate \
                 (90/180/270), flip, format (jpeg/png/webp), quality (1-100), max_bytes (quality \
                 is lowered first, then the size), upscale, frames (N evenly spaced frames of an \
                 animated GIF/WebP). structuredContent gives the output size and format and a \
                 media:// URI whose resources/read returns the same bytes."
            ),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string", "description": "media:// URI of an image"},
                    "max_width": {"type": "integer", "minimum": 1, "description": "Largest output width (default: 1568 on the long edge)"},
                    "max_height": {"type": "integer", "minimum": 1, "description": "Largest output height"},
                    "fit": {"type": "string", "enum": ["inside", "cover", "exact"], "description": "inside (default), cover or exact"},
                    "crop": crop_schema(),
                    "rotate": {"type": "integer", "enum": [0, 90, 180, 270], "description": "Clockwise degrees"},
                    "flip": {"type": "string", "enum": ["horizontal", "vertical", "both"]},
                    "format": {"type": "string", "enum": ["jpeg", "png", "webp"], "description": "Output format (default: chosen from the content); webp is lossless"},
                    "quality": {"type": "integer", "minimum": 1, "maximum": 100, "description": "JPEG quality (default 85)"},
                    "max_bytes": {"type": "integer", "minimum": 1, "description": "Byte budget of the output (default 786432, i.e. 1 MiB of base64)"},
                    "upscale": {"type": "boolean", "description": "Allow output larger than the source (default false)"},
                    "frames": {"type": "integer", "minimum": 1, "maximum": MAX_FRAMES, "description": "Animated images: this many evenly spaced frames (default: the first)"}
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
                    "bytes": {"type": "integer"}, "quality": {"type": "integer"},
                    "sourceWidth": {"type": "integer"}, "sourceHeight": {"type": "integer"},
                    "steps": {"type": "array", "items": {"type": "string"}},
                    "frames": {"type": "array", "items": {"type": "object"}}
                },
                "required": ["source", "width", "height", "format", "mimeType", "bytes"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("See an image")),
        }
    }

    fn call(&self, args: &Map<String, Value>, ctx: &ToolCtx<'_>) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let spec = self.spec(&a)?;
        let r = resolve_image(&self.0.lib, &a.uri)?;
        let cancelled = || ctx.client.cancelled();
        if let Some(n) = a.frames.filter(|n| *n > 1) {
            return self.frames(&r, &spec, n, &cancelled);
        }
        let out = self.0.render(&r, &spec, &cancelled)?;
        let uri = image_uri(&r.uri.base(), &spec);
        let m = &out.meta;
        let mut structured = json!({
            "uri": uri, "source": r.uri.base(), "width": m.width, "height": m.height,
            "format": m.format.as_str(), "mimeType": m.format.mime(), "bytes": out.data.len(),
            "sourceWidth": m.source_width, "sourceHeight": m.source_height,
        });
        if let Some(q) = m.quality {
            structured["quality"] = q.into();
        }
        if !m.steps.is_empty() {
            structured["steps"] = json!(m.steps);
        }
        Ok(ToolResult {
            content: vec![
                Content::image(out.data, m.format.mime()),
                Content::text(structured.to_string()),
            ],
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}

impl ImageTransform {
    /// N evenly spaced frames of an animation, each its own `image` block (not cached: frames
    /// have no derived URI), within one result's byte budget.
    fn frames(
        &self,
        r: &crate::library::Resolved,
        spec: &TransformSpec,
        n: u32,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<ToolOutcome, ToolError> {
        if n > MAX_FRAMES {
            return Err(ToolError::InvalidArguments(format!(
                "frames may be at most {MAX_FRAMES}, got {n}"
            )));
        }
        // The byte budget is shared by the frames of one result.
        let mut each = spec.clone();
        let budget = spec.max_bytes.unwrap_or(MODEL_MAX_BYTES);
        each.max_bytes = Some(budget / u64::from(n));
        let file = self.0.lib.open(r)?;
        let frames = crate::media::image::pipeline::render_frames(
            std::io::BufReader::new(file),
            n,
            &self.0.opts,
            &each,
            cancelled,
        )?;
        let first = frames.first().ok_or_else(|| {
            ToolError::Media(crate::media::image::ImageError::Corrupt("no frames".into()).into())
        })?;
        let mut structured = json!({
            "source": r.uri.base(), "width": first.width, "height": first.height,
            "format": first.format.as_str(), "mimeType": first.format.mime(),
            "bytes": frames.iter().map(|f| f.bytes.len()).sum::<usize>(),
        });
        let mut content = Vec::with_capacity(frames.len() + 1);
        let mut list = Vec::with_capacity(frames.len());
        for (i, f) in frames.into_iter().enumerate() {
            list.push(json!({"index": i, "width": f.width, "height": f.height,
                "format": f.format.as_str(), "bytes": f.bytes.len()}));
            content.push(Content::image(f.bytes.into(), f.format.mime()));
        }
        structured["frames"] = list.into();
        content.push(Content::text(structured.to_string()));
        Ok(ToolResult {
            content,
            structured: Some(structured),
            is_error: false,
        }
        .into())
    }
}
