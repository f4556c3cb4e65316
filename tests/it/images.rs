//! Images end to end through the real binary over stdio: every sample through
//! `image_transform` (fit for a model by default, checked against Pillow as the independent
//! decoder: `tests/images/oracle.py`), the fit modes' arithmetic, byte budgets, derived URIs
//! (byte-identical, fresh after the source changes), tiles, probing, hostile images, and every
//! image flag changing what the server does.

use crate::util::{Server, modern, samples};
use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python with Pillow that `tests/run` prepares (`MCP_TEST_PYTHON`), else the venv it
/// makes, else `python3` (which then must have Pillow).
fn python() -> String {
    if let Ok(p) = std::env::var("MCP_TEST_PYTHON") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/.venv/bin/python");
    if Path::new(venv).exists() {
        return venv.into();
    }
    "python3".into()
}

/// Runs `tests/images/oracle.py` (Pillow) and parses its JSON.
fn oracle(args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/images/oracle.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .expect("python for the image oracle (run tests/run once: it makes tests/python/.venv with Pillow)");
    assert!(
        out.status.success(),
        "oracle {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
}

/// Every image sample (not the hostile ones under `samples/bad`).
fn sample_images() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples().join("images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    assert!(v.len() >= 6, "{v:?}");
    v
}

fn uri_of(p: &Path) -> String {
    let rel = p
        .strip_prefix(samples())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let enc: String = rel
        .split('/')
        .map(|seg| {
            percent_encoding::utf8_percent_encode(seg, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/");
    format!("media://samples/{enc}")
}

fn spawn(extra: &[&str]) -> Server {
    let root = samples().to_string_lossy().into_owned();
    let mut args = extra.to_vec();
    args.push(&root);
    Server::spawn(&args)
}

/// How many content blocks of `kind` a tool result carries.
fn blocks(res: &Value, kind: &str) -> usize {
    res["content"]
        .as_array()
        .map_or(0, |c| c.iter().filter(|b| b["type"] == kind).count())
}

fn call(s: &mut Server, id: i64, tool: &str, args: Value) -> Value {
    let r = s.request(
        json!(id),
        "tools/call",
        modern(json!({"name": tool, "arguments": args})),
    );
    r["result"].clone()
}

fn is_heic(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("heic" | "heif" | "avif")
    )
}

/// The single image block of a result, decoded from base64, written to `dir`.
fn image_block(res: &Value, dir: &Path, name: &str) -> (Vec<u8>, PathBuf) {
    let blocks: Vec<&Value> = res["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "image")
        .collect();
    assert_eq!(blocks.len(), 1, "{res}");
    let b64 = blocks[0]["data"].as_str().unwrap();
    assert_eq!(blocks[0]["mimeType"], res["structuredContent"]["mimeType"]);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &raw).unwrap();
    (raw, path)
}

/// Output dimensions keep the source's aspect within one pixel.
fn assert_aspect(out: (u64, u64), src: (u64, u64), what: &str) {
    let (w, h) = (out.0 as f64, out.1 as f64);
    let (sw, sh) = (src.0 as f64, src.1 as f64);
    assert!(
        (w - h * sw / sh).abs() <= 1.0 || (h - w * sh / sw).abs() <= 1.0,
        "{what}: {w}x{h} does not keep the aspect of {sw}x{sh}"
    );
}

fn dims(v: &Value, w: &str, h: &str) -> (u64, u64) {
    (v[w].as_u64().unwrap(), v[h].as_u64().unwrap())
}

#[test]
fn every_sample_image_comes_out_fit_for_a_model_and_pillow_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spawn(&[]);
    for (i, p) in sample_images().into_iter().enumerate() {
        let what = p.display().to_string();
        let res = call(
            &mut s,
            i as i64,
            "image_transform",
            json!({"uri": uri_of(&p)}),
        );
        assert_ne!(res["isError"], true, "{what}: {res}");
        let sc = &res["structuredContent"];
        let (raw, out) = image_block(&res, tmp.path(), &format!("out{i}"));
        // Pillow decodes the output to the size and format the result states.
        let got = oracle(&["info", out.to_str().unwrap()]);
        assert_eq!(
            dims(&got, "width", "height"),
            dims(sc, "width", "height"),
            "{what}"
        );
        assert_eq!(
            got["format"].as_str().unwrap().to_lowercase(),
            sc["format"].as_str().unwrap(),
            "{what}"
        );
        assert_eq!(raw.len() as u64, sc["bytes"].as_u64().unwrap());
        // Fit for a model: long edge <= 1568, at most 1 MiB of base64, never upscaled, aspect
        // kept; the source's displayed size is what Pillow says (EXIF orientation applied).
        let (w, h) = dims(sc, "width", "height");
        assert!(w.max(h) <= 1568, "{what}: {w}x{h}");
        assert!(
            raw.len().div_ceil(3) * 4 <= 1024 * 1024,
            "{what}: {} bytes",
            raw.len()
        );
        let src = dims(sc, "sourceWidth", "sourceHeight");
        if !is_heic(&p) {
            let pil = oracle(&["info", p.to_str().unwrap()]);
            assert_eq!(src, dims(&pil, "width", "height"), "{what}: displayed size");
        }
        assert!(
            w <= src.0 && h <= src.1,
            "{what}: upscaled {src:?} to {w}x{h}"
        );
        assert_aspect((w, h), src, &what);
    }
}

#[test]
fn fit_modes_hold_exactly() {
    let mut s = spawn(&[]);
    let photo = uri_of(&samples().join("images/photo.jpg")); // displayed 480x640
    let small = uri_of(&samples().join("images/alpha.png")); // 64x48
    let cases: [(&str, Value, (u64, u64)); 7] = [
        (
            "inside box",
            json!({"uri": photo, "max_width": 300, "max_height": 300}),
            (225, 300),
        ),
        (
            "width only",
            json!({"uri": photo, "max_width": 120}),
            (120, 160),
        ),
        (
            "cover",
            json!({"uri": photo, "max_width": 300, "max_height": 200, "fit": "cover"}),
            (300, 200),
        ),
        (
            "exact",
            json!({"uri": photo, "max_width": 123, "max_height": 77, "fit": "exact"}),
            (123, 77),
        ),
        (
            "no upscale",
            json!({"uri": small, "max_width": 640}),
            (64, 48),
        ),
        (
            "upscale",
            json!({"uri": small, "max_width": 640, "upscale": true}),
            (640, 480),
        ),
        (
            "rotate",
            json!({"uri": photo, "max_width": 640, "max_height": 640, "rotate": 90}),
            (640, 480),
        ),
    ];
    for (i, (what, args, want)) in cases.into_iter().enumerate() {
        let res = call(&mut s, i as i64, "image_transform", args);
        assert_ne!(res["isError"], true, "{what}: {res}");
        assert_eq!(
            dims(&res["structuredContent"], "width", "height"),
            want,
            "{what}"
        );
    }
    // Crops: pixels and fractions of the displayed image.
    let res = call(
        &mut s,
        10,
        "image_transform",
        json!({"uri": photo, "crop": {"x": 10, "y": 20, "width": 100, "height": 50}}),
    );
    assert_eq!(
        dims(&res["structuredContent"], "width", "height"),
        (100, 50),
        "{res}"
    );
    let res = call(
        &mut s,
        11,
        "image_transform",
        json!({"uri": photo, "crop": {"x": 0.5, "y": 0.5, "width": 0.5, "height": 0.25, "unit": "fraction"}}),
    );
    assert_eq!(
        dims(&res["structuredContent"], "width", "height"),
        (240, 160),
        "{res}"
    );
    // A crop outside the image is the caller's mistake, named as such.
    let res = call(
        &mut s,
        12,
        "image_transform",
        json!({"uri": photo, "crop": {"x": 400, "y": 0, "width": 200, "height": 10}}),
    );
    assert_eq!(res["isError"], true, "{res}");
}

#[test]
fn max_bytes_is_honoured_for_every_sample() {
    let mut s = spawn(&[]);
    for (i, p) in sample_images().into_iter().enumerate() {
        let res = call(
            &mut s,
            i as i64,
            "image_transform",
            json!({"uri": uri_of(&p), "max_bytes": 12000}),
        );
        assert_ne!(res["isError"], true, "{}: {res}", p.display());
        let n = res["structuredContent"]["bytes"].as_u64().unwrap();
        assert!(n <= 12000, "{}: {n} bytes", p.display());
    }
}

#[test]
fn a_derived_image_reads_back_byte_identical_and_follows_its_source() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pics");
    std::fs::create_dir(&root).unwrap();
    let write = |w: u32, h: u32| {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        img.save(root.join("p.png")).unwrap();
    };
    write(400, 300);
    let mut s = Server::spawn(&[root.to_str().unwrap()]);
    let res = call(
        &mut s,
        1,
        "image_transform",
        json!({"uri": "media://pics/p.png", "max_width": 100}),
    );
    let sc = res["structuredContent"].clone();
    let (raw, _) = image_block(&res, tmp.path(), "a");
    let uri = sc["uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("media://pics/p.png?"), "{uri}");
    let read = |s: &mut Server, id: i64| {
        s.request(json!(id), "resources/read", modern(json!({"uri": uri})))
    };
    let r = read(&mut s, 2);
    let blob = r["result"]["contents"][0]["blob"].as_str().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap(),
        raw
    );
    assert_eq!(r["result"]["contents"][0]["mimeType"], sc["mimeType"]);
    // Rewritten (another size): the same URI renders the new image.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(200, 400);
    let res = call(
        &mut s,
        3,
        "image_transform",
        json!({"uri": "media://pics/p.png", "max_width": 100}),
    );
    assert_eq!(
        dims(&res["structuredContent"], "width", "height"),
        (100, 200),
        "{res}"
    );
    // Deleted: not found (-32602 in 2026-07-28), not the old bytes.
    std::fs::remove_file(root.join("p.png")).unwrap();
    let r = read(&mut s, 4);
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{r}"
    );
}

