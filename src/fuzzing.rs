//! Fuzzing entry points: one function per untrusted-input parser, each taking arbitrary bytes,
//! driving the parser the way the server does and checking the invariants it promises. Used by
//! the cargo-fuzz targets in `fuzz/` and by the regression tests in `tests/it/fuzz_regressions.rs`.
//!
//! A panic anywhere (including a failed invariant here) is a finding. Every run is bounded (input
//! size, decoded frames, rendered seconds) so one input stays quick. Not part of the supported
//! API; must not know about the server, transports, tokio or MCP semantics above the wire.

use crate::library::{sniff, uri};
use crate::media::audio::segment::{self, Format, SegmentSpec};
use crate::media::audio::{Decoder, decode};
use crate::media::image as img;
use crate::protocol::codec::{Line, LineDecoder};
use crate::protocol::frame::{self, Frame, Framing, Outgoing};
use crate::protocol::jsonrpc::{self, Incoming, Message, WireError};
use crate::protocol::{cursor, sse};
use bytes::{Bytes, BytesMut};
use std::io::Cursor;
use std::path::Path;

/// Largest input the media entry points look at (larger inputs are truncated).
pub const MAX_MEDIA_INPUT: usize = 1 << 20;
/// Most frames [`audio_decode`] reads from one input.
const MAX_DECODED_FRAMES: usize = 200_000;
/// Longest stretch [`audio_transcode`] renders, seconds.
const MAX_RENDER_SECONDS: f64 = 1.0;

/// Extension hints tried by the media entry points (the first input byte picks one).
const EXTENSIONS: [Option<&str>; 13] = [
    None,
    Some("wav"),
    Some("aiff"),
    Some("caf"),
    Some("flac"),
    Some("mp3"),
    Some("ogg"),
    Some("opus"),
    Some("m4a"),
    Some("mp4"),
    Some("mkv"),
    Some("webm"),
    Some("aac"),
];

/// The decoder's output for `data` fed in `chunk`-byte pieces, then end of input.
fn decode_lines(data: &[u8], max: usize, chunk: usize) -> Vec<Line> {
    let mut dec = LineDecoder::new(max);
    let mut buf = BytesMut::new();
    let mut out = vec![];
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(line) = dec.decode(&mut buf) {
            out.push(line);
        }
        // Memory stays bounded by the limit plus what one read adds.
        assert!(
            buf.len() <= max + chunk.max(1),
            "buffer holds {} bytes with a {max}-byte limit",
            buf.len()
        );
    }
    while let Some(line) = dec.decode_eof(&mut buf) {
        out.push(line);
    }
    out
}

/// What the decoder must produce for `data`, worked out line by line.
fn expected_lines(data: &[u8], max: usize) -> Vec<Line> {
    let mut out = vec![];
    let mut rest = data;
    while !rest.is_empty() {
        let (line, terminated) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], Some(i + 1)),
            None => (rest, None),
        };
        let content = match terminated {
            Some(_) => line.strip_suffix(b"\r").unwrap_or(line),
            None => line,
        };
        out.push(if content.len() > max {
            Line::TooLong { len: content.len() }
        } else {
            Line::Message(Bytes::copy_from_slice(content))
        });
        rest = &rest[terminated.unwrap_or(rest.len())..];
    }
    out
}

/// The answer the server would frame for a message that could not be accepted.
fn answer(e: &WireError) -> Option<Outgoing> {
    e.answerable
        .then(|| Outgoing::error(e.id.as_ref(), e.code, &e.message, None))
}

fn assert_frames_json(msg: &Outgoing) -> Frame {
    let line = frame::encode_contiguous(msg, Framing::Line).expect("no file blobs here");
    assert_eq!(line.last(), Some(&b'\n'));
    assert!(
        !line[..line.len() - 1].contains(&b'\n'),
        "a newline inside a frame"
    );
    let bare = frame::encode(msg, Framing::Bare);
    let bytes = bare.to_bytes().expect("no file blobs here");
    serde_json::from_slice::<serde_json::Value>(&bytes).expect("an answer is valid JSON");
    let _ = frame::encode(msg, Framing::Sse);
    bare
}

