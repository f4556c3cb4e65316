//! Video benchmark against ffmpeg, side by side in one run (medians of interleaved runs, and
//! the ratio ours/ffmpeg: below 1 ours is faster):
//! (a) the frame at the middle of a 10 s 1080p H.264 file as a 512 px wide JPEG: ours in
//!     process (probe, `frames_at`, the image pipeline's `render_decoded`, the file written)
//!     against `ffmpeg -ss T -i IN -frames:v 1 -vf scale=512:-1 out.jpg`;
//! (b) a 16-frame 4x4 storyboard of a 10-minute 1080p H.264 file (GOP 5 s, 1 Mbit/s): ours
//!     (`storyboard::gather` on `ctx.threads` = 2 workers seeking to keyframes, compose,
//!     encode) against `ffmpeg -i IN -vf fps=16/600,scale=390:-1,tile=4x4 -frames:v 1 out.jpg`
//!     (which decodes every frame);
//! (c) full decode of the 10 s file, frames per second, one thread: ours (`frames_at` at every
//!     frame's time, so each frame is also converted to RGB) against
//!     `ffmpeg -threads 1 -i IN -f null -` (decode only) and the same with `-pix_fmt rgb24`.
//!
//! The inputs are made once by ffmpeg (testsrc2, libx264) into `<target>/video-bench/` and
//! kept. Run: `cargo bench --bench video_vs_ffmpeg` (needs ffmpeg on PATH). Without `--bench`
//! (as `cargo test --all-targets` runs it) it makes one run of each on the 2 s 1080p sample
//! and reports instead of failing.
#![allow(clippy::print_stdout)] // a benchmark reports on stdout; no protocol runs there

use image::DynamicImage;
use mcp_media::media::image::pipeline::render_decoded;
use mcp_media::media::image::{OutputFormat, TransformSpec};
use mcp_media::media::video::{self, FrameHint, VideoCtx, storyboard};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WIDTH: u32 = 512;
const QUALITY: u8 = 85;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