#[test]
fn tiles_cover_the_image_and_links_render_when_read() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spawn(&[]);
    let photo = uri_of(&samples().join("images/photo.jpg")); // displayed 480x640
    let res = call(
        &mut s,
        1,
        "image_tiles",
        json!({"uri": photo, "rows": 2, "cols": 3, "overlap": 8}),
    );
    assert_ne!(res["isError"], true, "{res}");
    let sc = &res["structuredContent"];
    assert_eq!(
        (sc["rows"].as_u64(), sc["cols"].as_u64()),
        (Some(2), Some(3))
    );
    let tiles = sc["tiles"].as_array().unwrap();
    assert_eq!(tiles.len(), 6);
    // Every pixel of the 480x640 image is in some tile, and no tile leaves the image.
    let mut covered = vec![false; 480 * 640];
    for t in tiles {
        let (x, y, w, h) = (
            t["x"].as_u64().unwrap() as usize,
            t["y"].as_u64().unwrap() as usize,
            t["width"].as_u64().unwrap() as usize,
            t["height"].as_u64().unwrap() as usize,
        );
        assert!(x + w <= 480 && y + h <= 640, "{t}");
        for yy in y..y + h {
            for xx in x..x + w {
                covered[yy * 480 + xx] = true;
            }
        }
    }
    assert!(covered.iter().all(|c| *c), "tiles leave gaps");
    // Interior edges overlap by 8 pixels.
    let t00 = &tiles[0];
    let t01 = tiles
        .iter()
        .find(|t| t["row"] == 0 && t["col"] == 1)
        .unwrap();
    assert_eq!(
        t00["x"].as_u64().unwrap() + t00["width"].as_u64().unwrap() - t01["x"].as_u64().unwrap(),
        8
    );
    // Small tiles all fit inline, in tile order, each image the size of its rectangle.
    let images: Vec<&Value> = res["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "image")
        .collect();
    assert_eq!(images.len(), 6);
    for (img, t) in images.iter().zip(tiles) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(img["data"].as_str().unwrap())
            .unwrap();
        let decoded = image::load_from_memory(&raw).unwrap();
        assert_eq!(
            (u64::from(decoded.width()), u64::from(decoded.height())),
            dims(t, "width", "height"),
            "{t}"
        );
    }
    // With inline: false every tile is a link, and reading one gives that tile.
    let res = call(
        &mut s,
        2,
        "image_tiles",
        json!({"uri": photo, "rows": 2, "cols": 2, "inline": false, "format": "png"}),
    );
    let links: Vec<&Value> = res["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "resource_link")
        .collect();
    assert_eq!(links.len(), 4, "{res}");
    let r = s.request(
        json!(3),
        "resources/read",
        modern(json!({"uri": links[3]["uri"]})),
    );
    let blob = r["result"]["contents"][0]["blob"].as_str().expect("a tile");
    let path = tmp.path().join("tile.png");
    std::fs::write(
        &path,
        base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap(),
    )
    .unwrap();
    let got = oracle(&["info", path.to_str().unwrap()]);
    assert_eq!(dims(&got, "width", "height"), (240, 320));
}

