//! Outgoing messages and their framing, with the zero-copy, constant-memory blob path.
//!
//! An [`Outgoing`] is a small JSON tree plus a list of binary [`Blob`]s. Each blob sits in the
//! tree as a placeholder string; [`encode`] serialises the small tree once and splits it at the
//! placeholders into a [`Frame`]: JSON text segments and, in between, the blobs whose base64
//! is produced only as the frame is written, block by block ([`blob::BLOCK_RAW`] raw bytes at a
//! time, read by position when the blob is a file). The frame's total length is known up front
//! (an HTTP body keeps its `Content-Length`), and no frame ever holds a whole blob's base64:
//! memory per frame in flight is one block, whatever the file size. Small blobs
//! ([`blob::INLINE_BLOB_MAX`] or less, in memory) are encoded into the text at once, so a small
//! message stays one contiguous buffer. The same function frames the message for stdio (one
//! line) or SSE (one event).
//! Must not know about transports' I/O, tools or media.

use crate::protocol::blob::{B64, Blob, BlobError, Pieces, Segment};
use crate::protocol::jsonrpc::RequestId;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// Placeholder prefix, with a per-process random nonce so no user string can collide with it.
static PLACEHOLDER_PREFIX: LazyLock<String> = LazyLock::new(|| {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).expect("OS random source");
    let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    format!("\u{1}blob:{hex}:")
});

/// Encodes bytes as standard padded base64 (for small, non-hot-path uses).
pub fn base64_encode(data: &[u8]) -> String {
    B64.encode(data)
}

/// Decodes standard padded base64.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    B64.decode(text)
}

/// A message on its way out: JSON plus the blobs (and pre-serialised JSON fragments) its
/// placeholders stand for.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    pub json: Value,
    pub blobs: Vec<Blob>,
    /// JSON values serialised once and reused (a static list): spliced in verbatim.
    pub raw: Vec<Bytes>,
}

/// Collects blobs while a result is being built; hands out the placeholder to put in the tree.
#[derive(Debug, Default)]
pub struct Blobs {
    list: Vec<Blob>,
    raw: Vec<Bytes>,
}

impl Blobs {
    pub fn new() -> Self {
        Self::default()
    }
    /// Registers `data` and returns the JSON string value that stands for its base64 text.
    pub fn add(&mut self, data: impl Into<Blob>) -> Value {
        let idx = self.list.len();
        self.list.push(data.into());
        Value::String(format!("{}{idx}", *PLACEHOLDER_PREFIX))
    }
    /// Registers an already serialised JSON value (it must be valid JSON: it is written as
    /// is) and returns the placeholder that stands for it in the tree.
    pub fn add_raw(&mut self, json: Bytes) -> Value {
        let idx = self.raw.len();
        self.raw.push(json);
        Value::String(format!("{}r{idx}", *PLACEHOLDER_PREFIX))
    }
    pub fn into_vec(self) -> Vec<Blob> {
        self.list
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Total raw bytes registered so far.
    pub fn total_bytes(&self) -> u64 {
        self.list.iter().map(Blob::len).sum()
    }
}

impl Outgoing {
    pub fn response(id: &RequestId, result: Value, blobs: Blobs) -> Self {
        Outgoing {
            json: json!({"jsonrpc": "2.0", "id": id.to_value(), "result": result}),
            blobs: blobs.list,
            raw: blobs.raw,
        }
    }
    /// An error response; `id` is `None` when the request's id could not be read.
    pub fn error(id: Option<&RequestId>, code: i64, message: &str, data: Option<Value>) -> Self {
        let mut err = Map::new();
        err.insert("code".into(), code.into());
        err.insert("message".into(), message.into());
        if let Some(d) = data {
            err.insert("data".into(), d);
        }
        let mut msg = Map::new();
        msg.insert("jsonrpc".into(), "2.0".into());
        // The id is omitted when it could not be read (2025-11-25 and 2026-07-28 schemas make it
        // optional for exactly this case; null is not a valid RequestId there).
        if let Some(id) = id {
            msg.insert("id".into(), id.to_value());
        }
        msg.insert("error".into(), Value::Object(err));
        Outgoing {
            json: Value::Object(msg),
            ..Outgoing::default()
        }
    }
    pub fn notification(method: &str, params: Value) -> Self {
        Outgoing {
            json: json!({"jsonrpc": "2.0", "method": method, "params": params}),
            ..Outgoing::default()
        }
    }
    pub fn request(id: &RequestId, method: &str, params: Value) -> Self {
        Outgoing {
            json: json!({"jsonrpc": "2.0", "id": id.to_value(), "method": method, "params": params}),
            ..Outgoing::default()
        }
    }
}

/// How a message is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One line terminated by `\n` (stdio).
    Line,
    /// No delimiter (an `application/json` HTTP body).
    Bare,
    /// One SSE event: `data: <json>\n\n`.
    Sse,
}

