//! The audio pipeline against ffmpeg as the reference decoder: decoded PCM agrees (lossless
//! sources bit-exact, lossy ones within 70 dB), chunked transcodes re-assemble to the whole,
//! every chunk is a valid WAV ffprobe reads with the planned duration, bad and hostile files
//! get clear errors naming the limit hit, and cancelling a transcode stops the job early.
//!
//! Tolerance: lossless sources (at their native rate and channels) must equal ffmpeg's decode
//! sample for sample at lag 0, both quantised to 16 bits the documented way (x 32768, rounded
//! to nearest, ties to even, clamped). Lossy sources must reach 70 dB signal-to-difference
//! after aligning by cross-correlation (decoders differ in how they trim encoder delay), and
//! lengths must agree within 1 % (plus the alignment lag).

use crate::util::{Server, modern, modern_meta, samples, wav_header};
use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

fn ffmpeg_pcm(file: &str, start: f64, dur: f64) -> Vec<i16> {
    ffmpeg_pcm_with(file, start, dur, &["-ac", "1", "-ar", "16000"])
}

/// ffmpeg's decode as s16le, with extra output options (none: native rate and channels).
fn ffmpeg_pcm_with(file: &str, start: f64, dur: f64, opts: &[&str]) -> Vec<i16> {
    let out = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-ss",
            &start.to_string(),
            "-t",
            &dur.to_string(),
            "-i",
            file,
        ])
        .args(opts)
        .args(["-f", "s16le", "-"])
        .output()
        .expect(
            "ffmpeg is the reference decoder for these tests: install it (Debian package ffmpeg)",
        );
    assert!(out.status.success(), "ffmpeg failed on {file}");
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// ffmpeg's decode at native rate and channels as f32, quantised to 16 bits like our WAV
/// output (x 32768, nearest, ties to even, clamped).
fn ffmpeg_f32_as_s16(file: &str, start: f64, dur: f64) -> Vec<i16> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", &start.to_string(), "-t"])
        .arg(dur.to_string())
        .args(["-i", file, "-f", "f32le", "-"])
        .output()
        .expect(
            "ffmpeg is the reference decoder for these tests: install it (Debian package ffmpeg)",
        );
    assert!(out.status.success(), "ffmpeg failed on {file}");
    out.stdout
        .chunks_exact(4)
        .map(|b| {
            let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (x * 32768.0).round_ties_even().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

fn wav_pcm(wav: &[u8]) -> (u32, u16, Vec<i16>) {
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    let rate = u32::from_le_bytes(wav[24..28].try_into().unwrap());
    let ch = u16::from_le_bytes(wav[22..24].try_into().unwrap());
    let len = u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize;
    assert_eq!(
        wav.len(),
        44 + len,
        "data length in the header matches the file"
    );
    (
        rate,
        ch,
        wav[44..]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect(),
    )
}

/// Best signal-to-difference ratio (dB) over lags of up to `max_lag` samples, and that lag.
fn aligned_snr(a: &[i16], b: &[i16], max_lag: usize) -> (f64, i64) {
    // Compare a window from the middle of `b` against `a` shifted by each lag (bounded so
    // the test stays fast in debug builds).
    let win = 8192.min(b.len() / 2);
    let centre = b.len() / 2 - win / 2;
    let y = &b[centre..centre + win];
    let mut best = (f64::MIN, 0i64);
    for lag in -(max_lag as i64)..=(max_lag as i64) {
        let from = centre as i64 + lag;
        if from < 0 || from as usize + win > a.len() {
            continue;
        }
        let x = &a[from as usize..from as usize + win];
        let (mut sig, mut diff) = (0f64, 0f64);
        for i in 0..win {
            let (p, q) = (f64::from(x[i]), f64::from(y[i]));
            sig += q * q;
            diff += (p - q) * (p - q);
        }
        let snr = 10.0 * (sig / diff.max(1e-9)).log10();
        if snr > best.0 {
            best = (snr, lag);
        }
    }
    best
}

fn read_blob(s: &mut Server, id: i64, uri: &str) -> Vec<u8> {
    let r = s.request(json!(id), "resources/read", modern(json!({"uri": uri})));
    let b = r["result"]["contents"][0]["blob"]
        .as_str()
        .unwrap_or_else(|| panic!("{uri}: {r}"));
    base64::engine::general_purpose::STANDARD.decode(b).unwrap()
}

#[test]
fn decoded_pcm_agrees_with_ffmpeg() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    for (i, (file, lossless)) in [
        ("voice_16k.wav", true),
        ("tone.wav", true),
        ("tone.flac", true),
        ("tone.aiff", true),
        ("tone_alac.m4a", true),
        ("tone.caf", true),
        ("tone.mp3", false),
        ("tone.ogg", false),
        ("tone.m4a", false),
        ("tone.opus", false),
        ("hires_24_96.flac", true),
        ("surround_5_1.flac", true),
        ("u8.wav", true),
        ("float32.wav", true),
        ("../video/clip.mkv", false),
        ("../video/clip_vp9_opus.webm", false),
        ("../video/clip_h264_aac.mp4", false),
    ]
    .iter()
    .enumerate()
    {
        let rel = file
            .strip_prefix("../")
            .map_or(format!("audio/{file}"), str::to_owned);
        // Native rate and channels: this compares the decoders, not two resamplers.
        let uri = format!("media://samples/{rel}?start=0.5&duration=2");
        let (_, ch, ours) = wav_pcm(&read_blob(&mut s, i as i64, &uri));
        let path = samples().join(&rel);
        if *lossless {
            // ffmpeg's exact decode (f32 holds 24-bit samples exactly), quantised the way our
            // WAV output is documented to be: every sample equal, at lag 0, same length.
            let reference = ffmpeg_f32_as_s16(&path.to_string_lossy(), 0.5, 2.0);
            assert_eq!(ours.len(), reference.len(), "{file}: length");
            let differing = ours.iter().zip(&reference).filter(|(a, b)| a != b).count();
            println!("{file}: {} samples, {differing} differ", ours.len());
            assert_eq!(
                differing,
                0,
                "{file}: {differing} of {} samples differ from ffmpeg's (first at {:?})",
                ours.len(),
                ours.iter().zip(&reference).position(|(a, b)| a != b)
            );
            continue;
        }
        let reference = ffmpeg_pcm_with(&path.to_string_lossy(), 0.5, 2.0, &[]);
        // Lossy decoders may trim encoder delay differently (AAC priming is 2112 samples).
        let max_lag = 2400 * usize::from(ch);
        let (snr, lag) = aligned_snr(&ours, &reference, max_lag);
        println!(
            "{file}: {} vs {} samples, SNR {snr:.1} dB at lag {lag}",
            ours.len(),
            reference.len()
        );
        assert!(snr >= 70.0, "{file}: SNR {snr:.1} dB < 70 (lag {lag})");
        let slack = reference.len() / 100 + lag.unsigned_abs() as usize + 2;
        assert!(
            ours.len().abs_diff(reference.len()) <= slack,
            "{file}: {} vs {} samples",
            ours.len(),
            reference.len()
        );
    }
}

#[test]
fn resampling_to_16k_mono_agrees_with_ffmpeg() {
    // Two resamplers differ in sub-sample phase, so compare level and pitch, not samples.
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    for (i, file) in [
        "audio/tone.wav",
        "audio/hires_24_96.flac",
        "audio/float32.wav",
    ]
    .iter()
    .enumerate()
    {
        let uri = format!("media://samples/{file}?start=0.25&duration=0.5&rate=16000&channels=1");
        let (rate, ch, ours) = wav_pcm(&read_blob(&mut s, i as i64, &uri));
        assert_eq!((rate, ch), (16000, 1));
        let reference = ffmpeg_pcm(&samples().join(file).to_string_lossy(), 0.25, 0.5);
        assert_eq!(ours.len(), reference.len(), "{file}");
        let rms = |v: &[i16]| {
            (v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let crossings = |v: &[i16]| v.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let (a, b) = (rms(&ours), rms(&reference));
        assert!((a / b - 1.0).abs() < 0.02, "{file}: RMS {a:.1} vs {b:.1}");
        let (za, zb) = (crossings(&ours), crossings(&reference));
        assert!(
            za.abs_diff(zb) <= zb / 50 + 2,
            "{file}: {za} vs {zb} zero crossings"
        );
    }
}

#[test]
fn chunks_reassemble_and_each_is_a_valid_wav() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let r = s.request(json!(1), "tools/call", modern(json!({"name": "audio_transcode",
        "arguments": {"uri": "media://samples/audio/tone.flac", "sample_rate": 16000, "channels": 1, "chunk_seconds": 0.7}})));
    let sc = &r["result"]["structuredContent"];
    let chunks = sc["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 5, "{sc}");
    let mut total = 0usize;
    let dir = tempfile::tempdir().unwrap();
    for (i, c) in chunks.iter().enumerate() {
        let data = read_blob(&mut s, 100 + i as i64, c["uri"].as_str().unwrap());
        assert_eq!(data.len() as u64, c["size"].as_u64().unwrap());
        let (_, _, pcm) = wav_pcm(&data);
        total += pcm.len();
        let f = dir.path().join(format!("c{i}.wav"));
        std::fs::write(&f, &data).unwrap();
        let probe = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,sample_rate,channels:format=duration",
                "-of",
                "json",
            ])
            .arg(&f)
            .output()
            .expect("ffprobe (Debian package ffmpeg)");
        let p: Value = serde_json::from_slice(&probe.stdout).unwrap();
        assert_eq!(p["streams"][0]["codec_name"], "pcm_s16le");
        assert_eq!(p["streams"][0]["sample_rate"], "16000");
        let dur: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
        assert!(
            (dur - c["duration"].as_f64().unwrap()).abs() < 0.002,
            "chunk {i}: {dur} s vs {}",
            c["duration"]
        );
    }
    let whole = wav_pcm(&read_blob(
        &mut s,
        2,
        "media://samples/audio/tone.flac?start=0&duration=3&rate=16000&channels=1",
    ))
    .2;
    assert_eq!(total, whole.len());
    assert_eq!(whole.len(), 48000);
}

/// Least signal-to-difference ratio between AAC chunks and the whole (see below).
const AAC_CHUNK_SNR_DB: f64 = 60.0;

/// Chunks are slices of one continuous decode and resample: concatenated, they are the render
/// of their union sample for sample, for lossless and lossy sources, from the start or not,
/// resampled or not (so they can be rendered in any order, in parallel).
#[test]
fn chunked_transcodes_are_sample_exact_slices_of_the_whole() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let mut id = 1;
    for (file, start, rate, mono) in [
        ("tone.flac", 0.0, Some(16000), true),
        ("tone.flac", 0.35, Some(16000), true),
        ("tone.mp3", 0.0, Some(16000), true),
        ("tone.mp3", 0.2, None, false),
        ("tone.m4a", 0.1, None, false),
        ("tone.m4a", 0.1, Some(22050), false),
        ("tone_alac.m4a", 0.3, Some(16000), true),
        ("tone.wav", 0.25, Some(8000), false),
        ("tone.ogg", 0.0, None, false),
        ("tone.ogg", 0.0, Some(16000), true),
        ("tone.opus", 0.5, Some(48000), false),
        ("surround_5_1.flac", 0.0, Some(16000), true),
        ("hires_24_96.flac", 0.05, Some(44100), false),
    ] {
        let uri = format!("media://samples/audio/{file}");
        let mut args = json!({"uri": uri, "chunk_seconds": 0.7, "start": start, "duration": 2.3});
        if let Some(r) = rate {
            args["sample_rate"] = json!(r);
        }
        if mono {
            args["channels"] = json!(1);
        }
        id += 1;
        let r = s.request(
            json!(id),
            "tools/call",
            modern(json!({"name": "audio_transcode", "arguments": args})),
        );
        let sc = &r["result"]["structuredContent"];
        let chunks = sc["chunks"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: {r}"))
            .clone();
        assert!(chunks.len() >= 2, "{file}: {r}");
        let duration = sc["duration"].as_f64().unwrap();
        let mut joined = vec![];
        for c in &chunks {
            id += 1;
            joined.extend(wav_pcm(&read_blob(&mut s, id, c["uri"].as_str().unwrap())).2);
        }
        // The union as one segment: the same start and duration, the same rate and channels.
        let first = chunks[0]["uri"].as_str().unwrap();
        let (base, query) = first.split_once('?').unwrap();
        let union: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some(("duration", _)) => format!("duration={duration}"),
                _ => kv.to_string(),
            })
            .collect();
        id += 1;
        let whole = wav_pcm(&read_blob(
            &mut s,
            id,
            &format!("{base}?{}", union.join("&")),
        ))
        .2;
        assert!(!whole.is_empty(), "{file}");
        assert_eq!(joined.len(), whole.len(), "{file} from {start} s");
        if file == "tone.m4a" {
            // AAC's perceptual noise substitution fills some bands with noise from a random
            // generator whose state is everything decoded before (symphonia does not reset it
            // on a seek): those bands can never match a decode from the start. The rest does:
            // at least AAC_CHUNK_SNR_DB.
            let (mut sig, mut noise) = (0f64, 0f64);
            for (a, b) in joined.iter().zip(&whole) {
                sig += f64::from(*b).powi(2);
                noise += (f64::from(*a) - f64::from(*b)).powi(2);
            }
            let snr = 10.0 * (sig / noise.max(1e-9)).log10();
            assert!(
                snr >= AAC_CHUNK_SNR_DB,
                "{file} from {start} s: {snr:.1} dB"
            );
            continue;
        }
        let diff = joined.iter().zip(&whole).position(|(a, b)| a != b);
        assert!(
            diff.is_none(),
            "{file} from {start} s: chunks and the whole differ first at sample {diff:?} of {}",
            whole.len()
        );
    }
}

