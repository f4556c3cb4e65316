//! The ffmpeg engine: the system `ffmpeg`/`ffprobe` as child processes (argument vector, no
//! shell, cleared environment, stdin closed, a timeout, bounded output, killed on
//! cancellation; see [`crate::media::process`]) for what native decoding cannot do: probing,
//! frames, scans and soundtracks of any container (clips are in [`super::clip`]). Inputs are
//! opened as `file:` URLs with only the `file` protocol allowed, so nothing is ever fetched.
//! Must not know about the native engine, tools or the cache.

use super::{
    AudioTrack, Engine, Frame, FrameHint, VideoCtx, VideoError, VideoInfo, VideoInput, VideoTrack,
};
use crate::media::process::{self, Job, LineUse, PrivateDir, RunError};
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What to install when ffmpeg is needed and missing.
pub const INSTALL_HINT: &str = "install ffmpeg to decode this video";

/// The children's whole environment.
pub(crate) const ENV: &[(&str, &str)] = &[("LC_ALL", "C")];
/// The private temporary directories' name prefix.
pub(crate) const TEMP_PREFIX: &str = "mcp-media-video-";
/// Largest ffprobe report read.
const MAX_PROBE_JSON: u64 = 16 << 20;
/// Bytes of ffmpeg's error lines kept for messages.
const MAX_STDERR: usize = 4096;
/// Largest soundtrack [`extract_audio`] writes (about 100 minutes of 48 kHz stereo).
pub const MAX_AUDIO_BYTES: u64 = 1 << 30;
/// Targets closer than this share one ffmpeg run (decoding on beats seeking again).
const CLUSTER_GAP: f64 = 2.0;
/// Tolerance when comparing a frame's timestamp with a target.
const EPS: f64 = 1e-6;

/// The ffmpeg and ffprobe on PATH.
pub fn discover() -> (Option<PathBuf>, Option<PathBuf>) {
    (process::which("ffmpeg"), process::which("ffprobe"))
}

/// `file:` + the path: ffmpeg reads it as a file whatever its name looks like.
pub(crate) fn file_url(p: &Path) -> OsString {
    let mut s = OsString::from("file:");
    s.push(p.as_os_str());
    s
}

/// How ffmpeg names the input: the opened file it gets as stdin ([`VideoInput::CHILD_PATH`]).
pub(crate) fn input_url() -> OsString {
    let mut s = OsString::from("file:");
    s.push(VideoInput::CHILD_PATH);
    s
}

/// A `RunError` as a `VideoError`.
pub(crate) fn run_error(e: RunError) -> VideoError {
    match e {
        RunError::Cancelled => VideoError::Cancelled,
        RunError::TooMuchOutput { .. } => VideoError::TooLarge(e.to_string()),
        RunError::Io(e) => VideoError::Io(e),
        e @ (RunError::Start { .. } | RunError::TimedOut { .. }) => {
            VideoError::External(e.to_string())
        }
    }
}

/// A failed ffmpeg/ffprobe run as a `VideoError`: corrupt or unreadable input when its
/// message says so, an external failure otherwise.
pub(crate) fn failure(name: &str, status: std::process::ExitStatus, stderr: &str) -> VideoError {
    let msg = process::message(stderr);
    let lower = msg.to_ascii_lowercase();
    if lower.contains("moov atom not found")
        || lower.contains("corrupt")
        || lower.contains("truncat")
        || lower.contains("end of file")
    {
        VideoError::Corrupt(format!("{name}: {msg}"))
    } else if lower.contains("invalid data found") {
        VideoError::Unsupported(format!("{name} cannot read this file: {msg}"))
    } else {
        VideoError::External(format!("{name} failed ({status}): {msg}"))
    }
}

