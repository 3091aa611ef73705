//! All SQL lives under this module: the connection handling, the numbered
//! migrations of both backends, and one submodule per resource. Nothing
//! outside `db` names rusqlite or postgres: modules take a [`Sql`] handle
//! (`sql.rs`), which runs the same statements on SQLite or PostgreSQL.
//! Blocking database calls run on actix's blocking thread pool
//! ([`Db::write`], [`Db::read`]), never on the async executor.

pub mod audit;
pub mod backup;
pub mod bootstrap;
mod checkpointer;
pub mod checks;
mod durable;
mod error;
pub mod export;
mod group;
pub mod people;
mod pg;
mod pg_tls;
pub mod scope;
pub mod sql;
pub mod sync;
pub mod throttle;
mod values;

/// A database for one test: a SQLite file, or under `scripts/pg.sh`
/// (AIDANT_TEST_DATABASE_URL set) a new PostgreSQL database.
#[cfg(test)]
pub(crate) fn scratch() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = match std::env::var("AIDANT_TEST_DATABASE_URL") {
        Ok(base) => {
            let name = format!("g_{}", uuid::Uuid::new_v4().simple());
            postgres::Client::connect(&base, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(&format!("CREATE DATABASE {name}")))
                .expect("test cluster");
            let (head, _) = base.rsplit_once('/').expect("URL ends in /DATABASE");
            let at = Location::Postgres(format!("{head}/{name}"));
            Db::open_at(&at, &dir.path().join("audit.key")).unwrap()
        }
        Err(_) => Db::open(&dir.path().join("g.sqlite3")).unwrap(),
    };
    (dir, db)
}

pub use error::DbError;
pub use sql::Sql;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Numbered migrations, applied in order at start-up (`PRAGMA user_version`).
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_exports.sql"),
    include_str!("migrations/0003_need_to_know.sql"),
    include_str!("migrations/0004_replicas.sql"),
    include_str!("migrations/0005_phone_recovery.sql"),
    include_str!("migrations/0006_returns.sql"),
    include_str!("migrations/0007_visit_states.sql"),
    include_str!("migrations/0008_login_failures.sql"),
    include_str!("migrations/0009_wire_ops.sql"),
    include_str!("migrations/0010_visit_states_rowid.sql"),
    include_str!("migrations/0011_op_segments.sql"),
];

/// Number of read connections.
const READERS: usize = 4;

/// Where the database is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The embedded SQLite file.
    File(PathBuf),
    /// A PostgreSQL connection string (`postgres://…` or `host=… dbname=…`).
    Postgres(String),
}

impl Location {
    /// A file path, or a URL starting `postgres://` / `postgresql://`.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_owned())
        } else {
            Location::File(PathBuf::from(s))
        }
    }

    /// For logs and messages: the path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Postgres(url) => pg::redact(url),
        }
    }
}

enum Store {
    Lite {
        path: PathBuf,
        writer: Mutex<Connection>,
        readers: Vec<Mutex<Connection>>,
        /// Writes waiting for the next group commit ([`Db::write_grouped`]).
        queue: group::Queue,
        /// Makes the writer's commits durable once it is given back.
        wal: durable::WalSync,
        /// Dropped after `writer`, whose WAL hook ends its thread.
        _checkpointer: checkpointer::Checkpointer,
    },
    Pg {
        config: postgres::Config,
        /// How connections are made (`pg_tls.rs`).
        tls: pg_tls::Tls,
        writer: Box<Mutex<sql::PgConn>>,
        readers: Vec<Mutex<sql::PgConn>>,
        /// Writes waiting for the next group commit ([`Db::write_grouped`]).
        queue: group::Queue,
    },
}

struct Inner {
    location: Location,
    store: Store,
    key: OnceLock<audit::AuditKey>,
    next_reader: AtomicUsize,
    /// Set while writes fail with [`DbError::StorageFull`].
    writes_failing: AtomicBool,
    /// Tests only: the writer's `PRAGMA max_page_count` (0: leave it).
    page_limit: OnceLock<Arc<AtomicU64>>,
    /// This open database, among those of the process ([`Sql::store_id`]).
    id: u64,
    /// Group commits run, and the writes they held ([`Db::group_stats`]).
    groups: (AtomicU64, AtomicU64),
}

