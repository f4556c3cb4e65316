//! Video on the MCP surface, end to end through the real binary: `video_frames`,
//! `video_storyboard`, `video_scenes` and `video_clip` on the samples (native MP4, B-frame MKV,
//! VP9 WebM through ffmpeg, a rotated phone clip), argument validation, the result budget
//! turning frames into links, derived URIs read back byte-identical, clips checked with ffprobe,
//! `media_probe` video facts, the soundtrack of videos in the audio tools, a server without
//! ffmpeg on PATH, cancelling a clip, and every video flag changing what the server does.
//! ffmpeg/ffprobe are the independent reference (installed where these tests run).

use crate::http::HttpServer;
use crate::util::{HANG, Server, modern, modern_meta, samples};
use base64::Engine;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MP4: &str = "media://samples/video/clip_h264_aac.mp4";
const MKV: &str = "media://samples/video/clip.mkv";
const WEBM: &str = "media://samples/video/clip_vp9_opus.webm";
const BFRAMES: &str = "media://samples/video/clip_h264_bframes.mp4";
const PHONE: &str = "media://samples/video/phone_rotated.mp4";
const HD: &str = "media://samples/video/clip_1080p.mp4";
const AVI: &str = "media://samples/video/clip_mpeg4_mp3.avi";

/// Raw bytes of `image` blocks one `video_frames` result may carry (1 MiB of base64).
const BUDGET: usize = 1024 * 1024 / 4 * 3;

fn spawn(extra: &[&str]) -> Server {
    let root = samples().to_string_lossy().into_owned();
    let mut args = extra.to_vec();
    args.push(&root);
    Server::spawn(&args)
}

fn call(s: &mut Server, id: i64, tool: &str, args: Value) -> Value {
    let r = s.request(
        json!(id),
        "tools/call",
        modern(json!({"name": tool, "arguments": args})),
    );
    assert!(r["result"].is_object(), "{tool}: {r}");
    r["result"].clone()
}

fn ok(res: &Value) -> &Value {
    assert_ne!(res["isError"], true, "{res}");
    &res["structuredContent"]
}

/// The text of an `isError` result.
fn error_text(res: &Value) -> String {
    assert_eq!(res["isError"], true, "expected an error: {res}");
    res["content"][0]["text"].as_str().unwrap_or("").to_string()
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn blocks<'a>(res: &'a Value, kind: &str) -> Vec<&'a Value> {
    res["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == kind)
        .collect()
}

/// `resources/read` of `uri`: its one blob and MIME type.
fn read(s: &mut Server, id: i64, uri: &str) -> (Vec<u8>, String) {
    let r = s.request(json!(id), "resources/read", modern(json!({"uri": uri})));
    let c = &r["result"]["contents"][0];
    assert!(c["blob"].is_string(), "{uri}: {r}");
    (
        b64(c["blob"].as_str().unwrap()),
        c["mimeType"].as_str().unwrap().to_string(),
    )
}

fn dims(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("an image");
    (img.width(), img.height())
}

/// ffprobe's facts about a file: (duration, width, height) of its first video stream.
fn ffprobe(path: &Path) -> (f64, u32, u32) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["stream=width,height:format=duration", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = v["format"]["duration"].as_str().unwrap().parse().unwrap();
    let s = &v["streams"][0];
    (
        d,
        s["width"].as_u64().unwrap() as u32,
        s["height"].as_u64().unwrap() as u32,
    )
}

/// Whether ffmpeg decodes every frame of `path` without an error.
fn ffmpeg_decodes(path: &Path) -> bool {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    out.status.success() && out.stderr.is_empty()
}