#[test]
fn probe_reports_image_facts_and_gps_only_when_exposed() {
    let phone = uri_of(&samples().join("images/phone.jpg"));
    let pil = oracle(&["info", samples().join("images/phone.jpg").to_str().unwrap()]);
    for (expose, id) in [(false, 1), (true, 2)] {
        let mut s = spawn(if expose { &["--expose-gps"] } else { &[] });
        let res = call(&mut s, id, "media_probe", json!({"uri": phone}));
        let img = &res["structuredContent"]["image"];
        assert_eq!(img["format"], "jpeg", "{res}");
        assert_eq!(
            dims(img, "displayWidth", "displayHeight"),
            dims(&pil, "width", "height")
        );
        assert_eq!(
            dims(img, "width", "height"),
            dims(&pil, "stored_width", "stored_height")
        );
        assert_eq!(img["orientation"], pil["orientation"]);
        assert!(img["exif"]["dateTaken"].is_string(), "{img}");
        assert!(img["exif"]["model"].is_string(), "{img}");
        let gps = &img["exif"]["gps"];
        if expose {
            assert!(
                gps["latitude"].is_number() && gps["longitude"].is_number(),
                "{img}"
            );
        } else {
            assert!(
                gps.is_null(),
                "GPS must stay private without --expose-gps: {img}"
            );
            assert!(!res.to_string().contains("latitude"));
        }
    }
}

