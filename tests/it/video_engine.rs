//! The video engines against ffprobe/ffmpeg as the reference, through the contract functions
//! of `media::video` (probe, frames_at, scan, and the storyboard/scene helpers on top): facts
//! equal to ffprobe's; each frame at a time t is ffmpeg's frame shown at t (same pts as
//! ffprobe's `best_effort_timestamp`, pixels within [`MIN_PSNR_DB`]); every frame of B-frame,
//! open-GOP and VFR streams; the dispatch without ffmpeg; hostile files give errors, not
//! panics. Needs ffmpeg and ffprobe on PATH (Debian package ffmpeg), like the audio tests.
//!
//! The reference frame is decoded by ffmpeg to rgb24 with the matrix the contract names
//! (BT.601 below 720 lines, BT.709 from 720 up, unless the stream is tagged), chosen by its
//! index in presentation order (`select=eq(n,K)`), K from ffprobe's frame timestamps.

use crate::util::samples;
use mcp_media::media::video::{
    self, Engine, Frame, FrameHint, VideoCtx, VideoError, VideoInfo, scenes, storyboard,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The engines read an opened file: open a test sample.
fn inp(p: impl AsRef<std::path::Path>) -> video::VideoInput {
    video::VideoInput::from_path(p.as_ref()).expect("open the sample")
}

/// Least PSNR (RGB, 8-bit) of a native decode against ffmpeg's decode of the same frame
/// (the bar). The ffmpeg engine is held to the same bar.
const MIN_PSNR_DB: f64 = 30.0;
/// Largest difference between our frame pts and ffprobe's (after subtracting the stream's
/// start time): Matroska stores milliseconds, MP4 exact ticks.
const PTS_TOLERANCE: f64 = 0.0005;
/// Added to a frame's pts (as ffprobe prints it, rounded to a microsecond, maybe down) to ask
/// for that frame: far less than any frame's duration.
const NUDGE: f64 = 1e-5;
/// Largest difference between our duration and ffprobe's container duration: one frame at
/// 24 fps (containers disagree on whether the last frame's duration counts).
const DURATION_TOLERANCE: f64 = 0.042;

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

fn ctx() -> VideoCtx {
    VideoCtx {
        ffmpeg: Some(which("ffmpeg").expect(
            "ffmpeg is the reference decoder for these tests: install it (Debian package ffmpeg)",
        )),
        ffprobe: which("ffprobe"),
        threads: 2,
        ..VideoCtx::default()
    }
}

fn no_ffmpeg() -> VideoCtx {
    VideoCtx {
        ffmpeg: None,
        ffprobe: None,
        threads: 2,
        ..VideoCtx::default()
    }
}

fn sample(name: &str) -> PathBuf {
    samples().join("video").join(name)
}

fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (Debian package ffmpeg): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// ffprobe's facts of the first video stream and the container.
struct Reference {
    width: u32,
    height: u32,
    /// Clockwise degrees for display.
    rotation: u16,
    start: f64,
    duration: f64,
    tagged_matrix: bool,
    /// best_effort_timestamp of every frame minus the stream's start, presentation order.
    pts: Vec<f64>,
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

fn reference(path: &Path) -> Reference {
    let p = path.to_string_lossy();
    let facts = String::from_utf8(run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,start_time,color_space:stream_side_data=rotation:format=duration",
            "-of",
            "default=nw=1",
            &p,
        ],
    ))
    .unwrap();
    let num = |k: &str| -> f64 {
        field(&facts, k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("ffprobe {k} of {p}: {facts}"))
    };
    let rotation = field(&facts, "rotation")
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(0, |r| (-r).rem_euclid(360) as u16);
    let start = field(&facts, "start_time")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let frames = String::from_utf8(run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
            &p,
        ],
    ))
    .unwrap();
    let mut pts: Vec<f64> = frames
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
        .map(|t| t - start)
        .collect();
    pts.sort_by(f64::total_cmp);
    Reference {
        width: num("width") as u32,
        height: num("height") as u32,
        rotation,
        start,
        duration: num("duration"),
        tagged_matrix: field(&facts, "color_space").is_some_and(|c| c != "unknown"),
        pts,
    }
}

