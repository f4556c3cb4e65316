//! Any seekable reader as a symphonia media source: how decoders take an opened file (the
//! library's guarded `MediaFile`, a plain `File`, or bytes in memory) without this module
//! knowing what it is. Must not know about the library, paths or MCP.

use std::io::{Read, Seek, SeekFrom};
use symphonia::core::io::MediaSource;

struct Seekable<R> {
    inner: R,
    len: Option<u64>,
}

impl<R: Read> Read for Seekable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Seekable<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl<R: Read + Seek + Send + Sync> MediaSource for Seekable<R> {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        self.len
    }
}

/// Wraps a seekable reader, positioned where decoding starts, as a media source; its length
/// is found once, by seeking to the end and back.
pub fn seekable<R: Read + Seek + Send + Sync + 'static>(mut inner: R) -> Box<dyn MediaSource> {
    let len = inner.stream_position().ok().and_then(|pos| {
        let end = inner.seek(SeekFrom::End(0)).ok();
        inner.seek(SeekFrom::Start(pos)).ok().and(end)
    });
    Box::new(Seekable { inner, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_its_length_and_keeps_its_position() {
        let mut c = std::io::Cursor::new(vec![1u8, 2, 3, 4, 5]);
        c.set_position(2);
        let mut s = seekable(c);
        assert_eq!(s.byte_len(), Some(5));
        let mut b = [0u8; 2];
        s.read_exact(&mut b).unwrap();
        assert_eq!(b, [3, 4]);
    }
}