/// Writes hostile images into a fresh root.
fn hostile_root(dir: &Path) -> PathBuf {
    let root = dir.join("bad");
    std::fs::create_dir(&root).unwrap();
    let bad = samples().join("bad");
    std::fs::copy(bad.join("bomb.png"), root.join("bomb.png")).unwrap();
    std::fs::copy(bad.join("truncated.png"), root.join("truncated.png")).unwrap();
    std::fs::write(root.join("empty.png"), b"").unwrap();
    // A PNG named .jpg: its content decides.
    std::fs::copy(samples().join("images/alpha.png"), root.join("liar.jpg")).unwrap();
    // 100000 x 1 pixels.
    image::GrayImage::new(100_000, 1)
        .save(root.join("wide.png"))
        .unwrap();
    // A JPEG whose header claims 65000 x 65000.
    let mut jpeg = std::fs::read(samples().join("images/photo.jpg")).unwrap();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .expect("SOF");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    std::fs::write(root.join("bomb.jpg"), jpeg).unwrap();
    // A GIF with 5000 frames.
    {
        let f = std::fs::File::create(root.join("many.gif")).unwrap();
        let mut enc = image::codecs::gif::GifEncoder::new(f);
        for i in 0..5000u32 {
            let px = image::Rgba([(i % 256) as u8, 0, 0, 255]);
            let frame = image::Frame::new(image::RgbaImage::from_pixel(2, 2, px));
            enc.encode_frame(frame).unwrap();
        }
    }
    root
}