/// A framed message: text segments and streamed base64 segments, of known total length.
/// Cloning is cheap (buffers are shared, file sources are shared handles).
#[derive(Clone, Debug, Default)]
pub struct Frame {
    segs: Vec<Segment>,
    len: usize,
}

impl From<Bytes> for Frame {
    fn from(b: Bytes) -> Self {
        let len = b.len();
        Frame {
            segs: vec![Segment::Text(b)],
            len,
        }
    }
}

impl From<&'static [u8]> for Frame {
    fn from(b: &'static [u8]) -> Self {
        Frame::from(Bytes::from_static(b))
    }
}

impl Frame {
    /// Total length in bytes on the wire.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The frame as one buffer, when it is one (no streamed blob).
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self.segs.as_slice() {
            [Segment::Text(t)] => Some(t),
            _ => None,
        }
    }
    /// Whether some of it is produced only while it is written (a streamed blob).
    pub fn is_streamed(&self) -> bool {
        self.segs.iter().any(|s| matches!(s, Segment::Base64(_)))
    }
    /// Bytes it holds in memory: its text and its in-memory blobs (raw), not what streamed
    /// blobs will read from their files.
    pub fn held_bytes(&self) -> usize {
        self.segs
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.len(),
                Segment::Base64(Blob::Bytes(b)) => b.len(),
                Segment::Base64(Blob::Source { .. }) => 0,
            })
            .sum()
    }
    /// Its bytes, piece by piece (see [`Pieces`]).
    pub fn into_pieces(self) -> Pieces {
        Pieces::new(self.segs)
    }
    /// The whole frame in one buffer (reads file sources whole: for tests and small frames).
    pub fn to_bytes(&self) -> Result<Bytes, BlobError> {
        if let Some(b) = self.as_bytes() {
            return Ok(b.clone());
        }
        let mut out = BytesMut::with_capacity(self.len);
        let mut block = BytesMut::new();
        let mut p = self.clone().into_pieces();
        while let Some(piece) = p.next_piece(&mut block) {
            out.put_slice(&piece?);
        }
        Ok(out.freeze())
    }
}

/// Assembles a frame: text is gathered into one buffer until a streamed blob cuts it.
#[derive(Default)]
struct Builder {
    segs: Vec<Segment>,
    text: BytesMut,
    len: usize,
}

impl Builder {
    fn with_capacity(n: usize) -> Self {
        Builder {
            text: BytesMut::with_capacity(n),
            ..Builder::default()
        }
    }
    fn flush(&mut self) {
        if !self.text.is_empty() {
            let t = self.text.split().freeze();
            self.len += t.len();
            self.segs.push(Segment::Text(t));
        }
    }
    fn segment(&mut self, s: Segment) {
        match s {
            Segment::Text(t) => self.text.put_slice(&t),
            Segment::Base64(b) => self.blob(&b),
        }
    }
    fn finish(mut self) -> Frame {
        self.flush();
        Frame {
            segs: self.segs,
            len: self.len,
        }
    }
}

