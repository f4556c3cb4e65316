//! Transports: they own the bytes (stdio lines, HTTP bodies), decode messages, hand them to
//! the server and write its answers, producing streamed blobs block by block as they write
//! (see `protocol::blob`). Never touch media or tools.

pub mod http;
pub mod stdio;

use crate::protocol::BlobError;
use crate::protocol::blob::Pieces;
use bytes::{Bytes, BytesMut};

/// The next piece of a frame being written from async code: a piece that reads a file source
/// is produced on the blocking pool (a `pread` may block), others in place. Hands back the
/// pieces and the block buffer for the next call.
pub(crate) async fn next_piece(
    mut p: Pieces,
    mut block: BytesMut,
) -> (Pieces, BytesMut, Option<Result<Bytes, BlobError>>) {
    if !p.next_reads_source() {
        let piece = p.next_piece(&mut block);
        return (p, block, piece);
    }
    match tokio::task::spawn_blocking(move || {
        let piece = p.next_piece(&mut block);
        (p, block, piece)
    })
    .await
    {
        Ok(r) => r,
        Err(e) => (
            crate::protocol::Frame::default().into_pieces(),
            BytesMut::new(),
            Some(Err(BlobError::Source {
                at: 0,
                source: std::io::Error::other(format!("the block reader failed: {e}")),
            })),
        ),
    }
}
