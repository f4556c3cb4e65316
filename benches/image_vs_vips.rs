//! Whole-pipeline image benchmark against libvips and ImageMagick, side by side in one run:
//! the 12 MP phone JPEG (`samples/images/phone.jpg`, EXIF orientation 6), and the same photo as
//! a PNG and as a lossy WebP, to a 1568 px JPEG at quality 80 (decode, orient, resize,
//! encode). Ours is timed in process
//! (`media::image::pipeline::render` plus writing the file); the references are whole
//! processes: `vipsthumbnail phone.jpg -s 1568 -o out.jpg[Q=80]` and
//! `/usr/bin/convert phone.jpg -auto-orient -thumbnail 1568x1568 -quality 80 out.jpg`
//! (`-auto-orient` so that it does the same work: vipsthumbnail and ours apply the orientation).
//! Reported: the median of N runs of each, interleaved, and the ratios ours/vips and
//! ours/convert; the start cost of each reference process (the same command on a 16x16 JPEG
//! to 16 px), so that the in-process vs spawn difference can be judged; output sizes and
//! dimensions.
//!
//! Run: `cargo bench --bench image_vs_vips` (needs vipsthumbnail from libvips-tools and
//! ImageMagick at /usr/bin/convert; /usr/local/bin/convert may be an unrelated shim).
//! Without `--bench` (as `cargo test --all-targets` runs it) it makes one run of each and
//! reports instead of failing when a tool or our pipeline is unavailable.
#![allow(clippy::print_stdout)] // a benchmark reports on stdout; no protocol runs there

use mcp_media::media::image::decode::DecodeOptions;
use mcp_media::media::image::pipeline::render;
use mcp_media::media::image::{OutputFormat, TransformSpec};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONVERT: &str = "/usr/bin/convert";
const EDGE: u32 = 1568;
const QUALITY: u8 = 80;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs a reference command; Err says why it could not (not installed, failed).
fn spawn(cmd: &[String]) -> Result<Duration, String> {
    let t = Instant::now();
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", cmd[0]))?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(took)
}

fn vips_cmd(input: &Path, output: &Path, edge: u32) -> Vec<String> {
    vec![
        "vipsthumbnail".into(),
        input.to_string_lossy().into_owned(),
        "-s".into(),
        edge.to_string(),
        "-o".into(),
        format!("{}[Q={QUALITY}]", output.to_string_lossy()),
    ]
}

fn convert_cmd(input: &Path, output: &Path, edge: u32) -> Vec<String> {
    vec![
        CONVERT.into(),
        input.to_string_lossy().into_owned(),
        "-auto-orient".into(),
        "-thumbnail".into(),
        format!("{edge}x{edge}"),
        "-quality".into(),
        QUALITY.to_string(),
        output.to_string_lossy().into_owned(),
    ]
}

/// Our pipeline on `input`, the output written to `output` as the references do.
fn ours(input: &Path, output: &Path) -> Result<(Duration, u32, u32), String> {
    let spec = TransformSpec {
        max_width: Some(EDGE),
        max_height: Some(EDGE),
        format: Some(OutputFormat::Jpeg),
        quality: Some(QUALITY),
        ..TransformSpec::default()
    };
    let t = Instant::now();
    let f = std::fs::File::open(input).map_err(|e| e.to_string())?;
    let enc = render(BufReader::new(f), &DecodeOptions::default(), &spec, &|| {
        false
    })
    .map_err(|e| e.to_string())?;
    std::fs::write(output, &enc.bytes).map_err(|e| e.to_string())?;
    Ok((t.elapsed(), enc.width, enc.height))
}

/// Size and dimensions of an output JPEG, read back with an independent decoder's header.
fn describe(path: &Path) -> String {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    match image::image_dimensions(path) {
        Ok((w, h)) => format!("{w}x{h}, {size} bytes"),
        Err(e) => format!("unreadable ({e}), {size} bytes"),
    }
}

struct Side {
    name: &'static str,
    times: Vec<Duration>,
    error: Option<String>,
    output: PathBuf,
}

impl Side {
    fn new(name: &'static str, output: PathBuf) -> Self {
        Side {
            name,
            times: vec![],
            error: None,
            output,
        }
    }
    fn record(&mut self, r: Result<Duration, String>) {
        match r {
            Ok(d) => self.times.push(d),
            Err(e) => self.error = Some(e),
        }
    }
    fn median(&self) -> Option<Duration> {
        (self.error.is_none() && !self.times.is_empty()).then(|| median(self.times.clone()))
    }
}