/// Where [`splice_blobs`] writes: text, and each blob's base64.
trait Out {
    fn put(&mut self, s: &[u8]);
    fn blob(&mut self, b: &Blob);
}

impl Out for BytesMut {
    fn put(&mut self, s: &[u8]) {
        self.put_slice(s);
    }
    /// The contiguous path: the blob's base64 written straight into the buffer (a source is
    /// read whole first; [`encode_contiguous`] only hands over blobs in memory).
    fn blob(&mut self, blob: &Blob) {
        let Blob::Bytes(blob) = blob else {
            debug_assert!(false, "the contiguous encoder gets only blobs in memory");
            return;
        };
        let n = base64::encoded_len(blob.len(), true).expect("blob size fits usize");
        let start = self.len();
        self.resize(start + n, 0);
        B64.encode_slice(blob, &mut self[start..])
            .expect("buffer sized by encoded_len");
    }
}

impl Out for Builder {
    fn put(&mut self, s: &[u8]) {
        self.text.put_slice(s);
    }
    fn blob(&mut self, b: &Blob) {
        if b.is_inline() {
            self.text.blob(b);
        } else {
            self.flush();
            self.len += b.encoded_len();
            self.segs.push(Segment::Base64(b.clone()));
        }
    }
}

/// Frames `msg`: the JSON tree serialised once by serde_json, each blob's base64 either
/// written into the text at once (small blobs in memory) or left as a segment produced block
/// by block when the frame is written. A message without streamed blobs is one buffer.
pub fn encode(msg: &Outgoing, framing: Framing) -> Frame {
    if msg.blobs.iter().all(Blob::is_inline) {
        let mut out = BytesMut::new();
        encode_into(msg, framing, &mut out);
        return Frame::from(out.freeze());
    }
    // Serialising a Value cannot fail (string keys only).
    let envelope = serde_json::to_vec(&msg.json).expect("JSON value serialises");
    let (prefix, suffix) = framing.head_tail();
    let mut b = Builder::with_capacity(prefix.len() + envelope.len() + suffix.len());
    b.put(prefix);
    splice_blobs(&envelope, &msg.blobs, &msg.raw, &mut b);
    b.put(suffix);
    b.finish()
}

/// Serialises `msg` into one contiguous buffer, every blob's base64 written into it (file
/// sources read whole). The reference the streamed [`encode`] must equal byte for byte; also
/// for callers that need the whole message at once.
pub fn encode_contiguous(msg: &Outgoing, framing: Framing) -> Result<Bytes, BlobError> {
    let mut owned;
    let msg = if msg.blobs.iter().all(|b| b.as_bytes().is_some()) {
        msg
    } else {
        owned = msg.clone();
        for b in &mut owned.blobs {
            *b = Blob::Bytes(b.to_bytes()?);
        }
        &owned
    };
    let mut out = BytesMut::new();
    encode_into(msg, framing, &mut out);
    Ok(out.freeze())
}

/// The contiguous encoder, appending to a caller-owned buffer; every blob must be in memory.
fn encode_into(msg: &Outgoing, framing: Framing, out: &mut BytesMut) {
    // Serialising a Value cannot fail (string keys only).
    let envelope = serde_json::to_vec(&msg.json).expect("JSON value serialises");
    let (prefix, suffix) = framing.head_tail();
    let blob_len: usize = msg.blobs.iter().map(Blob::encoded_len).sum::<usize>()
        + msg.raw.iter().map(Bytes::len).sum::<usize>();
    out.reserve(prefix.len() + envelope.len() + blob_len + suffix.len());
    out.put_slice(prefix);
    if msg.blobs.is_empty() && msg.raw.is_empty() {
        out.put_slice(&envelope);
    } else {
        splice_blobs(&envelope, &msg.blobs, &msg.raw, out);
    }
    out.put_slice(suffix);
}

impl Framing {
    /// What goes before and after a message's JSON.
    fn head_tail(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Framing::Line => (b"", b"\n"),
            Framing::Bare => (b"", b""),
            Framing::Sse => (
                crate::protocol::sse::EVENT_HEAD,
                crate::protocol::sse::EVENT_TAIL,
            ),
        }
    }
}

