//! Blob payloads and the block-by-block base64 of a streamed frame.
//!
//! A [`Blob`] is either bytes in memory or a slice of a [`BlobSource`] (an opened file, read by
//! position). Its base64 length is known in advance, so a frame that carries it has a known
//! total length without its base64 ever existing at once: [`Pieces`] produces a frame's bytes
//! piece by piece, each base64 segment one block at a time ([`BLOCK_RAW`] raw bytes, a multiple
//! of 3, so only the last block of a blob has padding and the concatenation equals the base64
//! of the whole). Memory per frame in flight is therefore bounded by one raw block plus one
//! encoded block ([`BLOCK_RAW`] + [`BLOCK_B64`], 448 KiB) and whatever the consumer queues,
//! whatever the blob's size; blobs of at most [`INLINE_BLOB_MAX`] stay whole in memory.
//!
//! Must not know about files, roots, transports or async I/O: a source is a trait; reading it
//! may block, so async callers run [`Pieces::next_piece`] where blocking is allowed when
//! [`Pieces::next_reads_source`] says so.

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, LazyLock};

/// Raw bytes encoded per block of a streamed blob: 3 x 64 KiB (a multiple of 3, so no block
/// but the last carries padding).
pub const BLOCK_RAW: usize = 3 * 64 * 1024;
/// The base64 of one full block: 256 KiB.
pub const BLOCK_B64: usize = BLOCK_RAW / 3 * 4;
/// Blobs up to this size (1 MiB) are whole in memory: a file range this small is read in the
/// request's job and encoded into the frame's JSON text at once (the frame stays one
/// contiguous buffer, written in one go: measured over HTTP, streaming 1 MiB reads in blocks
/// cost about 30% of their throughput). Larger ones, and every blob read from a source, are
/// streamed. So an answer holds at most this much raw plus its base64 (about 2.4 MiB) whole.
pub const INLINE_BLOB_MAX: usize = 1024 * 1024;

/// The SIMD base64 engine (the crate's `STANDARD` constant is scalar; this is 2-3x faster).
pub(crate) static B64: LazyLock<base64::engine::Simd> =
    LazyLock::new(|| base64::engine::Simd::standard(base64::engine::general_purpose::PAD));

/// Bytes that can be read by position, e.g. an opened file. Reading may block.
pub trait BlobSource: Send + Sync + std::fmt::Debug {
    /// Fills `buf` with the bytes at `offset`. A source that cannot (it ended early, it changed,
    /// a read failed or timed out) returns an error: never a short or made-up fill.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

/// Why a streamed blob could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The source failed while the blob was being sent (the file shrank, changed, or a read
    /// failed): the frame cannot be completed.
    #[error("reading a blob's source at byte {at} failed: {source}")]
    Source {
        at: u64,
        #[source]
        source: std::io::Error,
    },
}

/// A binary payload: bytes in memory, or `len` bytes of a source from `offset`.
#[derive(Clone, Debug)]
pub enum Blob {
    Bytes(Bytes),
    Source {
        src: Arc<dyn BlobSource>,
        offset: u64,
        len: u64,
    },
}

impl PartialEq for Blob {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Blob::Bytes(a), Blob::Bytes(b)) => a == b,
            (
                Blob::Source { src, offset, len },
                Blob::Source {
                    src: s2,
                    offset: o2,
                    len: l2,
                },
            ) => Arc::ptr_eq(src, s2) && offset == o2 && len == l2,
            _ => false,
        }
    }
}

impl From<Bytes> for Blob {
    fn from(b: Bytes) -> Self {
        Blob::Bytes(b)
    }
}

impl From<Vec<u8>> for Blob {
    fn from(b: Vec<u8>) -> Self {
        Blob::Bytes(Bytes::from(b))
    }
}

impl Blob {
    /// `len` bytes of `src` from `offset`, read only when the blob is sent.
    pub fn from_source(src: Arc<dyn BlobSource>, offset: u64, len: u64) -> Self {
        Blob::Source { src, offset, len }
    }

