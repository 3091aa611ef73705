//! Streaming an export to an HTTP client with flat memory.
//!
//! The export runs on the blocking pool and writes into a bounded channel of
//! 64 KiB chunks; the response body takes chunks from it as the client reads.
//! A slow client therefore slows the export instead of growing a buffer, and a
//! client that disconnects drops the body and with it the receiver: the next
//! send fails and the export stops (recorded as cancelled). The export counts
//! as completed only once the body has handed over its last chunk.

use super::{execute, record_end, ExportError, Started, Watch};
use crate::db::Db;
use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// Size of a chunk sent to the client.
pub const CHUNK: usize = 64 * 1024;
/// Chunks that may wait in the channel.
pub const DEPTH: usize = 8;

/// What the export sends to the body.
pub enum Chunk {
    /// Content.
    Data(Bytes),
    /// The export failed after its first byte: end the response abruptly so
    /// the client cannot take a short file for a whole one.
    Fail,
}

/// A `Write` into the channel, in chunks of [`CHUNK`] bytes.
pub struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    /// Writes into `tx`.
    pub fn new(tx: mpsc::Sender<Chunk>) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Chunk::Data(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The response body: chunks from the channel until it closes.
pub struct ExportBody {
    rx: mpsc::Receiver<Chunk>,
    done: Option<oneshot::Sender<()>>,
}

impl MessageBody for ExportBody {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        match this.rx.poll_recv(cx) {
            Poll::Ready(Some(Chunk::Data(b))) => Poll::Ready(Some(Ok(b))),
            Poll::Ready(Some(Chunk::Fail)) => {
                this.done = None;
                Poll::Ready(Some(Err(io::Error::other("the export failed"))))
            }
            Poll::Ready(None) => {
                if let Some(d) = this.done.take() {
                    let _ = d.send(());
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

struct ChannelWatch<'a> {
    tx: &'a mpsc::Sender<Chunk>,
    ready: Option<oneshot::Sender<Result<(), ExportError>>>,
}

impl Watch for ChannelWatch<'_> {
    fn ready(&mut self, _rows: u64) {
        if let Some(r) = self.ready.take() {
            let _ = r.send(Ok(()));
        }
    }
    fn cancelled(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Runs a started export on the blocking pool. Resolves once it is ready to
/// send its first byte (with the body to send) or refused before that (such
/// as too many rows for XLSX); either way the end is recorded and audited.
pub async fn start(db: Db, started: Started) -> Result<ExportBody, ExportError> {
    let (tx, rx) = mpsc::channel(DEPTH);
    let (ready_tx, ready_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    let writer = ChannelWriter::new(tx.clone());
    actix_web::rt::task::spawn_blocking(move || {
        let mut watch = ChannelWatch {
            tx: &tx,
            ready: Some(ready_tx),
        };
        let outcome = execute(&db, started.clone(), writer, &mut watch);
        let refused = watch.ready.take();
        let outcome = match outcome {
            Ok(w) => {
                drop(tx);
                // Completed only when the body has taken the last chunk.
                match done_rx.blocking_recv() {
                    Ok(()) => Ok(w),
                    Err(_) => Err(ExportError::Cancelled),
                }
            }
            Err(e) => {
                if refused.is_none() {
                    let _ = tx.blocking_send(Chunk::Fail);
                }
                Err(e)
            }
        };
        let now = crate::now_rfc3339();
        if let Err(e) = db.write_blocking(|t| record_end(t, &started, &outcome, &now)) {
            tracing::error!(error = %e, export = %started.id, "recording the end of an export");
        }
        match &outcome {
            Ok(w) => {
                tracing::info!(export = %started.id, rows = w.rows, bytes = w.bytes, "export completed")
            }
            Err(e) if e.is_cancelled() => tracing::info!(export = %started.id, "export cancelled"),
            Err(e) => tracing::error!(export = %started.id, error = %e, "export failed"),
        }
        if let (Some(r), Err(e)) = (refused, outcome) {
            let _ = r.send(Err(e));
        }
    });
    match ready_rx.await {
        Ok(Ok(())) => Ok(ExportBody {
            rx,
            done: Some(done_tx),
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ExportError::Io(io::Error::other("the export task ended"))),
    }
}