/// Makes a video with ffmpeg's test sources (`-f lavfi`), for fixtures the samples lack.
fn make_video(path: &Path, filter: &str, extra: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", filter])
        .args(extra)
        .arg(path)
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn frames_of_a_native_mp4_come_inline_with_pts_and_read_back_identically() {
    let mut s = spawn(&[]);
    let res = call(&mut s, 1, "video_frames", json!({"uri": MP4}));
    let sc = ok(&res).clone();
    let frames = sc["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 4, "default count 4: {sc}");
    let images = blocks(&res, "image");
    assert_eq!(images.len(), 4);
    let mut last = -1.0;
    for (f, img) in frames.iter().zip(&images) {
        let pts = f["pts"].as_f64().unwrap();
        let req = f["requested"].as_f64().unwrap();
        // The frame shown at t: the last one whose pts <= t (15 fps).
        assert!(pts <= req + 1e-3 && req - pts < 1.0 / 15.0 + 1e-3, "{f}");
        assert!(pts > last, "frames in time order: {sc}");
        last = pts;
        assert_eq!(f["inline"], true);
        let bytes = b64(img["data"].as_str().unwrap());
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
        // 320x240 is within the model box: not upscaled.
        assert_eq!(dims(&bytes), (320, 240));
        assert_eq!(
            (f["width"].as_u64(), f["height"].as_u64()),
            (Some(320), Some(240))
        );
        let uri = f["uri"].as_str().unwrap();
        assert!(uri.starts_with(&format!("{MP4}?t=")), "{uri}");
        let (back, mime) = read(&mut s, 2, uri);
        assert_eq!(back, bytes, "resources/read of {uri} is the tool's bytes");
        assert_eq!(mime, img["mimeType"].as_str().unwrap());
    }
    // Spread evenly: the middles of 4 equal parts of 2 s.
    let req: Vec<f64> = frames
        .iter()
        .map(|f| f["requested"].as_f64().unwrap())
        .collect();
    assert_eq!(req, vec![0.25, 0.75, 1.25, 1.75]);
}

#[test]
fn frames_of_bframe_h264_and_vp9_are_the_frames_shown_at_each_time() {
    let mut s = spawn(&[]);
    for (uri, fps) in [(MKV, 30.0), (BFRAMES, 24.0), (WEBM, 30.0)] {
        let res = call(
            &mut s,
            1,
            "video_frames",
            json!({"uri": uri, "times": [1.5, 0.1, 1.0, 9.0], "max_width": 160, "format": "png"}),
        );
        let sc = ok(&res);
        let frames = sc["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 4, "{uri}: {sc}");
        let duration = sc["duration"].as_f64().unwrap();
        for f in frames {
            let pts = f["pts"].as_f64().unwrap();
            let req = f["requested"].as_f64().unwrap().min(duration);
            assert!(
                pts <= req + 1e-3 && req - pts <= 1.0 / fps + 0.05,
                "{uri}: frame {f} (duration {duration})"
            );
            assert_eq!(f["format"], "png");
            assert_eq!(f["width"], 160, "{uri}: max_width bounds the frame");
        }
        // The order of the request is kept in the result.
        assert_eq!(frames[1]["requested"], 0.1);
        // Past the end: the last frame.
        assert!(frames[3]["pts"].as_f64().unwrap() > duration - 0.2, "{sc}");
    }
}

#[test]
fn a_rotated_phone_clip_gives_portrait_frames_and_probes_its_rotation() {
    let mut s = spawn(&[]);
    let res = call(
        &mut s,
        1,
        "video_frames",
        json!({"uri": PHONE, "times": [0.5]}),
    );
    let img = blocks(&res, "image");
    let bytes = b64(img[0]["data"].as_str().unwrap());
    assert_eq!(
        dims(&bytes),
        (270, 480),
        "displayed portrait, not stored landscape"
    );
    // Stored top-left red box displays at the top right after 90 degrees clockwise.
    let rgb = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let p = rgb.get_pixel(270 - 20, 20);
    assert!(
        p[0] > 150 && p[1] < 100 && p[2] < 100,
        "top right is red: {p:?}"
    );
    let probe = call(&mut s, 2, "media_probe", json!({"uri": PHONE}));
    let v = &ok(&probe)["video"];
    let t = &v["tracks"][0];
    assert_eq!(
        (t["width"].as_u64(), t["height"].as_u64()),
        (Some(480), Some(270)),
        "{v}"
    );
    assert_eq!(
        (t["displayWidth"].as_u64(), t["displayHeight"].as_u64()),
        (Some(270), Some(480))
    );
    assert_eq!(t["rotation"], 90);
}

#[test]
fn media_probe_reports_container_tracks_and_engine_against_ffprobe() {
    let mut s = spawn(&[]);
    for (uri, file, engine, codec) in [
        (MP4, "clip_h264_aac.mp4", "native", "h264"),
        (WEBM, "clip_vp9_opus.webm", "ffmpeg", "vp9"),
    ] {
        let res = call(&mut s, 1, "media_probe", json!({"uri": uri}));
        let sc = ok(&res);
        assert_eq!(sc["kind"], "video");
        let v = &sc["video"];
        assert_eq!(v["engine"], engine, "{v}");
        assert_eq!(v["decodable"], true);
        let t = &v["tracks"][0];
        assert_eq!(t["codec"], codec);
        let (d, w, h) = ffprobe(&samples().join("video").join(file));
        assert_eq!(
            (t["width"].as_u64(), t["height"].as_u64()),
            (Some(w.into()), Some(h.into()))
        );
        assert!(
            (v["durationSeconds"].as_f64().unwrap() - d).abs() < 0.1,
            "{v} vs {d}"
        );
        assert!(t["frameRate"].as_f64().unwrap() > 0.0, "{t}");
        assert!(!v["audioTracks"].as_array().unwrap().is_empty(), "{v}");
        // The audio pipeline's own report of the soundtrack is still there.
        assert!(sc["audio"]["codec"].is_string(), "{sc}");
    }
}

#[test]
fn frame_arguments_are_validated() {
    let mut s = spawn(&[]);
    let seventeen: Vec<f64> = (0..17).map(|i| f64::from(i) * 0.1).collect();
    for (args, needle) in [
        (json!({"uri": MP4, "times": [-1.0]}), ">= 0"),
        (json!({"uri": MP4, "times": seventeen}), "1 to 16"),
        (json!({"uri": MP4, "times": []}), "1 to 16"),
        (json!({"uri": MP4, "count": 0}), "1 to 16"),
        (json!({"uri": MP4, "count": 17}), "1 to 16"),
        (json!({"uri": MP4, "count": 2, "times": [1.0]}), "not both"),
        (json!({"uri": MP4, "quality": 0}), "1-100"),
        (json!({"uri": MP4, "format": "gif"}), "format"),
        (
            json!({"uri": "media://samples/images/photo.jpg"}),
            "not a video",
        ),
        (json!({"uri": format!("{MP4}?t=1")}), "without a query"),
    ] {
        let res = call(&mut s, 1, "video_frames", args.clone());
        let text = error_text(&res);
        assert!(text.contains(needle), "{args}: {text}");
    }
}

#[test]
fn frames_beyond_the_result_budget_become_links_that_read_back() {
    let mut s = spawn(&[]);
    // 16 full-HD frames as PNG cannot all fit 1 MiB of base64.
    let res = call(
        &mut s,
        1,
        "video_frames",
        json!({"uri": HD, "count": 16, "format": "png"}),
    );
    let sc = ok(&res).clone();
    let frames = sc["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 16);
    let images = blocks(&res, "image");
    let links = blocks(&res, "resource_link");
    assert!(!links.is_empty(), "some frames are links: {sc}");
    assert_eq!(images.len() + links.len(), 16);
    // Frames are for the model: inline or linked, each says so.
    for b in images.iter().chain(&links) {
        assert_eq!(b["annotations"]["audience"], json!(["assistant"]), "{b}");
    }
    let inline: usize = images
        .iter()
        .map(|i| b64(i["data"].as_str().unwrap()).len())
        .sum();
    assert!(inline <= BUDGET, "{inline} bytes inline");
    // Inline first, then links, in order.
    let flags: Vec<bool> = frames.iter().map(|f| f["inline"] == true).collect();
    assert!(flags.windows(2).all(|w| w[0] || !w[1]), "{flags:?}");
    for (l, f) in links.iter().zip(frames.iter().skip(images.len())) {
        assert_eq!(l["uri"], f["uri"]);
        assert_eq!(l["mimeType"], "image/png");
        let (bytes, mime) = read(&mut s, 2, l["uri"].as_str().unwrap());
        assert_eq!(mime, "image/png");
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
        assert_eq!(dims(&bytes), (1568, 882), "fit for a model: long edge 1568");
    }
}

#[test]
fn a_storyboard_is_one_image_within_the_budget_and_reads_back() {
    let mut s = spawn(&[]);
    let res = call(&mut s, 1, "video_storyboard", json!({"uri": HD}));
    let sc = ok(&res).clone();
    let images = blocks(&res, "image");
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["annotations"]["audience"], json!(["assistant"]));
    let bytes = b64(images[0]["data"].as_str().unwrap());
    assert!(bytes.len() <= 786_432, "{} bytes", bytes.len());
    let (w, h) = dims(&bytes);
    assert!(w.max(h) <= 1568, "{w}x{h}");
    assert_eq!(
        (w, h),
        (
            sc["width"].as_u64().unwrap() as u32,
            sc["height"].as_u64().unwrap() as u32
        )
    );
    let frames = sc["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 16);
    assert!(sc["columns"].as_u64().unwrap() * sc["rows"].as_u64().unwrap() >= 16);
    let req: Vec<f64> = frames
        .iter()
        .map(|f| f["requested"].as_f64().unwrap())
        .collect();
    assert!(req.windows(2).all(|w| w[0] < w[1]), "{req:?}");
    assert!(req[0] > 0.0 && req[15] < 2.0);
    let (back, mime) = read(&mut s, 2, sc["uri"].as_str().unwrap());
    assert_eq!(back, bytes);
    assert_eq!(mime, sc["mimeType"].as_str().unwrap());
    // A part of the video, in given columns.
    let res = call(
        &mut s,
        3,
        "video_storyboard",
        json!({"uri": MKV, "count": 6, "columns": 3, "start": 0.5, "end": 1.5}),
    );
    let sc = ok(&res);
    assert_eq!(
        (sc["columns"].as_u64(), sc["rows"].as_u64()),
        (Some(3), Some(2))
    );
    for f in sc["frames"].as_array().unwrap() {
        let t = f["requested"].as_f64().unwrap();
        assert!((0.5..=1.5).contains(&t), "{f}");
    }
    for (args, needle) in [
        (json!({"uri": MKV, "count": 65}), "1 to 64"),
        (json!({"uri": MKV, "start": 1.5, "end": 0.5}), "after start"),
        (json!({"uri": MKV, "start": 30.0}), "nothing to show"),
    ] {
        let text = error_text(&call(&mut s, 4, "video_storyboard", args.clone()));
        assert!(text.contains(needle), "{args}: {text}");
    }
}

#[test]
fn scenes_are_found_at_the_cuts_of_a_clip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cuts.mp4");
    // Three shots: a test pattern, then solid blue from 2 s, then a moving gradient from 4 s.
    make_video(
        &path,
        "testsrc2=s=320x240:r=25:d=2[a];color=c=blue:s=320x240:r=25:d=2[b];\
         mandelbrot=s=320x240:r=25,trim=duration=2[c];[a][b][c]concat=n=3:v=1:a=0",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "50"],
    );
    let root = dir.path().to_string_lossy().into_owned();
    let mut s = Server::spawn(&[&format!("cuts={root}")]);
    let mut params = json!({"name": "video_scenes", "arguments": {"uri": "media://cuts/cuts.mp4"}});
    let mut meta = modern_meta();
    meta["progressToken"] = json!("scan");
    params["_meta"] = meta;
    s.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}));
    let (answer, before) = s.wait_for(|m| m["id"] == 1);
    // Progress per second of the 6 s scanned, rising, out of the whole.
    let progress: Vec<f64> = before
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            assert_eq!(m["params"]["progressToken"], "scan", "{m}");
            assert_eq!(m["params"]["total"].as_f64(), Some(6.0), "{m}");
            m["params"]["progress"].as_f64().unwrap()
        })
        .collect();
    assert!(
        progress.len() >= 5,
        "about one report per second: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert!(*progress.last().unwrap() >= 5.0, "{progress:?}");
    let res = answer["result"].clone();
    let sc = ok(&res);
    let times: Vec<f64> = sc["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["time"].as_f64().unwrap())
        .collect();
    for cut in [2.0, 4.0] {
        assert!(
            times.iter().any(|t| (t - cut).abs() <= 0.25),
            "a scene at {cut} s: {sc}"
        );
    }
    assert!(times.len() <= 4, "no spurious cuts: {sc}");
    assert!(
        blocks(&res, "text")[0]["text"]
            .as_str()
            .unwrap()
            .contains("scene")
    );
}

#[test]
fn a_clip_is_a_user_link_that_reads_back_as_a_playable_mp4() {
    let mut s = spawn(&[]);
    let res = call(
        &mut s,
        1,
        "video_clip",
        json!({"uri": MP4, "start": 0.5, "duration": 1.0, "max_height": 120}),
    );
    let sc = ok(&res).clone();
    let links = blocks(&res, "resource_link");
    assert_eq!(links.len(), 1, "{res}");
    let l = links[0];
    assert_eq!(l["mimeType"], "video/mp4");
    assert_eq!(l["annotations"]["audience"], json!(["user"]));
    assert_eq!(l["uri"], sc["uri"]);
    let (bytes, mime) = read(&mut s, 2, l["uri"].as_str().unwrap());
    assert_eq!(mime, "video/mp4");
    assert_eq!(bytes.len() as u64, l["size"].as_u64().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    std::fs::write(&path, &bytes).unwrap();
    let (d, w, h) = ffprobe(&path);
    assert!((d - 1.0).abs() <= 0.1, "duration {d}");
    assert_eq!(h, 120, "max_height");
    assert_eq!(w, 160, "aspect kept (4:3)");
    assert!(ffmpeg_decodes(&path), "the clip plays");
    // Small: embedded too, the same bytes.
    let emb = blocks(&res, "resource");
    assert_eq!(emb.len(), 1);
    assert_eq!(b64(emb[0]["resource"]["blob"].as_str().unwrap()), bytes);
    // A VP9 source clips through ffmpeg just the same.
    let res = call(
        &mut s,
        3,
        "video_clip",
        json!({"uri": WEBM, "start": 0, "duration": 1.5}),
    );
    let sc = ok(&res).clone();
    let (bytes, _) = read(&mut s, 4, sc["uri"].as_str().unwrap());
    std::fs::write(&path, &bytes).unwrap();
    let (d, _, h) = ffprobe(&path);
    assert!((d - 1.5).abs() <= 0.1, "duration {d}");
    assert_eq!(h, 240, "never upscaled past the source");
    for (args, needle) in [
        (json!({"uri": MP4, "start": -1.0, "duration": 1.0}), ">= 0"),
        (json!({"uri": MP4, "start": 0, "duration": 0}), "> 0"),
        (
            json!({"uri": MP4, "start": 0, "duration": 1, "max_height": 8}),
            "16 to",
        ),
        (
            json!({"uri": MP4, "start": 5, "duration": 1}),
            "past the end",
        ),
    ] {
        let text = error_text(&call(&mut s, 5, "video_clip", args.clone()));
        assert!(text.contains(needle), "{args}: {text}");
    }
}

#[test]
fn video_templates_are_listed_and_bad_video_queries_are_invalid_params() {
    let mut s = spawn(&[]);
    let r = s.request(json!(1), "resources/templates/list", modern(json!({})));
    let names: Vec<&str> = r["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uriTemplate"].as_str().unwrap())
        .collect();
    for t in [
        "media://{root}/{+path}{?t,w,h,format,quality}",
        "media://{root}/{+path}{?storyboard,columns,start,end}",
        "media://{root}/{+path}{?clip_start,clip_duration,max_height}",
    ] {
        assert!(names.contains(&t), "{t} in {names:?}");
    }
    for (uri, needle) in [
        (format!("{MP4}?t=-1"), "non-negative"),
        (format!("{MP4}?t=1&fit=cover"), "unknown parameter"),
        (format!("{MP4}?storyboard=100"), "1 to 64"),
        (format!("{WEBM}?clip_start=0"), "clip_duration"),
    ] {
        let r = s.request(json!(2), "resources/read", modern(json!({"uri": uri})));
        assert_eq!(r["error"]["code"], -32602, "{uri}: {r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains(needle),
            "{r}"
        );
    }
}

#[test]
fn video_soundtracks_work_in_the_audio_tools_for_every_container() {
    let mut s = spawn(&[]);
    for uri in [MP4, MKV, WEBM, AVI] {
        let res = call(
            &mut s,
            1,
            "audio_transcode",
            json!({"uri": uri, "sample_rate": 16000, "channels": 1, "inline": true}),
        );
        let sc = ok(&res);
        assert!(
            (sc["duration"].as_f64().unwrap() - 2.0).abs() < 0.2,
            "{uri}: {sc}"
        );
        let audio = blocks(&res, "audio");
        assert!(!audio.is_empty(), "{uri}");
        // The chunk's derived URI reads back too (through the same soundtrack path).
        let link = call(
            &mut s,
            3,
            "audio_transcode",
            json!({"uri": uri, "sample_rate": 16000, "channels": 1}),
        );
        let chunk = ok(&link)["chunks"][0]["uri"].as_str().unwrap().to_string();
        let (wav, mime) = read(&mut s, 4, &chunk);
        assert_eq!(mime, "audio/wav");
        assert_eq!(&wav[..4], b"RIFF", "{uri}");
        let res = call(&mut s, 2, "audio_spectrogram", json!({"uri": uri}));
        assert_eq!(blocks(&res, "image").len(), 1, "{uri}: {res}");
    }
}

/// The server's ffmpeg/ffprobe children, by /proc (parent pid and command name).
fn ffmpeg_children(server: u32) -> Vec<u32> {
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let ppid: u32 = rest
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == server && (comm.ends_with("(ffmpeg") || comm.ends_with("(ffprobe")) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn cancelling_a_clip_stops_it_and_leaves_no_ffmpeg_behind() {
    let dir = tempfile::tempdir().unwrap();
    // 40 s of VP9: its clip goes through ffmpeg and takes many seconds to transcode.
    make_video(
        &dir.path().join("long.webm"),
        "testsrc2=s=1280x720:r=30:d=40",
        &[
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "1M",
        ],
    );
    let marker = format!("long={}", dir.path().to_string_lossy());
    let mut s = Server::spawn(&[&marker]);
    let mut params = json!({"name": "video_clip", "arguments": {
        "uri": "media://long/long.webm", "start": 0, "duration": 40, "max_height": 720}});
    let mut meta = modern_meta();
    meta["progressToken"] = json!("clip");
    params["_meta"] = meta;
    s.send(&json!({"jsonrpc": "2.0", "id": "clip", "method": "tools/call", "params": params}));
    let (first, _) = s.wait_for(|m| m["method"] == "notifications/progress");
    assert!(first["params"]["progress"].as_f64().unwrap() < 40.0);
    let server = server_pid(&marker);
    assert!(
        !ffmpeg_children(server).is_empty(),
        "the clip runs in ffmpeg"
    );
    s.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "clip", "reason": "test"}}));
    let deadline = Instant::now() + HANG;
    while !ffmpeg_children(server).is_empty() {
        assert!(
            Instant::now() < deadline,
            "ffmpeg still running {HANG:?} after the cancel"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(s.request(json!("after"), "tools/list", modern(json!({})))["result"].is_object());
    let (rest, status) = s.finish();
    assert!(status.success());
    assert!(
        rest.iter().all(|m| m["id"] != "clip"),
        "a cancelled clip was answered"
    );
}

/// The pid of the server whose command line holds `marker` (a root spec unique to a test).
fn server_pid(marker: &str) -> u32 {
    let me = std::process::id();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd);
        if pid != me && cmd.contains("serve") && cmd.split('\0').any(|a| a == marker) {
            return pid;
        }
    }
    panic!("no server with {marker:?} on its command line");
}

