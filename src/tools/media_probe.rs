//! Tool `media_probe`: what a media file is and what can be read cheaply from it (kind, MIME
//! type, size, modification time; image format, dimensions and orientation from the header).
//! The audio and video pipelines deepen it. Must not know about the server or transports.

use crate::library::{Library, MediaKind, iso8601};
use crate::media::image as img;
use crate::protocol::types::{Content, ToolAnnotations, ToolDef, ToolResult};
use crate::tools::{Tool, ToolCtx, ToolError, ToolOutcome, nullable_optionals, parse_args};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::io::BufReader;
use std::sync::Arc;

pub struct MediaProbe {
    lib: Arc<Library>,
    /// Report EXIF GPS positions (`--expose-gps`).
    expose_gps: bool,
    /// What may be decoded (`decodable`).
    limits: img::ImageLimits,
    /// How video is probed (ffprobe, limits); `None`: video files get no `video` facts.
    video: Option<Arc<crate::media::video::VideoCtx>>,
}

impl MediaProbe {
    pub fn new(lib: Arc<Library>, expose_gps: bool, limits: img::ImageLimits) -> Self {
        MediaProbe {
            lib,
            expose_gps,
            limits,
            video: None,
        }
    }

    /// Probes video files' containers and tracks as `video` says.
    pub fn with_video(mut self, video: Arc<crate::media::video::VideoCtx>) -> Self {
        self.video = Some(video);
        self
    }
}