/// Times ours, vipsthumbnail and convert on one input, interleaved; prints the medians and
/// ratios and returns the failures.
fn compare(
    label: &str,
    input: &Path,
    runs: usize,
    d: &Path,
    vips_start: Option<Duration>,
) -> Vec<String> {
    let in_size = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
    println!(
        "{label} to a {EDGE} px JPEG at quality {QUALITY}: {} ({in_size} bytes), median of {runs}, interleaved",
        input.display()
    );
    let tag = label
        .split_whitespace()
        .next()
        .unwrap_or("in")
        .to_lowercase();
    let mut us = Side::new("ours (in process)", d.join(format!("ours_{tag}.jpg")));
    let mut vips = Side::new("vipsthumbnail", d.join(format!("vips_{tag}.jpg")));
    let mut im = Side::new("convert -thumbnail", d.join(format!("convert_{tag}.jpg")));
    let mut our_dims = None;
    for i in 0..runs {
        // Rotate the order so no side always runs first (warm caches, CPU frequency).
        for k in 0..3 {
            match (i + k) % 3 {
                0 => {
                    let r = ours(input, &us.output).map(|(t, w, h)| {
                        our_dims = Some((w, h));
                        t
                    });
                    us.record(r)
                }
                1 => vips.record(spawn(&vips_cmd(input, &vips.output, EDGE))),
                _ => im.record(spawn(&convert_cmd(input, &im.output, EDGE))),
            }
        }
    }
    for s in [&us, &vips, &im] {
        match (&s.error, s.median()) {
            (None, Some(m)) => {
                let shape = if s.name == us.name {
                    our_dims.map_or(String::new(), |(w, h)| format!(" (says {w}x{h})"))
                } else {
                    String::new()
                };
                println!(
                    "  {:<28} {:>8.1} ms   output {}{shape}",
                    s.name,
                    ms(m),
                    describe(&s.output)
                );
            }
            (err, _) => println!(
                "  {:<28} unavailable: {}",
                s.name,
                err.as_deref().unwrap_or("no runs")
            ),
        }
    }
    if let (Some(o), Some(v), Some(c)) = (us.median(), vips.median(), im.median()) {
        println!(
            "  ratio ours/vipsthumbnail {:.2}, ours/convert {:.2} (below 1: ours is faster)",
            o.as_secs_f64() / v.as_secs_f64(),
            o.as_secs_f64() / c.as_secs_f64()
        );
        if let Some(vs) = vips_start {
            let work = v.saturating_sub(vs);
            println!(
                "  vipsthumbnail minus its start cost: {:.1} ms; ours/that {:.2}",
                ms(work),
                o.as_secs_f64() / work.as_secs_f64().max(1e-9)
            );
        }
    }
    [&us, &vips, &im]
        .iter()
        .filter_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("{label}, {}: {e}", s.name))
        })
        .collect()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = if full { 9 } else { 1 };
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/images/phone.jpg");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // The start cost of each reference process: the same command on a 16x16 JPEG to 16 px
    // (both tools would upscale it to the full edge otherwise).
    let tiny = d.join("tiny.jpg");
    let made = spawn(&[
        CONVERT.into(),
        "-size".into(),
        "16x16".into(),
        "xc:gray".into(),
        tiny.to_string_lossy().into_owned(),
    ]);
    let mut vips_start = Side::new("vipsthumbnail, 16x16 input", d.join("tiny_v.jpg"));
    let mut im_start = Side::new("convert, 16x16 input", d.join("tiny_c.jpg"));
    if let Err(e) = made {
        vips_start.error = Some(format!("no 16x16 JPEG: {e}"));
        im_start.error = vips_start.error.clone();
    } else {
        for _ in 0..runs.max(5) {
            vips_start.record(spawn(&vips_cmd(&tiny, &vips_start.output, 16)));
            im_start.record(spawn(&convert_cmd(&tiny, &im_start.output, 16)));
        }
    }
    for s in [&vips_start, &im_start] {
        match s.median() {
            Some(m) => println!("start cost: {:<28} {:>8.1} ms", s.name, ms(m)),
            None => println!("start cost: {:<28} unavailable", s.name),
        }
    }

    // The same photo, upright, as a PNG and as a lossy WebP (made by vipsthumbnail at full
    // size), for the other decoders.
    let mut inputs = vec![("12 MP JPEG (EXIF orientation 6)".to_string(), input.clone())];
    for (label, name) in [
        ("12 MP PNG", "phone.png"),
        ("12 MP WebP", "phone.webp[Q=85]"),
    ] {
        let out = d.join(name);
        let file = d.join(name.split('[').next().unwrap_or(name));
        match spawn(&[
            "vipsthumbnail".into(),
            input.to_string_lossy().into_owned(),
            "-s".into(),
            "4032".into(),
            "-o".into(),
            out.to_string_lossy().into_owned(),
        ]) {
            Ok(_) => inputs.push((label.to_string(), file)),
            Err(e) => println!("{label}: cannot make the input: {e}"),
        }
    }
    let mut failed = vec![];
    for (label, path) in &inputs {
        failed.extend(compare(label, path, runs, d, vips_start.median()));
    }
    if full && !failed.is_empty() {
        eprintln!("image_vs_vips: {}", failed.join("; "));
        std::process::exit(1);
    }
}
