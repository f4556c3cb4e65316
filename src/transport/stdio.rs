//! stdio transport: one reader (newline-delimited JSON, bounded lines) and one writer task that
//! owns the output. Each request runs as its own task, so responses may complete out of order;
//! at most `max_in_flight` run at once, after which the reader stops reading (backpressure).
//! On EOF the transport lets in-flight requests finish within the shutdown grace, cancels the
//! rest, flushes and returns.

use crate::protocol::codec::{Line, LineDecoder};
use crate::protocol::frame::{self, Framing};
use crate::protocol::jsonrpc::{self, Incoming, Message, code};
use crate::protocol::{Outgoing, ProtocolVersion};
use crate::server::{Connection, Server, Sink};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// Serves one client over the given byte streams until input ends.
pub async fn serve<R, W>(server: Arc<Server>, mut input: R, output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let limits = server.config().limits.clone();
    let (tx, rx) = mpsc::channel::<Bytes>(limits.out_queue);
    let writer = tokio::spawn(write_loop(output, rx));
    let sink = Sink::new(tx, Framing::Line);
    let conn = Arc::new(Connection::new());
    let slots = Arc::new(Semaphore::new(limits.max_in_flight));
    let mut tasks = JoinSet::new();
    // Changes (list_changed, resource updates) for a legacy session on this process.
    let forwarder = {
        let (server, conn, sink) = (server.clone(), conn.clone(), sink.clone());
        let mut rx = server.events();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => {
                        if let Some(n) = server.legacy_notification(&conn, &ev)
                            && !sink.send(&n).await
                        {
                            break;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    };
    let mut decoder = LineDecoder::new(limits.max_line_bytes);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);

    loop {
        while tasks.try_join_next().is_some() {}
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(READ_CHUNK);
        }
        let n = match input.read_buf(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "stdin read failed; closing");
                0
            }
        };
        let eof = n == 0;
        loop {
            let line = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            let Some(line) = line else { break };
            match line {
                Line::TooLong { len } => {
                    tracing::warn!(len, limit = decoder.max(), "discarded an over-long message");
                    let msg = format!(
                        "Invalid Request: message of {len} bytes exceeds the limit of {} bytes and was discarded",
                        decoder.max()
                    );
                    sink.send(&Outgoing::error(None, code::INVALID_REQUEST, &msg, None))
                        .await;
                }
                Line::Message(bytes) => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    on_frame(&server, &conn, &sink, &slots, &mut tasks, &bytes).await;
                }
            }
        }
        if eof {
            break;
        }
    }

    tracing::debug!(
        in_flight = conn.in_flight(),
        "stdin closed; finishing in-flight requests"
    );
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("in-flight requests did not finish within the shutdown grace; cancelling");
        conn.cancel_all();
        tasks.shutdown().await;
    }
    forwarder.abort();
    let _ = forwarder.await;
    drop(sink);
    drop(conn);
    match writer.await {
        Ok(r) => r,
        Err(e) => Err(std::io::Error::other(e)),
    }
}

async fn on_frame(
    server: &Arc<Server>,
    conn: &Arc<Connection>,
    sink: &Sink,
    slots: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    bytes: &[u8],
) {
    match jsonrpc::parse(bytes) {
        Incoming::Single(Ok(msg)) => dispatch(server, conn, sink, slots, tasks, msg).await,
        Incoming::Single(Err(e)) => {
            tracing::warn!(code = e.code, error = %e.message, "malformed message");
            if e.answerable {
                sink.send(&Outgoing::error(e.id.as_ref(), e.code, &e.message, None))
                    .await;
            }
        }
        Incoming::Batch(items) => {
            let batches_ok = conn.legacy().is_some_and(|s| s.version.accepts_batches());
            if !batches_ok {
                tracing::warn!("refused a JSON-RPC batch");
                let v = conn.legacy().map_or(ProtocolVersion::LATEST, |s| s.version);
                let msg =
                    format!("Invalid Request: JSON-RPC batches are not supported in protocol {v}");
                sink.send(&Outgoing::error(None, code::INVALID_REQUEST, &msg, None))
                    .await;
                return;
            }
            // A batch is answered as one array, after all its requests finish.
            let server = server.clone();
            let conn = conn.clone();
            let sink = sink.clone();
            let permit = slots
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            tasks.spawn(async move {
                let mut parts: Vec<Bytes> = Vec::new();
                for item in items {
                    let out = match item {
                        Ok(msg) => server.handle(&conn, msg, &sink).await,
                        Err(e) => e
                            .answerable
                            .then(|| Outgoing::error(e.id.as_ref(), e.code, &e.message, None)),
                    };
                    if let Some(o) = out {
                        parts.push(frame::encode(&o, Framing::Bare));
                    }
                }
                if !parts.is_empty() {
                    let _ = sink.raw(frame::encode_batch(&parts, Framing::Line)).await;
                }
                drop(permit);
            });
        }
    }
}

async fn dispatch(
    server: &Arc<Server>,
    conn: &Arc<Connection>,
    sink: &Sink,
    slots: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    msg: Message,
) {
    match msg {
        // Notifications and responses are handled in order, inline (a cancel must get through
        // even when every slot is busy).
        Message::Notification(_) | Message::Response(_) => {
            server.handle(conn, msg, sink).await;
        }
        Message::Request(_) => {
            let permit = slots
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            let server = server.clone();
            let conn = conn.clone();
            let sink = sink.clone();
            tasks.spawn(async move {
                if let Some(out) = server.handle(&conn, msg, &sink).await {
                    sink.send(&out).await;
                }
                drop(permit);
            });
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut out: W,
    mut rx: mpsc::Receiver<Bytes>,
) -> std::io::Result<()> {
    while let Some(frame) = rx.recv().await {
        out.write_all(&frame).await?;
        if rx.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await
}