/// The `video` object of a probe: container facts and every track.
fn video_json(v: &crate::media::video::VideoInfo) -> Value {
    let secs = |d: f64| Value::from((d * 1000.0).round() / 1000.0);
    let mut out = json!({
        "container": v.container,
        "engine": v.engine.map(|e| e.as_str()),
        "decodable": v.engine.is_some(),
        "tracks": v.video.iter().map(|t| {
            let mut o = json!({
                "id": t.id, "codec": t.codec, "width": t.width, "height": t.height,
                "displayWidth": t.display_width, "displayHeight": t.display_height,
                "rotation": t.rotation,
            });
            for (k, val) in [
                ("frameRate", t.frame_rate.map(|f| Value::from((f * 1000.0).round() / 1000.0))),
                ("pixelFormat", t.pixel_format.clone().map(Value::from)),
                ("bitDepth", t.bit_depth.map(Value::from)),
                ("bitrate", t.bitrate.map(Value::from)),
                ("frames", t.frames.map(Value::from)),
                ("durationSeconds", t.duration.map(secs)),
                ("keyframeInterval", t.keyframe_interval.map(secs)),
            ] {
                if let Some(val) = val {
                    o[k] = val;
                }
            }
            o
        }).collect::<Vec<_>>(),
        "audioTracks": v.audio.iter().map(|t| {
            let mut o = json!({"id": t.id, "codec": t.codec});
            for (k, val) in [
                ("sampleRate", t.sample_rate.map(Value::from)),
                ("channels", t.channels.map(Value::from)),
                ("bitrate", t.bitrate.map(Value::from)),
                ("durationSeconds", t.duration.map(secs)),
            ] {
                if let Some(val) = val {
                    o[k] = val;
                }
            }
            o
        }).collect::<Vec<_>>(),
    });
    if let Some(d) = v.duration {
        out["durationSeconds"] = secs(d);
    }
    if let Some(b) = v.bitrate {
        out["bitrate"] = b.into();
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    uri: String,
}

impl Tool for MediaProbe {
    fn cost(&self) -> crate::tools::Cost {
        crate::tools::Cost::Light
    }

    fn def(&self) -> ToolDef {
        ToolDef {
            name: "media_probe".into(),
            title: Some("Probe media".into()),
            description: "Describe one media file given its media:// URI (from media_list or \
                resources/list): kind (audio, image, video), MIME type from the file's content, \
                size in bytes, last modification time; for images the format, stored and \
                displayed dimensions and EXIF orientation; for audio (and the audio track of \
                video) the container, codec, sample rate, channels and layout, bit depth, \
                duration, bitrate, tags and whether cover art is embedded; for video the container, \
                duration, bitrate, what decodes it here (engine), every video track (codec, coded \
                and displayed size, rotation, frame rate, pixel format, bit depth, bitrate, frame \
                count, keyframe interval) and audio track. Reads headers only, so it is cheap on \
                any file size."
                .into(),
            input_schema: nullable_optionals(json!({
                "type": "object",
                "properties": {
                    // No `x-mcp-header` here: clients that call a tool without listing tools
                    // first cannot know to send the header, and would be refused.
                    "uri": {"type": "string", "description": "A media:// URI, e.g. media://samples/images/photo.jpg"}
                },
                "required": ["uri"],
                "additionalProperties": false
            })),
            output_schema: Some(json!({
                "type": "object",
                "properties": {
                    "uri": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["audio", "image", "video"]},
                    "mimeType": {"type": "string"},
                    "size": {"type": "integer", "minimum": 0},
                    "lastModified": {"type": "string"},
                    "image": {
                        "type": "object",
                        "properties": {
                            "format": {"type": "string"},
                            "width": {"type": "integer"}, "height": {"type": "integer"},
                            "orientation": {"type": "integer", "minimum": 1, "maximum": 8},
                            "displayWidth": {"type": "integer"}, "displayHeight": {"type": "integer"},
                            "megapixels": {"type": "number"},
                            "decodable": {"type": "boolean"},
                            "colorType": {"type": "string", "description": "e.g. rgb8, rgba16, l8, cmyk"},
                            "bitDepth": {"type": "integer"},
                            "hasAlpha": {"type": "boolean"},
                            "iccProfile": {"type": "boolean", "description": "An embedded ICC profile (converted to sRGB on decode)"},
                            "frames": {"type": "integer", "description": "Frames of an animation (counted up to the frame limit)"},
                            "exif": {"type": "object", "properties": {
                                "dateTaken": {"type": "string"}, "make": {"type": "string"}, "model": {"type": "string"},
                                "gps": {"type": "object", "description": "Only with --expose-gps", "properties": {
                                    "latitude": {"type": "number"}, "longitude": {"type": "number"}, "altitude": {"type": "number"}
                                }, "required": ["latitude", "longitude"]}
                            }}
                        },
                        "required": ["format", "width", "height", "orientation", "displayWidth", "displayHeight", "decodable"]
                    },
                    "audio": {
                        "type": "object",
                        "properties": {
                            "container": {"type": "string"}, "codec": {"type": "string"},
                            "sampleRate": {"type": "integer"}, "channels": {"type": "integer"},
                            "channelLayout": {"type": "string", "description": "mono, stereo, 2.1, quad, 5.1, 7.1, ... (ffmpeg's names), or the channel names joined with '+'"},
                            "channelNames": {"type": "array", "items": {"type": "string"}, "description": "Each channel in stream order: FL, FR, FC, LFE, BL, BR, SL, SR, ..."},
                            "bitsPerSample": {"type": "integer"},
                            "durationSeconds": {"type": "number"}, "bitrate": {"type": "integer"},
                            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                            "hasCoverArt": {"type": "boolean"}, "decodable": {"type": "boolean"}
                        },
                        "required": ["container", "codec", "decodable", "tags", "hasCoverArt"]
                    },
                    "video": {
                        "type": "object",
                        "properties": {
                            "container": {"type": "string"},
                            "durationSeconds": {"type": "number"}, "bitrate": {"type": "integer"},
                            "engine": {"type": ["string", "null"], "enum": ["native", "ffmpeg", null], "description": "What decodes the picture here (null: nothing; see warnings)"},
                            "decodable": {"type": "boolean"},
                            "tracks": {"type": "array", "items": {"type": "object", "properties": {
                                "id": {"type": "integer"}, "codec": {"type": "string"},
                                "width": {"type": "integer"}, "height": {"type": "integer"},
                                "displayWidth": {"type": "integer"}, "displayHeight": {"type": "integer"},
                                "rotation": {"type": "integer", "description": "Clockwise degrees applied for display"},
                                "frameRate": {"type": "number"}, "pixelFormat": {"type": "string"},
                                "bitDepth": {"type": "integer"}, "bitrate": {"type": "integer"},
                                "frames": {"type": "integer"}, "durationSeconds": {"type": "number"},
                                "keyframeInterval": {"type": "number", "description": "Seconds between keyframes"}
                            }, "required": ["id", "codec", "width", "height", "displayWidth", "displayHeight", "rotation"]}},
                            "audioTracks": {"type": "array", "items": {"type": "object", "properties": {
                                "id": {"type": "integer"}, "codec": {"type": "string"},
                                "sampleRate": {"type": "integer"}, "channels": {"type": "integer"},
                                "bitrate": {"type": "integer"}, "durationSeconds": {"type": "number"}
                            }, "required": ["id", "codec"]}}
                        },
                        "required": ["container", "engine", "decodable", "tracks", "audioTracks"]
                    },
                    "warnings": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["uri", "name", "kind", "mimeType", "size"]
            })),
            annotations: Some(ToolAnnotations::read_only_local("Probe media")),
        }
    }

    fn call(
        &self,
        args: &Map<String, Value>,
        _ctx: &ToolCtx<'_>,
    ) -> Result<ToolOutcome, ToolError> {
        let a: Args = parse_args(args)?;
        let r = self.lib.resolve(&a.uri)?;
        if !r.uri.query.is_empty() {
            return Err(ToolError::InvalidArguments(format!(
                "media_probe takes a file URI without a query; use {}",
                r.uri.base()
            )));
        }
        let info = self.lib.stat(&r)?;
        let name = r.rel.rsplit('/').next().unwrap_or(&r.rel).to_string();
        let mut out = json!({
            "uri": r.uri.base(),
            "name": name,
            "kind": info.sniffed.kind.as_str(),
            "mimeType": info.sniffed.mime,
            "size": info.size,
        });
        if let Some(m) = info.modified {
            out["lastModified"] = iso8601(m).into();
        }
        let mut warnings: Vec<String> = vec![];
        if info.sniffed.kind == MediaKind::Image {
            let file = self.lib.open(&r)?;
            let ii = img::probe(BufReader::new(file), self.expose_gps)
                .map_err(crate::media::MediaError::from)?;
            let frames = ii.frames.unwrap_or(1).min(self.limits.max_frames);
            let over = img::decode::check_limits(&ii, &self.limits, 1, 4).err();
            if let Some(e) = &over {
                warnings.push(format!("{e}: it can be probed but not decoded"));
            }
            let mut image = json!({
                "format": ii.format, "width": ii.width, "height": ii.height,
                "orientation": ii.orientation, "displayWidth": ii.display_width,
                "displayHeight": ii.display_height,
                "megapixels": (ii.pixels() as f64 / 1e4).round() / 100.0,
                "decodable": over.is_none(),
                "colorType": ii.color_type, "bitDepth": ii.bit_depth,
                "hasAlpha": ii.has_alpha, "iccProfile": ii.icc,
            });
            if ii.frames.is_some() {
                image["frames"] = frames.into();
            }
            if ii.frames_capped {
                warnings.push(format!(
                    "the animation has more than {frames} frames; only the first {frames} are read"
                ));
            }
            let mut exif = serde_json::Map::new();
            for (k, v) in [
                ("dateTaken", &ii.date_taken),
                ("make", &ii.camera_make),
                ("model", &ii.camera_model),
            ] {
                if let Some(v) = v {
                    exif.insert(k.into(), v.clone().into());
                }
            }
            if let Some(g) = &ii.gps {
                let mut gps = json!({"latitude": g.latitude, "longitude": g.longitude});
                if let Some(a) = g.altitude {
                    gps["altitude"] = a.into();
                }
                exif.insert("gps".into(), gps);
            }
            if !exif.is_empty() {
                image["exif"] = exif.into();
            }
            out["image"] = image;
        }
        if info.sniffed.kind == MediaKind::Video
            && let Some(ctx) = &self.video
        {
            match crate::derived::video::open_source(&self.lib, &r, ctx) {
                Ok(src) => {
                    if src.info.engine.is_none() {
                        warnings.push(format!(
                            "no decoder for this video's picture here ({}): {}",
                            src.info
                                .video
                                .first()
                                .map_or("no video track", |t| t.codec.as_str()),
                            crate::media::video::ffmpeg::INSTALL_HINT
                        ));
                    }
                    out["video"] = video_json(&src.info);
                }
                Err(crate::derived::video::VideoDerivedError::Library(l)) => return Err(l.into()),
                Err(e) => warnings.push(format!("video unreadable: {e}")),
            }
        }
        if matches!(info.sniffed.kind, MediaKind::Audio | MediaKind::Video) {
            let ext = r.rel.rsplit('.').next();
            match crate::media::audio::probe(
                crate::media::audio::seekable(self.lib.open(&r)?),
                ext,
                info.size,
            ) {
                Ok(a) => {
                    let mut audio = json!({
                        "container": a.container, "codec": a.codec, "decodable": a.decodable,
                        "tags": a.tags, "hasCoverArt": a.has_cover_art,
                    });
                    if !a.channel_names.is_empty() {
                        audio["channelNames"] = json!(a.channel_names);
                    }
                    for (k, v) in [
                        ("sampleRate", a.sample_rate.map(Value::from)),
                        ("channels", a.channels.map(Value::from)),
                        ("channelLayout", a.channel_layout.map(Value::from)),
                        ("bitsPerSample", a.bits_per_sample.map(Value::from)),
                        (
                            "durationSeconds",
                            a.duration_seconds
                                .map(|d| Value::from((d * 1000.0).round() / 1000.0)),
                        ),
                        ("bitrate", a.bitrate.map(Value::from)),
                    ] {
                        if let Some(v) = v {
                            audio[k] = v;
                        }
                    }
                    if !a.decodable {
                        warnings.push(format!("no decoder for audio codec {} yet: it can be probed but not transcoded", a.codec));
                    }
                    out["audio"] = audio;
                }
                Err(crate::media::audio::AudioError::NoAudioTrack)
                    if info.sniffed.kind == MediaKind::Video => {}
                Err(e) if info.sniffed.kind == MediaKind::Video => {
                    warnings.push(format!("audio track unreadable: {e}"))
                }
                Err(e) => return Err(crate::media::MediaError::from(e).into()),
            }
        }
        if !warnings.is_empty() {
            out["warnings"] = json!(warnings);
        }
        Ok(ToolResult {
            content: vec![Content::text(out.to_string())],
            structured: Some(out),
            is_error: false,
        }
        .into())
    }
}