#[test]
fn progress_per_chunk_and_inline_budget() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let mut params = json!({"name": "audio_transcode", "arguments": {"uri": "media://samples/audio/tone.wav", "chunk_seconds": 1.0, "sample_rate": 16000, "channels": 1}});
    let mut meta = modern_meta();
    meta["progressToken"] = json!("a");
    params["_meta"] = meta;
    let r = s.request(json!(1), "tools/call", params);
    let progress: Vec<Value> = s
        .take_backlog()
        .into_iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3);
    assert_eq!(progress[2]["params"]["progress"], 3.0);
    assert!(
        progress[0]["params"]["message"]
            .as_str()
            .unwrap()
            .contains("media://samples/audio/tone.wav?start=0")
    );
    let links: Vec<&Value> = r["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "resource_link")
        .collect();
    assert_eq!(links.len(), 3);
    assert!(
        links
            .iter()
            .all(|l| l["mimeType"] == "audio/wav" && l["size"].as_u64().unwrap() > 44)
    );
    // Inline: 44.1 kHz stereo is 176 KB/s, so the 768 KiB budget stops it early, and says so.
    let r = s.request(json!(2), "tools/call", modern(json!({"name": "audio_transcode", "arguments": {"uri": "media://samples/audio/tone.wav", "chunk_seconds": 1.0, "inline": true}})));
    let audio: Vec<&Value> = r["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "audio")
        .collect();
    assert_eq!(audio.len(), 3, "3 s of 176 KB/s fits in 768 KiB");
    let r = s.request(json!(3), "tools/call", modern(json!({"name": "audio_transcode", "arguments": {"uri": "media://samples/audio/tone.wav", "chunk_seconds": 0.5, "sample_rate": 192000, "inline": true}})));
    let sc = &r["result"]["structuredContent"];
    assert_eq!(sc["complete"], false, "{sc}");
    assert!(
        sc["note"]
            .as_str()
            .unwrap()
            .contains("inline audio is limited")
    );
}

#[test]
fn bad_audio_gets_clear_errors_and_the_server_keeps_serving() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let cases = [
        ("media://samples/images/alpha.png", "image"),
        ("media://samples/bad/garbage.wav", "not a recognised"),
        ("media://samples/bad/empty.wav", "not a recognised"),
    ];
    for (i, (uri, needle)) in cases.iter().enumerate() {
        let r = s.request(
            json!(i),
            "tools/call",
            modern(json!({"name": "audio_transcode", "arguments": {"uri": uri}})),
        );
        assert_eq!(r["result"]["isError"], true, "{uri}: {r}");
        let t = r["result"]["content"][0]["text"].as_str().unwrap();
        assert!(t.contains(needle), "{uri}: {t}");
    }
    // Truncated and corrupt files: decoded as far as possible, never a crash.
    for (i, f) in [
        "bad/truncated.mp3",
        "bad/corrupt.flac",
        "bad/not_really.jpg",
    ]
    .iter()
    .enumerate()
    {
        let r = s.request(json!(10 + i), "resources/read", modern(json!({"uri": format!("media://samples/{f}?start=0&duration=1&rate=16000&channels=1")})));
        assert!(
            r.get("result").is_some() || r["error"]["code"] == -32602,
            "{f}: {r}"
        );
    }
    let e = s.request(
        json!(20),
        "resources/read",
        modern(json!({"uri": "media://samples/audio/tone.wav?start=0&rate=1"})),
    );
    assert_eq!(e["error"]["code"], -32602);
    let e = s.request(
        json!(21),
        "resources/read",
        modern(json!({"uri": "media://samples/audio/tone.wav?start=0&format=mp4"})),
    );
    assert_eq!(e["error"]["code"], -32602);
    assert!(s.request(json!(22), "tools/list", modern(json!({})))["result"].is_object());
}