#[test]
fn without_ffmpeg_native_formats_work_and_the_others_name_ffmpeg() {
    let root = samples().to_string_lossy().into_owned();
    let s = HttpServer::spawn_env(&[&root], &[("PATH", "/nonexistent")]);
    let call = |id: i64, uri: &str| {
        s.modern(
            json!(id),
            "tools/call",
            json!({"name": "video_frames", "arguments": {"uri": uri, "count": 2}}),
        )
        .json()["result"]
            .clone()
    };
    let native = call(1, MP4);
    assert_ne!(native["isError"], true, "{native}");
    assert_eq!(blocks(&native, "image").len(), 2);
    let vp9 = call(2, WEBM);
    let text = error_text(&vp9);
    assert!(text.contains("ffmpeg"), "{text}");
    let probe = s
        .modern(
            json!(3),
            "tools/call",
            json!({"name": "media_probe", "arguments": {"uri": WEBM}}),
        )
        .json();
    let v = &probe["result"]["structuredContent"];
    // Probed natively (symphonia reads WebM) but nothing here decodes VP9.
    if v["video"].is_object() {
        assert_eq!(v["video"]["decodable"], false, "{v}");
    }
    assert!(v["warnings"].to_string().contains("ffmpeg"), "{v}");
}

#[test]
fn max_video_dimension_refuses_larger_videos() {
    let mut s = spawn(&["--max-video-dimension", "300"]);
    let text = error_text(&call(
        &mut s,
        1,
        "video_frames",
        json!({"uri": MP4, "count": 1}),
    ));
    assert!(text.contains("too large"), "{text}");
    // A frame resource of it: the video's fault, so invalid params naming the URI.
    let uri = format!("{MP4}?t=0");
    let r = s.request(json!(2), "resources/read", modern(json!({"uri": uri})));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert_eq!(r["error"]["data"]["uri"], uri.as_str(), "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("cannot render") && msg.contains("too large"),
        "{r}"
    );
    let mut s = spawn(&[]);
    ok(&call(
        &mut s,
        1,
        "video_frames",
        json!({"uri": MP4, "count": 1}),
    ));
}

