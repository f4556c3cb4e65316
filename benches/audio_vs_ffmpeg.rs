//! Whole-pipeline audio benchmark against ffmpeg, side by side in one run: decode + resample
//! to 16 kHz mono + 30 s WAV chunks, for FLAC, MP3, AAC, Vorbis and Opus (60 s and 10-minute
//! stereo 44.1 kHz sources made by ffmpeg), in process, chunks one after another and on every
//! core (`media::parallel::ordered`, as `audio_transcode` renders them), reported as
//! x-realtime and as the ratio of median times (ours / ffmpeg `-ac 1 -ar 16000 -f segment`).
//! Also time to the first 30 s chunk of a one-hour file against a one-minute file (it must
//! not grow with the length).
//!
//! Run: `cargo bench --bench audio_vs_ffmpeg` (needs ffmpeg on PATH).
#![allow(clippy::print_stdout)] // a benchmark reports on stdout; no protocol runs there

use mcp_media::media::audio::segment::{Format, SegmentSpec, render};
use mcp_media::media::parallel::ordered;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg on PATH");
    assert!(ok.success(), "ffmpeg {args:?}");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Renders `seconds` of `path` as 30 s chunks on `workers` threads, in order.
fn ours(path: &Path, seconds: f64, workers: usize) {
    let ext = path.extension().and_then(|e| e.to_str());
    let n = (seconds / 30.0).ceil() as usize;
    let render_chunk = |i: usize| {
        let start = i as f64 * 30.0;
        let spec = SegmentSpec {
            start,
            duration: Some(30.0f64.min(seconds - start)),
            format: Format::Wav,
            rate: Some(16000),
            mono: true,
        };
        let f = std::fs::File::open(path).unwrap();
        render(Box::new(f), ext, &spec, &|| false).unwrap()
    };
    ordered(n, workers, &render_chunk, &mut |_, seg| {
        assert!(seg.data.len() > 44);
        true
    });
}

fn main() {
    let short = !std::env::args().any(|a| a == "--bench");
    let runs = if short { 1 } else { 5 };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lengths: &[u32] = if short { &[60] } else { &[60, 600] };
    for &secs in lengths {
        let src = format!("sine=frequency=440:sample_rate=44100:duration={secs}");
        for (name, codec) in [
            ("a.flac", "flac"),
            ("a.mp3", "libmp3lame"),
            ("a.m4a", "aac"),
            ("a.ogg", "libvorbis"),
            ("a.opus", "libopus"),
        ] {
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                &src,
                "-ac",
                "2",
                "-c:a",
                codec,
                &d.join(name).to_string_lossy(),
            ]);
        }
        println!(
            "decode + resample to 16 kHz mono + 30 s WAV chunks, {secs} s stereo 44.1 kHz source, median of {runs}; ours on 1 and {cores} threads"
        );
        for name in ["a.flac", "a.mp3", "a.m4a", "a.ogg", "a.opus"] {
            let p = d.join(name);
            let (mut t_one, mut t_all, mut t_ff) = (vec![], vec![], vec![]);
            for _ in 0..runs {
                let t = Instant::now();
                ours(&p, f64::from(secs), 1);
                t_one.push(t.elapsed());
                let t = Instant::now();
                ours(&p, f64::from(secs), cores);
                t_all.push(t.elapsed());
                let out = d.join("seg%03d.wav");
                let t = Instant::now();
                ffmpeg(&[
                    "-i",
                    &p.to_string_lossy(),
                    "-ac",
                    "1",
                    "-ar",
                    "16000",
                    "-f",
                    "segment",
                    "-segment_time",
                    "30",
                    &out.to_string_lossy(),
                ]);
                t_ff.push(t.elapsed());
            }
            let (one, all, ff) = (median(t_one), median(t_all), median(t_ff));
            let x = |d: Duration| f64::from(secs) / d.as_secs_f64();
            println!(
                "{name:7} ours 1 thread {:8.1} ms ({:5.0}x realtime)  {cores} threads {:8.1} ms ({:5.0}x)  ffmpeg {:8.1} ms ({:5.0}x)  ratio ours/ffmpeg {:.2} / {:.2}",
                one.as_secs_f64() * 1e3,
                x(one),
                all.as_secs_f64() * 1e3,
                x(all),
                ff.as_secs_f64() * 1e3,
                x(ff),
                one.as_secs_f64() / ff.as_secs_f64(),
                all.as_secs_f64() / ff.as_secs_f64()
            );
        }
    }
    // Time to first chunk: one hour vs one minute of FLAC.
    for (name, secs) in [("minute.flac", "60"), ("hour.flac", "3600")] {
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=16000:duration={secs}"),
            "-c:a",
            "flac",
            &d.join(name).to_string_lossy(),
        ]);
    }
    let first = |name: &str, start: f64| {
        let mut v = vec![];
        for _ in 0..runs {
            let t = Instant::now();
            let spec = SegmentSpec {
                start,
                duration: Some(30.0),
                format: Format::Wav,
                rate: Some(16000),
                mono: true,
            };
            render(
                Box::new(std::fs::File::open(d.join(name)).unwrap()),
                Some("flac"),
                &spec,
                &|| false,
            )
            .unwrap();
            v.push(t.elapsed());
        }
        median(v)
    };
    let (m, h, h_mid) = (
        first("minute.flac", 0.0),
        first("hour.flac", 0.0),
        first("hour.flac", 1800.0),
    );
    println!(
        "time to first 30 s chunk: 1-minute file {:.1} ms, 1-hour file {:.1} ms, 1-hour file from 30:00 {:.1} ms",
        m.as_secs_f64() * 1e3,
        h.as_secs_f64() * 1e3,
        h_mid.as_secs_f64() * 1e3
    );
}