/// A WAV file: `format` 1 (PCM) or 3 (IEEE float), `bits` per sample, interleaved `data`.
/// `sizes` None: the real sizes; Some(x): RIFF and data sizes both x (a streaming recorder).
fn wav_file(
    rate: u32,
    channels: u16,
    format: u16,
    bits: u16,
    data: &[u8],
    sizes: Option<u32>,
) -> Vec<u8> {
    let mut wav = wav_header(rate, channels, format, bits, data.len() as u32, sizes);
    wav.extend_from_slice(data);
    wav
}

/// 16-bit PCM of `frames` frames: a 440 Hz tone plus seeded noise, on every channel.
fn tone_pcm16(rate: u32, channels: u16, frames: usize) -> Vec<u8> {
    let mut pcm = Vec::with_capacity(frames * usize::from(channels) * 2);
    let mut x: u32 = 1;
    for i in 0..frames {
        let t = i as f64 / f64::from(rate);
        let tone = (2.0 * std::f64::consts::PI * 440.0 * t).sin() * 8000.0;
        for _ in 0..channels {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let v = tone as i32 + ((x >> 16) as i16 / 16) as i32;
            pcm.extend_from_slice(&(v as i16).to_le_bytes());
        }
    }
    pcm
}

/// The server over stdio with its stderr captured in a file and `RUST_LOG` unset (the
/// default log filter), for tests about what it logs.
struct Logged {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    log: std::path::PathBuf,
}