fn args<const N: usize>(a: [&str; N]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

/// Runs ffprobe's JSON report on `path`: `query` (e.g. `-show_entries ...`), or format and
/// streams when empty.
fn ffprobe_json(input: &VideoInput, ctx: &VideoCtx, query: &[&str]) -> Result<Value, VideoError> {
    let Some(ffprobe) = ctx.ffprobe.as_deref() else {
        return Err(VideoError::Unsupported(format!(
            "ffprobe is not installed: {INSTALL_HINT}"
        )));
    };
    let mut a = args(["-v", "error", "-print_format", "json"]);
    if query.is_empty() {
        a.extend(args(["-show_format", "-show_streams"]));
    } else {
        a.extend(query.iter().map(OsString::from));
    }
    a.extend(args(["-protocol_whitelist", "file"]));
    a.push(input_url());
    let mut out = Vec::new();
    let mut cb = |c: &[u8]| {
        out.extend_from_slice(c);
        true
    };
    let job = Job {
        program: ffprobe,
        args: &a,
        env: ENV,
        timeout: ctx.limits.external_timeout,
        max_stdout: MAX_PROBE_JSON,
        max_stderr: MAX_STDERR,
        watch: None,
        stderr_lines: None,
        stdin: Some(input.handle()),
    };
    let done = process::run(job, &|| false, Some(&mut cb)).map_err(run_error)?;
    if !done.status.success() {
        return Err(failure("ffprobe", done.status, &done.stderr));
    }
    serde_json::from_slice(&out)
        .map_err(|e| VideoError::External(format!("ffprobe wrote unreadable JSON: {e}")))
}

/// A field that ffprobe writes as a string or a number.
fn num(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn uint(v: &Value, key: &str) -> Option<u64> {
    num(v, key).filter(|x| *x >= 0.0).map(|x| x as u64)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str()
}

/// "30000/1001" -> 29.97; `None` for "0/0" and the like.
fn ratio(s: &str, sep: char) -> Option<f64> {
    let (a, b) = s.split_once(sep)?;
    let (a, b): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a > 0.0 && b > 0.0).then_some(a / b)
}

/// "01:02:03.5" (Matroska's DURATION tag) -> 3723.5.
fn hms(s: &str) -> Option<f64> {
    let mut t = 0.0;
    for part in s.trim().split(':') {
        t = t * 60.0 + part.parse::<f64>().ok()?;
    }
    t.is_finite().then_some(t)
}

/// Bits per sample of a pixel format name: yuv420p10le -> 10, gray12le -> 12, p010le -> 10,
/// everything else (yuv420p, nv12, rgb24, ...) 8.
fn pix_fmt_depth(f: &str) -> u8 {
    let f = f
        .strip_suffix("le")
        .or_else(|| f.strip_suffix("be"))
        .unwrap_or(f);
    let digits = f.len() - f.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, tail) = f.split_at(f.len() - digits);
    let Ok(n) = tail.parse::<u8>() else {
        return 8;
    };
    if (head.len() > 1 && head.ends_with('p')) || head == "gray" || head == "p" {
        n
    } else {
        8
    }
}

/// Clockwise degrees to display a stream: the display matrix first (ffprobe's "rotation" is
/// counter-clockwise), then an old-style "rotate" tag (clockwise).
fn rotation(s: &Value) -> u16 {
    let from_matrix = s
        .get("side_data_list")
        .and_then(Value::as_array)
        .and_then(|l| l.iter().find_map(|d| num(d, "rotation")))
        .map(|r| -r);
    let from_tag = s.get("tags").and_then(|t| num(t, "rotate"));
    let Some(r) = from_matrix.or(from_tag) else {
        return 0;
    };
    let quarter = (r / 90.0).round() as i64;
    (quarter.rem_euclid(4) * 90) as u16
}

