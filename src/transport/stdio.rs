//! stdio transport: one reader (newline-delimited JSON, bounded lines) and one writer task that
//! owns the output. Each request runs as its own task, so responses may complete out of order;
//! at most `max_in_flight` run at once and up to `max_queued` more wait for a slot; beyond that
//! a request is answered at once with a "server busy" error. The reader never waits on work,
//! so a `notifications/cancelled` or the answer to a server-to-client request is read even
//! when every slot is busy. On EOF the transport lets in-flight requests finish within the
//! shutdown grace, cancels the rest, flushes and returns. Never touches media or tools.

use crate::protocol::Outgoing;
use crate::protocol::codec::{Line, LineDecoder};
use crate::protocol::frame::{self, Frame, Framing};
use crate::protocol::jsonrpc::{self, Incoming, Message, code};
use crate::server::{Connection, Server, Sink};
use bytes::BytesMut;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// After the grace (and the shutdown errors), time given to write the last answers out.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(2);

/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// Serves one client over the given byte streams until input ends.
pub async fn serve<R, W>(server: Arc<Server>, input: R, output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Frame>(server.config().limits.out_queue);
    let writer = tokio::spawn(write_loop(output, rx));
    serve_with(server, input, tx, writer).await
}

/// Serves the process's own stdin and stdout. The writer is one blocking thread that owns
/// stdout and writes each frame straight from its buffer (tokio's `Stdout` would copy every
/// frame through its blocking pool in 2 MiB pieces).
pub async fn serve_process_stdio(server: Arc<Server>) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<Frame>(server.config().limits.out_queue);
    let writer = tokio::task::spawn_blocking(move || write_stdout(rx));
    serve_with(server, tokio::io::stdin(), tx, writer).await
}