/// Frames the answers of a JSON-RPC batch as one array (each already encoded bare); streamed
/// blobs in the answers stay streamed.
pub fn encode_batch(parts: &[Frame], framing: Framing) -> Frame {
    let (head, tail) = framing.head_tail();
    let mut b = Builder::with_capacity(
        head.len()
            + parts
                .iter()
                .filter_map(Frame::as_bytes)
                .map(Bytes::len)
                .sum::<usize>()
            + parts.len()
            + 2
            + tail.len(),
    );
    b.put(head);
    b.put(b"[");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            b.put(b",");
        }
        for s in &p.segs {
            b.segment(s.clone());
        }
    }
    b.put(b"]");
    b.put(tail);
    b.finish()
}

/// A bare frame wrapped as one SSE event (`event: message`, `data: `, the blank line).
pub fn sse_event(bare: &Frame) -> Frame {
    let mut b = Builder::with_capacity(
        crate::protocol::sse::EVENT_HEAD.len()
            + bare.as_bytes().map_or(0, Bytes::len)
            + crate::protocol::sse::EVENT_TAIL.len(),
    );
    b.put(crate::protocol::sse::EVENT_HEAD);
    for s in &bare.segs {
        b.segment(s.clone());
    }
    b.put(crate::protocol::sse::EVENT_TAIL);
    b.finish()
}

