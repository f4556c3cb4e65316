//! Outgoing messages and their framing, with the zero-copy blob path.
//!
//! An [`Outgoing`] is a small JSON tree plus a list of binary blobs. Each blob sits in the tree
//! as a placeholder string; [`encode`] serialises the small tree once, then writes the bytes of
//! each blob as base64 straight into the output buffer at its placeholder. The blob's bytes are
//! never copied into a `String` or a `serde_json::Value`; the only pass over them is the base64
//! encode itself. The same function frames the message for stdio (one line) or SSE (one event).
//! Must not know about transports' I/O, tools or media.

use crate::protocol::jsonrpc::RequestId;
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// The SIMD base64 engine (the crate's `STANDARD` constant is scalar; this is 2-3x faster).
static B64: LazyLock<base64::engine::Simd> =
    LazyLock::new(|| base64::engine::Simd::standard(base64::engine::general_purpose::PAD));

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
    pub blobs: Vec<Bytes>,
    /// JSON values serialised once and reused (a static list): spliced in verbatim.
    pub raw: Vec<Bytes>,
}

/// Collects blobs while a result is being built; hands out the placeholder to put in the tree.
#[derive(Debug, Default)]
pub struct Blobs {
    list: Vec<Bytes>,
    raw: Vec<Bytes>,
}

impl Blobs {
    pub fn new() -> Self {
        Self::default()
    }
    /// Registers `data` and returns the JSON string value that stands for its base64 text.
    pub fn add(&mut self, data: Bytes) -> Value {
        let idx = self.list.len();
        self.list.push(data);
        Value::String(format!("{}{idx}", *PLACEHOLDER_PREFIX))
    }
    /// Registers an already serialised JSON value (it must be valid JSON: it is written as
    /// is) and returns the placeholder that stands for it in the tree.
    pub fn add_raw(&mut self, json: Bytes) -> Value {
        let idx = self.raw.len();
        self.raw.push(json);
        Value::String(format!("{}r{idx}", *PLACEHOLDER_PREFIX))
    }
    pub fn into_vec(self) -> Vec<Bytes> {
        self.list
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Total raw bytes registered so far.
    pub fn total_bytes(&self) -> usize {
        self.list.iter().map(Bytes::len).sum()
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

/// Serialises `msg` into one contiguous frame. The blobs' base64 is written directly into the
/// output buffer; the JSON tree around it is serialised once by serde_json.
pub fn encode(msg: &Outgoing, framing: Framing) -> Bytes {
    let mut out = BytesMut::new();
    encode_into(msg, framing, &mut out);
    out.freeze()
}

/// Like [`encode`], appending to a caller-owned buffer (so writers can reuse one allocation).
pub fn encode_into(msg: &Outgoing, framing: Framing, out: &mut BytesMut) {
    // Serialising a Value cannot fail (string keys only).
    let envelope = serde_json::to_vec(&msg.json).expect("JSON value serialises");
    let (prefix, suffix) = framing.head_tail();
    let blob_len: usize = msg
        .blobs
        .iter()
        .map(|b| base64::encoded_len(b.len(), true).expect("blob size fits usize"))
        .sum::<usize>()
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

/// Frames the answers of a JSON-RPC batch as one array (each already encoded bare).
pub fn encode_batch(parts: &[Bytes], framing: Framing) -> Bytes {
    let (head, tail) = framing.head_tail();
    let mut out = BytesMut::with_capacity(
        head.len() + parts.iter().map(Bytes::len).sum::<usize>() + parts.len() + 2 + tail.len(),
    );
    out.put_slice(head);
    out.put_u8(b'[');
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(p);
    }
    out.put_u8(b']');
    out.put_slice(tail);
    out.freeze()
}

fn splice_blobs(envelope: &[u8], blobs: &[Bytes], raw: &[Bytes], out: &mut BytesMut) {
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
            out.put_slice(&rest[..pos - 1]);
            out.put_slice(r);
            rest = &after[digits + 1..];
            continue;
        }
        out.put_slice(&rest[..pos]);
        match blobs.get(idx).filter(|_| !is_raw) {
            Some(blob) => {
                let n = base64::encoded_len(blob.len(), true).expect("blob size fits usize");
                let start = out.len();
                out.resize(start + n, 0);
                B64.encode_slice(blob, &mut out[start..])
                    .expect("buffer sized by encoded_len");
            }
            None => {
                out.put_slice(&escaped);
                if is_raw {
                    out.put_u8(b'r');
                }
            }
        }
        rest = &after[digits..];
    }
    out.put_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_is_spliced_as_base64() {
        let mut blobs = Blobs::new();
        let data = Bytes::from((0..=255u8).cycle().take(100_000).collect::<Vec<_>>());
        let ph = blobs.add(data.clone());
        let result =
            json!({"contents":[{"uri":"media://a/b.wav","blob": ph,"mimeType":"audio/wav"}]});
        let msg = Outgoing::response(&RequestId::Num(1), result, blobs);
        let line = encode(&msg, Framing::Line);
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
        let out = encode(&msg, Framing::Line);
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
        let ev = encode(&msg, Framing::Sse);
        let text = std::str::from_utf8(&ev).unwrap();
        assert!(text.starts_with("event: message\ndata: {"));
        assert!(text.ends_with("}\n\n"));
        let v: Value = serde_json::from_str(&text["event: message\ndata: ".len()..]).unwrap();
        assert_eq!(v["result"], json!(["aGVsbG8=", {"k": ""}, "AP8="]));
    }

    #[test]
    fn batch_answers_are_one_array() {
        let parts = [
            Bytes::from_static(b"{\"a\":1}"),
            Bytes::from_static(b"{\"b\":2}"),
        ];
        assert_eq!(
            &encode_batch(&parts, Framing::Line)[..],
            b"[{\"a\":1},{\"b\":2}]\n"
        );
        assert_eq!(
            &encode_batch(&parts, Framing::Bare)[..],
            b"[{\"a\":1},{\"b\":2}]"
        );
    }

    #[test]
    fn user_strings_that_look_similar_are_untouched() {
        let msg = Outgoing::notification("x", json!({"s": "\u{1}blob:0", "t": "blob:1"}));
        let v: Value = serde_json::from_slice(&encode(&msg, Framing::Bare)).unwrap();
        assert_eq!(v["params"]["s"], "\u{1}blob:0");
    }
}
