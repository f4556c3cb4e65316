//! Video probing: container, duration and every track, natively for MP4/MOV and MKV/WebM
//! (headers only, never pixels), through ffprobe for other containers; which engine decodes
//! the picture; header limits. Must not know about decoders' internals, tools or the cache.

use super::demux::{Demuxer, VideoStream};
use super::{
    AudioTrack, Engine, VideoCtx, VideoError, VideoInfo, VideoInput, VideoLimits, VideoTrack,
};

/// Rejects coded sizes over the limits (before anything is allocated for them).
pub fn check_dimensions(w: u32, h: u32, limits: &VideoLimits) -> Result<(), VideoError> {
    if w > limits.max_width
        || h > limits.max_height
        || u64::from(w) * u64::from(h) > limits.max_pixels
    {
        return Err(VideoError::TooLarge(format!(
            "a {w}x{h} video (limits {}x{}, {} pixels)",
            limits.max_width, limits.max_height, limits.max_pixels
        )));
    }
    Ok(())
}

/// Pixel format, bit depth, sample aspect ratio and whether the native decoder takes it.
struct Format {
    pixel_format: Option<String>,
    bit_depth: Option<u8>,
    sar: Option<(u32, u32)>,
    native: bool,
}

fn format_of(v: &VideoStream) -> Format {
    match v.codec.as_str() {
        "h264" => {
            let sps = super::h264::AvcConfig::parse(&v.extra)
                .ok()
                .and_then(|c| c.sps().cloned());
            match sps {
                Some(s) => Format {
                    native: s.native(),
                    pixel_format: Some(s.pixel_format),
                    bit_depth: Some(s.bit_depth),
                    sar: s.sar,
                },
                None => Format {
                    pixel_format: None,
                    bit_depth: None,
                    sar: None,
                    native: false,
                },
            }
        }
        "av1" => match super::av1::config_format(&v.extra) {
            Some((pf, depth)) => Format {
                native: cfg!(feature = "av1") && pf == "yuv420p",
                pixel_format: Some(pf),
                bit_depth: Some(depth),
                sar: None,
            },
            // No av1C (allowed in Matroska): the sequence header decides at decode time.
            None => Format {
                pixel_format: None,
                bit_depth: None,
                sar: None,
                native: cfg!(feature = "av1"),
            },
        },
        _ => Format {
            pixel_format: None,
            bit_depth: None,
            sar: None,
            native: false,
        },
    }
}

fn video_track(v: &VideoStream, f: &Format) -> VideoTrack {
    let (mut dw, mut dh) = match (v.display_width, v.display_height) {
        (Some(w), Some(h)) => (w, h),
        _ => match f.sar {
            Some((sw, sh)) => (
                ((u64::from(v.width) * u64::from(sw)) / u64::from(sh).max(1))
                    .try_into()
                    .unwrap_or(v.width),
                v.height,
            ),
            None => (v.width, v.height),
        },
    };
    if v.rotation == 90 || v.rotation == 270 {
        std::mem::swap(&mut dw, &mut dh);
    }
    VideoTrack {
        id: v.id,
        codec: v.codec.clone(),
        width: v.width,
        height: v.height,
        display_width: dw,
        display_height: dh,
        rotation: v.rotation,
        frame_rate: v.frame_rate,
        pixel_format: f.pixel_format.clone(),
        bit_depth: f.bit_depth,
        bitrate: v.bitrate,
        frames: v.frames,
        duration: v.duration,
        keyframe_interval: v.keyframe_interval,
    }
}

/// The facts of a video file (never decodes pixels).
pub fn probe(input: &VideoInput, ctx: &VideoCtx) -> Result<VideoInfo, VideoError> {
    let has_ffmpeg = ctx.ffmpeg.is_some() || ctx.ffprobe.is_some();
    let demux = match Demuxer::open(input, &ctx.limits) {
        Ok(d) => d,
        Err(e @ (VideoError::Unsupported(_) | VideoError::Corrupt(_))) => {
            // Not MP4/MKV (AVI, TS, FLV, ...), or something the native demuxers refuse
            // (fragmented MP4, ...): ffprobe knows more.
            return if has_ffmpeg
                || matches!(&e, VideoError::Unsupported(m) if m.starts_with("not an MP4"))
            {
                super::ffmpeg::probe(input, ctx)
            } else {
                Err(e)
            };
        }
        Err(e) => return Err(e),
    };
    native_info(input, demux, ctx)
}

