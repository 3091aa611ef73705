//! WAL checkpoints off the request path (SQLite).
//!
//! SQLite's automatic checkpoint runs inside the commit that pushes the WAL
//! past 1,000 pages: that request then copies the WAL into the database
//! file and fsyncs it while holding the write lock, and every push queued
//! behind it waits. Measured in the load bench, a quarter of the commits of
//! 500-op pushes took over 130 ms this way (median 7 ms), 39 s of a run.
//!
//! Here the writer's WAL hook only wakes a thread of our own, which runs a
//! PASSIVE checkpoint on its own connection: it copies what no reader still
//! needs, waits for no one, and the writer goes on appending meanwhile.
//! Should the WAL still grow past [`INLINE_PAGES`] (the thread cannot keep
//! up, or readers pin it), the committing writer checkpoints itself, as
//! SQLite would have done, so the file stays bounded. The thread ends when
//! the writer connection is closed (its hook, which holds the only sender,
//! is dropped with it), and [`Checkpointer`]'s drop waits for it.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// WAL pages after which the thread is woken (SQLite's own threshold).
const WAKE_PAGES: i32 = 1_000;

/// WAL pages after which the writer checkpoints in its own commit (about
/// 256 MiB at 4 KiB pages).
const INLINE_PAGES: i32 = 64_000;

/// The thread's nice value (Linux: per thread). A checkpoint is work that
/// can wait: in the load bench's shift-end burst the thread took a third
/// of the process's CPU on a 2-core machine, competing with the writer that
/// every phone was waiting for. It still runs whenever a core is free, and
/// past [`INLINE_PAGES`] the writer checkpoints itself.
#[cfg(target_os = "linux")]
const NICE: i32 = 10;

/// The checkpoint thread of one open database; dropping it waits for the
/// thread to end, which it does once the writer's hook is gone.
pub(super) struct Checkpointer(Option<JoinHandle<()>>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.join();
        }
    }
}

/// Installs the hook on `writer` and starts the thread. Must be dropped
/// after `writer` (declare it after the writer in the owning struct).
pub(super) fn start(path: &Path, writer: &mut Connection) -> rusqlite::Result<Checkpointer> {
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    let path = path.to_owned();
    let thread = std::thread::Builder::new()
        .name("aidant-checkpoint".into())
        .spawn(move || run(&path, &woken))
        .map_err(|e| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("starting the checkpoint thread: {e}")),
            )
        })?;
    writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
        if pages >= INLINE_PAGES {
            let _ = wal.checkpoint();
        } else if pages >= WAKE_PAGES {
            // Full: a checkpoint is already due; nothing to add.
            let _ = wake.try_send(());
        }
        Ok(())
    }))?;
    Ok(Checkpointer(Some(thread)))
}

fn run(path: &Path, woken: &mpsc::Receiver<()>) {
    // `None`: the calling thread only, on Linux.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
        tracing::debug!(error = %e, "cannot lower the checkpoint thread's priority");
    }
    let mut conn: Option<Connection> = None;
    while woken.recv().is_ok() {
        if conn.is_none() {
            conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .and_then(|c| {
                c.pragma_update(None, "synchronous", "FULL")?;
                Ok(c)
            })
            .map_err(|e| tracing::warn!(error = %e, "cannot open the checkpoint connection"))
            .ok();
        }
        if let Some(c) = &conn {
            if let Err(e) =
                c.wal_checkpoint_v2(None::<&str>, rusqlite::wal::CheckpointMode::PASSIVE)
            {
                // The next commit past the threshold wakes us again; past
                // INLINE_PAGES the writer checkpoints itself.
                tracing::warn!(error = %e, "WAL checkpoint failed");
                conn = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::db::Db;
    use std::time::{Duration, Instant};

    /// Past 1,000 WAL pages the thread copies the WAL into the database
    /// file (the writer's commits no longer do, since the hook replaced
    /// SQLite's automatic checkpoint); dropping the database ends it.
    #[test]
    fn the_thread_checkpoints_the_wal_and_ends_with_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite3");
        let db = Db::open(&path).unwrap();
        db.write_blocking(|tx| tx.execute_batch("CREATE TABLE blob (b BLOB)"))
            .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // About 1,500 pages of 4 KiB, in 30 commits.
        for _ in 0..30 {
            db.write_blocking(|tx| {
                for _ in 0..50 {
                    tx.execute("INSERT INTO blob (b) VALUES (randomblob(4000))", ())?;
                }
                Ok(())
            })
            .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let grown = loop {
            let len = std::fs::metadata(&path).unwrap().len();
            if len > before + 4_000_000 || Instant::now() > deadline {
                break len;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            grown > before + 4_000_000,
            "the database file holds the checkpointed pages: {before} → {grown} bytes"
        );
        let t = Instant::now();
        drop(db);
        assert!(t.elapsed() < Duration::from_secs(10), "the thread ended");
    }
}