/// Runs ffmpeg with `args`; its time, or why it failed.
fn ffmpeg(args: &[&str]) -> Result<Duration, String> {
    let t = Instant::now();
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!(
            "ffmpeg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(took)
}

/// Makes a 1080p H.264 test file of `seconds` at 24 fps unless it is already there.
fn make(path: &Path, seconds: u32, gop: u32, fast: bool) -> Result<(), String> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        return Ok(());
    }
    let t = Instant::now();
    let tmp = path.with_extension("part.mp4");
    let src = format!("testsrc2=size=1920x1080:rate=24:duration={seconds}");
    let gop = gop.to_string();
    let mut args = vec![
        "-f", "lavfi", "-i", &src, "-c:v", "libx264", "-pix_fmt", "yuv420p",
    ];
    if fast {
        args.extend([
            "-preset",
            "ultrafast",
            "-b:v",
            "1M",
            "-maxrate",
            "1500k",
            "-bufsize",
            "3M",
        ]);
    } else {
        args.extend(["-preset", "veryfast", "-crf", "23"]);
    }
    args.extend(["-g", &gop, "-keyint_min", &gop]);
    let out = tmp.to_string_lossy().into_owned();
    args.push(&out);
    ffmpeg(&args)?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())?;
    println!(
        "made {} ({seconds} s, {} bytes) in {:.1} s",
        path.display(),
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn ctx(threads: usize) -> VideoCtx {
    VideoCtx {
        ffmpeg: which("ffmpeg"),
        ffprobe: which("ffprobe"),
        threads,
        ..VideoCtx::default()
    }
}

/// (a), ours: the frame at `t` to a 512 px wide JPEG file.
fn frame_jpeg(input: &Path, t: f64, out: &Path) -> Result<Duration, String> {
    let start = Instant::now();
    let c = ctx(1);
    let vi = video::VideoInput::from_path(input).map_err(|e| e.to_string())?;
    let info = video::probe(&vi, &c).map_err(|e| e.to_string())?;
    let mut frame = None;
    video::frames_at(
        &vi,
        &info,
        &[t],
        FrameHint {
            min_size: Some((WIDTH, 1)),
        },
        &c,
        &|| false,
        &mut |_, f| {
            frame = Some(f);
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    let f = frame.ok_or("no frame")?;
    let source = f.image.dimensions();
    let spec = TransformSpec {
        max_width: Some(WIDTH),
        format: Some(OutputFormat::Jpeg),
        quality: Some(QUALITY),
        ..TransformSpec::default()
    };
    let enc = render_decoded(&DynamicImage::ImageRgb8(f.image), source, &spec, &|| false)
        .map_err(|e| e.to_string())?;
    std::fs::write(out, &enc.bytes).map_err(|e| e.to_string())?;
    Ok(start.elapsed())
}

/// (b), ours: a `count`-frame storyboard of 4 columns to a JPEG file.
fn storyboard_jpeg(input: &Path, count: u32, out: &Path) -> Result<Duration, String> {
    let start = Instant::now();
    let c = ctx(2);
    let vi = video::VideoInput::from_path(input).map_err(|e| e.to_string())?;
    let info = video::probe(&vi, &c).map_err(|e| e.to_string())?;
    let duration = info.duration.ok_or("no duration")?;
    let display = info
        .video
        .first()
        .map(|t| (t.display_width, t.display_height))
        .ok_or("no video track")?;
    let grid = storyboard::plan(display, count, Some(4), 1568);
    let times = storyboard::even_times(0.0, duration, count);
    let hint = FrameHint {
        min_size: Some(grid.cell),
    };
    let frames =
        storyboard::gather(&vi, &info, &times, hint, &c, &|| false).map_err(|e| e.to_string())?;
    let canvas = storyboard::compose(&frames, grid.columns, grid.cell, true);
    let enc = storyboard::encode(canvas, Some(OutputFormat::Jpeg), Some(QUALITY), &|| false)
        .map_err(|e| e.to_string())?;
    std::fs::write(out, &enc.bytes).map_err(|e| e.to_string())?;
    Ok(start.elapsed())
}

/// (c), ours: every frame decoded (and converted to RGB), one thread; the frame count.
fn decode_all(input: &Path) -> Result<(Duration, usize), String> {
    let start = Instant::now();
    let c = ctx(1);
    let vi = video::VideoInput::from_path(input).map_err(|e| e.to_string())?;
    let info = video::probe(&vi, &c).map_err(|e| e.to_string())?;
    let t = info.video.first().ok_or("no video track")?;
    let fps = t.frame_rate.ok_or("no frame rate")?;
    let duration = info.duration.ok_or("no duration")?;
    let n = (duration * fps).round() as usize;
    let times: Vec<f64> = (0..n).map(|k| k as f64 / fps).collect();
    let mut got = 0usize;
    video::frames_at(
        &vi,
        &info,
        &times,
        FrameHint::default(),
        &c,
        &|| false,
        &mut |_, _| {
            got += 1;
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((start.elapsed(), got))
}

fn size_of(path: &Path) -> String {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    match image::image_dimensions(path) {
        Ok((w, h)) => format!("{w}x{h}, {bytes} bytes"),
        Err(e) => format!("unreadable ({e})"),
    }
}

/// Prints one comparison; returns its failure, if any.
fn report(
    label: &str,
    ours: &[Result<Duration, String>],
    theirs: &[Result<Duration, String>],
) -> Option<String> {
    let ok = |v: &[Result<Duration, String>]| -> Result<Duration, String> {
        let mut t = Vec::new();
        for r in v {
            t.push(r.clone()?);
        }
        if t.is_empty() {
            return Err("no runs".into());
        }
        Ok(median(t))
    };
    match (ok(ours), ok(theirs)) {
        (Ok(a), Ok(b)) => {
            println!(
                "  {label}: ours {:9.1} ms   ffmpeg {:9.1} ms   ratio ours/ffmpeg {:.3}",
                ms(a),
                ms(b),
                a.as_secs_f64() / b.as_secs_f64()
            );
            None
        }
        (a, b) => {
            let e = format!("{label}: ours {a:?}, ffmpeg {b:?}");
            println!("  {e}");
            Some(e)
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 5 } else { 1 };
    let story_runs = if full { 3 } else { 1 };
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("video-bench");
    let out = tempfile::tempdir().unwrap();
    let o = out.path();
    let mut failed = Vec::new();
    if which("ffmpeg").is_none() {
        println!("video_vs_ffmpeg: ffmpeg is not on PATH; nothing to compare");
        if full {
            std::process::exit(1);
        }
        return;
    }
    let (ten, long) = if full {
        let _ = std::fs::create_dir_all(&dir);
        let ten = dir.join("1080p_10s.mp4");
        let long = dir.join("1080p_10min.mp4");
        // GOP 2 s (veryfast, B-frames) and 5 s (ultrafast, low bitrate).
        if let Err(e) = make(&ten, 10, 48, false).and_then(|()| make(&long, 600, 120, true)) {
            eprintln!("video_vs_ffmpeg: cannot make the inputs: {e}");
            std::process::exit(1);
        }
        (ten, long)
    } else {
        let s = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/video/clip_1080p.mp4");
        (s.clone(), s)
    };
    let probe = |p: &Path| {
        video::VideoInput::from_path(p)
            .ok()
            .and_then(|v| video::probe(&v, &ctx(1)).ok())
            .and_then(|i| i.duration)
    };
    let (Some(ten_s), Some(long_s)) = (probe(&ten), probe(&long)) else {
        println!("video_vs_ffmpeg: our probe cannot read the inputs (not built yet?)");
        if full {
            std::process::exit(1);
        }
        return;
    };
    let (ts, ls) = (ten.to_string_lossy(), long.to_string_lossy());

    // (a)
    let mid = ten_s / 2.0;
    println!(
        "(a) the frame at {mid:.2} s of {ts} as a {WIDTH} px wide JPEG (q{QUALITY}), median of {runs}"
    );
    let (mut a_ours, mut a_ff) = (Vec::new(), Vec::new());
    let (a_out, a_ff_out) = (o.join("ours_frame.jpg"), o.join("ffmpeg_frame.jpg"));
    let mid_s = format!("{mid}");
    let scale = format!("scale={WIDTH}:-1");
    for i in 0..runs {
        let ff = || {
            ffmpeg(&[
                "-ss",
                &mid_s,
                "-i",
                &ts,
                "-frames:v",
                "1",
                "-vf",
                &scale,
                "-q:v",
                "3",
                &a_ff_out.to_string_lossy(),
            ])
        };
        if i % 2 == 0 {
            a_ours.push(frame_jpeg(&ten, mid, &a_out));
            a_ff.push(ff());
        } else {
            a_ff.push(ff());
            a_ours.push(frame_jpeg(&ten, mid, &a_out));
        }
    }
    failed.extend(report("frame", &a_ours, &a_ff));
    println!(
        "  outputs: ours {}, ffmpeg {}",
        size_of(&a_out),
        size_of(&a_ff_out)
    );

    // (b)
    let count: u32 = 16;
    let grid = storyboard::plan((1920, 1080), count, Some(4), 1568);
    println!(
        "(b) a {count}-frame 4x4 storyboard of {ls} ({long_s:.0} s), cells {}x{}, median of {story_runs}",
        grid.cell.0, grid.cell.1
    );
    let (mut b_ours, mut b_ff) = (Vec::new(), Vec::new());
    let (b_out, b_ff_out) = (o.join("ours_story.jpg"), o.join("ffmpeg_story.jpg"));
    let vf = format!("fps={count}/{long_s:.3},scale={}:-1,tile=4x4", grid.cell.0);
    for _ in 0..story_runs {
        b_ours.push(storyboard_jpeg(&long, count, &b_out));
        b_ff.push(ffmpeg(&[
            "-i",
            &ls,
            "-vf",
            &vf,
            "-frames:v",
            "1",
            "-q:v",
            "3",
            &b_ff_out.to_string_lossy(),
        ]));
    }
    failed.extend(report("storyboard", &b_ours, &b_ff));
    println!(
        "  outputs: ours {}, ffmpeg {}",
        size_of(&b_out),
        size_of(&b_ff_out)
    );

    // (c)
    println!("(c) full decode of {ts}, one thread, median of {runs}");
    let (mut c_ours, mut c_ff, mut c_rgb) = (Vec::new(), Vec::new(), Vec::new());
    let mut frames = 0;
    for _ in 0..runs {
        c_ours.push(decode_all(&ten).map(|(t, n)| {
            frames = n;
            t
        }));
        c_ff.push(ffmpeg(&["-threads", "1", "-i", &ts, "-f", "null", "-"]));
        c_rgb.push(ffmpeg(&[
            "-threads", "1", "-i", &ts, "-pix_fmt", "rgb24", "-f", "null", "-",
        ]));
    }
    failed.extend(report(
        "decode (ours to RGB) vs ffmpeg (YUV)",
        &c_ours,
        &c_ff,
    ));
    failed.extend(report(
        "decode (ours to RGB) vs ffmpeg -pix_fmt rgb24",
        &c_ours,
        &c_rgb,
    ));
    let fps = |v: &[Result<Duration, String>]| {
        let t: Vec<Duration> = v.iter().filter_map(|r| r.clone().ok()).collect();
        if t.is_empty() || frames == 0 {
            0.0
        } else {
            frames as f64 / median(t).as_secs_f64()
        }
    };
    println!(
        "  {frames} frames: ours {:.1} fps, ffmpeg {:.1} fps (YUV), {:.1} fps (RGB)",
        fps(&c_ours),
        fps(&c_ff),
        fps(&c_rgb)
    );
    if full && !failed.is_empty() {
        eprintln!("video_vs_ffmpeg: {}", failed.join("; "));
        std::process::exit(1);
    }
}