/// (1) NDJSON line framing and JSON-RPC parsing, batches included. The first two bytes pick the
/// line limit and the read size; the rest is the stream. Checks that the lines do not depend on
/// how the stream is cut into reads, that no line exceeds the limit, and that every answer the
/// server would send frames as one line of valid JSON.
pub fn protocol_stream(data: &[u8]) {
    let [a, b, stream @ ..] = data else {
        return;
    };
    let max = 1 + usize::from(*a) * 4;
    let chunk = 1 + usize::from(*b);
    let lines = decode_lines(stream, max, chunk);
    assert_eq!(
        lines,
        decode_lines(stream, max, stream.len()),
        "lines depend on read sizes"
    );
    assert_eq!(
        lines,
        expected_lines(stream, max),
        "lines differ from the spec"
    );
    for line in lines {
        let Line::Message(bytes) = line else { continue };
        assert!(bytes.len() <= max);
        protocol_message(&bytes);
    }
}

/// (1b) One frame (a stdio line or an HTTP body) through `jsonrpc::parse`, with the answers to
/// what it refuses framed as the server frames them (batch answers as one array).
pub fn protocol_message(data: &[u8]) {
    match jsonrpc::parse(data) {
        Incoming::Single(Ok(m)) => check_message(&m),
        Incoming::Single(Err(e)) => {
            if let Some(o) = answer(&e) {
                assert_frames_json(&o);
            }
        }
        Incoming::Batch(items) => {
            assert!(!items.is_empty());
            let mut parts = vec![];
            for item in &items {
                match item {
                    Ok(m) => check_message(m),
                    Err(e) => parts.extend(answer(e).map(|o| assert_frames_json(&o))),
                }
            }
            let batch = frame::encode_batch(&parts, Framing::Line)
                .to_bytes()
                .expect("no file blobs here");
            serde_json::from_slice::<serde_json::Value>(&batch).expect("a batch answer is JSON");
        }
    }
}

fn check_message(m: &Message) {
    match m {
        Message::Request(r) => {
            // The id is echoed exactly.
            assert_eq!(
                jsonrpc::RequestId::from_value(&r.id.to_value()).as_ref(),
                Some(&r.id)
            );
            let o = Outgoing::request(&r.id, &r.method, r.params.clone().into());
            assert_frames_json(&o);
        }
        Message::Notification(n) => {
            assert_frames_json(&Outgoing::notification(&n.method, n.params.clone().into()));
        }
        Message::Response(r) => {
            let _ = r.id.to_string();
        }
    }
}

/// (2) `media://` URIs, derived-audio queries and the other small string parsers (cursors,
/// `Last-Event-ID`). Input that is not a media URI is also tried as the query of one. Checks
/// that accepted URIs hold no traversal, round-trip through `build`, and that a derived-audio
/// query's canonical form is stable.
pub fn uris(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = cursor::decode("resources", &text);
    let _ = sse::parse_last_event_id(&text);
    check_uri(&text);
    if !text.starts_with(uri::SCHEME) {
        check_uri(&format!("media://lib/a.wav?{text}"));
    }
}

fn check_uri(text: &str) {
    let Ok(u) = uri::parse(text) else { return };
    assert!(!u.segments.is_empty());
    for s in std::iter::once(&u.root).chain(&u.segments) {
        assert!(
            !s.is_empty() && !s.starts_with('.'),
            "segment {s:?} of {text:?}"
        );
        assert!(
            !s.contains('/') && !s.contains('\0'),
            "segment {s:?} of {text:?}"
        );
    }
    let again = uri::parse(&u.base()).expect("a built URI parses");
    assert_eq!((&again.root, &again.segments), (&u.root, &u.segments));
    assert!(again.query.is_empty());
    let Ok(spec) = SegmentSpec::from_query(&u.query) else {
        return;
    };
    if spec.validate().is_err() {
        return;
    }
    let canonical = format!("{}?{}", u.base(), spec.to_query());
    let reparsed = uri::parse(&canonical).expect("a canonical derived URI parses");
    let spec2 = SegmentSpec::from_query(&reparsed.query).expect("a canonical query reads back");
    assert_eq!(
        spec2.to_query(),
        spec.to_query(),
        "canonical form is not stable"
    );
}

