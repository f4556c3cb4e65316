//! The audio pipeline against ffmpeg as the reference decoder: decoded PCM agrees within a
//! documented tolerance, chunked transcodes re-assemble to the whole, every chunk is a valid
//! WAV ffprobe reads with the planned duration, bad files get clear errors, and cancelling a
//! transcode stops it within one chunk.
//!
//! Tolerance: after aligning by cross-correlation (AAC and MP3 decoders differ in how they
//! trim encoder delay), the signal-to-difference ratio must be at least 30 dB for lossless
//! sources and 20 dB for lossy ones (two different resamplers and decoders), and lengths must
//! agree within 1 % (plus the alignment lag).

use crate::util::{Server, modern, modern_meta, samples};
use base64::Engine as _;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

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
        let reference = ffmpeg_pcm_with(&path.to_string_lossy(), 0.5, 2.0, &[]);
        // Lossless decoders must agree sample for sample; lossy ones may trim encoder delay
        // differently (AAC priming is 2112 samples).
        let max_lag = if *lossless { 8 } else { 2400 } * usize::from(ch);
        let (snr, lag) = aligned_snr(&ours, &reference, max_lag);
        let min = if *lossless { 30.0 } else { 20.0 };
        println!(
            "{file}: {} vs {} samples, SNR {snr:.1} dB at lag {lag}",
            ours.len(),
            reference.len()
        );
        assert!(snr >= min, "{file}: SNR {snr:.1} dB < {min} (lag {lag})");
        if *file == "voice_16k.wav" {
            // Not periodic, so the lag is meaningful: the seek must be sample-accurate.
            assert!(
                lag.abs() <= 2,
                "voice_16k.wav: seek is off by {lag} samples"
            );
        }
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
    assert!(
        total.abs_diff(whole.len()) <= chunks.len(),
        "{total} vs {}",
        whole.len()
    );
    assert_eq!(whole.len(), 48000);
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

#[test]
fn cancelling_a_transcode_stops_it_within_one_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("long");
    std::fs::create_dir_all(&root).unwrap();
    // 10 minutes of 48 kHz stereo noise-ish PCM.
    let frames = 48_000 * 600;
    let mut pcm = Vec::with_capacity(frames * 4);
    let mut x: u32 = 1;
    for _ in 0..frames * 2 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        pcm.extend_from_slice(&((x >> 16) as i16 / 4).to_le_bytes());
    }
    let mut wav = Vec::new();
    for part in [
        &b"RIFF"[..],
        &(36 + pcm.len() as u32).to_le_bytes(),
        b"WAVEfmt ",
        &16u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &2u16.to_le_bytes(),
        &48000u32.to_le_bytes(),
        &(48000u32 * 4).to_le_bytes(),
        &4u16.to_le_bytes(),
        &16u16.to_le_bytes(),
        b"data",
        &(pcm.len() as u32).to_le_bytes(),
    ] {
        wav.extend_from_slice(part);
    }
    wav.extend_from_slice(&pcm);
    std::fs::write(root.join("long.wav"), wav).unwrap();
    let mut s = Server::spawn(&[&root.to_string_lossy()]);
    let mut params = json!({"name": "audio_transcode", "arguments": {"uri": "media://long/long.wav", "chunk_seconds": 5, "sample_rate": 16000, "channels": 1}});
    let mut meta = modern_meta();
    meta["progressToken"] = json!("c");
    params["_meta"] = meta;
    s.send(&json!({"jsonrpc": "2.0", "id": "t", "method": "tools/call", "params": params}));
    let first = s.next(Duration::from_secs(20)).unwrap();
    assert_eq!(first["method"], "notifications/progress");
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "t"}}));
    let t0 = Instant::now();
    let mut after = 0;
    while t0.elapsed() < Duration::from_secs(2) {
        if let Some(m) = s.next(Duration::from_millis(100)) {
            assert_ne!(m["id"], "t", "a cancelled request was answered");
            after += 1;
        }
    }
    // At most the chunk in flight when the cancel arrived may still report.
    assert!(
        after <= 1,
        "{after} progress notifications after the cancel: the job kept going"
    );
    assert!(s.request(json!(1), "tools/list", modern(json!({})))["result"].is_object());
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