fn splice_blobs(envelope: &[u8], blobs: &[Blob], raw: &[Bytes], out: &mut impl Out) {
    let prefix = PLACEHOLDER_PREFIX.as_bytes();
    // serde_json escapes the \u0001 in the prefix as "\u0001": search for the escaped form.
    let escaped: Vec<u8> = {
        let s = serde_json::to_string(&*PLACEHOLDER_PREFIX).expect("string serialises");
        s.as_bytes()[1..s.len() - 1].to_vec()
    };
    debug_assert!(!escaped.is_empty() && escaped != prefix);
    let finder = memchr::memmem::Finder::new(&escaped);
    let mut rest = envelope;
    while let Some(pos) = finder.find(rest) {
        let after = &rest[pos + escaped.len()..];
        let is_raw = after.first() == Some(&b'r');
        let after = if is_raw { &after[1..] } else { after };
        let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
        let idx: usize = std::str::from_utf8(&after[..digits])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        // A raw fragment replaces the whole string, its quotes included (the placeholder is
        // always a whole string value, so a quote sits on each side).
        if is_raw
            && let Some(r) = raw.get(idx)
            && pos > 0
            && rest[pos - 1] == b'"'
            && after.get(digits) == Some(&b'"')
        {
            out.put(&rest[..pos - 1]);
            out.put(r);
            rest = &after[digits + 1..];
            continue;
        }
        out.put(&rest[..pos]);
        match blobs.get(idx).filter(|_| !is_raw) {
            Some(blob) => out.blob(blob),
            None => {
                out.put(&escaped);
                if is_raw {
                    out.put(b"r");
                }
            }
        }
        rest = &after[digits..];
    }
    out.put(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::blob::{BLOCK_RAW, BlobSource, INLINE_BLOB_MAX};
    use std::sync::Arc;

    /// The streamed frame, gathered.
    fn enc(msg: &Outgoing, framing: Framing) -> Bytes {
        encode(msg, framing).to_bytes().unwrap()
    }

    #[test]
    fn blob_is_spliced_as_base64() {
        let mut blobs = Blobs::new();
        let data = Bytes::from((0..=255u8).cycle().take(100_000).collect::<Vec<_>>());
        let ph = blobs.add(data.clone());
        let result =
            json!({"contents":[{"uri":"media://a/b.wav","blob": ph,"mimeType":"audio/wav"}]});
        let msg = Outgoing::response(&RequestId::Num(1), result, blobs);
        let line = enc(&msg, Framing::Line);
        assert_eq!(*line.last().unwrap(), b'\n');
        assert_eq!(memchr::memchr(b'\n', &line[..line.len() - 1]), None);
        let v: Value = serde_json::from_slice(&line).unwrap();
        let b64 = v["result"]["contents"][0]["blob"].as_str().unwrap();
        assert_eq!(base64_decode(b64).unwrap(), data.to_vec());
        assert_eq!(v["result"]["contents"][0]["mimeType"], "audio/wav");
    }

    #[test]
    fn raw_fragments_are_spliced_verbatim_in_place_of_their_string() {
        let mut blobs = Blobs::new();
        let list = blobs.add_raw(Bytes::from_static(br#"[{"name":"a","n":1},{"name":"b"}]"#));
        let data = blobs.add(Bytes::from_static(b"hi"));
        let msg = Outgoing::response(
            &RequestId::Num(7),
            json!({"tools": list, "blob": data, "text": "r0"}),
            blobs,
        );
        let out = enc(&msg, Framing::Line);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["result"],
            json!({"tools": [{"name": "a", "n": 1}, {"name": "b"}], "blob": "aGk=", "text": "r0"})
        );
    }

    #[test]
    fn several_blobs_and_sse_framing() {
        let mut blobs = Blobs::new();
        let a = blobs.add(Bytes::from_static(b"hello"));
        let b = blobs.add(Bytes::from_static(b""));
        let c = blobs.add(Bytes::from_static(b"\x00\xff"));
        let msg = Outgoing::response(&RequestId::Str("x".into()), json!([a, {"k": b}, c]), blobs);
        let ev = enc(&msg, Framing::Sse);
        let text = std::str::from_utf8(&ev).unwrap();
        assert!(text.starts_with("event: message\ndata: {"));
        assert!(text.ends_with("}\n\n"));
        let v: Value = serde_json::from_str(&text["event: message\ndata: ".len()..]).unwrap();
        assert_eq!(v["result"], json!(["aGVsbG8=", {"k": ""}, "AP8="]));
    }

    #[test]
    fn batch_answers_are_one_array() {
        let parts = [
            Frame::from(&b"{\"a\":1}"[..]),
            Frame::from(&b"{\"b\":2}"[..]),
        ];
        assert_eq!(
            &encode_batch(&parts, Framing::Line).to_bytes().unwrap()[..],
            b"[{\"a\":1},{\"b\":2}]\n"
        );
        assert_eq!(
            &encode_batch(&parts, Framing::Bare).to_bytes().unwrap()[..],
            b"[{\"a\":1},{\"b\":2}]"
        );
    }

    #[test]
    fn user_strings_that_look_similar_are_untouched() {
        let msg = Outgoing::notification("x", json!({"s": "\u{1}blob:0", "t": "blob:1"}));
        let v: Value = serde_json::from_slice(&enc(&msg, Framing::Bare)).unwrap();
        assert_eq!(v["params"]["s"], "\u{1}blob:0");
    }

    /// A source serving `data` by position; from `fail_at` on, reads fail (a file cut short).
    #[derive(Debug)]
    struct Mem {
        data: Vec<u8>,
        fail_at: u64,
    }

    impl BlobSource for Mem {
        fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            let end = offset + buf.len() as u64;
            if end > self.fail_at || end > self.data.len() as u64 {
                return Err(std::io::Error::other("cut short"));
            }
            buf.copy_from_slice(&self.data[offset as usize..end as usize]);
            Ok(())
        }
    }

    fn noise(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn streamed_frames_equal_the_contiguous_encoding_byte_for_byte() {
        let mut sizes = vec![0, 1, 2, 3, 4, 5, 100];
        for base in [BLOCK_RAW, 2 * BLOCK_RAW, INLINE_BLOB_MAX] {
            sizes.extend([base - 2, base - 1, base, base + 1, base + 2, base + 3]);
        }
        sizes.push(3 * BLOCK_RAW + 12_345);
        let mut seed = 1;
        for &n in &sizes {
            for framing in [Framing::Line, Framing::Bare, Framing::Sse] {
                seed += 1;
                let data = noise(n, seed);
                let small = noise(n % 97, seed + 7);
                // A file-backed blob, an in-memory one of the same size, a small one, and a
                // raw fragment between them.
                let src: Arc<dyn BlobSource> = Arc::new(Mem {
                    data: data.clone(),
                    fail_at: u64::MAX,
                });
                let mut blobs = Blobs::new();
                let f = blobs.add(Blob::from_source(src, 0, n as u64));
                let m = blobs.add(Bytes::from(data.clone()));
                let s = blobs.add(Bytes::from(small.clone()));
                let r = blobs.add_raw(Bytes::from_static(b"[1,2]"));
                let msg = Outgoing::response(
                    &RequestId::Num(n as i64),
                    json!({"contents": [{"blob": f}, {"blob": m}, {"b": s, "r": r}]}),
                    blobs,
                );
                let streamed = encode(&msg, framing);
                let gathered = streamed.to_bytes().unwrap();
                let reference = encode_contiguous(&msg, framing).unwrap();
                assert_eq!(
                    streamed.len(),
                    reference.len(),
                    "size {n}: announced length"
                );
                assert!(gathered == reference, "size {n} {framing:?}: bytes differ");
                // Pieces are at most one block of base64 each (or a text segment).
                let mut p = streamed.clone().into_pieces();
                let mut out = BytesMut::new();
                let mut total = 0;
                while let Some(piece) = p.next_piece(&mut out) {
                    total += piece.unwrap().len();
                }
                assert_eq!(total, reference.len());
                assert!(streamed.is_streamed(), "size {n}: a file blob is streamed");
            }
        }
        // In memory, a blob up to INLINE_BLOB_MAX is written at once; one byte more streams.
        for (n, streamed) in [(INLINE_BLOB_MAX, false), (INLINE_BLOB_MAX + 1, true)] {
            let mut blobs = Blobs::new();
            let b = blobs.add(Bytes::from(noise(n, 3)));
            let msg = Outgoing::response(&RequestId::Num(2), json!([b]), blobs);
            let f = encode(&msg, Framing::Line);
            assert_eq!(f.is_streamed(), streamed, "size {n}");
            assert!(f.to_bytes().unwrap() == encode_contiguous(&msg, Framing::Line).unwrap());
        }
        // A small message with only small blobs stays one buffer.
        let mut blobs = Blobs::new();
        let b = blobs.add(Bytes::from_static(b"abc"));
        let one = encode(
            &Outgoing::response(&RequestId::Num(1), json!([b]), blobs),
            Framing::Line,
        );
        assert!(one.as_bytes().is_some());
    }

    #[test]
    fn a_source_that_fails_midway_ends_the_pieces_with_an_error() {
        let data = noise(3 * BLOCK_RAW, 9);
        let src: Arc<dyn BlobSource> = Arc::new(Mem {
            data,
            fail_at: BLOCK_RAW as u64 + 10,
        });
        let mut blobs = Blobs::new();
        let f = blobs.add(Blob::from_source(src, 0, 3 * BLOCK_RAW as u64));
        let frame = encode(
            &Outgoing::response(&RequestId::Num(1), json!([f]), blobs),
            Framing::Line,
        );
        let mut p = frame.into_pieces();
        let mut out = BytesMut::new();
        let mut ok = 0;
        let err = loop {
            match p.next_piece(&mut out) {
                Some(Ok(piece)) => ok += piece.len(),
                Some(Err(e)) => break e,
                None => panic!("the frame completed from a failing source"),
            }
        };
        // The head and the first block came out; the second block failed at its start.
        assert!(
            matches!(err, BlobError::Source { at, .. } if at == BLOCK_RAW as u64),
            "{err}"
        );
        assert!(ok > BLOCK_RAW / 3 * 4 && ok < 2 * BLOCK_RAW / 3 * 4, "{ok}");
        assert!(p.next_piece(&mut out).is_none(), "nothing after the error");
    }
}