/// Splits a media input: the first byte picks the extension hint, the next the parameters.
fn media_input(data: &[u8]) -> Option<(Option<&'static str>, u8, &[u8])> {
    let [hint, param, body @ ..] = data else {
        return None;
    };
    let ext = EXTENSIONS[usize::from(*hint) % EXTENSIONS.len()];
    Some((ext, *param, &body[..body.len().min(MAX_MEDIA_INPUT)]))
}

fn source(body: &[u8]) -> Box<Cursor<Vec<u8>>> {
    Box::new(Cursor::new(body.to_vec()))
}

/// (3) Content sniffing, audio probing and decoding of arbitrary bytes (WAV, AIFF, CAF and every
/// other container symphonia reads), with a seek picked by the parameter byte and a cap on the
/// frames read.
pub fn audio_decode(data: &[u8]) {
    let Some((ext, param, body)) = media_input(data) else {
        return;
    };
    let name = format!("x.{}", ext.unwrap_or("bin"));
    let _ = sniff::sniff(&body[..body.len().min(8192)], Path::new(&name));
    let _ = decode::probe(source(body), ext, body.len() as u64);
    let Ok(mut dec) = Decoder::open(source(body), ext) else {
        return;
    };
    if param & 0x80 != 0 {
        let _ = dec.seek(f64::from(param & 0x7f) / 10.0);
    }
    let mut out = Vec::new();
    let mut frames = 0;
    while frames < MAX_DECODED_FRAMES {
        match dec.read(4096, &mut out) {
            Ok(0) | Err(_) => break,
            Ok(n) => frames += n,
        }
        assert_eq!(out.len() % dec.channels.max(1), 0, "a partial frame");
        out.clear();
    }
}

/// (4) The `audio_transcode` pipeline on one chunk: probe, then render (seek, decode, downmix
/// to mono, resample to 16 kHz, encode WAV or Opus). The parameter byte picks the format, the
/// start and the duration (at most [`MAX_RENDER_SECONDS`]). A rendered WAV is read back and
/// must say what was asked.
pub fn audio_transcode(data: &[u8]) {
    let Some((ext, param, body)) = media_input(data) else {
        return;
    };
    let Ok(info) = decode::probe(source(body), ext, body.len() as u64) else {
        return;
    };
    if !info.decodable {
        return;
    }
    let format = if param & 1 == 0 {
        Format::Wav
    } else {
        Format::Opus
    };
    let spec = SegmentSpec {
        start: f64::from((param >> 1) & 0x7) / 8.0,
        duration: Some(MAX_RENDER_SECONDS * f64::from(1 + (param >> 4)) / 16.0),
        format,
        rate: Some(16_000),
        mono: true,
    };
    let Ok(seg) = segment::render(source(body), ext, &spec, &|| false) else {
        return;
    };
    assert_eq!((seg.rate, seg.channels), (16_000, 1));
    assert!(
        seg.seconds <= MAX_RENDER_SECONDS + 1e-6,
        "{} s",
        seg.seconds
    );
    if format == Format::Wav {
        let back = decode::probe(source(&seg.data), Some("wav"), seg.data.len() as u64)
            .expect("a rendered WAV probes");
        assert_eq!((back.sample_rate, back.channels), (Some(16_000), Some(1)));
    }
}

/// Limits for [`image_decode`]: small, so every input decodes in milliseconds.
const IMAGE_FUZZ_LIMITS: img::ImageLimits = img::ImageLimits {
    max_width: 2048,
    max_height: 2048,
    max_pixels: 1 << 20,
    max_decoded_bytes: 16 << 20,
    max_frames: 16,
};