impl Logged {
    fn spawn(args: &[&str], log: &Path) -> Logged {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-media"))
            .arg("serve")
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("spawn mcp-media");
        Logged {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
            log: log.to_path_buf(),
        }
    }

    /// Sends a modern request; returns its response (notifications before it are skipped).
    fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": modern(params)});
        let w = self.stdin.as_mut().unwrap();
        writeln!(w, "{msg}").unwrap();
        w.flush().unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server exited"
            );
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == json!(id) && v.get("method").is_none() {
                return v;
            }
        }
    }

    /// Closes stdin, waits for the exit, returns everything logged.
    fn finish(mut self) -> String {
        self.stdin.take();
        self.child.wait().unwrap();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

fn http(addr: &str, request: &str) -> std::net::TcpStream {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    c
}

fn metric(addr: &str, name: &str) -> u64 {
    let mut c = http(
        addr,
        &format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    let mut body = String::new();
    c.read_to_string(&mut body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn cancelling_a_transcode_stops_the_job_early() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("long");
    std::fs::create_dir_all(&root).unwrap();
    // 10 minutes of 48 kHz stereo: 120 chunks of 5 s.
    let wav = wav_file(48_000, 2, 1, 16, &tone_pcm16(48_000, 2, 48_000 * 600), None);
    std::fs::write(root.join("long.wav"), wav).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-media"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(&root)
        .env("RUST_LOG", "mcp_media=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The bound address, from the start-up log line.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "audio_transcode",
        "arguments": {"uri": "media://long/long.wav", "chunk_seconds": 5, "sample_rate": 16000, "channels": 1},
        "_meta": {"progressToken": "c", "io.modelcontextprotocol/protocolVersion": crate::util::MODERN,
                  "io.modelcontextprotocol/clientCapabilities": {},
                  "io.modelcontextprotocol/clientInfo": {"name": "it", "version": "0"}}}})
    .to_string();
    let mut stream = http(
        &addr,
        &format!(
            "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {}\r\n\
             Mcp-Method: tools/call\r\nMcp-Name: audio_transcode\r\nContent-Length: {}\r\n\r\n{body}",
            crate::util::MODERN,
            body.len()
        ),
    );
    // Wait for the first progress event: the job is running.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("notifications/progress") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(!String::from_utf8_lossy(&seen).contains("\"result\""));
    // Closing the stream cancels the request.
    drop(stream);
    // Evidence from the job counters: the job ends by noticing the cancel, not by finishing
    // all 120 chunks (waiting for either outcome, however long it takes).
    let (cancelled, completed) = loop {
        let c = metric(&addr, "mcp_media_jobs_cancelled_total");
        let d = metric(&addr, "mcp_media_jobs_completed_total");
        if c + d > 0 {
            break (c, d);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!((cancelled, completed), (1, 0), "the job ran to completion");
    assert_eq!(metric(&addr, "mcp_media_jobs_running"), 0);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn opus_chunks_are_valid_ogg_opus_that_ffmpeg_decodes() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let r = s.request(json!(1), "tools/call", modern(json!({"name": "audio_transcode",
        "arguments": {"uri": "media://samples/audio/voice_16k.wav", "format": "opus", "sample_rate": 16000, "channels": 1, "chunk_seconds": 0.75}})));
    let sc = &r["result"]["structuredContent"];
    assert_eq!(
        (sc["format"].as_str(), sc["mimeType"].as_str()),
        (Some("opus"), Some("audio/ogg")),
        "{sc}"
    );
    let chunks = sc["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let mut decoded = vec![];
    for (i, c) in chunks.iter().enumerate() {
        let data = read_blob(&mut s, 10 + i as i64, c["uri"].as_str().unwrap());
        assert_eq!(&data[..4], b"OggS");
        let wav_bytes = 44 + (c["duration"].as_f64().unwrap() * 16000.0) as usize * 2;
        assert!(
            data.len() * 5 < wav_bytes,
            "opus should be far smaller than WAV: {} vs {wav_bytes}",
            data.len()
        );
        let f = dir.path().join(format!("c{i}.opus"));
        std::fs::write(&f, &data).unwrap();
        let probe = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name:format=duration",
                "-of",
                "json",
            ])
            .arg(&f)
            .output()
            .expect("ffprobe (Debian package ffmpeg)");
        let p: Value = serde_json::from_slice(&probe.stdout).unwrap();
        assert_eq!(p["streams"][0]["codec_name"], "opus");
        let dur: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
        assert!(
            (dur - c["duration"].as_f64().unwrap()).abs() < 0.03,
            "chunk {i}: {dur} s vs {}",
            c["duration"]
        );
        decoded.extend(ffmpeg_pcm(&f.to_string_lossy(), 0.0, 10.0));
    }
    let source = ffmpeg_pcm(
        &samples().join("audio/voice_16k.wav").to_string_lossy(),
        0.0,
        10.0,
    );
    let (snr, lag) = aligned_snr(&decoded, &source, 400);
    println!("opus round trip: SNR {snr:.1} dB at lag {lag}");
    assert!(snr > 10.0, "opus round trip SNR {snr:.1} dB");
    assert!(
        decoded.len().abs_diff(source.len()) < 16000 / 10,
        "{} vs {}",
        decoded.len(),
        source.len()
    );
}

#[test]
fn spectrogram_shows_the_tones_where_they_are() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let r = s.request(json!(1), "tools/call", modern(json!({"name": "audio_spectrogram",
        "arguments": {"uri": "media://samples/audio/tone.flac", "width": 300, "height": 200, "max_hz": 2000}})));
    let img = r["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "image")
        .unwrap();
    assert_eq!(img["mimeType"], "image/png");
    let png = base64::engine::general_purpose::STANDARD
        .decode(img["data"].as_str().unwrap())
        .unwrap();
    let im = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(im.dimensions(), (300, 200));
    // 440 Hz and 660 Hz of 2000 Hz: rows 200 - 44 = 156 and 200 - 66 = 134 (from the top).
    let energy = |y: u32| {
        (0..300)
            .map(|x| {
                im.get_pixel(x, y)
                    .0
                    .iter()
                    .map(|&c| u32::from(c))
                    .sum::<u32>()
            })
            .sum::<u32>()
    };
    let mut rows: Vec<u32> = (0..200).collect();
    rows.sort_by_key(|&y| std::cmp::Reverse(energy(y)));
    for expect in [156u32, 134] {
        assert!(
            rows[..4].iter().any(|&y| y.abs_diff(expect) <= 2),
            "brightest rows {:?}, expected near {expect}",
            &rows[..4]
        );
    }
    let e = s.request(json!(2), "tools/call", modern(json!({"name": "audio_spectrogram", "arguments": {"uri": "media://samples/images/alpha.png"}})));
    assert_eq!(e["result"]["isError"], true);
}

#[test]
fn opus_chunks_and_uris_are_sized_by_the_opus_bitrate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("o");
    std::fs::create_dir_all(&root).unwrap();
    // 65 s of 48 kHz stereo.
    let wav = wav_file(48_000, 2, 1, 16, &tone_pcm16(48_000, 2, 48_000 * 65), None);
    std::fs::write(root.join("long.wav"), wav).unwrap();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    let r = s.request(
        json!(1),
        "tools/call",
        modern(json!({"name": "audio_transcode",
        "arguments": {"uri": "media://o/long.wav", "format": "opus", "chunk_seconds": 30}})),
    );
    let sc = &r["result"]["structuredContent"];
    assert_eq!(sc["chunkSeconds"], 30.0, "{sc}");
    let chunks = sc["chunks"].as_array().unwrap();
    let durations: Vec<f64> = chunks
        .iter()
        .map(|c| c["duration"].as_f64().unwrap())
        .collect();
    assert_eq!(durations, [30.0, 30.0, 5.0], "{sc}");
    for c in chunks {
        let size = c["size"].as_u64().unwrap();
        // 96 kb/s for 30 s is 360 KB; each chunk must respect the default 768 KiB.
        assert!(size <= 786_432, "{c}");
        let data = read_blob(&mut s, 10, c["uri"].as_str().unwrap());
        assert_eq!(data.len() as u64, size);
        assert_eq!(&data[..4], b"OggS");
    }
    assert!(chunks[0]["size"].as_u64().unwrap() > 200_000, "{sc}");
    // A 60 s Opus URI is about 720 KB: well within the 8 MiB inline limit.
    let data = read_blob(
        &mut s,
        2,
        "media://o/long.wav?start=0&duration=60&format=opus",
    );
    assert_eq!(&data[..4], b"OggS");
    assert!((500_000..2_000_000).contains(&data.len()), "{}", data.len());
}

#[test]
fn derived_audio_of_a_missing_or_escaping_file_is_answered_like_the_file() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let plain = s.request(
        json!(1),
        "resources/read",
        modern(json!({"uri": "media://samples/audio/missing.flac"})),
    );
    let derived = s.request(
        json!(2),
        "resources/read",
        modern(json!({"uri": "media://samples/audio/missing.flac?start=0&duration=1&format=wav"})),
    );
    assert_eq!(plain["error"]["code"], -32602, "{plain}");
    assert_eq!(
        derived["error"]["code"], plain["error"]["code"],
        "{derived}"
    );
    // data.uri is the URI asked for.
    assert_eq!(
        derived["error"]["data"]["uri"],
        "media://samples/audio/missing.flac?start=0&duration=1&format=wav"
    );
    let msg = derived["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("Resource not found"), "{msg}");
    // Legacy revisions: -32002, as for a plain missing resource.
    let mut l = Server::spawn(&[&samples().to_string_lossy()]);
    l.initialize("2025-11-25", json!({}));
    let derived = l.request(
        json!(3),
        "resources/read",
        json!({"uri": "media://samples/audio/missing.flac?start=0&duration=1&format=wav"}),
    );
    assert_eq!(derived["error"]["code"], -32002, "{derived}");
    assert_eq!(
        derived["error"]["data"]["uri"],
        "media://samples/audio/missing.flac?start=0&duration=1&format=wav"
    );

    // A symlink out of the root: refused as an escape, and logged as a warning.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("r");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(
        samples().join("audio/tone.wav"),
        dir.path().join("secret.wav"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../secret.wav", root.join("out.wav")).unwrap();
    let mut g = Logged::spawn(
        &["--stdio", &root.to_string_lossy()],
        &dir.path().join("log"),
    );
    let r = g.request(
        4,
        "resources/read",
        json!({"uri": "media://r/out.wav?start=0&duration=1"}),
    );
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        msg.contains("refused") && !msg.contains("cannot render"),
        "{msg}"
    );
    assert_eq!(
        r["error"]["data"]["uri"],
        "media://r/out.wav?start=0&duration=1"
    );
    let log = g.finish();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    assert!(
        warnings
            .iter()
            .any(|l| l.contains("outside the media roots")),
        "no warning for the escape: {log}"
    );
}

#[test]
fn audio_errors_name_the_limit_that_was_hit() {
    let mut s = Server::spawn(&[&samples().to_string_lossy()]);
    let read_err = |s: &mut Server, id: i64, uri: &str| {
        let r = s.request(json!(id), "resources/read", modern(json!({"uri": uri})));
        assert_eq!(r["error"]["code"], -32602, "{uri}: {r}");
        r["error"]["message"].as_str().unwrap().to_string()
    };
    let m = read_err(
        &mut s,
        1,
        "media://samples/audio/tone.wav?start=0&duration=700",
    );
    assert!(
        m.contains("700.000 s") && m.contains("600 s") && !m.contains("14400"),
        "{m}"
    );
    let m = read_err(
        &mut s,
        2,
        "media://samples/audio/tone.wav?start=-1&duration=1",
    );
    assert!(
        m.contains("start must be a non-negative number of seconds"),
        "{m}"
    );
    let m = read_err(
        &mut s,
        3,
        "media://samples/audio/tone.wav?start=0&duration=1&format=opus&rate=44100",
    );
    assert!(
        m.contains("Opus encodes at 8000, 12000, 16000, 24000 or 48000 Hz, not 44100"),
        "{m}"
    );
    assert!(!m.contains("not a readable audio file"), "{m}");
    let m = read_err(
        &mut s,
        4,
        "media://samples/audio/surround_5_1.flac?start=0&duration=1&format=opus",
    );
    assert!(
        m.contains("1 or 2 channels") && m.contains('6') && !m.contains("limit is 32"),
        "{m}"
    );
    let m = read_err(
        &mut s,
        5,
        "media://samples/audio/tone.wav?start=0&duration=1&rate=4000",
    );
    assert!(m.contains("4000 Hz") && m.contains("8000..=384000"), "{m}");
    let m = read_err(
        &mut s,
        6,
        "media://samples/audio/tone.wav?start=0&duration=0",
    );
    assert!(
        m.contains("duration must be a positive number of seconds"),
        "{m}"
    );
    // An Ogg Opus file whose every audio packet is invalid (code 3 with zero frames, RFC 6716
    // 3.2.5), its pages' checksums redone so the container reads fine: decoding gives up,
    // naming the limit.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("n");
    std::fs::create_dir_all(&root).unwrap();
    let bad = invalid_opus_packets(&std::fs::read(samples().join("audio/tone.opus")).unwrap());
    std::fs::write(root.join("bad.opus"), bad).unwrap();

    let mut c = Server::spawn(&[&root.to_string_lossy()]);
    let r = c.request(
        json!(7),
        "tools/call",
        modern(json!({"name": "audio_transcode",
        "arguments": {"uri": "media://n/bad.opus"}})),
    );
    assert_eq!(r["result"]["isError"], true, "{r}");
    let t = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(t.contains("more than 64 bad packets in a row"), "{t}");
}

/// `ogg` (an Ogg Opus file) with every audio packet made invalid (TOC code 3, frame count 0)
/// and each page's CRC recomputed.
fn invalid_opus_packets(ogg: &[u8]) -> Vec<u8> {
    fn crc(page: &[u8]) -> u32 {
        let mut c = 0u32;
        for &b in page {
            c ^= u32::from(b) << 24;
            for _ in 0..8 {
                c = if c & 0x8000_0000 != 0 {
                    (c << 1) ^ 0x04c1_1db7
                } else {
                    c << 1
                };
            }
        }
        c
    }
    let mut out = ogg.to_vec();
    let mut at = 0;
    let mut page_no = 0;
    while at + 27 <= out.len() && &out[at..at + 4] == b"OggS" {
        let segments = out[at + 26] as usize;
        let lacing: Vec<usize> = out[at + 27..at + 27 + segments]
            .iter()
            .map(|&l| l as usize)
            .collect();
        let body = at + 27 + segments;
        let len: usize = lacing.iter().sum();
        // Pages 0 and 1 are the OpusHead and OpusTags headers.
        if page_no >= 2 {
            let mut p = body;
            let mut start = true;
            for l in &lacing {
                if start && *l >= 2 {
                    out[p] = (out[p] & 0xfc) | 3;
                    out[p + 1] = 0;
                }
                start = *l < 255;
                p += l;
            }
        }
        out[at + 22..at + 26].copy_from_slice(&[0; 4]);
        let c = crc(&out[at..body + len]);
        out[at + 22..at + 26].copy_from_slice(&c.to_le_bytes());
        at = body + len;
        page_no += 1;
    }
    assert!(page_no > 3, "an Ogg file");
    out
}

#[test]
fn hostile_rates_are_refused_by_name_and_non_finite_samples_are_silence() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("h");
    std::fs::create_dir_all(&root).unwrap();
    // A valid WAV at 1 Hz: 600 frames.
    std::fs::write(
        root.join("one_hz.wav"),
        wav_file(1, 1, 1, 16, &tone_pcm16(1, 1, 600), None),
    )
    .unwrap();
    // 1 MHz: above the source ceiling.
    std::fs::write(
        root.join("mega.wav"),
        wav_file(
            1_000_000,
            1,
            1,
            16,
            &tone_pcm16(1_000_000, 1, 100_000),
            None,
        ),
    )
    .unwrap();
    // Float WAVs: all NaN, and a mix of NaN, infinities and a tone.
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    std::fs::write(
        root.join("nan.wav"),
        wav_file(44_100, 2, 3, 32, &f32s(&vec![f32::NAN; 44_100 * 2]), None),
    )
    .unwrap();
    let mixed: Vec<f32> = (0..44_100 * 2)
        .map(|i| match i % 7 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => (i as f32 * 0.02).sin() * 0.5,
        })
        .collect();
    std::fs::write(
        root.join("mixed.wav"),
        wav_file(44_100, 2, 3, 32, &f32s(&mixed), None),
    )
    .unwrap();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    for (i, (file, rate, needle)) in [
        ("one_hz.wav", 384_000, "1000..=768000 Hz"),
        ("one_hz.wav", 16_000, "1000..=768000 Hz"),
        ("mega.wav", 16_000, "1000..=768000 Hz"),
    ]
    .iter()
    .enumerate()
    {
        let r = s.request(
            json!(i),
            "tools/call",
            modern(json!({"name": "audio_transcode",
            "arguments": {"uri": format!("media://h/{file}"), "sample_rate": rate}})),
        );
        assert_eq!(r["result"]["isError"], true, "{file} -> {rate}: {r}");
        let t = r["result"]["content"][0]["text"].as_str().unwrap();
        assert!(t.contains(needle), "{file} -> {rate}: {t}");
    }
    // All NaN: silence, not a panic.
    let (rate, ch, pcm) = wav_pcm(&read_blob(
        &mut s,
        10,
        "media://h/nan.wav?start=0&duration=1&rate=16000&channels=1",
    ));
    assert_eq!((rate, ch, pcm.len()), (16_000, 1, 16_000));
    assert!(pcm.iter().all(|&x| x == 0), "NaN must become silence");
    // Mixed: the finite samples come through, the rest is silence; no panic either way.
    let (_, _, pcm) = wav_pcm(&read_blob(
        &mut s,
        11,
        "media://h/mixed.wav?start=0&duration=1&rate=16000&channels=1",
    ));
    assert_eq!(pcm.len(), 16_000);
    assert!(pcm.iter().any(|&x| x != 0));
    let r = s.request(json!(12), "tools/call", modern(json!({"name": "audio_transcode",
        "arguments": {"uri": "media://h/nan.wav", "format": "opus", "sample_rate": 16000, "channels": 1}})));
    assert_ne!(r["result"]["isError"], true, "{r}");
    assert_eq!(
        r["result"]["structuredContent"]["chunks"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{r}"
    );
    assert!(s.request(json!(13), "tools/list", modern(json!({})))["result"].is_object());
}