#[test]
fn hostile_images_get_clear_errors_and_the_server_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let root = hostile_root(tmp.path());
    let mut s = Server::spawn(&[root.to_str().unwrap()]);
    for (i, (name, needle)) in [
        ("bomb.png", "too large"),
        ("bomb.jpg", "too large"),
        ("truncated.png", ""),
        ("wide.png", "too large"),
    ]
    .into_iter()
    .enumerate()
    {
        let res = call(
            &mut s,
            i as i64,
            "image_transform",
            json!({"uri": format!("media://bad/{name}")}),
        );
        assert_eq!(res["isError"], true, "{name}: {res}");
        let text = res["content"][0]["text"].as_str().unwrap().to_lowercase();
        assert!(text.contains(needle), "{name}: {text}");
    }
    // Not an image at all (zero bytes): not found as media.
    let r = s.request(
        json!(10),
        "tools/call",
        modern(json!({"name": "image_transform", "arguments": {"uri": "media://bad/empty.png"}})),
    );
    assert!(
        r["error"]["code"] == -32002 || r["result"]["isError"] == true,
        "{r}"
    );
    // The lying extension decodes by content.
    let res = call(
        &mut s,
        11,
        "image_transform",
        json!({"uri": "media://bad/liar.jpg"}),
    );
    assert_ne!(res["isError"], true, "{res}");
    // Thousands of frames: the first frame is served, or a clear refusal; never a hang.
    let res = call(
        &mut s,
        12,
        "image_transform",
        json!({"uri": "media://bad/many.gif", "frames": 4}),
    );
    if res["isError"] == true {
        let text = res["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("frame"), "{text}");
    }
    // Still serving, and no bomb got near its declared size in memory (100000 x 100000 x 3
    // bytes would be 28 GiB; 65000 x 65000, 11 GiB).
    let r = s.request(json!(13), "tools/list", modern(json!({})));
    assert!(r["result"]["tools"].is_array());
    let peak = s.peak_rss();
    assert!(peak < 512 * 1024 * 1024, "peak RSS {peak} bytes");
}