/// Parses ffprobe's `-show_format -show_streams` JSON report.
fn parse_probe(v: &Value, input: &VideoInput, ctx: &VideoCtx) -> VideoInfo {
    let empty = Value::Null;
    let format = v.get("format").unwrap_or(&empty);
    let format_name = text(format, "format_name").unwrap_or("unknown");
    let ext = Path::new(input.name())
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let container = if format_name.contains("mp4") || format_name.contains("mov") {
        let brand = format.get("tags").and_then(|t| text(t, "major_brand"));
        if brand.is_some_and(|b| b.trim() == "qt") || ext.as_deref() == Some("mov") {
            "mov"
        } else {
            "mp4"
        }
    } else if format_name.contains("matroska") {
        if ext.as_deref() == Some("webm") {
            "webm"
        } else {
            "matroska"
        }
    } else {
        format_name.split(',').next().unwrap_or(format_name)
    }
    .to_string();
    let mut video = vec![];
    let mut audio = vec![];
    let streams = v.get("streams").and_then(Value::as_array);
    for s in streams.into_iter().flatten() {
        let id = uint(s, "index").unwrap_or(0) as u32;
        let codec = text(s, "codec_name").unwrap_or("unknown").to_string();
        let duration = num(s, "duration").or_else(|| {
            s.get("tags")
                .and_then(|t| text(t, "DURATION").or_else(|| text(t, "duration")))
                .and_then(hms)
        });
        let bitrate = uint(s, "bit_rate");
        match text(s, "codec_type") {
            Some("video") => {
                let attached = s
                    .get("disposition")
                    .and_then(|d| uint(d, "attached_pic"))
                    .is_some_and(|a| a == 1);
                if attached {
                    continue;
                }
                let width = uint(s, "width").unwrap_or(0).min(u32::MAX.into()) as u32;
                let height = uint(s, "height").unwrap_or(0).min(u32::MAX.into()) as u32;
                let rotation = rotation(s);
                let sar = text(s, "sample_aspect_ratio")
                    .and_then(|r| ratio(r, ':'))
                    .unwrap_or(1.0);
                let (mut dw, mut dh) = (width, height);
                if sar > 1.0 {
                    dw = (f64::from(width) * sar).round().min(f64::from(u32::MAX)) as u32;
                } else if sar < 1.0 {
                    dh = (f64::from(height) / sar).round().min(f64::from(u32::MAX)) as u32;
                }
                if rotation % 180 == 90 {
                    (dw, dh) = (dh, dw);
                }
                let pixel_format = text(s, "pix_fmt").map(str::to_string);
                let bit_depth = uint(s, "bits_per_raw_sample")
                    .filter(|b| (1..=32).contains(b))
                    .map(|b| b as u8)
                    .or_else(|| pixel_format.as_deref().map(pix_fmt_depth));
                video.push(VideoTrack {
                    id,
                    codec,
                    width,
                    height,
                    display_width: dw,
                    display_height: dh,
                    rotation,
                    frame_rate: text(s, "avg_frame_rate").and_then(|r| ratio(r, '/')),
                    pixel_format,
                    bit_depth,
                    bitrate,
                    frames: uint(s, "nb_frames"),
                    duration,
                    keyframe_interval: None,
                });
            }
            Some("audio") => audio.push(AudioTrack {
                id,
                codec,
                sample_rate: uint(s, "sample_rate").map(|r| r.min(u32::MAX.into()) as u32),
                channels: uint(s, "channels").map(|c| c.min(u32::MAX.into()) as u32),
                bitrate,
                duration,
            }),
            _ => {}
        }
    }
    let engine = (!video.is_empty() && ctx.ffmpeg.is_some()).then_some(Engine::Ffmpeg);
    VideoInfo {
        container,
        duration: num(format, "duration"),
        bitrate: uint(format, "bit_rate"),
        video,
        audio,
        engine,
    }
}

/// Probes any container ffprobe reads. `engine` is `Ffmpeg` when the file has a video track
/// and ffmpeg is installed (the caller decides whether native decoding is better).
pub fn probe(input: &VideoInput, ctx: &VideoCtx) -> Result<VideoInfo, VideoError> {
    let v = ffprobe_json(input, ctx, &[])?;
    remember_clock(input, clock_of(&v));
    Ok(parse_probe(&v, input, ctx))
}

/// Where the first video stream's clock starts: its first timestamp in seconds, and the
/// container's (ffmpeg's `-ss` counts from the container's), and whether it is a colour
/// space ffmpeg must be told (untagged HD is BT.709).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Clock {
    stream_start: f64,
    format_start: f64,
    bt709_untagged: bool,
}