#[test]
fn max_video_decoded_frames_bounds_the_decoding_of_one_request() {
    // The frame at 1.9 s of a 15 fps file with a keyframe every 15 frames: ~14 frames are
    // decoded from the keyframe at 1 s.
    let mut s = spawn(&["--max-video-decoded-frames", "3"]);
    let text = error_text(&call(
        &mut s,
        1,
        "video_frames",
        json!({"uri": MP4, "times": [1.9]}),
    ));
    assert!(text.contains("too large"), "{text}");
    let mut s = spawn(&["--max-video-decoded-frames", "100"]);
    ok(&call(
        &mut s,
        1,
        "video_frames",
        json!({"uri": MP4, "times": [1.9]}),
    ));
}

#[test]
fn max_clip_seconds_bounds_clips() {
    let mut s = spawn(&["--max-clip-seconds", "1"]);
    let text = error_text(&call(
        &mut s,
        1,
        "video_clip",
        json!({"uri": MP4, "start": 0, "duration": 1.5}),
    ));
    assert!(text.contains("at most 1 s"), "{text}");
    ok(&call(
        &mut s,
        2,
        "video_clip",
        json!({"uri": MP4, "start": 0, "duration": 1.0}),
    ));
    // The clip template says it too.
    let r = s.request(
        json!(3),
        "resources/read",
        modern(json!({"uri": format!("{MP4}?clip_start=0&clip_duration=1.5")})),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
}

#[test]
fn video_timeout_ms_kills_slow_ffmpeg_work() {
    let marker = format!("timeout={}", samples().to_string_lossy());
    let mut s = Server::spawn(&["--video-timeout-ms", "1", &marker]);
    let webm = "media://timeout/video/clip_vp9_opus.webm";
    let res = call(
        &mut s,
        1,
        "video_clip",
        json!({"uri": webm, "start": 0, "duration": 1.0}),
    );
    let text = error_text(&res);
    assert!(text.contains("ffmpeg"), "{text}");
    let server = server_pid(&marker);
    let deadline = Instant::now() + HANG;
    while !ffmpeg_children(server).is_empty() {
        assert!(
            Instant::now() < deadline,
            "a timed-out ffmpeg was left running"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut s = spawn(&[]);
    ok(&call(
        &mut s,
        1,
        "video_clip",
        json!({"uri": WEBM, "start": 0, "duration": 1.0}),
    ));
}