/// ffprobe's count of decoded frames (`-count_frames`).
fn count_frames(path: &Path) -> usize {
    let out = String::from_utf8(run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            &path.to_string_lossy(),
        ],
    ))
    .unwrap();
    out.trim().trim_end_matches(',').parse().unwrap()
}

/// ffmpeg's frame `k` (presentation order), displayed (rotation applied), as RGB.
fn ffmpeg_frame(path: &Path, r: &Reference, k: usize) -> image::RgbImage {
    let matrix = if r.tagged_matrix {
        "auto"
    } else if r.height.min(r.width) >= 720 {
        "bt709"
    } else {
        "bt601"
    };
    // swscale's default flags: `accurate_rnd+full_chroma_int` moved the whole picture
    // away from both our decode and ffmpeg's default one (29 dB) on ffmpeg 5.1.
    let vf = format!("select=eq(n\\,{k}),scale=in_color_matrix={matrix}");
    let (w, h) = if r.rotation % 180 == 90 {
        (r.height, r.width)
    } else {
        (r.width, r.height)
    };
    let raw = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-nostdin",
            "-i",
            &path.to_string_lossy(),
            "-vf",
            &vf,
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
    );
    image::RgbImage::from_raw(w, h, raw)
        .unwrap_or_else(|| panic!("ffmpeg frame {k} of {path:?} is not {w}x{h} RGB"))
}

fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "frame sizes differ");
    let se: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = se / a.as_raw().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Our frames at `times`, in the order of `times`.
fn frames(
    path: &Path,
    info: &VideoInfo,
    times: &[f64],
    ctx: &VideoCtx,
) -> Result<Vec<Frame>, VideoError> {
    let mut out: Vec<Option<Frame>> = vec![None; times.len()];
    video::frames_at(
        &inp(path),
        info,
        times,
        FrameHint::default(),
        ctx,
        &|| false,
        &mut |i, f| {
            out[i] = Some(f);
            Ok(())
        },
    )?;
    Ok(out
        .into_iter()
        .enumerate()
        .map(|(i, f)| f.unwrap_or_else(|| panic!("no frame for time {}", times[i])))
        .collect())
}

/// The index of the frame shown at `t`: the last whose pts <= t (the first before it).
fn shown_at(pts: &[f64], t: f64) -> usize {
    pts.iter().rposition(|&p| p <= t + 1e-9).unwrap_or(0)
}

/// AV1 decodes natively only in builds with the `av1` feature (off by default: rav1d aborts
/// the process on some corrupt streams), through ffmpeg otherwise.
const AV1_ENGINE: Engine = if cfg!(feature = "av1") {
    Engine::Native
} else {
    Engine::Ffmpeg
};

/// (sample, engine expected) for every decodable sample.
const SAMPLES: &[(&str, Engine)] = &[
    ("clip_h264_aac.mp4", Engine::Native),
    ("clip.mkv", Engine::Native),
    ("clip_h264_bframes.mp4", Engine::Native),
    ("phone_rotated.mp4", Engine::Native),
    ("clip_vfr.mp4", Engine::Native),
    ("clip_1080p.mp4", Engine::Native),
    ("clip_av1.mp4", AV1_ENGINE),
    ("clip_vp9_opus.webm", Engine::Ffmpeg),
    ("clip_hevc.mp4", Engine::Ffmpeg),
    ("clip_mpeg4_mp3.avi", Engine::Ffmpeg),
    ("clip_h264_10bit.mp4", Engine::Ffmpeg),
];

#[test]
fn probe_facts_equal_ffprobes() {
    let ctx = ctx();
    for &(name, engine) in SAMPLES {
        let path = sample(name);
        let r = reference(&path);
        let info = video::probe(&inp(&path), &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.engine, Some(engine), "{name}: engine");
        let t = info
            .video
            .first()
            .unwrap_or_else(|| panic!("{name}: no video track"));
        assert_eq!(
            (t.width, t.height),
            (r.width, r.height),
            "{name}: coded size"
        );
        assert_eq!(t.rotation, r.rotation, "{name}: rotation");
        let display = if r.rotation % 180 == 90 {
            (r.height, r.width)
        } else {
            (r.width, r.height)
        };
        assert_eq!(
            (t.display_width, t.display_height),
            display,
            "{name}: display size"
        );
        let d = info
            .duration
            .unwrap_or_else(|| panic!("{name}: no duration"));
        assert!(
            (d - r.duration).abs() <= DURATION_TOLERANCE,
            "{name}: duration {d} vs ffprobe's {}",
            r.duration
        );
    }
}