#[test]
fn corrupt_audio_logs_at_most_one_warning_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("c");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(
        samples().join("bad/corrupt.flac"),
        root.join("corrupt.flac"),
    )
    .unwrap();
    // An MP3 with 100 bytes of noise every 1800 bytes: several chunks each skip corrupt packets.
    let mut mp3 = std::fs::read(samples().join("audio/tone.mp3")).unwrap();
    let mut x: u32 = 7;
    let len = mp3.len();
    for off in (3000..len - 300).step_by(1800) {
        for b in &mut mp3[off..off + 100] {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (x >> 24) as u8;
        }
    }
    std::fs::write(root.join("bad.mp3"), mp3).unwrap();
    let mut g = Logged::spawn(
        &["--stdio", &root.to_string_lossy()],
        &dir.path().join("log"),
    );
    let mut requests = 0;
    let mut skipped = 0;
    for (i, (file, chunk)) in [
        ("corrupt.flac", 1.0),
        ("corrupt.flac", 0.5),
        ("bad.mp3", 0.25),
    ]
    .iter()
    .enumerate()
    {
        let r = g.request(
            i as i64,
            "tools/call",
            json!({"name": "audio_transcode",
            "arguments": {"uri": format!("media://c/{file}"), "chunk_seconds": chunk}}),
        );
        assert!(r["result"].is_object(), "{r}");
        if *file == "bad.mp3" {
            assert_ne!(r["result"]["isError"], true, "{r}");
        }
        skipped += r["result"]["structuredContent"]["corruptPacketsSkipped"]
            .as_u64()
            .unwrap_or(0);
        requests += 1;
    }
    let r = g.request(
        9,
        "resources/read",
        json!({"uri": "media://c/corrupt.flac?start=0&duration=2"}),
    );
    assert!(r.get("result").is_some() || r.get("error").is_some());
    requests += 1;
    let log = g.finish();
    let warns = log.lines().filter(|l| l.contains("WARN")).count();
    println!(
        "{skipped} corrupt packets skipped; {warns} WARN lines for {requests} requests:\n{log}"
    );
    assert!(
        skipped > 1,
        "the MP3 must have corrupt packets in several chunks"
    );
    assert!(
        warns <= requests,
        "{warns} WARN lines for {requests} requests:\n{log}"
    );
    // The one MP3 request, whatever its number of chunks: one line.
    let mp3_warns = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("bad.mp3"))
        .count();
    assert!(
        mp3_warns <= 1,
        "{mp3_warns} WARN lines for one request:\n{log}"
    );
    assert!(
        !log.contains("symphonia"),
        "dependency logs at the default filter:\n{log}"
    );
}

