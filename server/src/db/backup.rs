//! Backups of the SQLite database: a consistent copy taken while the server
//! runs (`VACUUM INTO` on a read-only connection: one read transaction, so
//! the copy is one committed state and the server's writer is never blocked),
//! its restore into a data folder (checked before it replaces anything: the
//! file's integrity, and the audit chain under its key), and the WAL
//! checkpoint at a graceful stop that leaves the database file alone complete.
//!
//! Files are written to a temporary name in the destination's folder,
//! flushed to disk, then moved into place (linked, when nothing may be
//! overwritten), and the folder is flushed too: a crash leaves either the old
//! state or the whole new file, never half of one.

use super::{audit, Db, DbError, MIGRATIONS};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination exists and `--force` was not given.
    #[error("{0} already exists; give --force to replace it")]
    Exists(PathBuf),
    /// A file could not be read, written or moved.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// SQLite failed, or the audit key could not be read.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The file is not an Aidant database, or is from a newer Aidant.
    #[error("{0}")]
    NotAidant(String),
    /// `PRAGMA integrity_check` did not answer `ok`.
    #[error("{path} fails SQLite's integrity check: {detail}")]
    Integrity {
        /// The file checked.
        path: PathBuf,
        /// SQLite's first complaint.
        detail: String,
    },
    /// The audit chain does not check out under the key given.
    #[error("the audit chain of {path} does not check out under the key {key}: {message}")]
    Audit {
        /// The backup.
        path: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The verdict, for the admin.
        message: String,
    },
    /// A server is using the database being replaced.
    #[error("{0} is in use (is a server running on it? stop it first)")]
    InUse(PathBuf),
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Db(DbError::Sqlite(e))
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// What a backup or a restore holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    /// The file's size, bytes.
    pub bytes: u64,
    /// Its schema version (`PRAGMA user_version`).
    pub schema: i64,
    /// Stored ops.
    pub ops: i64,
    /// Enrolled devices.
    pub devices: i64,
    /// Rows of the audit trail.
    pub audit_rows: i64,
}

/// Whether an existing destination may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse ([`BackupError::Exists`]).
    Refuse,
    /// Replace it (`--force`).
    Replace,
}

/// `name` in `to`'s folder, hidden and marked as ours: `.NAME.tmp-PID`.
fn temp_beside(to: &Path) -> PathBuf {
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "aidant".into());
    to.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Flushes a folder, so a rename or link in it survives a power cut.
fn sync_folder(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("flushing folder {}", dir.display())))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Flushes `temp`, then moves it to `to`: refusing an existing `to` (a hard
/// link fails if the name is taken, so a file that appeared meanwhile is not
/// replaced either) unless `overwrite`, and flushes the folder.
fn put_in_place(temp: &Path, to: &Path, overwrite: Overwrite) -> Result<(), BackupError> {
    std::fs::File::open(temp)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("flushing {}", temp.display())))?;
    match overwrite {
        Overwrite::Replace => std::fs::rename(temp, to).map_err(io(format!(
            "moving {} to {}",
            temp.display(),
            to.display()
        )))?,
        Overwrite::Refuse => {
            std::fs::hard_link(temp, to).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    BackupError::Exists(to.to_owned())
                } else {
                    BackupError::Io {
                        what: format!("linking {} to {}", temp.display(), to.display()),
                        source: e,
                    }
                }
            })?;
            std::fs::remove_file(temp).map_err(io(format!("removing {}", temp.display())))?;
        }
    }
    sync_folder(folder_of(to))
}

/// A temporary file beside a destination, removed (with any SQLite
/// journal files of its own) when dropped: after a failure, or after it was
/// moved into place, when nothing is left to remove.
struct TempFile(PathBuf);

impl TempFile {
    /// `.NAME.tmp-PID` beside `to`, cleared of what a crashed run left.
    fn beside(to: &Path) -> Self {
        let t = TempFile(temp_beside(to));
        t.clear();
        t
    }