/// The clock of the first video stream in an ffprobe report.
fn clock_of(v: &Value) -> Clock {
    let s = v
        .get("streams")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter().find(|s| {
                text(s, "codec_type") == Some("video")
                    && s.get("disposition")
                        .and_then(|d| uint(d, "attached_pic"))
                        .is_none_or(|a| a != 1)
            })
        })
        .unwrap_or(&Value::Null);
    let format_start = v
        .get("format")
        .and_then(|f| num(f, "start_time"))
        .unwrap_or(0.0);
    let untagged = text(s, "color_space").is_none_or(|c| c == "unknown");
    Clock {
        stream_start: num(s, "start_time").unwrap_or(format_start),
        format_start,
        bt709_untagged: untagged && uint(s, "height").is_some_and(|h| h >= 720),
    }
}

/// A file as last seen (from its open handle): device, inode, length, modification time.
type FileKey = (u64, u64, u64, Option<std::time::SystemTime>);

/// Clocks of recently probed files, so frames after a probe need no second ffprobe run.
static CLOCKS: std::sync::Mutex<Vec<(FileKey, Clock)>> = std::sync::Mutex::new(Vec::new());
const CLOCKS_KEPT: usize = 64;

fn file_key(input: &VideoInput) -> Option<FileKey> {
    use std::os::unix::fs::MetadataExt as _;
    let m = input.handle().metadata().ok()?;
    Some((m.dev(), m.ino(), m.len(), m.modified().ok()))
}

fn remember_clock(input: &VideoInput, clock: Clock) {
    let Some(key) = file_key(input) else { return };
    let mut c = CLOCKS.lock().unwrap_or_else(|e| e.into_inner());
    c.retain(|(k, _)| (k.0, k.1) != (key.0, key.1));
    if c.len() >= CLOCKS_KEPT {
        c.remove(0);
    }
    c.push((key, clock));
}

fn clock(input: &VideoInput, ctx: &VideoCtx) -> Result<Clock, VideoError> {
    if ctx.ffprobe.is_none() {
        return Ok(Clock {
            stream_start: 0.0,
            format_start: 0.0,
            bt709_untagged: false,
        });
    }
    if let Some(key) = file_key(input) {
        let c = CLOCKS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, clock)) = c.iter().find(|(k, _)| *k == key) {
            return Ok(*clock);
        }
    }
    let v = ffprobe_json(
        input,
        ctx,
        &[
            "-select_streams",
            "V:0",
            "-show_entries",
            "stream=codec_type,start_time,color_space,height:format=start_time",
        ],
    )?;
    let clock = clock_of(&v);
    remember_clock(input, clock);
    Ok(clock)
}

/// The first video track, checked against the limits before anything is decoded.
fn checked_track<'a>(info: &'a VideoInfo, ctx: &VideoCtx) -> Result<&'a VideoTrack, VideoError> {
    let t = info
        .video
        .first()
        .ok_or_else(|| VideoError::Unsupported("the file has no video track".into()))?;
    let l = &ctx.limits;
    let pixels = u64::from(t.width) * u64::from(t.height);
    if t.width > l.max_width || t.height > l.max_height || pixels > l.max_pixels {
        return Err(VideoError::TooLarge(format!(
            "{}x{} is over the limit of {}x{} ({} pixels)",
            t.width, t.height, l.max_width, l.max_height, l.max_pixels
        )));
    }
    if t.display_width == 0 || t.display_height == 0 {
        return Err(VideoError::Corrupt("the video track has no size".into()));
    }
    let (dw, dh) = (u64::from(t.display_width), u64::from(t.display_height));
    if dw > u64::from(l.max_width.max(l.max_height)) * 2 || dw * dh > l.max_pixels * 2 {
        return Err(VideoError::TooLarge(format!(
            "a displayed size of {dw}x{dh} is over the limits"
        )));
    }
    Ok(t)
}

/// The size to ask ffmpeg for: the displayed size scaled by `scale` (at most 1), at least 1x1.
fn scaled(display: (u32, u32), scale: f64) -> (u32, u32) {
    let s = scale.clamp(0.0, 1.0);
    let f = |d: u32| ((f64::from(d) * s).ceil() as u32).clamp(1, d.max(1));
    (f(display.0), f(display.1))
}