fn native_info(
    input: &VideoInput,
    demux: Demuxer,
    ctx: &VideoCtx,
) -> Result<VideoInfo, VideoError> {
    let c = demux.info();
    let first = c.video.first();
    if let Some(v) = first {
        check_dimensions(v.width, v.height, &ctx.limits)?;
        if v.codec == "unknown" && (ctx.ffmpeg.is_some() || ctx.ffprobe.is_some()) {
            // A codec the native demuxer cannot name (HEVC in MP4, ...).
            if let Ok(info) = super::ffmpeg::probe(input, ctx) {
                return Ok(info);
            }
        }
    }
    let mut native = false;
    let video: Vec<VideoTrack> = c
        .video
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f = format_of(v);
            if i == 0 {
                native = f.native && super::native::decodes(&v.codec);
            }
            video_track(v, &f)
        })
        .collect();
    let audio = c
        .audio
        .iter()
        .map(|a| AudioTrack {
            id: a.id,
            codec: a.codec.clone(),
            sample_rate: a.sample_rate,
            channels: a.channels,
            bitrate: None,
            duration: a.duration,
        })
        .collect();
    let engine = if first.is_none() {
        None
    } else if native {
        Some(Engine::Native)
    } else if ctx.ffmpeg.is_some() {
        Some(Engine::Ffmpeg)
    } else {
        None
    };
    let duration = c
        .duration
        .or_else(|| video.first().and_then(|v| v.duration));
    let size = input.len();
    let bitrate = duration
        .filter(|d| *d > 0.0)
        .map(|d| (size as f64 * 8.0 / d) as u64);
    Ok(VideoInfo {
        container: c.container.to_string(),
        duration,
        bitrate,
        video,
        audio,
        engine,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    // Probing reads an opened file; this opens the test samples by path.
    fn probe(p: &Path, ctx: &VideoCtx) -> Result<VideoInfo, VideoError> {
        super::probe(&VideoInput::from_path(p).unwrap(), ctx)
    }

    fn sample(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/video")
            .join(name)
    }

    #[test]
    fn mp4_facts_match_ffprobe() {
        let i = probe(&sample("clip_h264_aac.mp4"), &VideoCtx::default()).unwrap();
        assert_eq!(i.container, "mp4");
        assert!((i.duration.unwrap() - 2.0).abs() < 0.01, "{:?}", i.duration);
        assert_eq!(i.engine, Some(Engine::Native));
        let v = &i.video[0];
        assert_eq!((v.codec.as_str(), v.width, v.height), ("h264", 320, 240));
        assert_eq!(
            (v.display_width, v.display_height, v.rotation),
            (320, 240, 0)
        );
        assert!((v.frame_rate.unwrap() - 15.0).abs() < 1e-6);
        assert_eq!(v.frames, Some(30));
        assert_eq!(
            (v.pixel_format.as_deref(), v.bit_depth),
            (Some("yuv420p"), Some(8))
        );
        // -g 15 at 15 fps.
        assert_eq!(v.keyframe_interval, Some(1.0));
        assert!(v.bitrate.is_some_and(|b| b > 0));
        let a = &i.audio[0];
        assert_eq!(
            (a.codec.as_str(), a.sample_rate, a.channels),
            ("aac", Some(44_100), Some(1))
        );
    }

    #[test]
    fn matroska_and_webm_facts_match_ffprobe() {
        let i = probe(&sample("clip.mkv"), &VideoCtx::default()).unwrap();
        assert_eq!(i.container, "matroska");
        assert!(
            (i.duration.unwrap() - 2.003).abs() < 0.01,
            "{:?}",
            i.duration
        );
        assert_eq!(i.engine, Some(Engine::Native));
        assert_eq!(i.video[0].codec, "h264");
        assert_eq!(i.video[0].pixel_format.as_deref(), Some("yuv420p"));
        let a = &i.audio[0];
        assert_eq!(
            (a.codec.as_str(), a.sample_rate, a.channels),
            ("vorbis", Some(48_000), Some(1))
        );

        // VP9: no native decoder; ffmpeg decodes it when installed, nothing otherwise.
        let webm = sample("clip_vp9_opus.webm");
        let i = probe(&webm, &VideoCtx::default()).unwrap();
        assert_eq!(i.container, "webm");
        assert_eq!((i.video[0].codec.as_str(), i.video[0].width), ("vp9", 320));
        assert_eq!(i.audio[0].codec, "opus");
        assert_eq!(i.engine, None);
        let with_ffmpeg = VideoCtx {
            ffmpeg: Some("/usr/bin/ffmpeg".into()),
            ..VideoCtx::default()
        };
        assert_eq!(
            probe(&webm, &with_ffmpeg).unwrap().engine,
            Some(Engine::Ffmpeg)
        );
    }

    #[test]
    fn ten_bit_h264_is_left_to_ffmpeg() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("10bit.mp4");
        let st = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=64x48:rate=10:duration=1",
            ])
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p10le"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        let i = probe(&out, &VideoCtx::default()).unwrap();
        let v = &i.video[0];
        assert_eq!(
            (v.pixel_format.as_deref(), v.bit_depth),
            (Some("yuv420p10le"), Some(10))
        );
        assert_eq!(i.engine, None);
    }

    #[test]
    fn not_a_video_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.txt");
        std::fs::write(&p, b"hello, this is not a video at all").unwrap();
        assert!(probe(&p, &VideoCtx::default()).is_err());
        let limits = VideoLimits {
            max_width: 100,
            ..VideoLimits::default()
        };
        assert!(matches!(
            check_dimensions(320, 240, &limits),
            Err(VideoError::TooLarge(_))
        ));
    }
}