#[test]
fn image_limit_flags_change_what_is_decoded() {
    let photo = uri_of(&samples().join("images/photo.jpg")); // 640x480 stored
    for (flags, needle) in [
        (vec!["--max-image-pixels", "300000"], "pixel count"),
        (vec!["--max-image-dimension", "600"], "600"),
        (vec!["--max-image-decoded-bytes", "100000"], "bytes"),
    ] {
        let mut s = spawn(&flags);
        let res = call(&mut s, 1, "image_transform", json!({"uri": photo}));
        assert_eq!(res["isError"], true, "{flags:?}: {res}");
        let text = res["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(needle), "{flags:?}: {text}");
    }
    // Defaults decode it.
    let mut s = spawn(&[]);
    let res = call(&mut s, 1, "image_transform", json!({"uri": photo}));
    assert_ne!(res["isError"], true, "{res}");
    // Frames: an animation over --max-image-frames is refused (or cut) by the limit.
    let anim = uri_of(&samples().join("images/anim.gif")); // 3 frames
    let mut s = spawn(&["--max-image-frames", "2"]);
    let res = call(
        &mut s,
        2,
        "image_transform",
        json!({"uri": anim, "frames": 3}),
    );
    let n = blocks(&res, "image");
    assert!(res["isError"] == true || n <= 2, "{res}");
    let mut s = spawn(&[]);
    let res = call(
        &mut s,
        3,
        "image_transform",
        json!({"uri": anim, "frames": 3}),
    );
    let n = blocks(&res, "image");
    assert_eq!(n, 3, "{res}");
}

#[test]
fn heic_decodes_through_the_external_decoder_within_its_time_limit() {
    let heic = uri_of(&samples().join("images/photo.heic"));
    // The default limit (20 s) lets heif-convert finish.
    let mut s = spawn(&[]);
    let res = call(
        &mut s,
        1,
        "image_transform",
        json!({"uri": heic, "format": "png"}),
    );
    assert_ne!(res["isError"], true, "{res}");
    assert_eq!(
        dims(&res["structuredContent"], "width", "height"),
        (640, 480)
    );
    let probe = call(&mut s, 2, "media_probe", json!({"uri": heic}));
    assert_eq!(
        probe["structuredContent"]["image"]["format"], "heic",
        "{probe}"
    );
    // One millisecond is too short: the child is stopped and the error says so.
    let mut s = spawn(&["--external-decoder-timeout-ms", "1"]);
    let res = call(&mut s, 3, "image_transform", json!({"uri": heic}));
    assert_eq!(res["isError"], true, "{res}");
    let text = res["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("time limit"), "{text}");
}

#[test]
fn cmyk_and_icc_tagged_images_come_out_in_the_colours_pillow_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = spawn(&[]);
    for (i, name) in [
        "cmyk.jpg",
        "cmyk_plain.jpg",
        "icc_adobergb.png",
        "icc_adobergb.jpg",
    ]
    .into_iter()
    .enumerate()
    {
        let src = samples().join("images").join(name);
        // Lossless output at the source's size: only the decoders' colour handling differs.
        let res = call(
            &mut s,
            i as i64,
            "image_transform",
            json!({"uri": uri_of(&src), "format": "png"}),
        );
        assert_ne!(res["isError"], true, "{name}: {res}");
        let (_, out) = image_block(&res, tmp.path(), &format!("{i}.png"));
        let mae = oracle(&["mae", out.to_str().unwrap(), src.to_str().unwrap()]);
        let mean = mae["mean"].as_f64().unwrap();
        assert!(
            mean <= 2.0,
            "{name}: mean absolute error {mean} against Pillow ({mae})"
        );
    }
}

#[test]
fn flip_quality_and_tile_size_change_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pics");
    std::fs::create_dir(&root).unwrap();
    // Left half black, right half white.
    image::RgbImage::from_fn(64, 32, |x, _| {
        if x < 32 {
            image::Rgb([0, 0, 0])
        } else {
            image::Rgb([255, 255, 255])
        }
    })
    .save(root.join("half.png"))
    .unwrap();
    let samples_root = samples().to_string_lossy().into_owned();
    let mut s = Server::spawn(&[root.to_str().unwrap(), &samples_root]);
    let left_pixel = |s: &mut Server, id: i64, args: Value| {
        let res = call(s, id, "image_transform", args);
        let (raw, _) = image_block(&res, tmp.path(), &format!("f{id}.png"));
        image::load_from_memory(&raw)
            .unwrap()
            .to_rgb8()
            .get_pixel(2, 16)
            .0
    };
    let uri = "media://pics/half.png";
    assert_eq!(
        left_pixel(&mut s, 1, json!({"uri": uri, "format": "png"})),
        [0, 0, 0]
    );
    assert_eq!(
        left_pixel(
            &mut s,
            2,
            json!({"uri": uri, "format": "png", "flip": "horizontal"})
        ),
        [255, 255, 255]
    );
    // Lower JPEG quality, fewer bytes (the same photo, the same size).
    let photo = uri_of(&samples().join("images/photo.jpg"));
    let bytes = |s: &mut Server, id: i64, q: u64| {
        let res = call(
            s,
            id,
            "image_transform",
            json!({"uri": photo, "format": "jpeg", "quality": q}),
        );
        assert_eq!(res["structuredContent"]["quality"], q, "{res}");
        res["structuredContent"]["bytes"].as_u64().unwrap()
    };
    let (hi, lo) = (bytes(&mut s, 3, 95), bytes(&mut s, 4, 30));
    assert!(lo < hi, "quality 30: {lo} bytes, quality 95: {hi}");
    // tile_size bounds each tile (480x640 photo, 256 px tiles: at least 2x3 of them).
    let res = call(
        &mut s,
        5,
        "image_tiles",
        json!({"uri": photo, "tile_size": 256, "inline": false}),
    );
    let tiles = res["structuredContent"]["tiles"]
        .as_array()
        .unwrap()
        .clone();
    assert!(tiles.len() >= 6, "{res}");
    for t in &tiles {
        assert!(
            t["width"].as_u64().unwrap() <= 256 && t["height"].as_u64().unwrap() <= 256,
            "{t}"
        );
    }
    let res = call(
        &mut s,
        6,
        "image_tiles",
        json!({"uri": photo, "inline": false}),
    );
    assert_eq!(
        res["structuredContent"]["tiles"].as_array().unwrap().len(),
        1,
        "{res}"
    );
}

#[test]
fn a_large_grid_keeps_its_result_within_one_mebibyte_and_renders_few_tiles() {
    let mut s = spawn(&[]);
    let phone = uri_of(&samples().join("images/phone.jpg"));
    let res = call(
        &mut s,
        1,
        "image_tiles",
        json!({"uri": phone, "rows": 16, "cols": 16}),
    );
    assert_ne!(res["isError"], true, "{res}");
    let tiles = res["structuredContent"]["tiles"].as_array().unwrap();
    assert_eq!(tiles.len(), 256);
    let (images, links) = (blocks(&res, "image"), blocks(&res, "resource_link"));
    assert!(images <= 16, "{images} tiles rendered inline");
    assert_eq!(images + links, 256);
    // The whole result (images in base64, text, links, structuredContent) within 1 MiB.
    let size = serde_json::to_vec(&res).unwrap().len();
    assert!(size <= 1024 * 1024, "{size} bytes");
}
