//! Clips: `duration` seconds from `start`, as H.264 (libx264, yuv420p, CRF with a bitrate cap)
//! and AAC in a fast-start MP4 at a bounded height, written to a file through the system ffmpeg
//! (a native openh264-encoder path is not built: without ffmpeg, clips are unsupported).
//! Progress comes from ffmpeg's `-progress` report; the child is killed on cancellation, on
//! its time limit and when the file outgrows `max_clip_bytes`.
//! Must not know about the tools or the cache.

use super::ffmpeg::{ENV, file_url, run_error};
use super::{ClipInfo, Engine, VideoCtx, VideoError, VideoInfo};
use crate::media::process::{self, Job};
use std::ffi::OsString;
use std::path::Path;

/// Bitrate cap: bits per displayed pixel per frame at 30 fps, and its floor and ceiling (kb/s).
const BITS_PER_PIXEL: f64 = 0.08;
const MIN_KBPS: f64 = 300.0;
const MAX_KBPS: f64 = 8000.0;

/// Writes the clip to `out`; `progress(seconds_of_video_done)` is called as work advances.
/// The height is `max_height` (or the source's, when smaller), even; the width keeps the
/// displayed aspect (rotation applied). A clip reaching past the end is cut there.
#[allow(clippy::too_many_arguments)]
pub fn clip(
    path: &Path,
    info: &VideoInfo,
    start: f64,
    duration: f64,
    max_height: u32,
    out: &Path,
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(f64),
) -> Result<ClipInfo, VideoError> {
    let Some(ffmpeg) = ctx.ffmpeg.as_deref() else {
        return Err(VideoError::Unsupported(
            "clips are made with ffmpeg, which is not installed here: install ffmpeg".into(),
        ));
    };
    if !(start.is_finite() && duration.is_finite()) || start < 0.0 || duration <= 0.0 {
        return Err(VideoError::InvalidRequest(format!(
            "no clip of {duration} s from {start} s"
        )));
    }
    let limits = &ctx.limits;
    if duration > limits.max_clip_seconds {
        return Err(VideoError::TooLarge(format!(
            "a clip of {duration} s is longer than the limit of {} s",
            limits.max_clip_seconds
        )));
    }
    if let Some(total) = info.duration
        && start >= total
    {
        return Err(VideoError::InvalidRequest(format!(
            "the clip starts at {start} s, past the end ({total:.3} s)"
        )));
    }
    if max_height < 2 {
        return Err(VideoError::InvalidRequest(format!(
            "a clip height of {max_height}"
        )));
    }
    let track = info
        .video
        .first()
        .ok_or_else(|| VideoError::Unsupported("the file has no video track".into()))?;
    let pixels = u64::from(track.width) * u64::from(track.height);
    if track.width > limits.max_width
        || track.height > limits.max_height
        || pixels > limits.max_pixels
    {
        return Err(VideoError::TooLarge(format!(
            "{}x{} is over the limit of {}x{} ({} pixels)",
            track.width, track.height, limits.max_width, limits.max_height, limits.max_pixels
        )));
    }
    let (dw, dh) = (track.display_width.max(1), track.display_height.max(1));
    let height = (max_height.min(dh.max(2)) / 2 * 2).max(2);
    let width = f64::from(dw) * f64::from(height) / f64::from(dh);
    let kbps =
        (width * f64::from(height) * 30.0 * BITS_PER_PIXEL / 1000.0).clamp(MIN_KBPS, MAX_KBPS);
    let kbps = kbps.round() as u64;

    let s = |x: &str| OsString::from(x);
    let mut a: Vec<OsString> = [
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "error",
        "-progress",
        "pipe:1",
        "-threads",
    ]
    .map(s)
    .into();
    a.push(ctx.threads.clamp(1, 16).to_string().into());
    a.extend(["-ss".into(), format!("{start:.6}").into()]);
    a.extend(["-protocol_whitelist", "file", "-i"].map(s));
    a.push(file_url(path));
    a.extend(["-t".into(), format!("{duration:.6}").into()]);
    a.extend(["-map", "0:V:0", "-map", "0:a:0?", "-sn", "-dn"].map(s));
    a.extend(["-map_metadata", "-1", "-map_chapters", "-1", "-vf"].map(s));
    a.push(format!("scale=-2:{height}:flags=bicubic,setsar=1,format=yuv420p").into());
    a.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "26",
            "-profile:v",
            "high",
        ]
        .map(s),
    );
    a.extend([
        "-maxrate".into(),
        format!("{kbps}k").into(),
        "-bufsize".into(),
        format!("{}k", kbps * 2).into(),
    ]);
    a.extend(["-c:a", "aac", "-b:a", "128k", "-ac", "2"].map(s));
    a.extend(["-movflags", "+faststart", "-f", "mp4", "-y"].map(s));
    a.push(file_url(out));

    let job = Job {
        program: ffmpeg,
        args: &a,
        env: ENV,
        timeout: limits.external_timeout,
        max_stdout: 64 << 20,
        max_stderr: 4096,
        watch: Some((out, limits.max_clip_bytes)),
        stderr_lines: None,
    };
    let mut line = Vec::new();
    let mut on_progress = |chunk: &[u8]| {
        for &b in chunk {
            if b != b'\n' {
                if line.len() < 256 {
                    line.push(b);
                }
                continue;
            }
            if let Some(us) = std::str::from_utf8(&line)
                .ok()
                .and_then(|l| l.trim().strip_prefix("out_time_us="))
                .and_then(|v| v.parse::<i64>().ok())
            {
                progress((us.max(0) as f64 / 1e6).min(duration));
            }
            line.clear();
        }
        true
    };
    let result = process::run(job, cancelled, Some(&mut on_progress))
        .map_err(run_error)
        .and_then(|done| {
            if done.status.success() {
                Ok(())
            } else {
                Err(super::ffmpeg::failure("ffmpeg", done.status, &done.stderr))
            }
        })
        .and_then(|()| {
            let bytes = std::fs::metadata(out)?.len();
            if bytes > limits.max_clip_bytes {
                return Err(VideoError::TooLarge(format!(
                    "the clip is over {} bytes",
                    limits.max_clip_bytes
                )));
            }
            Ok(bytes)
        });
    let bytes = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(out);
            return Err(e);
        }
    };
    // What was written, as ffprobe reads it (the request's figures without ffprobe).
    let made = if ctx.ffprobe.is_some() {
        super::ffmpeg::probe(out, ctx).ok()
    } else {
        None
    };
    let (w, h, d) = made
        .as_ref()
        .and_then(|m| Some((m.video.first()?, m.duration)))
        .map_or(
            (width.round() as u32 / 2 * 2, height, duration),
            |(t, d)| (t.display_width, t.display_height, d.unwrap_or(duration)),
        );
    progress(d);
    Ok(ClipInfo {
        width: w,
        height: h,
        duration: d,
        bytes,
        engine: Engine::Ffmpeg,
    })
}
