//! What storage fails with: [`DbError`], whose variants say what failed.
//! HTTP decisions are not made here: `crate::error` maps a `DbError` to an
//! `ApiError` once, and handlers decide the rest.

use std::path::PathBuf;

/// A storage failure, naming what failed. Only `Conflict`, `NotFound` and
/// `StorageFull` carry meaning for a client (see `crate::error`); the rest
/// are internal errors whose text goes to the log, never to a client.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (the server's own message, when it sent one).
    #[error("postgresql: {}", super::pg::describe(.0))]
    Postgres(#[from] postgres::Error),
    /// The database cannot be reached: a connection could not be opened, or
    /// was lost during the call (PostgreSQL restarted, or ended the
    /// backend). A transaction it was in was not committed; the connection
    /// is opened again on next use.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A query that must return a row returned none.
    #[error("no row: {0}")]
    NoRow(String),
    /// A row that must be unique already exists.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The row asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A database call on the blocking pool did not finish: the pool was
    /// shut down, or the closure panicked (its transaction rolled back).
    #[error("database call did not finish (blocking pool shut down or the call panicked): {0}")]
    TaskLost(String),
    /// A password could not be hashed for storing.
    #[error("hashing a password failed: {0}")]
    PasswordHash(String),
    /// A file or folder the database needs could not be made.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (such as "creating the folder").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// An op the server wrote itself (a review, a return, a resolution)
    /// was refused by the merge rules: a bug, nothing is stored.
    #[error("the server's own {what} op was refused: {results}")]
    ServerOpRefused {
        /// Which op ("status", "resolution").
        what: &'static str,
        /// The push results, as debug text.
        results: String,
    },
    /// A stored value could not be decoded.
    #[error("stored {what} could not be decoded: {reason}")]
    Decode {
        /// Which value: the table and column, or the record.
        what: String,
        /// Why.
        reason: String,
    },
    /// A value could not be encoded for storing.
    #[error("{what} could not be encoded for storing: {reason}")]
    Encode {
        /// Which value.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Stored rows contradict each other (one names a row that is missing,
    /// a visit lacks its create op).
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
    /// The audit key file is missing, unreadable, or not the key the
    /// database's audit trail was written with.
    #[error("{0}")]
    AuditKey(String),
    /// A write failed for want of space (`SQLITE_FULL`) or with an I/O error:
    /// nothing was written; reads still work.
    #[error("storage full or failing: {0}")]
    StorageFull(String),
}

impl DbError {
    /// [`DbError::Decode`] of `what` for `reason`.
    pub fn decode(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        DbError::Decode {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    /// [`DbError::Encode`] of `what` for `reason`.
    pub fn encode(what: &'static str, reason: impl std::fmt::Display) -> Self {
        DbError::Encode {
            what,
            reason: reason.to_string(),
        }
    }

    /// The cause, when this is a full disk or an I/O error of either backend.
    pub(super) fn storage_cause(&self) -> Option<String> {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, m))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure
                ) =>
            {
                Some(m.clone().unwrap_or_else(|| f.to_string()))
            }
            DbError::Postgres(e)
                if e.code().is_some_and(|c| {
                    *c == postgres::error::SqlState::DISK_FULL
                        || *c == postgres::error::SqlState::IO_ERROR
                }) =>
            {
                Some(e.to_string())
            }
            DbError::StorageFull(cause) => Some(cause.clone()),
            _ => None,
        }
    }

    /// `Unavailable` for a lost PostgreSQL connection, `StorageFull` for a
    /// full disk or an I/O error, else unchanged.
    pub(super) fn classify(self) -> Self {
        if let DbError::Postgres(e) = &self {
            if super::pg::connection_lost(e) {
                return DbError::Unavailable(format!("connection lost: {e}"));
            }
        }
        match self.storage_cause() {
            Some(cause) => DbError::StorageFull(cause),
            None => self,
        }
    }

    /// True when the database could not be reached ([`DbError::Unavailable`],
    /// or a PostgreSQL error saying the connection was lost).
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable(_) => true,
            DbError::Postgres(e) => super::pg::connection_lost(e),
            _ => false,
        }
    }

    /// True for [`DbError::StorageFull`].
    pub fn is_storage_full(&self) -> bool {
        matches!(self, DbError::StorageFull(_))
    }
}