/// The server's peak resident memory (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn a_high_rate_multichannel_render_holds_a_bounded_amount_of_audio() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("hi");
    std::fs::create_dir_all(&root).unwrap();
    // 20 s of 192 kHz 8-channel 16-bit PCM: 30.7 M samples, 123 MB as f32 if held at once.
    let secs = 20;
    let wav = wav_file(
        192_000,
        8,
        1,
        16,
        &tone_pcm16(192_000, 8, 192_000 * secs),
        None,
    );
    std::fs::write(root.join("hi.wav"), wav).unwrap();
    let mut g = Logged::spawn(
        &["--stdio", &root.to_string_lossy()],
        &dir.path().join("log"),
    );
    let pid = g.child.id();
    // Up and serving first, so the baseline is the running server's.
    assert!(g.request(0, "tools/list", json!({}))["result"].is_object());
    let before = peak_rss_kib(pid);
    let r = g.request(
        1,
        "resources/read",
        json!({"uri": format!("media://hi/hi.wav?start=0&duration={secs}&rate=16000&channels=1")}),
    );
    let blob = r["result"]["contents"][0]["blob"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    let (rate, ch, pcm) = wav_pcm(
        &base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap(),
    );
    assert_eq!((rate, ch, pcm.len()), (16_000, 1, 16_000 * secs));
    let after = peak_rss_kib(pid);
    let grew = after.saturating_sub(before);
    println!("VmHWM {before} KiB before, {after} KiB after: +{grew} KiB");
    // The decoded-audio ceiling is 16 MiB; the response (640 KB WAV, its base64 and JSON) and
    // the allocator's slack come on top. Holding the whole decode would add over 120 MB.
    assert!(grew < 64 * 1024, "peak RSS grew by {grew} KiB");
    g.finish();
}