/// The next [`Inner::id`].
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The database: one writer connection, a few readers; SQLite in WAL mode,
/// or PostgreSQL with writes serialised by an advisory lock (see
/// ARCHITECTURE.md, "Storage").
#[derive(Clone)]
pub struct Db(Arc<Inner>);

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: a commit is on disk when it returns. The writer, once the
    // migrations have run, syncs on its own instead (`durable.rs`).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.set_prepared_statement_cache_capacity(64);
    // Plans that do not depend on the values bound: otherwise SQLite marks
    // some cached statements (a join on a bound id, a visit's ops after a
    // bound cursor) to be prepared again whenever a new value is bound, and
    // the load bench spent 6% of a push's time in the parser.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a transaction open (it rolls
    // back on drop), so a poisoned connection is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What opening does with the audit key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyUse {
    /// Create the key file if missing, tie the database to the key (writing
    /// the keying marker when it has none), refuse a key that does not match.
    Write,
    /// The key file must exist; mismatches are left for `audit::verify` to report.
    Verify,
}

impl Db {
    /// Opens (creating if needed) the database file, applies migrations, and
    /// keys the audit trail with the key file `audit.key` in the same folder
    /// ([`audit::default_key_path`]), creating it if missing. See [`Db::open_with`].
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Self::open_with(path, &audit::default_key_path(path))
    }

    /// [`Db::open`] with the audit key in `key_path`. The key file is created
    /// (32 random bytes, hex, mode 0600) when missing and never overwritten.
    /// Refuses a key that is not the one the trail was written with, and a
    /// trail whose keying marker was removed (see `db::audit`).
    pub fn open_with(path: &Path, key_path: &Path) -> Result<Self, DbError> {
        Self::open_at(&Location::File(path.to_owned()), key_path)
    }

    /// Opens the database at `location` (a SQLite file or PostgreSQL) with
    /// the audit key in `key_path`, as [`Db::open_with`] does.
    pub fn open_at(location: &Location, key_path: &Path) -> Result<Self, DbError> {
        Self::open_keyed(location, key_path, KeyUse::Write)
    }

    /// Opens a database to check its audit trail: the key file must exist, is
    /// never created, and a wrong key or a missing marker is not refused here
    /// but reported by `audit::verify`. Migrations still run.
    pub fn open_to_verify(path: &Path, key_path: &Path) -> Result<Self, DbError> {
        Self::open_keyed(&Location::File(path.to_owned()), key_path, KeyUse::Verify)
    }

    /// [`Db::open_to_verify`] at any location.
    pub fn open_at_to_verify(location: &Location, key_path: &Path) -> Result<Self, DbError> {
        Self::open_keyed(location, key_path, KeyUse::Verify)
    }

    fn open_keyed(location: &Location, key_path: &Path, key_use: KeyUse) -> Result<Self, DbError> {
        let store = match location {
            Location::File(path) => open_sqlite(path)?,
            Location::Postgres(url) => pg::off_runtime(|| pg::open(url, READERS))?,
        };
        let db = Self(Arc::new(Inner {
            location: location.clone(),
            store,
            key: OnceLock::new(),
            next_reader: AtomicUsize::new(0),
            writes_failing: AtomicBool::new(false),
            page_limit: OnceLock::new(),
            groups: Default::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }));
        // A key is made only for a trail not yet keyed: never a stray second
        // key beside a database whose key is kept elsewhere.
        let keyed = db.write_blocking(audit::is_keyed)?;
        let (key, key_created) = match key_use {
            KeyUse::Write if !key_path.exists() && keyed => {
                return Err(DbError::AuditKey(format!(
                    "audit key file {} not found, and this database's audit trail is keyed: \
                     give the key file the server uses (--audit-key or AIDANT_AUDIT_KEY_FILE)",
                    key_path.display()
                )))
            }
            KeyUse::Write => audit::AuditKey::load_or_create(key_path)?,
            KeyUse::Verify => (audit::AuditKey::load(key_path)?, false),
        };
        let _ = db.0.key.set(key);
        if key_use == KeyUse::Write {
            db.write_blocking(|tx| audit::attach(tx, key_created, key_path))?;
        }
        Ok(db)
    }

    /// Where the database is.
    pub fn location(&self) -> &Location {
        &self.0.location
    }

    /// The SQLite file's path; `None` on PostgreSQL.
    pub fn file(&self) -> Option<&Path> {
        match &self.0.location {
            Location::File(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// Runs `f` in a write transaction, committed when `f` returns Ok. On
    /// SQLite an immediate transaction on the one writer connection; on
    /// PostgreSQL a transaction that first takes the database's write lock
    /// (an advisory lock), so writers from every instance run one at a time
    /// and op cursors and audit rows commit in the order they were numbered.
    /// A full disk (or an I/O error) is [`DbError::StorageFull`]; the first
    /// such failure is logged for the operator, and so is the recovery.
    pub fn write_blocking<T: Send>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, DbError> + Send,
    ) -> Result<T, DbError> {
        self.write_blocking_as(f)
    }

    /// [`Db::write_blocking`] with a closure that fails with an error of
    /// its own (such as a handler's `ApiError`); a failure of the storage
    /// itself reaches it through `From<DbError>`. A closure that failed
    /// after a statement hit a full disk fails with
    /// `E::from(DbError::StorageFull(..))`, whatever it returned.
    pub fn write_blocking_as<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        let key = self.0.key.get();
        // The outer error is the storage's (beginning, committing, a full
        // disk); the inner one the closure's.
        let result: Result<Result<T, E>, DbError> = match &self.0.store {
            Store::Lite { writer, wal, .. } => {
                let mut conn = lock(writer);
                let mut commit = None;
                let out = (|| {
                    // After a failed fsync nothing runs (`durable.rs`).
                    if let Some(cause) = wal.lost() {
                        return Err(durable::WalSync::lost_error(cause));
                    }
                    self.before_write(&mut conn)?;
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let sql = Sql::lite(&tx, key).for_store(self.0.id);
                    let out = f(&sql);
                    let failure = sql.storage_failure();
                    let after = sql.take_after_commit();
                    drop(sql);
                    match (out, failure) {
                        (Ok(out), _) => {
                            tx.commit()?;
                            commit = Some(wal.committed());
                            after.into_iter().for_each(|f| f());
                            Ok(Ok(out))
                        }
                        (Err(_), Some(cause)) => Err(DbError::StorageFull(cause)),
                        (Err(e), None) => Ok(Err(e)),
                    }
                })();
                // Durable before it returns; the next write need not wait.
                drop(conn);
                commit.map_or(Ok(()), |n| wal.sync(n)).and(out)
            }
            Store::Pg { writer, .. } => {
                pg::off_runtime(|| pg::write(&mut lock(writer), (key, self.0.id), f))
            }
        }
        .map_err(DbError::classify);
        if let Err(e) = &result {
            self.note_failure(e);
        }
        result.unwrap_or_else(|e| Err(E::from(e)))
    }

    /// [`Db::write_blocking_as`], committed together with the writes that
    /// queue up meanwhile: each in its own savepoint, answered only once
    /// the group has committed, one fsync for all (`db/group.rs`). For
    /// pushes, which arrive all at once at the end of a shift. On
    /// PostgreSQL the group holds the write lock once (`pg::write_group`).
    pub fn write_grouped_blocking_as<T: Send + 'static, E: From<DbError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let key = self.0.key.get();
        let count = |jobs: &[group::Job]| {
            self.0.groups.0.fetch_add(1, Ordering::Relaxed);
            self.0
                .groups
                .1
                .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        };
        match &self.0.store {
            Store::Lite {
                writer, queue, wal, ..
            } => group::write(
                queue,
                group::job(f),
                || lock(writer),
                |conn, take| {
                    let jobs = take();
                    // Queued before an fsync failed: not run (the module doc
                    // of `durable`).
                    if let Some(cause) = wal.lost() {
                        group::fail_all(jobs, &durable::WalSync::lost_error(cause));
                        return group::Ended::none();
                    }
                    count(&jobs);
                    if let Err(e) = self.before_write(conn) {
                        let e = e.classify();
                        self.note_failure(&e);
                    }
                    let mut ended =
                        group::run_lite(conn, jobs, (key, self.0.id), |e| self.note_failure(e));
                    if ended.committed() {
                        ended.commit = Some(wal.committed());
                    }
                    ended
                },
                |n| wal.sync(n).inspect_err(|e| self.note_failure(e)),
            ),
            Store::Pg { writer, queue, .. } => pg::off_runtime(|| {
                group::write(
                    queue,
                    group::job(f),
                    || lock(writer),
                    |conn, take| {
                        let take = || {
                            let jobs = take();
                            count(&jobs);
                            jobs
                        };
                        pg::write_group(conn, (key, self.0.id), &take, |e| self.note_failure(e))
                    },
                    // A PostgreSQL commit is durable when it returns.
                    |_| Ok(()),
                )
            }),
        }
    }

    /// Group commits run so far and the writes they held.
    pub fn group_stats(&self) -> (u64, u64) {
        (
            self.0.groups.0.load(Ordering::Relaxed),
            self.0.groups.1.load(Ordering::Relaxed),
        )
    }

    /// Tests only: the SQLite writer's last commit number and the number up
    /// to which commits are on disk (`durable::WalSync`).
    #[cfg(test)]
    pub(crate) fn wal_numbers(&self) -> Option<(u64, u64)> {
        match &self.0.store {
            Store::Lite { wal, .. } => Some(wal.numbers()),
            Store::Pg { .. } => None,
        }
    }

    /// The tests' page limit, set on the SQLite writer before a write.
    fn before_write(&self, conn: &mut Connection) -> Result<(), DbError> {
        if let Some(limit) = self.0.page_limit.get() {
            let n = limit.load(Ordering::Acquire);
            if n > 0 {
                conn.pragma_update(None, "max_page_count", i64::try_from(n).unwrap_or(i64::MAX))?;
            }
        }
        Ok(())
    }

    /// Logs the first of a run of failed writes for want of space.
    fn note_failure(&self, e: &DbError) {
        if let DbError::StorageFull(cause) = e {
            if !self.0.writes_failing.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    database = %self.0.location.describe(),
                    cause = %cause,
                    "cannot write to the database: its disk is full (or failing). Nothing is lost; \
                     pushes get 507 storage_full and /readyz says not ready until space is freed \
                     on the volume holding the database and its -wal file; writes resume by themselves"
                );
            }
        }
    }

    /// True while writes fail for want of space: from a failed write until
    /// [`Db::probe_write`] succeeds (a small write that happens to fit, such
    /// as a last-seen time, says nothing about the space left).
    pub fn writes_failing(&self) -> bool {
        self.0.writes_failing.load(Ordering::Acquire)
    }

    /// A write of 1 MiB (taken back in the same transaction), to learn
    /// whether writes work again with some room to spare: used by readiness
    /// while they were failing.
    pub fn probe_write(&self) -> Result<(), DbError> {
        self.write_blocking(|tx| {
            let blob = vec![0u8; 1 << 20];
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('write_probe', ?1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [hex::encode(&blob[..1 << 19])],
            )?;
            tx.execute("DELETE FROM meta WHERE key = 'write_probe'", ())?;
            Ok(())
        })?;
        if self.0.writes_failing.swap(false, Ordering::AcqRel) {
            tracing::warn!(database = %self.0.location.describe(), "database writes work again");
        }
        Ok(())
    }

    /// The cause, once a sync of the SQLite WAL has failed: from then on
    /// no write is taken, until the server is restarted (`durable.rs`).
    /// Always `None` on PostgreSQL, which handles its own syncs.
    pub fn durability_lost(&self) -> Option<String> {
        match &self.0.store {
            Store::Lite { wal, .. } => wal.lost().map(str::to_owned),
            Store::Pg { .. } => None,
        }
    }

    /// Tests only: every sync of the SQLite WAL fails while `fail` is set,
    /// as on a failing disk. Nothing on PostgreSQL.
    pub fn set_test_sync_failure(&self, fail: Arc<std::sync::atomic::AtomicBool>) {
        if let Store::Lite { wal, .. } = &self.0.store {
            wal.fail_when(fail);
        }
    }

    /// Tests only: the writer's `PRAGMA max_page_count` is set from `limit`
    /// before every write (when not 0), so a test can make the database
    /// "full" and give the space back, without filling a disk.
    pub fn set_test_page_limit(&self, limit: Arc<AtomicU64>) {
        let _ = self.0.page_limit.set(limit);
    }

    /// Runs `f` on a read-only connection (autocommit: each statement sees
    /// what was committed when it started).
    pub fn read_blocking<T: Send>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, DbError> + Send,
    ) -> Result<T, DbError> {
        self.read_blocking_as(f)
    }

    /// [`Db::read_blocking`] with a closure that fails with an error of its own.
    pub fn read_blocking_as<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        let key = self.0.key.get();
        match &self.0.store {
            Store::Lite { readers, .. } => {
                let i = self.0.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
                let conn = lock(&readers[i]);
                let sql = Sql::lite(&conn, key);
                let out = f(&sql);
                drop(sql);
                out
            }
            Store::Pg { readers, .. } => {
                let i = self.0.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
                pg::off_runtime(|| pg::read(&mut lock(&readers[i]), key, f))
            }
        }
    }

    /// Runs `f` on a connection of its own, inside one read-only transaction:
    /// every query sees the same state, and a long export holds none of the
    /// shared reader connections.
    pub fn read_snapshot<T: Send, E: From<DbError> + Send>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send,
    ) -> Result<T, E> {
        let key = self.0.key.get();
        match &self.0.store {
            Store::Lite { path, .. } => {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(DbError::from)?;
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .map_err(DbError::from)?;
                conn.execute_batch("BEGIN").map_err(DbError::from)?;
                let out = f(&Sql::lite(&conn, key))?;
                conn.execute_batch("COMMIT").map_err(DbError::from)?;
                Ok(out)
            }
            Store::Pg { config, tls, .. } => {
                pg::off_runtime(|| pg::snapshot((config, tls), key, f))
            }
        }
    }

    /// [`Db::read_snapshot`] on the blocking pool: for long reads (on
    /// PostgreSQL their rows are then fetched a few hundred at a time).
    pub async fn snapshot<T: Send + 'static, E: From<DbError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let db = self.clone();
        on_pool(move || db.read_snapshot(f)).await
    }

    /// [`Db::write_blocking`] on the blocking pool. The closure may fail
    /// with its own error type `E` (a handler's `ApiError`, say), so what it
    /// decides is returned as it is; storage failures become `E` through
    /// `From<DbError>`.
    pub async fn write<T: Send + 'static, E: From<DbError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let db = self.clone();
        on_pool(move || db.write_blocking_as(f)).await
    }

    /// [`Db::write_grouped_blocking_as`] on the blocking pool.
    pub async fn write_grouped<T: Send + 'static, E: From<DbError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let db = self.clone();
        on_pool(move || db.write_grouped_blocking_as(f)).await
    }

    /// [`Db::read_blocking`] on the blocking pool, with the closure's own
    /// error type as in [`Db::write`].
    pub async fn read<T: Send + 'static, E: From<DbError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Sql) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let db = self.clone();
        on_pool(move || db.read_blocking_as(f)).await
    }

    /// `PRAGMA integrity_check` on SQLite, `ok` when PostgreSQL answers (for
    /// readiness and tests).
    pub fn integrity_check(&self) -> Result<String, DbError> {
        self.read_blocking(|c| match c.backend() {
            sql::Backend::Sqlite => c.query_row("PRAGMA integrity_check", (), |r| r.get(0)),
            sql::Backend::Postgres => {
                c.query_row("SELECT 1", (), |r| r.get::<_, i64>(0))?;
                Ok("ok".to_owned())
            }
        })
    }

    /// Benchmarks only: the raw insert rate of this backend, rows a second,
    /// for rows shaped like stored ops (`rows` rows, `batch` to a
    /// transaction, one prepared insert per row, through the same writer
    /// as pushes) into a scratch table dropped afterwards.
    pub fn raw_insert_rate(&self, rows: usize, batch: usize) -> Result<f64, DbError> {
        self.write_blocking(|tx| {
            tx.execute_batch(
                "DROP TABLE IF EXISTS bench_raw;
                 CREATE TABLE bench_raw (replica TEXT NOT NULL, seq BIGINT NOT NULL,
                   visit_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (replica, seq))",
            )
        })?;
        let replica = uuid::Uuid::new_v4().to_string();
        let visit = uuid::Uuid::new_v4().to_string();
        let body = "x".repeat(180);
        let start = std::time::Instant::now();
        let mut seq = 0i64;
        while (seq as usize) < rows {
            let n = batch.min(rows - seq as usize) as i64;
            self.write_blocking(|tx| {
                for s in seq..seq + n {
                    tx.execute(
                        "INSERT INTO bench_raw (replica, seq, visit_id, body) VALUES (?1, ?2, ?3, ?4)",
                        sql::args![replica, s, visit, body],
                    )?;
                }
                Ok(())
            })?;
            seq += n;
        }
        let rate = rows as f64 / start.elapsed().as_secs_f64();
        self.write_blocking(|tx| tx.execute_batch("DROP TABLE bench_raw"))?;
        Ok(rate)
    }

    /// The SQLite writer connection, for the SQLite-only tasks of `db`
    /// (online backup, checkpoints). `None` on PostgreSQL.
    pub(crate) fn with_sqlite_writer<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError>,
    ) -> Option<Result<T, DbError>> {
        match &self.0.store {
            Store::Lite { writer, .. } => Some(f(&mut lock(writer))),
            Store::Pg { .. } => None,
        }
    }
}

