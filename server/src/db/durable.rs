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
//!
//! A failed fsync is not retried. On Linux the kernel marks the pages it
//! could not write clean, and reports the error once: a later fsync of the
//! same file returns success although those frames never reached the disk.
//! SQLite's recovery keeps the WAL up to its first bad frame, so after a
//! power cut every commit from the hole on would be gone, acknowledged or
//! not. So the first failure stops acknowledging for good
//! ([`WalSync::lost`]): every later write is refused (503, the phones keep
//! their queue) and `/healthz` asks for a restart. At the next start
//! SQLite recovers the WAL from the file, checking each frame's checksum,
//! and the database is checkpointed into its main file, synced, before
//! anything new is written (`open_sqlite`): what survives is a consistent
//! prefix that holds every commit ever acknowledged.

use super::DbError;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The WAL of one SQLite database: commits numbered by the writer, and the
/// number up to which they are on disk.
pub(super) struct WalSync {
    wal: PathBuf,
    main: PathBuf,
    /// The last commit numbered ([`WalSync::committed`]).
    committed: AtomicU64,
    /// Every commit up to this number is on disk, and what syncing needs.
    /// Held while syncing, so concurrent callers wait for one fsync rather
    /// than each running one.
    synced: Mutex<Synced>,
    /// Set by the first failed fsync, with its cause: nothing is
    /// acknowledged after it (see the module's doc).
    lost: OnceLock<String>,
    /// Tests only: while set, every fsync fails as a failing disk's would.
    fail: OnceLock<Arc<AtomicBool>>,
}

/// What [`WalSync`] holds while it syncs.
struct Synced {
    /// Every commit up to this number is on disk.
    done: u64,
    /// The folder holding the WAL has been synced once (the file's entry).
    folder: bool,
    /// The WAL, kept open from the first sync on. Linux reports a failed
    /// write-back to each file description open when it happened, once,
    /// but to one opened later only if no other has seen it yet; SQLite's
    /// own checkpoints sync the WAL through their descriptors. Held open,
    /// ours is told whoever syncs first.
    file: Option<File>,
}

impl WalSync {
    pub(super) fn new(db: &Path) -> WalSync {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        WalSync {
            wal: PathBuf::from(wal),
            main: db.to_owned(),
            committed: AtomicU64::new(0),
            synced: Mutex::new(Synced {
                done: 0,
                folder: false,
                file: None,
            }),
            lost: OnceLock::new(),
            fail: OnceLock::new(),
        }
    }

    /// The cause, once an fsync has failed: from then on no commit is
    /// acknowledged, and writes must not run, until the server is restarted.
    pub(super) fn lost(&self) -> Option<&str> {
        self.lost.get().map(String::as_str)
    }

    /// Tests only: every fsync fails while `fail` is set.
    pub(super) fn fail_when(&self, fail: Arc<AtomicBool>) {
        let _ = self.fail.set(fail);
    }