/// Sorts ffmpeg's stderr for [`run_frames`]: showinfo's per-frame and time base lines go to
/// the frame reader, errors are kept for the message.
fn sort_line(l: &str) -> LineUse {
    if l.contains("Parsed_showinfo") {
        if l.contains(" n:") || l.contains("config in time_base:") {
            LineUse::Send
        } else {
            LineUse::Drop
        }
    } else if l.contains("[error]") || l.contains("[fatal]") {
        LineUse::Keep
    } else {
        LineUse::Drop
    }
}

/// "config in time_base: 1/15360, frame_rate: 30/1" -> (1, 15360).
fn parse_time_base(l: &str) -> Option<(i64, i64)> {
    let rest = l.split("config in time_base:").nth(1)?;
    let tb = rest.split(',').next()?.trim();
    let (a, b) = tb.split_once('/')?;
    let (a, b): (i64, i64) = (a.parse().ok()?, b.parse().ok()?);
    (a > 0 && b > 0).then_some((a, b))
}

/// The integer after `key` in a showinfo line ("pts:   1024" or "pts:12345678"); `Err` for
/// "pts:NOPTS".
fn parse_field(l: &str, key: &str) -> Option<Result<i64, ()>> {
    let mut toks = l.split_whitespace();
    while let Some(t) = toks.next() {
        if let Some(v) = t.strip_prefix(key) {
            let v = if v.is_empty() { toks.next()? } else { v };
            return Some(v.parse().map_err(|_| ()));
        }
    }
    None
}