/// Runs `job` on actix's blocking pool (database calls never run on the
/// executor); a lost task becomes [`DbError::TaskLost`].
async fn on_pool<T: Send + 'static, E: From<DbError> + Send + 'static>(
    job: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    actix_web::web::block(job)
        .await
        .map_err(|e| E::from(DbError::TaskLost(e.to_string())))?
}

fn open_sqlite(path: &Path) -> Result<Store, DbError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
                action: "creating the folder",
                path: dir.to_owned(),
                source,
            })?;
        }
    }
    let mut writer = Connection::open(path)?;
    writer.pragma_update(None, "journal_mode", "WAL")?;
    configure(&writer)?;
    // The writer walks the ops table's indexes on every push: a page cache
    // of up to 32 MiB (SQLite's default is 2 MiB) keeps their inner pages
    // in memory rather than re-reading them from the OS. Filled only as the
    // database grows.
    writer.pragma_update(None, "cache_size", -32_768)?;
    // Grouped pushes each run in a savepoint, which copies every page it
    // first changes into a sub-journal; past 64 KiB SQLite spills that to a
    // temporary file (half the writer's write calls in the load bench).
    // Kept in memory instead: it lives only until the savepoint ends.
    writer.pragma_update(None, "temp_store", "MEMORY")?;
    // Whatever SQLite recovered from the WAL (checking each frame's
    // checksum) goes into the database file, synced, before anything new is
    // written: after a failed fsync of the last run, frames the kernel
    // still held in memory but never wrote would otherwise stay a hole in
    // the WAL on disk, under commits acknowledged later (`durable.rs`).
    // Once every frame is copied, the next commit starts the WAL over.
    // PASSIVE: a command opening the database beside a running server
    // waits for no one and holds up none of its writes.
    writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    migrate(&mut writer)?;
    // The writer's commits only write the WAL; each caller is answered
    // after `durable::WalSync` has synced it, without holding the writer.
    writer.pragma_update(None, "synchronous", "NORMAL")?;
    let checkpointer = checkpointer::start(path, &mut writer)?;
    let readers = (0..READERS)
        .map(|_| {
            let c = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&c)?;
            Ok(Mutex::new(c))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(Store::Lite {
        path: path.to_owned(),
        writer: Mutex::new(writer),
        readers,
        queue: group::Queue::default(),
        wal: durable::WalSync::new(path),
        _checkpointer: checkpointer,
    })
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(migration = i + 1, "applied migration");
    }
    Ok(())
}