/// (5) Image probing and decoding of arbitrary bytes (every format read here; HEIC/AVIF
/// container headers, no external decoder). The parameter byte picks the frames wanted and a
/// size hint (JPEG DCT scaling). Checks that output frames are 8-bit RGB or RGBA, oriented as
/// probed (displayed size, or at least the hint when scaled), and within the limits.
pub fn image_decode(data: &[u8]) {
    let [param, body @ ..] = data else { return };
    let body = &body[..body.len().min(MAX_MEDIA_INPUT)];
    let probed = img::probe(Cursor::new(body), param & 1 == 1);
    let opts = img::decode::DecodeOptions {
        limits: IMAGE_FUZZ_LIMITS,
        frames: if param & 2 == 0 {
            img::decode::Frames::First
        } else {
            img::decode::Frames::Evenly(u32::from(param >> 4) + 1)
        },
        min_size: (param & 4 != 0).then_some((16, 16)),
        external: img::external::ExternalDecoders::default(),
    };
    let Ok(d) = img::decode::decode(Cursor::new(body), &opts, &|| false) else {
        return;
    };
    let info = probed.expect("what decodes, probes");
    assert_eq!((info.width, info.height), (d.info.width, d.info.height));
    assert!(!d.frames.is_empty());
    assert!(d.frames.len() <= IMAGE_FUZZ_LIMITS.max_frames as usize);
    for f in &d.frames {
        // 8-bit RGB or RGBA.
        let c = f.color();
        assert!(matches!(c.channel_count(), 3 | 4) && c.bytes_per_pixel() == c.channel_count());
        assert!(u64::from(f.width()) * u64::from(f.height()) <= IMAGE_FUZZ_LIMITS.max_pixels);
        if opts.min_size.is_none() {
            assert_eq!(
                (f.width(), f.height()),
                (d.info.display_width, d.info.display_height)
            );
        }
    }
}

/// Limits for [`video_probe`]: small, so every input decodes in milliseconds.
fn video_fuzz_ctx() -> crate::media::video::VideoCtx {
    use crate::media::video::{VideoCtx, VideoLimits};
    VideoCtx {
        limits: VideoLimits {
            max_width: 1024,
            max_height: 1024,
            max_pixels: 1 << 20,
            max_decoded_frames: 64,
            max_packet_bytes: 1 << 20,
            ..VideoLimits::default()
        },
        ffmpeg: None,
        ffprobe: None,
        threads: 1,
    }
}

/// (6) Native video probing (MP4/MOV, MKV/WebM headers) and the first frame(s), decoded
/// natively, of arbitrary bytes (written to a temporary file: the demuxers read files). The
/// parameter byte picks the target times. Checks that frames fit the limits and are oriented
/// as probed.
pub fn video_probe(data: &[u8]) {
    use crate::media::video::{self as video, FrameHint};
    let [param, body @ ..] = data else { return };
    let body = &body[..body.len().min(MAX_MEDIA_INPUT)];
    let path = std::env::temp_dir().join(format!("mcp-media-fuzz-video-{}", std::process::id()));
    if std::fs::write(&path, body).is_err() {
        return;
    }
    let ctx = video_fuzz_ctx();
    let Ok(input) = video::VideoInput::from_path(&path) else {
        return;
    };
    let Ok(info) = video::probe(&input, &ctx) else {
        return;
    };
    if info.engine != Some(video::Engine::Native) {
        return;
    }
    let v = info
        .video
        .first()
        .expect("a native engine has a video track");
    assert!(v.width <= ctx.limits.max_width && v.height <= ctx.limits.max_height);
    let times = [f64::from(param & 0x0f) / 4.0, f64::from(param >> 4)];
    let _ = video::native::frames_at(
        &input,
        &info,
        &times,
        FrameHint::default(),
        &ctx,
        &|| false,
        &mut |_, f| {
            let (w, h) = f.image.dimensions();
            assert!(u64::from(w) * u64::from(h) <= ctx.limits.max_pixels);
            assert!(f.pts.is_finite());
            Ok(())
        },
    );
}

#[cfg(test)]
mod tests {
    /// Every seed of `fuzz/corpus/image_decode/` runs through the entry point without a panic,
    /// with every parameter byte's bits exercised, and so do truncated and corrupted copies.
    #[test]
    fn image_decode_corpus_replays() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/image_decode");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            for param in [0u8, 1, 2, 4, 0x36, 0xff] {
                let mut input = vec![param];
                input.extend_from_slice(data.get(1..).unwrap_or_default());
                super::image_decode(&input);
            }
            super::image_decode(&data);
            // Truncations and byte corruptions of the seed: no panic either.
            let step = (data.len() / 24).max(1);
            for cut in (1..data.len()).step_by(step) {
                super::image_decode(&data[..cut]);
                let mut flipped = data.clone();
                flipped[cut] ^= 0x5a;
                super::image_decode(&flipped);
            }
            n += 1;
        }
        assert!(n >= 5, "only {n} seeds");
    }
}