/// Runs ffmpeg with `args` (which end in a filter chain whose last filter is `showinfo` and
/// rgb24 rawvideo at `size` on stdout) and calls `on_frame(pts_seconds, image)` for each frame
/// as it arrives (one frame in memory); `Ok(false)` from it stops ffmpeg.
fn run_frames(
    input: &VideoInput,
    ctx: &VideoCtx,
    args: &[OsString],
    size: (u32, u32),
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(f64, ::image::RgbImage) -> Result<bool, VideoError>,
) -> Result<(), VideoError> {
    let Some(ffmpeg) = ctx.ffmpeg.as_deref() else {
        return Err(VideoError::Unsupported(INSTALL_HINT.into()));
    };
    let frame_bytes = (size.0 as usize)
        .checked_mul(size.1 as usize)
        .and_then(|p| p.checked_mul(3))
        .filter(|b| *b > 0)
        .ok_or_else(|| VideoError::TooLarge(format!("{}x{} frames", size.0, size.1)))?;
    let (tx, rx) = mpsc::channel::<String>();
    let timeout = ctx.limits.external_timeout;
    let deadline = Instant::now() + timeout;
    let job = Job {
        program: ffmpeg,
        args,
        env: ENV,
        timeout,
        max_stdout: u64::MAX,
        max_stderr: MAX_STDERR,
        watch: None,
        stderr_lines: Some((sort_line, tx)),
        stdin: Some(input.handle()),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(frame_bytes);
    let mut time_base: Option<(i64, i64)> = None;
    let mut failed: Option<VideoError> = None;
    let mut finished = false;
    let mut frames = 0u64;
    let mut cb = |mut chunk: &[u8]| -> bool {
        while !chunk.is_empty() {
            let need = frame_bytes - buf.len();
            let (a, b) = chunk.split_at(need.min(chunk.len()));
            buf.extend_from_slice(a);
            chunk = b;
            if buf.len() < frame_bytes {
                continue;
            }
            let pts = match next_pts(&rx, &mut time_base, cancelled, deadline, timeout) {
                Ok(p) => p,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            };
            frames += 1;
            let raw = std::mem::replace(&mut buf, Vec::with_capacity(frame_bytes));
            let Some(img) = ::image::RgbImage::from_raw(size.0, size.1, raw) else {
                failed = Some(VideoError::Internal("a frame of the wrong size".into()));
                return false;
            };
            match on_frame(pts, img) {
                Ok(true) => {}
                Ok(false) => {
                    finished = true;
                    return false;
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
        }
        true
    };
    let done = process::run(job, cancelled, Some(&mut cb)).map_err(run_error)?;
    if let Some(e) = failed {
        return Err(e);
    }
    if finished {
        return Ok(());
    }
    if !done.status.success() {
        return Err(failure("ffmpeg", done.status, &done.stderr));
    }
    if !buf.is_empty() {
        return Err(VideoError::External(format!(
            "ffmpeg ended in the middle of a frame after {frames} frames"
        )));
    }
    Ok(())
}

/// The next frame's timestamp from showinfo's lines, in seconds (waiting for it while
/// watching the cancel flag and the clock).
fn next_pts(
    rx: &Receiver<String>,
    time_base: &mut Option<(i64, i64)>,
    cancelled: &dyn Fn() -> bool,
    deadline: Instant,
    timeout: Duration,
) -> Result<f64, VideoError> {
    loop {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => {
                if let Some(tb) = parse_time_base(&line) {
                    *time_base = Some(tb);
                } else if line.contains(" n:") {
                    let (num, den) = time_base.ok_or_else(|| {
                        VideoError::External("ffmpeg reported no time base".into())
                    })?;
                    return match parse_field(&line, "pts:") {
                        Some(Ok(p)) => Ok(p as f64 * num as f64 / den as f64),
                        Some(Err(())) => Err(VideoError::Corrupt(
                            "a decoded frame has no timestamp".into(),
                        )),
                        None => Err(VideoError::External(format!(
                            "unexpected ffmpeg frame report: {line}"
                        ))),
                    };
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if cancelled() {
                    return Err(VideoError::Cancelled);
                }
                if Instant::now() > deadline {
                    return Err(VideoError::External(format!(
                        "ffmpeg ran over its time limit of {timeout:?} and was stopped"
                    )));
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(VideoError::External(
                    "ffmpeg wrote a frame without reporting it".into(),
                ));
            }
        }
    }
}

/// The common head of an ffmpeg command line that decodes the input's first video track.
fn decode_args(ctx: &VideoCtx, seek: &[OsString]) -> Vec<OsString> {
    let mut a = args([
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "repeat+level+info",
        "-threads",
    ]);
    a.push(ctx.threads.clamp(1, 16).to_string().into());
    a.extend_from_slice(seek);
    a.extend(args(["-protocol_whitelist", "file", "-i"]));
    a.push(input_url());
    a.extend(args(["-map", "0:V:0", "-an", "-sn", "-dn"]));
    a
}

/// The tail: the filter chain (after ffmpeg's own rotation), showinfo, rgb24 on stdout.
fn output_args(a: &mut Vec<OsString>, filters: &str, size: (u32, u32), bt709: bool) {
    let matrix = if bt709 { ":in_color_matrix=bt709" } else { "" };
    a.push("-vf".into());
    a.push(
        format!(
            "{filters}scale={}:{}:flags=bicubic{matrix},setsar=1,showinfo=checksum=0",
            size.0, size.1
        )
        .into(),
    );
    a.extend(args([
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ]));
}

/// See [`super::frames_at`]. One ffmpeg run per group of nearby targets: it seeks to the
/// keyframe before the group's first target (`-noaccurate_seek`, timestamps kept with
/// `-copyts`), decodes forward, and is stopped once a frame shows after the group's last one.
/// Demuxers seek by decode timestamp, so a keyframe whose B-frames reorder it after the target
/// can be chosen: when the first frame decoded is already past the target (or none decodes,
/// as in a truncated file), the run starts again from further back.
pub fn frames_at(
    input: &VideoInput,
    info: &VideoInfo,
    times: &[f64],
    hint: FrameHint,
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    if times.iter().any(|t| !t.is_finite()) {
        return Err(VideoError::InvalidRequest("a time is not a number".into()));
    }
    if times.is_empty() {
        return Ok(());
    }
    let track = checked_track(info, ctx)?;
    let display = (track.display_width, track.display_height);
    let scale = match hint.min_size {
        Some((w, h)) => (f64::from(w) / f64::from(display.0))
            .min(f64::from(h) / f64::from(display.1))
            .min(1.0),
        None => 1.0,
    };
    let size = scaled(display, scale);
    shown_at(input, times, size, ctx, true, cancelled, on_frame)
}

/// How far before a target each successive attempt seeks (the last: from the start).
const SEEK_BACK: [f64; 5] = [0.0, 0.5, 3.0, 20.0, f64::INFINITY];

/// Calls `on_frame(i, frame)` with the frame shown at each `times[i]`, in ascending time order,
/// decoded at `size`. `count_all`: every decoded frame counts against `max_decoded_frames`
/// (otherwise only the delivered ones: a scan decodes what ffmpeg needs in between).
fn shown_at(
    input: &VideoInput,
    times: &[f64],
    size: (u32, u32),
    ctx: &VideoCtx,
    count_all: bool,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    let clock = clock(input, ctx)?;
    let mut targets: Vec<(f64, usize)> = times.iter().copied().zip(0..).collect();
    targets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut groups: Vec<&[(f64, usize)]> = vec![];
    let mut from = 0;
    for k in 1..=targets.len() {
        let split = match (targets.get(k - 1), targets.get(k)) {
            (Some(a), Some(b)) => b.0 - a.0 > CLUSTER_GAP,
            _ => true,
        };
        if split {
            groups.extend(targets.get(from..k));
            from = k;
        }
    }
    let limit = ctx.limits.max_decoded_frames;
    let decoded = std::cell::Cell::new(0u64);
    let start = clock.stream_start;
    for group in groups {
        let Some(&(first, _)) = group.first() else {
            continue;
        };
        let first = first.max(0.0);
        let mut next = 0usize;
        let mut prev: Option<Frame> = None;
        for back in SEEK_BACK {
            let seek = (first - back + clock.stream_start - clock.format_start).max(0.0);
            let mut a = decode_args(
                ctx,
                &[
                    "-noaccurate_seek".into(),
                    "-ss".into(),
                    format!("{seek:.6}").into(),
                    "-copyts".into(),
                ],
            );
            output_args(&mut a, "", size, clock.bt709_untagged);
            let mut too_late = false;
            let mut deliver = |k: usize, f: &Frame| -> Result<(), VideoError> {
                let (_, i) = group
                    .get(k)
                    .copied()
                    .ok_or_else(|| VideoError::Internal("target index".into()))?;
                if !count_all {
                    decoded.set(decoded.get() + 1);
                    if decoded.get() > limit {
                        return Err(VideoError::TooLarge(format!(
                            "more than {limit} frames to decode"
                        )));
                    }
                }
                on_frame(i, f.clone())
            };
            let mut seen = 0u64;
            run_frames(input, ctx, &a, size, cancelled, &mut |pts, image| {
                seen += 1;
                if count_all && seen > limit.saturating_sub(decoded.get()) {
                    return Err(VideoError::TooLarge(format!(
                        "more than {limit} frames to decode"
                    )));
                }
                let frame = Frame {
                    pts: pts - start,
                    image,
                };
                if seen == 1 && frame.pts > first + EPS && seek > 0.0 {
                    too_late = true;
                    return Ok(false);
                }
                while let Some(&(t, _)) = group.get(next) {
                    if frame.pts <= t + EPS {
                        break;
                    }
                    // The frame shown at t is the one before this (or this one, when t
                    // precedes the first frame).
                    deliver(next, prev.as_ref().unwrap_or(&frame))?;
                    next += 1;
                }
                if next >= group.len() {
                    return Ok(false);
                }
                prev = Some(frame);
                Ok(true)
            })?;
            if count_all {
                decoded.set(decoded.get() + seen);
            }
            // Past the target already, or nothing decodable from there (a truncated file):
            // from further back.
            if too_late || (prev.is_none() && next == 0 && seek > 0.0) {
                continue;
            }
            if next < group.len() {
                let Some(last) = prev.as_ref() else {
                    return Err(VideoError::Corrupt(format!(
                        "ffmpeg decoded no frame at {first:.3} s"
                    )));
                };
                while next < group.len() {
                    deliver(next, last)?;
                    next += 1;
                }
            }
            break;
        }
    }
    Ok(())
}

/// See [`super::scan`]: the frames shown at `start + i * interval` for every such time before
/// `end`, scaled to fit `size`, each with its own timestamp. Ticks closer than two seconds are
/// decoded in one run (ffmpeg decodes every frame between them, only the sampled ones are
/// converted and counted against `max_decoded_frames`); sparser ones seek.
#[allow(clippy::too_many_arguments)]
pub fn scan(
    input: &VideoInput,
    info: &VideoInfo,
    range: (f64, f64),
    interval: f64,
    size: (u32, u32),
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_frame: &mut dyn FnMut(usize, Frame) -> Result<(), VideoError>,
) -> Result<(), VideoError> {
    let (start, end) = (range.0.max(0.0), range.1);
    if !(start.is_finite() && end.is_finite() && interval.is_finite())
        || interval <= 0.0
        || end <= start
    {
        return Err(VideoError::InvalidRequest(format!(
            "no samples from {start} to {end} every {interval} s"
        )));
    }
    if size.0 == 0 || size.1 == 0 {
        return Err(VideoError::InvalidRequest("an empty frame size".into()));
    }
    let track = checked_track(info, ctx)?;
    let display = (track.display_width, track.display_height);
    let scale = (f64::from(size.0) / f64::from(display.0))
        .min(f64::from(size.1) / f64::from(display.1))
        .min(1.0);
    let out = {
        let (w, h) = scaled(display, scale);
        (w.min(size.0), h.min(size.1))
    };
    let samples = ((end - start) / interval - EPS).ceil().max(1.0);
    let limit = ctx.limits.max_decoded_frames;
    if samples > limit as f64 {
        return Err(VideoError::TooLarge(format!(
            "{samples} samples are more than the {limit} frames a request may decode"
        )));
    }
    let times: Vec<f64> = (0..samples as u64)
        .map(|i| start + i as f64 * interval)
        .collect();
    shown_at(input, &times, out, ctx, false, cancelled, on_frame)
}

/// Writes the first audio track of `path` as 16-bit PCM WAV into a private temporary
/// directory (removed when the returned guard drops), for the audio pipeline on containers
/// it cannot read (AVI, MPEG-TS, ...). At most [`MAX_AUDIO_BYTES`] are written.
pub fn extract_audio(
    input: &VideoInput,
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
) -> Result<(PrivateDir, PathBuf), VideoError> {
    let Some(ffmpeg) = ctx.ffmpeg.as_deref() else {
        return Err(VideoError::Unsupported(format!(
            "no decoder for this soundtrack here: {INSTALL_HINT}"
        )));
    };
    let dir = PrivateDir::new(TEMP_PREFIX)?;
    let (out, f) = dir.create("audio.wav")?;
    drop(f);
    let mut a = args(["-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"]);
    a.extend(args(["-threads", "1", "-protocol_whitelist", "file", "-i"]));
    a.push(input_url());
    a.extend(args([
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
    ]));
    a.extend(args(["-c:a", "pcm_s16le", "-f", "wav", "-y"]));
    a.push(file_url(&out));
    let job = Job {
        program: ffmpeg,
        args: &a,
        env: ENV,
        timeout: ctx.limits.external_timeout,
        max_stdout: 0,
        max_stderr: MAX_STDERR,
        watch: Some((&out, MAX_AUDIO_BYTES)),
        stderr_lines: None,
        stdin: Some(input.handle()),
    };
    let done = process::run(job, cancelled, None).map_err(run_error)?;
    if !done.status.success() {
        if done.stderr.contains("matches no streams") {
            return Err(VideoError::Unsupported(
                "the file has no audio track".into(),
            ));
        }
        return Err(failure("ffmpeg", done.status, &done.stderr));
    }
    let len = std::fs::metadata(&out)?.len();
    if len > MAX_AUDIO_BYTES {
        return Err(VideoError::TooLarge(format!(
            "the soundtrack is over {MAX_AUDIO_BYTES} bytes"
        )));
    }
    if len <= 44 {
        return Err(VideoError::Corrupt("ffmpeg decoded no audio".into()));
    }
    Ok((dir, out))
}

#[cfg(test)]
mod tests;