/// Narrows a `… WHERE 1 = 1` query to a caller's operations (`scope`; `None`:
/// all) and to one asked-for `operation`, binding ids through `args`. False
/// when the scope is empty: nothing can match, so the caller skips the query.
pub(crate) fn filter_operations(
    sql: &mut String,
    args: &mut Vec<sql::Value>,
    scope: Option<&[sync_core::OperationId]>,
    operation: Option<sync_core::OperationId>,
) -> bool {
    if let Some(ops) = scope {
        if ops.is_empty() {
            return false;
        }
        sql.push_str(" AND operation_id IN (");
        sql.push_str(&vec!["?"; ops.len()].join(","));
        sql.push(')');
        args.extend(ops.iter().map(|o| sql::Value::Text(o.to_string())));
    }
    if let Some(o) = operation {
        sql.push_str(" AND operation_id = ?");
        args.push(sql::Value::Text(o.to_string()));
    }
    true
}

/// Maps a unique-constraint failure to [`DbError::Conflict`].
pub(crate) fn conflict_on_unique(e: DbError, what: &str) -> DbError {
    match e {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            DbError::Conflict(what.to_owned())
        }
        DbError::Postgres(p)
            if p.code().is_some_and(|c| {
                *c == postgres::error::SqlState::UNIQUE_VIOLATION
                    || *c == postgres::error::SqlState::FOREIGN_KEY_VIOLATION
                    || *c == postgres::error::SqlState::CHECK_VIOLATION
            }) =>
        {
            DbError::Conflict(what.to_owned())
        }
        other => other,
    }
}

/// Reads a meta value.
pub fn meta_get(c: &Sql, key: &str) -> Result<Option<String>, DbError> {
    c.query_opt("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
}

/// Writes a meta value.
pub fn meta_set(c: &Sql, key: &str, value: &str) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// Deletes a meta value.
pub fn meta_delete(c: &Sql, key: &str) -> Result<(), DbError> {
    c.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}