    fn clear(&self) {
        let _ = std::fs::remove_file(&self.0);
        for suffix in ["-journal", "-wal", "-shm"] {
            let _ = std::fs::remove_file(with_suffix(&self.0, suffix));
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Refuses `path` when it exists and nothing may be replaced.
fn check_free(path: &Path, overwrite: Overwrite) -> Result<(), BackupError> {
    if overwrite == Overwrite::Refuse && path.exists() {
        return Err(BackupError::Exists(path.to_owned()));
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Checks that `c` is an Aidant database this binary knows, and counts what it holds.
fn contents(c: &Connection, path: &Path) -> Result<Contents, BackupError> {
    let schema: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_meta: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    if schema < 1 || !has_meta {
        return Err(BackupError::NotAidant(format!(
            "{} is not an Aidant database",
            path.display()
        )));
    }
    if schema > MIGRATIONS.len() as i64 {
        return Err(BackupError::NotAidant(format!(
            "{} has schema version {schema}, newer than this aidant knows ({}): use a newer aidant",
            path.display(),
            MIGRATIONS.len()
        )));
    }
    // From version 11 a row of `ops` holds a segment of ops; each op's id
    // is in `op_ids`.
    let stored = if schema >= 11 { "op_ids" } else { "ops" };
    let (ops, devices, audit_rows) = c.query_row(
        &format!(
            "SELECT (SELECT COUNT(*) FROM {stored}), (SELECT COUNT(*) FROM devices), \
             (SELECT COUNT(*) FROM audit)"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let bytes = std::fs::metadata(path)
        .map_err(io(format!("reading {}", path.display())))?
        .len();
    Ok(Contents {
        bytes,
        schema,
        ops,
        devices,
        audit_rows,
    })
}

fn integrity(c: &Connection, path: &Path) -> Result<(), BackupError> {
    let detail: String = c.query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))?;
    if detail != "ok" {
        return Err(BackupError::Integrity {
            path: path.to_owned(),
            detail,
        });
    }
    Ok(())
}

/// Copies the database at `db` to `to`, consistently, while a server may be
/// writing to it. The copy is one self-contained file (rollback journal, not
/// WAL), checked with `PRAGMA integrity_check` before it is moved into place.
/// Needs only read access to the database; never touches the audit key.
pub fn backup(db: &Path, to: &Path, overwrite: Overwrite) -> Result<Contents, BackupError> {
    if !db.is_file() {
        return Err(BackupError::NotAidant(format!(
            "no database at {}",
            db.display()
        )));
    }
    check_free(to, overwrite)?;
    let source = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    source.busy_timeout(std::time::Duration::from_secs(30))?;
    contents(&source, db)?;
    let dir = folder_of(to);
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let temp = TempFile::beside(to);
    let target = temp.0.to_str().ok_or_else(|| {
        BackupError::NotAidant(format!(
            "{}: the backup's path must be valid UTF-8",
            to.display()
        ))
    })?;
    // One read transaction: the copy is the state of one commit, and in WAL
    // mode the server's writer goes on meanwhile.
    source.execute("VACUUM INTO ?1", [target])?;
    drop(source);
    let copy = Connection::open(&temp.0)?;
    let mode: String = copy.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::NotAidant(format!(
            "{}: could not leave WAL mode ({mode})",
            temp.0.display()
        )));
    }
    integrity(&copy, &temp.0)?;
    let found = contents(&copy, &temp.0)?;
    copy.close().map_err(|(_, e)| BackupError::from(e))?;
    put_in_place(&temp.0, to, overwrite)?;
    Ok(found)
}

/// Writes the audit key read from `from` to `to` (mode 0600, flushed, moved
/// into place). An existing `to` holding the same key is left as it is.
pub fn copy_key(from: &Path, to: &Path, overwrite: Overwrite) -> Result<(), BackupError> {
    let key = std::fs::read(from).map_err(io(format!("reading audit key {}", from.display())))?;
    audit::AuditKey::load(from)?;
    if to.exists() {
        if std::fs::read(to).ok().as_deref() == Some(&key[..]) {
            return Ok(());
        }
        check_free(to, overwrite)?;
    }
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    let temp = TempFile::beside(to);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    options
        .open(&temp.0)
        .and_then(|mut f| f.write_all(&key))
        .map_err(io(format!("writing {}", temp.0.display())))?;
    put_in_place(&temp.0, to, overwrite)
}

/// Restores the backup `from` as the database `db`, whose audit key is (or,
/// with `key_from`, will be copied to) `key`. Before anything in place is
/// touched, a copy of the backup beside `db` must pass the integrity check
/// and its audit chain must check out under the key. With `Replace`, an
/// existing database is replaced (refused while a server has it open) and
/// its `-wal` and `-shm` files removed, so they cannot be applied to the
/// restored file.
pub fn restore(
    from: &Path,
    key_from: Option<&Path>,
    db: &Path,
    key: &Path,
    overwrite: Overwrite,
) -> Result<Contents, BackupError> {
    if !from.is_file() {
        return Err(BackupError::NotAidant(format!(
            "no backup at {}",
            from.display()
        )));
    }
    let (wal, shm) = (with_suffix(db, "-wal"), with_suffix(db, "-shm"));
    for p in [db, &wal, &shm] {
        check_free(p, overwrite)?;
    }
    let key_file = key_from.unwrap_or(key);
    if !key_file.is_file() {
        return Err(BackupError::NotAidant(format!(
            "audit key file {} not found: give the key saved with the backup \
             (--key-from), or put it there first",
            key_file.display()
        )));
    }
    let audit_key = audit::AuditKey::load(key_file)?;
    let dir = folder_of(db);
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let temp = TempFile::beside(db);
    std::fs::copy(from, &temp.0).map_err(io(format!(
        "copying {} to {}",
        from.display(),
        temp.0.display()
    )))?;
    let copy = Connection::open(&temp.0)?;
    copy.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    })?;
    integrity(&copy, from)?;
    let found = contents(&copy, from)?;
    let verdict = audit::verify(&super::Sql::lite(&copy, Some(&audit_key)))?;
    if let audit::Verdict::Broken { message, .. } = verdict {
        return Err(BackupError::Audit {
            path: from.to_owned(),
            key: key_file.to_owned(),
            message,
        });
    }
    copy.close().map_err(|(_, e)| BackupError::from(e))?;
    if db.exists() {
        release(db)?;
    }
    if let Some(k) = key_from {
        copy_key(k, key, overwrite)?;
    }
    for p in [&wal, &shm] {
        match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io(format!("removing {}", p.display()))(e))
            }
            _ => {}
        }
    }
    put_in_place(&temp.0, db, overwrite)?;
    Ok(found)
}

