//! Durable commits without holding the writer (SQLite).
//!
//! With `synchronous=FULL` SQLite fsyncs the WAL inside every commit, while
//! the write lock is held: the next group of pushes cannot start until the
//! disk has answered. Measured in the load bench, that wait was about a
//! quarter of the writer's time (a commit of seven 500-op pushes: 45 ms of
//! work, then 15–20 ms of commit, most of it the fsync).
//!
//! Here the writer runs with `synchronous=NORMAL`, under which a commit
//! only writes its frames into the WAL file (the OS's cache), and a caller
//! is answered only after [`WalSync::sync`] has made the WAL durable with
//! `fdatasync`, once the writer is given back. So the next group runs
//! while this one's fsync is in flight, and one fsync covers every commit
//! made before it began.
//!
//! Why this is as safe as `FULL` for what we acknowledge:
//! - nothing is answered before the fsync that covers its commit returns;
//! - SQLite writes the WAL in order and recovery keeps the frames up to the
//!   first one that fails its checksum, so what survives a power cut is a
//!   prefix of the commits: never a later commit without an earlier one
//!   (the audit chain stays whole);
//! - a checkpoint syncs the WAL before copying it into the database file,
//!   and the database file after (`synchronous=NORMAL` keeps those syncs),
//!   so the WAL is never restarted over frames that are not on disk.
//!
//! What differs: another connection may read a commit before its fsync has
//! returned (a pull may hand a device an op that a power cut then takes
//! back; its author was not answered, so it pushes it again).

use super::DbError;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The WAL of one SQLite database: commits numbered by the writer, and the
/// number up to which they are on disk.
pub(super) struct WalSync {
    wal: PathBuf,
    main: PathBuf,
    /// The last commit numbered ([`WalSync::committed`]).
    committed: AtomicU64,
    /// Every commit up to this number is on disk, and whether the folder
    /// holding the WAL has been synced once (the file's entry). Held while
    /// syncing, so concurrent callers wait for one fsync rather than each
    /// running one.
    synced: Mutex<(u64, bool)>,
}

impl WalSync {
    pub(super) fn new(db: &Path) -> WalSync {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        WalSync {
            wal: PathBuf::from(wal),
            main: db.to_owned(),
            committed: AtomicU64::new(0),
            synced: Mutex::new((0, false)),
        }
    }

    /// Numbers a commit just made. Call it holding the writer, after the
    /// commit returned, so the numbers follow the order of the commits.
    pub(super) fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Returns once commit `n` is on disk: at once if an fsync begun after
    /// it has returned, else after one of our own, which covers every
    /// commit numbered before it begins. Call it without holding the
    /// writer. A failure (an I/O error, a full disk) leaves the commit's
    /// fate unknown: the caller is answered with the error, and pushing
    /// again is safe (ops are stored once).
    pub(super) fn sync(&self, n: u64) -> Result<(), DbError> {
        let mut synced = super::lock(&self.synced);
        let (done, folder) = &mut *synced;
        if *done >= n {
            return Ok(());
        }
        let through = self.committed.load(Ordering::Acquire);
        self.fsync(folder).map_err(|e| {
            DbError::StorageFull(format!(
                "making the commit durable ({}): {e}",
                self.wal.display()
            ))
        })?;
        *done = through;
        Ok(())
    }

    /// Tests: the last commit numbered and the last one on disk.
    #[cfg(test)]
    pub(super) fn numbers(&self) -> (u64, u64) {
        let (synced, _) = *super::lock(&self.synced);
        (self.committed.load(Ordering::Acquire), synced)
    }

    /// Syncs the WAL, and the folder too unless `folder_synced`.
    fn fsync(&self, folder_synced: &mut bool) -> std::io::Result<()> {
        // Opened by path each time, so it is always the WAL SQLite now
        // writes (it only deletes the file when its last connection closes).
        match OpenOptions::new().read(true).write(true).open(&self.wal) {
            Ok(f) => f.sync_data()?,
            // No WAL: everything is in the database file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&self.main)?
                    .sync_data()?;
            }
            Err(e) => return Err(e),
        }
        if !*folder_synced {
            if let Some(folder) = self.main.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::File::open(folder)?.sync_all()?;
            }
            *folder_synced = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::db::{Db, DbError};

    /// A write is answered only once the fsync covering its commit has
    /// returned, whether it led its group or waited in it. (A power cut
    /// cannot be simulated here: this checks the numbers the answers wait
    /// on.)
    #[test]
    fn a_write_is_answered_after_the_sync_that_covers_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("d.sqlite3")).unwrap();
        db.write_blocking(|tx| tx.execute_batch("CREATE TABLE d (n INTEGER PRIMARY KEY)"))
            .unwrap();
        let (start, _) = db.wal_numbers().unwrap();
        let threads: Vec<_> = (0..8i64)
            .map(|t| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for i in 0..25i64 {
                        let inner = db.clone();
                        // Inside the transaction: the commits made before
                        // ours (the writer is held, so ours is the next).
                        let before = db
                            .write_grouped_blocking_as(move |tx| -> Result<u64, DbError> {
                                tx.execute("INSERT INTO d (n) VALUES (?1)", [t * 100 + i])?;
                                Ok(inner.wal_numbers().unwrap().0)
                            })
                            .unwrap();
                        let (_, synced) = db.wal_numbers().unwrap();
                        assert!(
                            synced > before,
                            "answered at {synced}, committed as {}",
                            before + 1
                        );
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let (committed, synced) = db.wal_numbers().unwrap();
        assert_eq!(
            synced, committed,
            "the last answer waited for the last commit"
        );
        let n: i64 = db
            .read_blocking(|c| c.query_row("SELECT count(*) FROM d", (), |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 200);
        // One commit per group.
        let (groups, _) = db.group_stats();
        assert_eq!(committed - start, groups);
    }

    /// A plain write is durable when it returns, too.
    #[test]
    fn a_plain_write_returns_after_its_sync() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("p.sqlite3")).unwrap();
        for _ in 0..3 {
            db.write_blocking(|tx| tx.execute_batch("CREATE TABLE IF NOT EXISTS p (n INTEGER)"))
                .unwrap();
            let (committed, synced) = db.wal_numbers().unwrap();
            assert_eq!(synced, committed);
        }
    }
}
