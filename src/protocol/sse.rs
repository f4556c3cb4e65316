//! Server-Sent Events encoding for the Streamable HTTP transport: the event framing of a
//! message (the `data:` part comes from [`crate::protocol::frame`] with `Framing::Sse`), event
//! ids as their own slices (chained in front of an already framed event, never copied into
//! it), the priming event, keep-alive comments, and parsing of `Last-Event-ID`.
//!
//! Plain functions on bytes. Must not know about tokio, hyper, the server or transports.

use bytes::Bytes;

/// A comment line that keeps idle connections (and proxies) open.
pub const KEEPALIVE: &[u8] = b":\n\n";

/// Reconnection delay announced to clients of resumable streams, in milliseconds.
pub const RETRY_MS: u64 = 1000;

/// The id of event `seq` of stream `stream`: `<stream>-<seq>`.
pub fn event_id(stream: u64, seq: u64) -> String {
    format!("{stream}-{seq}")
}

/// The `id:` line to chain in front of a framed event (`event: ...\ndata: ...\n\n`), so the
/// event's bytes are sent as they are.
pub fn id_line(stream: u64, seq: u64) -> Bytes {
    Bytes::from(format!("id: {}\n", event_id(stream, seq)))
}

/// The priming event of a resumable stream (2025-11-25): an id, the reconnection delay and
/// empty data, so a client can resume even before the first real event.
pub fn priming(stream: u64) -> Bytes {
    Bytes::from(format!(
        "id: {}\nretry: {RETRY_MS}\ndata: \n\n",
        event_id(stream, 0)
    ))
}

/// The head and tail that make an already serialised JSON payload one SSE message event:
/// chain `head`, the payload and `tail`.
pub const EVENT_HEAD: &[u8] = b"event: message\ndata: ";
pub const EVENT_TAIL: &[u8] = b"\n\n";

/// Reads a `Last-Event-ID` value made by [`event_id`]: `(stream, seq)`.
pub fn parse_last_event_id(v: &str) -> Option<(u64, u64)> {
    let (s, q) = v.trim().split_once('-')?;
    Some((s.parse().ok()?, q.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_frame_as_lines() {
        assert_eq!(parse_last_event_id(&event_id(7, 42)), Some((7, 42)));
        assert_eq!(parse_last_event_id(" 3-0 "), Some((3, 0)));
        assert_eq!(parse_last_event_id("3"), None);
        assert_eq!(parse_last_event_id("a-1"), None);
        assert_eq!(parse_last_event_id("1--1"), None);
        assert_eq!(&id_line(1, 2)[..], b"id: 1-2\n");
        let p = priming(5);
        assert_eq!(&p[..], b"id: 5-0\nretry: 1000\ndata: \n\n");
    }
}