/// Checks that no one has the database at `db` open: leaving WAL mode needs
/// every other connection closed, and it folds the WAL into the file.
fn release(db: &Path) -> Result<(), BackupError> {
    let c = Connection::open(db)?;
    c.busy_timeout(std::time::Duration::ZERO)?;
    match c.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    }) {
        Ok(m) if m.eq_ignore_ascii_case("delete") => Ok(()),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if !matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            // Not a database SQLite can read: nothing to protect, it is replaced.
            Ok(())
        }
        _ => Err(BackupError::InUse(db.to_owned())),
    }
}

/// What a WAL checkpoint came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// True when another connection kept it from finishing.
    pub busy: bool,
    /// Frames in the WAL before, and frames copied into the database file.
    pub frames: (i64, i64),
}

impl Db {
    /// `PRAGMA wal_checkpoint(TRUNCATE)` on the writer: every committed write
    /// goes into the database file and the `-wal` file is emptied, so a copy
    /// of the database file alone holds everything. Called at a graceful stop.
    /// Nothing to do on PostgreSQL (`busy: false, frames: (0, 0)`).
    pub fn checkpoint(&self) -> Result<Checkpoint, DbError> {
        // After a failed fsync the WAL's frames may be held only in memory,
        // where the kernel may have dropped some: left for the next start,
        // whose recovery checks each frame (`durable.rs`).
        if let Some(cause) = self.durability_lost() {
            return Err(DbError::Unavailable(format!(
                "not checkpointed: a sync of the WAL failed ({cause}); the next start recovers it"
            )));
        }
        self.with_sqlite_writer(|conn| {
            let (busy, log, done): (i64, i64, i64) =
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            Ok(Checkpoint {
                busy: busy != 0,
                frames: (log, done),
            })
        })
        .unwrap_or(Ok(Checkpoint {
            busy: false,
            frames: (0, 0),
        }))
    }
}
