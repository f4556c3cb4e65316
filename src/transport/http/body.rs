//! Response bodies made of frames: text pieces as they are, streamed blobs block by block (see
//! `protocol::blob`), with at most [`PIECES_AHEAD`] pieces waiting for hyper, so a client that
//! reads slowly stops the producer instead of growing memory. A JSON answer with a streamed
//! blob keeps its exact `Content-Length`. When a blob's source fails midway (the file was cut
//! short or changed while it was sent) the body ends with an error: hyper closes the
//! connection, so the client sees a body shorter than announced (JSON) or an unfinished event
//! (SSE, which its parser discards), never a complete answer with bytes the file does not hold.
//! Never touches media or tools.

use super::Body;
use crate::protocol::{BlobError, Frame};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody};
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

/// Pieces (each at most one text segment or one base64 block) produced ahead of hyper.
pub(super) const PIECES_AHEAD: usize = 2;

/// A body with nothing streamed.
pub(super) fn full(b: Bytes) -> Body {
    Full::new(b).map_err(|never| match never {}).boxed()
}

/// What a body's queue carries: a frame, and something held until the frame's last piece is
/// queued for hyper (a budget share, for instance), or nothing.
pub(super) trait Queued: Send + 'static {
    type Held: Send;
    fn split(self) -> (Frame, Self::Held);
}

impl Queued for Frame {
    type Held = ();
    fn split(self) -> (Frame, ()) {
        (self, ())
    }
}

impl<H: Send + 'static> Queued for (Frame, H) {
    type Held = H;
    fn split(self) -> (Frame, H) {
        self
    }
}

/// A body writing the frames received on `rx`, in order.
pub(super) fn frames<Q: Queued>(mut rx: mpsc::Receiver<Q>) -> Body {
    let (tx, out) = mpsc::channel::<Result<Bytes, BlobError>>(PIECES_AHEAD);
    tokio::spawn(async move {
        let mut block = BytesMut::new();
        loop {
            // The client going away is noticed while waiting, not only at the next send.
            let next = tokio::select! {
                f = rx.recv() => f,
                _ = tx.closed() => None,
            };
            let Some((frame, held)) = next.map(Queued::split) else {
                return;
            };
            if let Some(b) = frame.as_bytes() {
                if tx.send(Ok(b.clone())).await.is_err() {
                    return;
                }
                drop(held);
                continue;
            }
            let mut pieces = frame.into_pieces();
            loop {
                let (p, b, piece) = crate::transport::next_piece(pieces, block).await;
                (pieces, block) = (p, b);
                match piece {
                    None => break,
                    Some(Ok(piece)) => {
                        if tx.send(Ok(piece)).await.is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "a streamed answer's source failed; ending its body");
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            drop(held);
        }
    });
    StreamBody::new(ReceiverStream::new(out).map(|r| r.map(hyper::body::Frame::data))).boxed()
}

/// A response whose whole body is `frame`, with its `Content-Length` (streamed or not).
pub(super) fn one_frame(status: StatusCode, content_type: &str, frame: Frame) -> Response<Body> {
    let len = frame.len();
    let body = match frame.as_bytes() {
        Some(b) => full(b.clone()),
        None => {
            let (tx, rx) = mpsc::channel(1);
            // Cannot fail: the receiver is right here.
            let _ = tx.try_send(frame);
            frames(rx)
        }
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}