    /// Raw length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Blob::Bytes(b) => b.len() as u64,
            Blob::Source { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of its padded base64.
    pub fn encoded_len(&self) -> usize {
        usize::try_from(self.len())
            .ok()
            .and_then(|n| base64::encoded_len(n, true))
            .unwrap_or(usize::MAX)
    }

    /// The bytes in memory, if that is where they are.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Blob::Bytes(b) => Some(b),
            Blob::Source { .. } => None,
        }
    }

    /// The whole blob in memory (reads a source whole: for small blobs and tests).
    pub fn to_bytes(&self) -> Result<Bytes, BlobError> {
        match self {
            Blob::Bytes(b) => Ok(b.clone()),
            Blob::Source { src, offset, len } => {
                let n = usize::try_from(*len).unwrap_or(usize::MAX);
                let mut buf = vec![0u8; n];
                src.read_exact_at(*offset, &mut buf)
                    .map_err(|source| BlobError::Source {
                        at: *offset,
                        source,
                    })?;
                Ok(Bytes::from(buf))
            }
        }
    }

    /// Whether it is encoded into the JSON text at once rather than streamed.
    pub(crate) fn is_inline(&self) -> bool {
        matches!(self, Blob::Bytes(b) if b.len() <= INLINE_BLOB_MAX)
    }
}

/// One part of a frame: JSON (or framing) text, or the base64 of a blob.
#[derive(Clone, Debug)]
pub(crate) enum Segment {
    Text(Bytes),
    Base64(Blob),
}

/// Produces a frame's bytes piece by piece (see the module doc).
#[derive(Debug)]
pub struct Pieces {
    segs: std::vec::IntoIter<Segment>,
    /// The base64 segment being produced and how many of its raw bytes are done.
    cur: Option<(Blob, u64)>,
    /// Raw bytes read from a source (one block, allocated on first use).
    raw: Vec<u8>,
}

impl Pieces {
    pub(crate) fn new(segs: Vec<Segment>) -> Self {
        Pieces {
            segs: segs.into_iter(),
            cur: None,
            raw: Vec::new(),
        }
    }

    /// Whether the next piece is read from a source (so may block on I/O).
    pub fn next_reads_source(&self) -> bool {
        match &self.cur {
            Some((b, _)) => matches!(b, Blob::Source { .. }),
            None => matches!(
                self.segs.as_slice().first(),
                Some(Segment::Base64(Blob::Source { len, .. })) if *len > 0
            ),
        }
    }

    /// The next piece: a text segment as it is, a base64 segment one block at a time, encoded
    /// into `out` (split off it: once the piece is dropped, `out` reuses its memory). `None`
    /// at the end. May block reading a source.
    pub fn next_piece(&mut self, out: &mut BytesMut) -> Option<Result<Bytes, BlobError>> {
        loop {
            if let Some((blob, done)) = &mut self.cur {
                let total = blob.len();
                if *done >= total {
                    self.cur = None;
                    continue;
                }
                let n = usize::try_from(total - *done)
                    .unwrap_or(usize::MAX)
                    .min(BLOCK_RAW);
                let at = *done;
                let raw: &[u8] = match blob {
                    Blob::Bytes(b) => {
                        let start = usize::try_from(at).unwrap_or(usize::MAX);
                        b.get(start..start + n).unwrap_or_default()
                    }
                    Blob::Source { src, offset, .. } => {
                        self.raw.resize(n, 0);
                        let buf = self.raw.get_mut(..n).unwrap_or_default();
                        if let Err(source) = src.read_exact_at(*offset + at, buf) {
                            self.cur = None;
                            self.segs = Vec::new().into_iter();
                            return Some(Err(BlobError::Source { at, source }));
                        }
                        buf
                    }
                };
                *done += n as u64;
                let enc = base64::encoded_len(raw.len(), true).unwrap_or(0);
                out.clear();
                out.resize(enc, 0);
                // Sized by encoded_len: cannot fail.
                let written = B64.encode_slice(raw, &mut out[..]).unwrap_or(0);
                out.truncate(written);
                return Some(Ok(out.split().freeze()));
            }
            match self.segs.next()? {
                Segment::Text(t) => return Some(Ok(t)),
                Segment::Base64(b) => self.cur = Some((b, 0)),
            }
        }
    }
}