#[test]
fn audio_of_unknown_length_is_decoded_to_its_real_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("u");
    std::fs::create_dir_all(&root).unwrap();
    let tone = samples().join("audio/tone.wav");
    // Matroska and WebM audio (no duration in the header), made by ffmpeg from the 3 s tone.
    for (name, codec) in [
        ("opus.mka", "libopus"),
        ("flac.mka", "flac"),
        ("opus.webm", "libopus"),
    ] {
        let out = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(&tone)
            .args(["-c:a", codec])
            .arg(root.join(name))
            .output()
            .expect("ffmpeg makes these test files: install it (Debian package ffmpeg)");
        assert!(
            out.status.success(),
            "ffmpeg: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A streaming recorder's WAV: RIFF and data sizes 0xFFFFFFFF, 3 s of audio.
    let pcm = tone_pcm16(16_000, 1, 48_000);
    std::fs::write(
        root.join("stream.wav"),
        wav_file(16_000, 1, 1, 16, &pcm, Some(u32::MAX)),
    )
    .unwrap();
    std::fs::write(
        root.join("sized.wav"),
        wav_file(16_000, 1, 1, 16, &pcm, None),
    )
    .unwrap();
    // The same header with no audio at all.
    std::fs::write(
        root.join("empty_stream.wav"),
        wav_file(16_000, 1, 1, 16, &[], Some(u32::MAX)),
    )
    .unwrap();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    let chunk_pcm = |s: &mut Server, id: i64, file: &str| {
        let r = s.request(json!(id), "tools/call", modern(json!({"name": "audio_transcode",
            "arguments": {"uri": format!("media://u/{file}"), "chunk_seconds": 1, "sample_rate": 16000, "channels": 1}})));
        let sc = &r["result"]["structuredContent"];
        assert_ne!(r["result"]["isError"], true, "{file}: {r}");
        assert_eq!(sc["complete"], true, "{file}: {sc}");
        let chunks = sc["chunks"].as_array().unwrap();
        let total: f64 = chunks.iter().map(|c| c["duration"].as_f64().unwrap()).sum();
        assert_eq!(chunks.len(), 3, "{file}: {sc}");
        assert!(
            (total - 3.0).abs() < 0.01,
            "{file}: {total} s in chunks: {sc}"
        );
        let mut all = vec![];
        for (i, c) in chunks.iter().enumerate() {
            let (_, _, pcm) = wav_pcm(&read_blob(
                s,
                id * 10 + i as i64,
                c["uri"].as_str().unwrap(),
            ));
            all.extend(pcm);
        }
        assert!(all.iter().any(|&x| x != 0), "{file}: silence");
        all
    };
    for (i, file) in ["opus.mka", "flac.mka", "opus.webm"].iter().enumerate() {
        chunk_pcm(&mut s, i as i64 + 1, file);
    }
    // The streaming WAV decodes to exactly what the same audio with real sizes does.
    let streamed = chunk_pcm(&mut s, 5, "stream.wav");
    let sized = chunk_pcm(&mut s, 6, "sized.wav");
    assert_eq!(streamed, sized);
    // No audio at all: an error that says so, not "complete, 0 chunks".
    let r = s.request(
        json!(7),
        "tools/call",
        modern(json!({"name": "audio_transcode",
        "arguments": {"uri": "media://u/empty_stream.wav"}})),
    );
    assert_eq!(r["result"]["isError"], true, "{r}");
    let t = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(t.contains("no audio"), "{t}");
}