#[test]
fn frames_match_ffmpegs_frame_at_the_same_pts() {
    let ctx = ctx();
    for &(name, _) in SAMPLES {
        let path = sample(name);
        let r = reference(&path);
        let info = video::probe(&inp(&path), &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        let n = r.pts.len();
        assert!(n >= 3, "{name}: {n} frames");
        let mid = n / 2;
        // Start, the middle frame's own pts, between two frames, past the end.
        let times = [
            0.0,
            r.pts[mid] + NUDGE,
            (r.pts[mid + 1] + r.pts[mid]) / 2.0,
            r.pts[n - 1] + 5.0,
        ];
        let got = frames(&path, &info, &times, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (t, f) in times.iter().zip(&got) {
            let k = shown_at(&r.pts, *t);
            assert!(
                (f.pts - r.pts[k]).abs() <= PTS_TOLERANCE,
                "{name} at {t}: pts {} but ffprobe's frame {k} is at {} (start {})",
                f.pts,
                r.pts[k],
                r.start
            );
            let want = ffmpeg_frame(&path, &r, k);
            let db = psnr(&f.image, &want);
            assert!(
                db >= MIN_PSNR_DB,
                "{name} at {t} (frame {k}): PSNR {db:.1} dB against ffmpeg's"
            );
            println!("{name} t={t:.3} frame {k}: PSNR {db:.1} dB");
        }
    }
}

#[test]
fn bframe_open_gop_and_vfr_streams_give_every_frame_at_its_pts() {
    let ctx = ctx();
    for name in [
        "clip_h264_bframes.mp4",
        "clip.mkv",
        "clip_vfr.mp4",
        "clip_av1.mp4",
    ] {
        let path = sample(name);
        let r = reference(&path);
        let count = count_frames(&path);
        assert_eq!(r.pts.len(), count, "{name}: ffprobe disagrees with itself");
        let info = video::probe(&inp(&path), &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        let times: Vec<f64> = r.pts.iter().map(|t| t + NUDGE).collect();
        let got = frames(&path, &info, &times, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut distinct: Vec<f64> = got.iter().map(|f| f.pts).collect();
        distinct.dedup_by(|a, b| (*a - *b).abs() <= PTS_TOLERANCE);
        assert_eq!(distinct.len(), count, "{name}: distinct frames decoded");
        for (want, f) in r.pts.iter().zip(&got) {
            assert!(
                (f.pts - want).abs() <= PTS_TOLERANCE,
                "{name}: asked for the frame at {want}, got {}",
                f.pts
            );
        }
        // The frame shown halfway between two frames is the earlier one (VFR: the gaps
        // differ).
        for k in [1, count / 2, count - 2] {
            let t = (r.pts[k] + r.pts[k + 1]) / 2.0;
            let f = &frames(&path, &info, &[t], &ctx).unwrap()[0];
            assert!((f.pts - r.pts[k]).abs() <= PTS_TOLERANCE, "{name} at {t}");
        }
    }
}

/// Samples at `start + i * interval` for every such time before `end` (end excluded: it is
/// usually the duration, past the last frame), as `ffmpeg::scan` documents.
#[test]
fn scan_delivers_small_frames_at_the_sample_times() {
    let ctx = ctx();
    for name in [
        "clip_h264_bframes.mp4",
        "clip_vp9_opus.webm",
        "phone_rotated.mp4",
    ] {
        let path = sample(name);
        let r = reference(&path);
        let info = video::probe(&inp(&path), &ctx).unwrap();
        let mut got = Vec::new();
        video::scan(
            &inp(&path),
            &info,
            (0.0, 2.0),
            0.25,
            (64, 64),
            &ctx,
            &|| false,
            &mut |i, f| {
                got.push((i, f));
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.len(), 8, "{name}: samples at 0, 0.25, .. 1.75");
        for (j, (i, f)) in got.iter().enumerate() {
            assert_eq!(*i, j);
            assert!(f.image.width() <= 64 && f.image.height() <= 64, "{name}");
            // Aspect as displayed (portrait for the phone clip).
            let portrait = f.image.height() > f.image.width();
            assert_eq!(portrait, r.rotation % 180 == 90, "{name}");
            let k = shown_at(&r.pts, j as f64 * 0.25);
            assert!(
                (f.pts - r.pts[k]).abs() <= PTS_TOLERANCE,
                "{name} sample {j}: {}",
                f.pts
            );
        }
    }
}

#[test]
fn without_ffmpeg_native_formats_work_and_the_others_name_ffmpeg() {
    let ctx = no_ffmpeg();
    for &(name, engine) in SAMPLES {
        let path = sample(name);
        let result = video::probe(&inp(&path), &ctx).and_then(|info| {
            if engine == Engine::Native {
                assert_eq!(info.engine, Some(Engine::Native), "{name}");
            }
            frames(&path, &info, &[0.5], &ctx)
        });
        match (engine, result) {
            (Engine::Native, Ok(f)) => assert_eq!(f.len(), 1),
            (Engine::Native, Err(e)) => panic!("{name} without ffmpeg: {e}"),
            (Engine::Ffmpeg, Err(VideoError::Unsupported(m))) => {
                assert!(m.contains("ffmpeg"), "{name}: {m}")
            }
            (Engine::Ffmpeg, other) => {
                panic!("{name} without ffmpeg: {other:?}, not Unsupported naming ffmpeg")
            }
        }
    }
}

/// Writes a video made by ffmpeg from lavfi sources into `dir`.
fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut all = vec!["-v", "error", "-nostdin", "-y"];
    all.extend_from_slice(args);
    let o = out.to_string_lossy().into_owned();
    all.push(&o);
    run("ffmpeg", &all);
    out
}

#[test]
fn scene_cuts_of_a_real_file_are_found_within_one_sample() {
    // Three shots: testsrc 0..1 s, smptebars 1..2.5 s, testsrc2 2.5..3.5 s, 24 fps H.264.
    let dir = tempfile::tempdir().unwrap();
    let path = make(
        dir.path(),
        "cuts.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x180:rate=24:duration=1",
            "-f",
            "lavfi",
            "-i",
            "smptebars=size=320x180:rate=24:duration=1.5",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=24:duration=1",
            "-filter_complex",
            "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p",
            "-c:v",
            "libx264",
            "-g",
            "24",
        ],
    );
    let ctx = ctx();
    let info = video::probe(&inp(&path), &ctx).unwrap();
    let interval = 0.25;
    let opts = scenes::Options {
        interval: Some(interval),
        ..scenes::Options::default()
    };
    let cuts = scenes::detect(
        &inp(&path),
        &info,
        None,
        &opts,
        &ctx,
        &|| false,
        &mut |_, _| {},
    )
    .unwrap();
    let times: Vec<f64> = cuts.iter().map(|c| c.time).collect();
    assert_eq!(cuts.len(), 2, "{cuts:?}");
    for (got, want) in times.iter().zip([1.0, 2.5]) {
        // The first sample after the cut: within one interval after it.
        assert!(
            *got >= want - 1e-6 && *got <= want + interval + 1e-6,
            "cut at {want} reported at {got} ({cuts:?})"
        );
    }
    // A higher threshold than every score finds nothing; max 1 keeps the stronger.
    let none = scenes::Options {
        threshold: 1.0,
        ..opts
    };
    assert!(
        scenes::detect(
            &inp(&path),
            &info,
            None,
            &none,
            &ctx,
            &|| false,
            &mut |_, _| {}
        )
        .unwrap()
        .is_empty()
    );
    let one = scenes::Options { max: 1, ..opts };
    let top = scenes::detect(
        &inp(&path),
        &info,
        None,
        &one,
        &ctx,
        &|| false,
        &mut |_, _| {},
    )
    .unwrap();
    let best = cuts.iter().map(|c| c.score).fold(0.0, f64::max);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].score, best);
}

#[test]
fn dissolves_and_fades_of_a_real_file_are_not_cuts() {
    // testsrc2 dissolving into smptebars over 1 s (1..2 s), then a fade to black over 1 s
    // (3..4 s): each step changes about as much as its neighbours. (A score from the
    // previous pair alone put the dissolve's middle step at 0.30.)
    let dir = tempfile::tempdir().unwrap();
    let path = make(
        dir.path(),
        "fades.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=24:duration=3",
            "-f",
            "lavfi",
            "-i",
            "smptebars=size=320x180:rate=24:duration=3",
            "-filter_complex",
            "[0:v][1:v]xfade=transition=fade:duration=1:offset=1,fade=t=out:st=3:d=1,format=yuv420p",
            "-c:v",
            "libx264",
        ],
    );
    let ctx = ctx();
    let info = video::probe(&inp(&path), &ctx).unwrap();
    let opts = scenes::Options {
        interval: Some(0.25),
        ..scenes::Options::default()
    };
    let cuts = scenes::detect(
        &inp(&path),
        &info,
        None,
        &opts,
        &ctx,
        &|| false,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(cuts.is_empty(), "{cuts:?}");
}

#[test]
fn gathering_with_two_workers_gives_the_frames_in_request_order() {
    let ctx = ctx();
    let path = sample("clip_h264_bframes.mp4");
    let r = reference(&path);
    let info = video::probe(&inp(&path), &ctx).unwrap();
    // Unsorted, with a duplicate and a time past the end.
    let times = [2.5, 0.1, 1.6, 0.1, 9.0, 1.04];
    for threads in [1, 2, 3] {
        let c = VideoCtx {
            threads,
            ..ctx.clone()
        };
        let got = storyboard::gather(
            &inp(&path),
            &info,
            &times,
            FrameHint::default(),
            &c,
            &|| false,
        )
        .unwrap();
        assert_eq!(got.len(), times.len());
        for (t, f) in times.iter().zip(&got) {
            let k = shown_at(&r.pts, *t);
            assert!(
                (f.pts - r.pts[k]).abs() <= PTS_TOLERANCE,
                "{threads} workers, t={t}: {}",
                f.pts
            );
        }
    }
    // A storyboard of them fits the budget and has the frames' size.
    let frames = storyboard::gather(
        &inp(&path),
        &info,
        &storyboard::even_times(0.0, 3.0, 9),
        FrameHint::default(),
        &ctx,
        &|| false,
    )
    .unwrap();
    let (enc, grid) = storyboard::render(&frames, (320, 240), None, true, None, &|| false).unwrap();
    assert_eq!((grid.columns, grid.rows), (3, 3));
    assert_eq!((enc.width, enc.height), grid.size());
    // Cancelled before it starts: Cancelled.
    let err = storyboard::gather(
        &inp(&path),
        &info,
        &[1.0, 2.0],
        FrameHint::default(),
        &ctx,
        &|| true,
    )
    .unwrap_err();
    assert!(matches!(err, VideoError::Cancelled), "{err:?}");
}

/// Position of the first `fourcc` box type in `data` (the 4 bytes after its size).
fn find(data: &[u8], fourcc: &[u8; 4]) -> Option<usize> {
    data.windows(4).position(|w| w == fourcc)
}

/// Runs everything the engines offer on a file; must return (Ok or Err), never panic.
fn exercise(path: &Path, ctx: &VideoCtx) -> Result<(), VideoError> {
    let info = video::probe(&inp(path), ctx)?;
    let fs = frames(path, &info, &[0.0, 0.7, 1.9, 50.0], ctx)?;
    for f in &fs {
        let (w, h) = f.image.dimensions();
        assert!(
            w <= ctx.limits.max_width.max(ctx.limits.max_height)
                && h <= ctx.limits.max_width.max(ctx.limits.max_height),
            "{path:?}: a {w}x{h} frame past the limits"
        );
    }
    video::scan(
        &inp(path),
        &info,
        (0.0, 2.0),
        0.5,
        (64, 64),
        ctx,
        &|| false,
        &mut |_, _| Ok(()),
    )
}

#[test]
fn hostile_videos_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut cases: Vec<(String, Vec<u8>, bool)> = Vec::new(); // (name, bytes, must fail)
    for name in [
        "clip_h264_aac.mp4",
        "clip.mkv",
        "clip_av1.mp4",
        "clip_h264_bframes.mp4",
    ] {
        let data = std::fs::read(sample(name)).unwrap();
        let ext = name.rsplit('.').next().unwrap();
        for pct in [1, 5, 10, 30, 50, 70, 90, 99] {
            let cut = data.len() * pct / 100;
            cases.push((format!("trunc{pct}.{name}"), data[..cut].to_vec(), false));
        }
        // Bit flips: 1 in 500 bytes past the first 64, from a fixed seed.
        let mut seed = 0x1234_5678u32 ^ data.len() as u32;
        for round in 0..3 {
            let mut bad = data.clone();
            for b in bad.iter_mut().skip(64) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if seed.is_multiple_of(500) {
                    *b ^= 1 << ((seed >> 9) % 8);
                }
            }
            cases.push((format!("flip{round}.{name}"), bad, false));
        }
        cases.push((format!("empty.{ext}"), Vec::new(), true));
        cases.push((format!("garbage.{ext}"), vec![0xAB; 4096], true));
    }
    let mp4 = std::fs::read(sample("clip_h264_aac.mp4")).unwrap();
    // Absurd dimensions in the sample entry and the track header.
    let mut huge = mp4.clone();
    // The sample entry, not the `avc1` brand in `ftyp`.
    let stsd = find(&huge, b"stsd").unwrap();
    let avc1 = stsd + find(&huge[stsd..], b"avc1").unwrap();
    huge[avc1 + 28..avc1 + 32].copy_from_slice(&[0xFF; 4]);
    let tkhd = find(&huge, b"tkhd").unwrap();
    // Version 0 tkhd: width and height (16.16) are its last 8 bytes of 84.
    let size = u32::from_be_bytes(huge[tkhd - 4..tkhd].try_into().unwrap()) as usize;
    let end = tkhd - 4 + size;
    huge[end - 8..end].copy_from_slice(&[0x7F, 0xFF, 0, 0, 0x7F, 0xFF, 0, 0]);
    cases.push(("huge_dims.mp4".into(), huge, false));
    // Sample tables claiming billions of entries.
    for fourcc in [b"stsz", b"stco", b"stts", b"stsc", b"stss", b"ctts"] {
        if let Some(at) = find(&mp4, fourcc) {
            let mut bad = mp4.clone();
            // stsz: version/flags, sample size, count; the others: version/flags, count.
            let count = if fourcc == b"stsz" { at + 12 } else { at + 8 };
            bad[count..count + 4].copy_from_slice(&[0x7F, 0xFF, 0xFF, 0xFF]);
            cases.push((
                format!("huge_{}.mp4", String::from_utf8_lossy(fourcc)),
                bad,
                false,
            ));
        }
    }
    // A track without samples.
    let mut zero = mp4.clone();
    let stsz = find(&zero, b"stsz").unwrap();
    zero[stsz + 8..stsz + 16].copy_from_slice(&[0; 8]);
    cases.push(("zero_samples.mp4".into(), zero, true));
    let zero_track = make(
        d,
        "zero_track.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=24:duration=1",
            "-frames:v",
            "0",
            "-c:v",
            "libx264",
        ],
    );
    cases.push((
        "zero_track.mp4".into(),
        std::fs::read(&zero_track).unwrap(),
        true,
    ));

    let (native, full) = (no_ffmpeg(), ctx());
    let mut failures = 0;
    for (name, bytes, must_fail) in &cases {
        let path = d.join(name);
        std::fs::write(&path, bytes).unwrap();
        for (which, c) in [("native", &native), ("with ffmpeg", &full)] {
            let r = exercise(&path, c);
            if *must_fail {
                assert!(r.is_err(), "{name} ({which}): no error");
            }
            if let Err(e) = &r {
                failures += 1;
                assert!(
                    !matches!(e, VideoError::Internal(_)),
                    "{name} ({which}): an internal error for bad input: {e}"
                );
            }
        }
    }
    println!(
        "{} hostile cases, {failures} runs failed cleanly",
        cases.len()
    );
    assert!(failures > 0);
}