#[cfg(test)]
mod tests {
    use super::DbError;
    use crate::db;

    /// Failures reachable only by fault (a panic, a shut-down pool, a bug in
    /// the server's own ops, a damaged row) say what failed in the log line.
    #[test]
    fn each_failure_names_what_failed() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let cases = [
            (
                DbError::TaskLost("thread pool is gone".into()),
                "database call did not finish (blocking pool shut down or the call panicked): thread pool is gone",
            ),
            (
                DbError::PasswordHash("out of memory".into()),
                "hashing a password failed: out of memory",
            ),
            (
                DbError::Io {
                    action: "creating the folder",
                    path: "/srv/aidant".into(),
                    source: io,
                },
                "creating the folder /srv/aidant: denied",
            ),
            (
                DbError::ServerOpRefused {
                    what: "resolution",
                    results: "[Refused]".into(),
                },
                "the server's own resolution op was refused: [Refused]",
            ),
            (
                DbError::decode("column 0 of visits", "invalid length"),
                "stored column 0 of visits could not be decoded: invalid length",
            ),
            (
                DbError::encode("op", "key must be a string"),
                "op could not be encoded for storing: key must be a string",
            ),
            (
                DbError::Inconsistent("audit_head names row 7, which is missing".into()),
                "stored data is inconsistent: audit_head names row 7, which is missing",
            ),
            (
                DbError::Unavailable("connection lost".into()),
                "database unavailable: connection lost",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
            assert!(!e.is_storage_full(), "{e}");
        }
    }

    #[test]
    fn a_full_disk_is_storage_full() {
        let full = DbError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        ));
        assert!(full.classify().is_storage_full());
        let other = DbError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        ));
        assert!(!other.classify().is_storage_full());
    }

    /// A closure's own error type (a handler's `ApiError`, say) that turned
    /// a full disk into something else still yields `StorageFull`, and the
    /// database notes that writes are failing until a probe succeeds.
    #[test]
    fn a_full_disk_under_a_closure_s_own_error_is_storage_full() {
        #[derive(Debug)]
        enum Mine {
            Db(DbError),
            Other,
        }
        impl From<DbError> for Mine {
            fn from(e: DbError) -> Self {
                Mine::Db(e)
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let db = db::Db::open(&dir.path().join("t.sqlite3")).expect("open");
        let limit = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        db.set_test_page_limit(limit.clone());
        let pages: u64 = db
            .read_blocking(|c| c.query_row("PRAGMA page_count", (), |r| r.get::<_, i64>(0)))
            .expect("page count") as u64;
        limit.store(pages + 2, std::sync::atomic::Ordering::Release);
        let out: Result<(), Mine> = db.write_blocking_as(|tx| {
            let blob = "x".repeat(1 << 20);
            // The closure swallows the storage error into one of its own.
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('big', ?1)",
                [blob.as_str()],
            )
            .map_err(|_| Mine::Other)?;
            Ok(())
        });
        assert!(
            matches!(&out, Err(Mine::Db(DbError::StorageFull(_)))),
            "{out:?}"
        );
        assert!(db.writes_failing());
        // A decision of the closure's own is returned as it is.
        limit.store(1 << 30, std::sync::atomic::Ordering::Release);
        let refused: Result<(), Mine> = db.write_blocking_as(|_| Err(Mine::Other));
        assert!(matches!(refused, Err(Mine::Other)), "{refused:?}");
        db.probe_write().expect("space again");
        assert!(!db.writes_failing());
    }

    #[test]
    fn a_decoding_error_names_the_table() {
        assert_eq!(
            db::sql::table_of("SELECT id, body FROM ops WHERE seq > ?1"),
            "ops"
        );
        assert_eq!(db::sql::table_of("select x from\n  visits v"), "visits");
        assert_eq!(db::sql::table_of("PRAGMA user_version"), "a query");
    }
}