    /// The error every write gets once durability is lost: the database
    /// cannot take writes until the server is restarted.
    pub(super) fn lost_error(cause: &str) -> DbError {
        DbError::Unavailable(format!(
            "a sync of the database's WAL failed ({cause}); no write is taken until the server is restarted"
        ))
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
    /// fate unknown: the caller is answered with the error, and so is every
    /// later call ([`WalSync::lost`]); pushing again after the restart is
    /// safe (ops are stored once).
    pub(super) fn sync(&self, n: u64) -> Result<(), DbError> {
        let mut synced = super::lock(&self.synced);
        if synced.done >= n {
            return Ok(());
        }
        if let Some(cause) = self.lost() {
            return Err(Self::lost_error(cause));
        }
        let through = self.committed.load(Ordering::Acquire);
        if let Err(e) = self.fsync(&mut synced) {
            let cause = format!("{}: {e}", self.wal.display());
            tracing::error!(
                cause = %cause,
                "syncing the database's WAL failed: commits since the last good sync may \
                 not be on disk, and a later sync could not tell. Writes are refused \
                 (503; phones keep their changes) and /healthz answers 503 until the \
                 server is restarted; check the volume first. At the restart SQLite \
                 keeps the WAL up to its last whole commit and it is checkpointed"
            );
            let cause = self.lost.get_or_init(|| cause);
            return Err(Self::lost_error(cause));
        }
        synced.done = through;
        Ok(())
    }

    /// Tests: the last commit numbered and the last one on disk.
    #[cfg(test)]
    pub(super) fn numbers(&self) -> (u64, u64) {
        let synced = super::lock(&self.synced).done;
        (self.committed.load(Ordering::Acquire), synced)
    }

    /// Syncs the WAL, and the folder too the first time.
    fn fsync(&self, synced: &mut Synced) -> std::io::Result<()> {
        if self.fail.get().is_some_and(|f| f.load(Ordering::Acquire)) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        if synced.file.is_none() {
            // SQLite deletes the WAL only when its last connection closes,
            // and the writer's is open as long as this is: the same file.
            match OpenOptions::new().read(true).write(true).open(&self.wal) {
                Ok(f) => synced.file = Some(f),
                // No WAL: everything is in the database file.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        match &synced.file {
            Some(f) => f.sync_data()?,
            None => OpenOptions::new()
                .read(true)
                .write(true)
                .open(&self.main)?
                .sync_data()?,
        }
        if !synced.folder {
            if let Some(folder) = self.main.parent().filter(|p| !p.as_os_str().is_empty()) {
                File::open(folder)?.sync_all()?;
            }
            synced.folder = true;
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

    /// After one failed sync nothing is acknowledged again, even once syncs
    /// would succeed: the grouped and the plain write are refused without
    /// running, and a commit made before stays unacknowledged.
    #[test]
    fn after_a_failed_sync_no_write_runs_or_is_acknowledged() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("f.sqlite3")).unwrap();
        let fail = Arc::new(AtomicBool::new(false));
        db.set_test_sync_failure(fail.clone());
        db.write_blocking(|tx| tx.execute_batch("CREATE TABLE f (n INTEGER PRIMARY KEY)"))
            .unwrap();
        assert_eq!(db.durability_lost(), None);
        fail.store(true, Ordering::Release);
        let insert =
            |n: i64| move |tx: &crate::db::Sql| tx.execute("INSERT INTO f (n) VALUES (?1)", [n]);
        let e = db.write_grouped_blocking_as(insert(1)).unwrap_err();
        assert!(matches!(e, DbError::Unavailable(_)), "{e}");
        assert!(db.durability_lost().is_some());
        let (committed, synced) = db.wal_numbers().unwrap();
        assert!(
            synced < committed,
            "the failed commit is not counted on disk"
        );

        fail.store(false, Ordering::Release);
        for r in [
            db.write_grouped_blocking_as(insert(2)),
            db.write_blocking(insert(3)),
        ] {
            assert!(matches!(r, Err(DbError::Unavailable(_))), "{r:?}");
        }
        assert_eq!(
            db.wal_numbers().unwrap(),
            (committed, synced),
            "nothing ran or synced"
        );
        let kept: Vec<i64> = db
            .read_blocking(|c| c.query_map("SELECT n FROM f", (), |r| r.get(0)))
            .unwrap();
        assert_eq!(kept, [1], "only the write whose sync failed was committed");
        assert!(
            db.checkpoint().is_err(),
            "left to the next start's recovery"
        );
    }

    /// Opening a database whose WAL holds commits (a crash, or a failed
    /// sync) copies them into the main file before anything new is written.
    #[test]
    fn opening_folds_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let [path, copy, main_only] =
            ["w.sqlite3", "c.sqlite3", "m.sqlite3"].map(|n| dir.path().join(n));
        let db = Db::open(&path).unwrap();
        db.write_blocking(|tx| {
            tx.execute_batch("CREATE TABLE w (n INTEGER PRIMARY KEY); INSERT INTO w VALUES (7)")
        })
        .unwrap();
        let with = |p: &std::path::Path, suffix: &str| format!("{}{suffix}", p.display());
        // What a crash leaves: the file and its WAL, as they are now.
        for suffix in ["", "-wal"] {
            std::fs::copy(with(&path, suffix), with(&copy, suffix)).unwrap();
        }
        assert!(std::fs::metadata(with(&copy, "-wal")).unwrap().len() > 0);
        let reopened = Db::open(&copy).unwrap();
        // The main file alone now holds the commit (taken while the database
        // is open: closing it would checkpoint anyway).
        std::fs::copy(&copy, &main_only).unwrap();
        drop(reopened);
        let c = rusqlite::Connection::open(&main_only).unwrap();
        let n: i64 = c.query_row("SELECT n FROM w", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 7);
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