async fn serve_with<R>(
    server: Arc<Server>,
    mut input: R,
    tx: mpsc::Sender<Frame>,
    writer: tokio::task::JoinHandle<std::io::Result<()>>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
{
    let limits = server.config().limits.clone();
    let sink = Sink::new(tx, Framing::Line);
    let conn = Arc::new(Connection::new());
    let slots = Slots {
        run: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
        refusals: Arc::new(Semaphore::new(MAX_PENDING_REFUSALS)),
        waiting: Arc::new(AtomicUsize::new(0)),
        max: limits.max_in_flight.max(1) + limits.max_queued,
    };
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
                    let out = Outgoing::error(None, code::INVALID_REQUEST, &msg, None);
                    refuse(&sink, &slots, &mut tasks, out).await;
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
    // Long-lived streams (listen) end now with their result; requests get the grace period.
    server.shutdown();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        // Past the grace: each request still running is answered with a shutdown error.
        tracing::warn!(
            "in-flight requests did not finish within the shutdown grace; stopping them"
        );
        server.abort_in_flight();
        if tokio::time::timeout(SHUTDOWN_FLUSH, async {
            while tasks.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            conn.cancel_all();
            tasks.shutdown().await;
        }
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

/// Request slots of one connection: `run` bounds the requests running, `waiting` counts those
/// accepted (running or waiting for a slot), at most `max`; `refusals` bounds the error
/// replies being written in the background.
struct Slots {
    run: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max: usize,
}

impl Slots {
    /// Takes a place for one more request, or `None` if the connection has `max` already.
    fn admit(&self) -> Option<Admitted> {
        let n = self.waiting.fetch_add(1, Ordering::AcqRel);
        let a = Admitted(self.waiting.clone());
        (n < self.max).then_some(a)
    }
}

/// A request's place among a connection's accepted requests; released on drop.
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Most error replies (malformed, busy, duplicate, over-long) being written at once: past it
/// the reader writes the next one itself, which waits on the client reading its output (the
/// only backpressure left when a client floods without reading).
const MAX_PENDING_REFUSALS: usize = 64;

/// Answers a message the connection will not run, without making the reader wait while few
/// such answers are pending.
async fn refuse(sink: &Sink, slots: &Slots, tasks: &mut JoinSet<()>, out: Outgoing) {
    match slots.refusals.clone().try_acquire_owned() {
        Ok(permit) => {
            let sink = sink.clone();
            tasks.spawn(async move {
                sink.send(&out).await;
                drop(permit);
            });
        }
        Err(_) => {
            sink.send(&out).await;
        }
    }
}

async fn on_frame(
    server: &Arc<Server>,
    conn: &Arc<Connection>,
    sink: &Sink,
    slots: &Slots,
    tasks: &mut JoinSet<()>,
    bytes: &[u8],
) {
    let work = match jsonrpc::parse(bytes) {
        Incoming::Single(Err(e)) => {
            tracing::warn!(code = e.code, error = %e.message, "malformed message");
            if e.answerable {
                let out = Outgoing::error(e.id.as_ref(), e.code, &e.message, None);
                refuse(sink, slots, tasks, out).await;
            }
            return;
        }
        // Notifications and responses are handled in order, inline: they never wait on work.
        Incoming::Single(Ok(msg @ (Message::Notification(_) | Message::Response(_)))) => {
            server.handle(conn, msg, sink).await;
            return;
        }
        Incoming::Single(Ok(Message::Request(r))) => Work::One(r),
        Incoming::Batch(items) => Work::Batch(items),
    };
    let Some(place) = slots.admit() else {
        let id = match &work {
            Work::One(r) => Some(r.id.clone()),
            Work::Batch(_) => None,
        };
        tracing::warn!(
            limit = slots.max,
            "refused a request: too many requests on this connection"
        );
        let msg = format!(
            "Server busy: this connection has {} requests running or waiting; retry later",
            slots.max
        );
        let out = Outgoing::error(id.as_ref(), code::SERVER_BUSY, &msg, None);
        refuse(sink, slots, tasks, out).await;
        return;
    };
    // A request is registered before it waits for a slot, so a cancellation finds it there
    // (`initialize` cannot be cancelled and is registered by the server as usual).
    let token = match &work {
        Work::One(r) if r.method != "initialize" => match conn.admit(&r.id) {
            Some(t) => Some(t),
            None => {
                let msg = format!("Invalid request: request id {} is already in flight", r.id);
                let out = Outgoing::error(Some(&r.id), code::INVALID_REQUEST, &msg, None);
                refuse(sink, slots, tasks, out).await;
                return;
            }
        },
        _ => None,
    };
    let (server, conn, sink) = (server.clone(), conn.clone(), sink.clone());
    let run = slots.run.clone();
    tasks.spawn(async move {
        let _place = place;
        let slot = match &token {
            Some(t) => tokio::select! {
                _ = t.cancelled() => None,
                s = run.acquire_owned() => s.ok(),
            },
            None => run.acquire_owned().await.ok(),
        };
        let Some(_slot) = slot else {
            if let (Work::One(r), Some(_)) = (&work, &token) {
                tracing::debug!(id = %r.id, "request cancelled while it waited for a slot");
                conn.forget(&r.id);
            }
            return;
        };
        match work {
            Work::One(r) => {
                let out = match token {
                    Some(t) => server.handle_admitted(&conn, r, &sink, t).await,
                    None => server.handle(&conn, Message::Request(r), &sink).await,
                };
                if let Some(out) = out {
                    sink.send(&out).await;
                }
            }
            // One line that nothing may interleave: its answers are collected (bounded by the
            // batch's answer bytes and the server-wide budget) and written together.
            Work::Batch(items) => match server.collect_batch(&conn, items, &sink).await {
                Ok(Some(answer)) => {
                    sink.raw(frame::encode_batch(&answer.parts, Framing::Line))
                        .await;
                    // Its share of the batch budget goes back once the writer has it.
                    drop(answer);
                }
                Ok(None) => {}
                Err(refusal) => {
                    sink.send(&refusal).await;
                }
            },
        }
    });
}

/// A request or a batch waiting for a slot.
enum Work {
    One(jsonrpc::Request),
    Batch(Vec<Result<Message, jsonrpc::WireError>>),
}

/// The process's stdout, written from a blocking thread: a piece larger than std's buffer
/// goes to the file descriptor directly, without a copy; small ones are flushed when the queue
/// is empty. A streamed blob is read and encoded here, one block at a time into one reused
/// buffer, so the writer holds one block whatever the blob's size, and a client that does not
/// read stops it (and, through the bounded queue, the producers).
fn write_stdout(mut rx: mpsc::Receiver<Frame>) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let mut block = BytesMut::new();
    while let Some(frame) = rx.blocking_recv() {
        if let Some(b) = frame.as_bytes() {
            out.write_all(b)?;
        } else {
            let mut pieces = frame.into_pieces();
            while let Some(piece) = pieces.next_piece(&mut block) {
                match piece {
                    Ok(p) => out.write_all(&p)?,
                    Err(e) => {
                        out.write_all(cut_short(&e))?;
                        break;
                    }
                }
            }
        }
        if rx.is_empty() {
            out.flush()?;
        }
    }
    out.flush()
}

/// What ends a line whose blob's source failed after its head was written (the file was cut
/// short or changed while it was sent): the line cannot be taken back, and finishing it with
/// bytes the file does not hold would hand the client a wrong file as if it were right. The
/// line is ended where it stands, so it is not valid JSON: the client's parser rejects that
/// one message (its request stays unanswered) and every later line reads as usual.
fn cut_short(e: &crate::protocol::BlobError) -> &'static [u8] {
    tracing::error!(error = %e, "a streamed answer's source failed; its line is cut short");
    b"\n"
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut out: W,
    mut rx: mpsc::Receiver<Frame>,
) -> std::io::Result<()> {
    let mut block = BytesMut::new();
    while let Some(frame) = rx.recv().await {
        if let Some(b) = frame.as_bytes() {
            out.write_all(b).await?;
        } else {
            let mut pieces = frame.into_pieces();
            loop {
                let (p, b, piece) = crate::transport::next_piece(pieces, block).await;
                (pieces, block) = (p, b);
                match piece {
                    None => break,
                    Some(Ok(piece)) => out.write_all(&piece).await?,
                    Some(Err(e)) => {
                        out.write_all(cut_short(&e)).await?;
                        break;
                    }
                }
            }
        }
        if rx.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await
}
