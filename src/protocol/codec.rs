//! Newline-delimited JSON framing for stdio (and any byte-stream transport), with a bound.
//!
//! Pure framing over a `BytesMut`: no I/O, no JSON parsing. A line longer than the bound is
//! discarded as it streams in (memory stays bounded by the limit, whatever the peer sends) and
//! reported once, when its end arrives, so the reader can answer with an error and go on.

use bytes::{Bytes, BytesMut};

/// Default bound on one incoming line: 4 MiB. Requests to a media server are small (URIs and
/// arguments); files travel server to client. Configurable with `--max-line-bytes`.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// What the decoder found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// One complete line without its terminator (`\n` or `\r\n`).
    Message(Bytes),
    /// A line of `len` bytes exceeded the limit and was dropped.
    TooLong { len: usize },
}

#[derive(Debug)]
pub struct LineDecoder {
    max: usize,
    /// Bytes of the current buffer already searched for a newline.
    scanned: usize,
    /// `Some(n)` while discarding an over-long line; `n` bytes dropped so far.
    discarding: Option<usize>,
    /// Whether the last byte dropped was `\r` (part of the terminator if `\n` comes next).
    dropped_cr: bool,
}

impl LineDecoder {
    pub fn new(max: usize) -> Self {
        LineDecoder {
            max,
            scanned: 0,
            discarding: None,
            dropped_cr: false,
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Returns the next complete line in `buf`, if any, consuming it. Call repeatedly until it
    /// returns `None`, then read more bytes into `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Line> {
        loop {
            match memchr::memchr(b'\n', &buf[self.scanned..]) {
                Some(pos) => {
                    let end = self.scanned + pos;
                    self.scanned = 0;
                    if let Some(dropped) = self.discarding.take() {
                        let line = buf.split_to(end + 1);
                        // The length without the terminator, `\r` included if it was dropped.
                        let cr = match end {
                            0 => self.dropped_cr,
                            _ => line[end - 1] == b'\r',
                        };
                        return Some(Line::TooLong {
                            len: dropped + end - usize::from(cr),
                        });
                    }
                    let mut line = buf.split_to(end + 1);
                    line.truncate(end);
                    if line.last() == Some(&b'\r') {
                        line.truncate(end - 1);
                    }
                    if line.len() > self.max {
                        return Some(Line::TooLong { len: line.len() });
                    }
                    return Some(Line::Message(line.freeze()));
                }
                None => {
                    if let Some(dropped) = self.discarding.as_mut() {
                        *dropped += buf.len();
                        if let Some(&last) = buf.last() {
                            self.dropped_cr = last == b'\r';
                        }
                        buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                    // A trailing `\r` may be the start of the terminator: one byte of slack.
                    let fits = buf.len() <= self.max
                        || (buf.len() == self.max + 1 && buf.last() == Some(&b'\r'));
                    if !fits {
                        self.discarding = Some(buf.len());
                        self.dropped_cr = buf.last() == Some(&b'\r');
                        buf.clear();
                        self.scanned = 0;
                        continue;
                    }
                    self.scanned = buf.len();
                    return None;
                }
            }
        }
    }

    /// At end of input: the unterminated last line, if any (a peer may omit the final newline).
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Line> {
        if let Some(line) = self.decode(buf) {
            return Some(line);
        }
        self.scanned = 0;
        if let Some(dropped) = self.discarding.take() {
            let len = dropped + buf.len();
            buf.clear();
            return Some(Line::TooLong { len });
        }
        if buf.is_empty() {
            return None;
        }
        let line = buf.split();
        if line.len() > self.max {
            return Some(Line::TooLong { len: line.len() });
        }
        Some(Line::Message(line.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(dec: &mut LineDecoder, buf: &mut BytesMut, data: &[u8]) -> Vec<Line> {
        buf.extend_from_slice(data);
        let mut out = vec![];
        while let Some(l) = dec.decode(buf) {
            out.push(l);
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        let mut d = LineDecoder::new(100);
        let mut b = BytesMut::new();
        let out = feed(&mut d, &mut b, b"{\"a\":1}\n{\"b\":2}\r\n{\"c\"");
        assert_eq!(
            out,
            vec![
                Line::Message(Bytes::from_static(b"{\"a\":1}")),
                Line::Message(Bytes::from_static(b"{\"b\":2}"))
            ]
        );
        let out = feed(&mut d, &mut b, b":3}\n");
        assert_eq!(out, vec![Line::Message(Bytes::from_static(b"{\"c\":3}"))]);
    }

    #[test]
    fn partial_lines_wait_for_more() {
        let mut d = LineDecoder::new(100);
        let mut b = BytesMut::new();
        for chunk in [&b"{\"jsonrpc\""[..], b":\"2.0\"", b"}"] {
            assert!(feed(&mut d, &mut b, chunk).is_empty());
        }
        assert_eq!(
            feed(&mut d, &mut b, b"\n"),
            vec![Line::Message(Bytes::from_static(b"{\"jsonrpc\":\"2.0\"}"))]
        );
    }

    #[test]
    fn over_long_line_is_dropped_with_bounded_memory_and_next_line_survives() {
        let mut d = LineDecoder::new(16);
        let mut b = BytesMut::new();
        let mut total = 0;
        for _ in 0..10 {
            assert!(feed(&mut d, &mut b, &[b'x'; 10]).is_empty());
            total += 10;
            assert!(b.len() <= 16, "buffer grew to {}", b.len());
        }
        let out = feed(&mut d, &mut b, b"xx\nok\n");
        assert_eq!(
            out,
            vec![
                Line::TooLong { len: total + 2 },
                Line::Message(Bytes::from_static(b"ok"))
            ]
        );
    }

    #[test]
    fn over_long_line_in_one_chunk() {
        let mut d = LineDecoder::new(4);
        let mut b = BytesMut::new();
        let out = feed(&mut d, &mut b, b"123456\nab\n");
        assert_eq!(
            out,
            vec![
                Line::TooLong { len: 6 },
                Line::Message(Bytes::from_static(b"ab"))
            ]
        );
    }

    /// Found by fuzzing: a line of exactly the limit, sent with `\r\n`, was refused when the
    /// `\r` arrived in one read and the `\n` in the next.
    #[test]
    fn crlf_line_at_the_limit_is_accepted_whatever_the_reads() {
        let mut d = LineDecoder::new(4);
        let mut b = BytesMut::new();
        assert!(feed(&mut d, &mut b, b"abcd\r").is_empty());
        assert_eq!(
            feed(&mut d, &mut b, b"\nok\n"),
            vec![
                Line::Message(Bytes::from_static(b"abcd")),
                Line::Message(Bytes::from_static(b"ok"))
            ]
        );
    }

    /// Found by fuzzing: an over-long `\r\n` line's reported length counted the `\r` when the
    /// line was dropped across reads, and not when it arrived whole.
    #[test]
    fn over_long_crlf_line_length_does_not_depend_on_the_reads() {
        for split in 1..9 {
            let data = b"123456\r\nab\n";
            let mut d = LineDecoder::new(4);
            let mut b = BytesMut::new();
            let mut out = feed(&mut d, &mut b, &data[..split]);
            out.extend(feed(&mut d, &mut b, &data[split..]));
            assert_eq!(
                out,
                vec![
                    Line::TooLong { len: 6 },
                    Line::Message(Bytes::from_static(b"ab"))
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn eof_flushes_unterminated_line() {
        let mut d = LineDecoder::new(100);
        let mut b = BytesMut::from(&b"{}"[..]);
        assert_eq!(d.decode(&mut b), None);
        assert_eq!(
            d.decode_eof(&mut b),
            Some(Line::Message(Bytes::from_static(b"{}")))
        );
        assert_eq!(d.decode_eof(&mut b), None);
    }
}
