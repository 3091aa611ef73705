//! The PostgreSQL side of the storage boundary: connections, migrations, and
//! the write lock.
//!
//! The synchronous `postgres` crate is used on actix's blocking pool, the
//! same threads that run SQLite's calls, so every module under `db` is one
//! body of synchronous code for both engines (tokio-postgres with a pool
//! would have made each of them async for one backend only).
//!
//! **Writes from several instances.** Every write transaction first takes
//! one transaction-scoped advisory lock ([`WRITE_LOCK`]), held until it
//! commits: writers run one at a time across every `aidant serve` process on
//! the database, as SQLite's single writer does on one machine. Hence an op's
//! cursor (a `BIGSERIAL`) is numbered only after every transaction that took
//! a smaller one has committed, and a pull that has read up to cursor N never
//! later finds a new op below N (the sequence-gap problem does not arise);
//! the audit chain's head is read and extended by one writer at a time.
//!
//! **Lost connections.** Each connection (the writer and every reader) is
//! opened again when it was lost (PostgreSQL restarted, or ended the
//! backend): a client found closed is replaced (its prepared statements with
//! it), one left idle for a second or more, or whose sibling connection was
//! just found lost, is first checked with an empty query (so a restart
//! costs at most one request, none after a quiet second), and a call that
//! fails because the connection went away drops it. That call fails with [`DbError::Unavailable`] (503
//! `storage_unavailable`): the transaction it was in ends with the backend,
//! so nothing of it is committed, and the advisory lock is released with
//! it. The next call connects again.

use super::audit::AuditKey;
use super::pg_tls::Tls;
use super::sql::{PgClient, PgConn, Sql};
use super::{group, DbError, Store};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The advisory lock every write transaction takes (an arbitrary constant:
/// "aidant" in ASCII).
const WRITE_LOCK: i64 = 0x61_69_64_61_6e_74;

/// Numbered migrations for PostgreSQL, in step with SQLite's: version N
/// here holds the same tables as SQLite's migration N (the first file brings
/// a new database to SQLite's version 7 at once).
const MIGRATIONS: &[(i64, &str)] = &[
    (7, include_str!("migrations/pg/0007_baseline.sql")),
    (8, include_str!("migrations/pg/0008_login_failures.sql")),
    (9, include_str!("migrations/pg/0009_wire_ops.sql")),
    (11, include_str!("migrations/pg/0011_op_segments.sql")),
];

/// Runs `f` here, or, when this thread drives an async runtime (where the
/// synchronous client may not block: start-up code runs inside actix's
/// system), on a thread of its own while this one waits. Handlers reach the
/// database through the blocking pool, which drives no runtime.
pub(super) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A connection string without its password, for logs.
pub(crate) fn redact(url: &str) -> String {
    match url.find("://") {
        Some(scheme_end) => {
            let rest = &url[scheme_end + 3..];
            match (rest.find('@'), rest.find(':')) {
                (Some(at), Some(colon)) if colon < at => {
                    format!(
                        "{}{}:***{}",
                        &url[..scheme_end + 3],
                        &rest[..colon],
                        &rest[at..]
                    )
                }
                _ => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// How long opening a connection may take before the database counts as
/// unavailable, unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection settings in `url`, and the TLS they ask for
/// (`db/pg_tls.rs`).
pub(super) fn config(url: &str) -> Result<(postgres::Config, Tls), DbError> {
    let (mut config, tls) = super::pg_tls::settings(url)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok((config, tls))
}

pub(super) fn open(url: &str, readers: usize) -> Result<Store, DbError> {
    let (config, tls) = config(url)?;
    let losses = Arc::new(AtomicU64::new(0));
    let mut writer = PgConn::new(config.clone(), tls.clone(), losses.clone());
    migrate(writer.open()?.0)?;
    let readers = (0..readers)
        .map(|_| {
            let mut reader = PgConn::new(config.clone(), tls.clone(), losses.clone());
            reader.open()?;
            Ok(Mutex::new(reader))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(Store::Pg {
        config,
        tls,
        writer: Box::new(Mutex::new(writer)),
        readers,
        queue: group::Queue::default(),
    })
}

/// `e` with its cause: the server's message for a database error (the
/// driver's own text is only "db error"), else the I/O or other cause.
pub(super) fn describe(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => db.to_string(),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// True when `e` says the connection is gone: the client was closed, the
/// socket failed, or the server ended the session (it shut down, or an
/// administrator ended the backend) or cannot take one yet.
pub(super) fn connection_lost(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        || e.code().is_some_and(|c| {
            c.code().starts_with("08")
                || *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        })
}

/// `out`, after dropping `conn`'s client when `out` failed because the
/// connection was lost: the next call connects again. (A transaction it was
/// in is rolled back by the server; nothing of it was committed.)
fn forget_if_lost<T>(conn: &mut PgConn, out: Result<T, DbError>) -> Result<T, DbError> {
    if let Err(e) = &out {
        if e.is_unavailable() && conn.is_open() {
            tracing::warn!(error = %e, "lost a PostgreSQL connection; it is opened again on next use");
            conn.lost();
        }
    }
    out
}

fn migrate(client: &mut postgres::Client) -> Result<(), DbError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
    let version: i64 = tx
        .query_opt("SELECT version FROM schema_version", &[])?
        .map(|r| r.get(0))
        .unwrap_or(0);
    for (n, sql) in MIGRATIONS {
        if *n > version {
            tx.batch_execute(sql)?;
            tx.execute("DELETE FROM schema_version", &[])?;
            tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[n])?;
            tracing::info!(migration = n, "applied PostgreSQL migration");
        }
    }
    tx.commit()?;
    Ok(())
}

/// Runs `f` in a write transaction: the outer error is the storage's
/// (beginning, committing, a full disk met by `f`), the inner one `f`'s.
pub(super) fn write<T, E>(
    conn: &mut PgConn,
    (key, store_id): (Option<&AuditKey>, u64),
    f: impl FnOnce(&Sql) -> Result<T, E>,
) -> Result<Result<T, E>, DbError> {
    let out = (|| {
        let (client, stmts) = conn.open()?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        let sql = Sql::pg(PgClient::Tx(tx), stmts, key).for_store(store_id);
        match f(&sql) {
            Ok(out) => {
                let after = sql.take_after_commit();
                if let Some(tx) = sql.into_pg_tx() {
                    tx.commit()?;
                }
                after.into_iter().for_each(|f| f());
                Ok(Ok(out))
            }
            Err(e) => match (sql.storage_failure(), sql.unavailable()) {
                (Some(cause), _) => Err(DbError::StorageFull(cause)),
                (None, Some(cause)) => Err(DbError::Unavailable(cause)),
                (None, None) => Ok(Err(e)),
            },
        }
    })();
    forget_if_lost(conn, out)
}

/// Runs a group of queued writes (`db/group.rs`) in one transaction under
/// the write lock: each in its own savepoint, answered after the commit.
/// The writes are taken from the queue (`take`) once the lock is held, so
/// those queued while another instance held it join this group instead of
/// waiting for the lock once more.
pub(super) fn write_group(
    conn: &mut PgConn,
    (key, store_id): (Option<&AuditKey>, u64),
    take: &dyn Fn() -> Vec<group::Job>,
    noted: impl Fn(&DbError),
) -> group::Ended {
    let mut taken = false;
    let mut done = Vec::new();
    let out = (|| {
        let (client, stmts) = conn.open()?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        let jobs = take();
        taken = true;
        if jobs.is_empty() {
            return Ok(()); // the transaction rolls back as it is dropped
        }
        let sql = Sql::pg(PgClient::Tx(tx), stmts, key).for_store(store_id);
        let (kept, broken) = group::run_jobs(&sql, jobs, &noted);
        done = kept;
        if let Some(e) = broken {
            return Err(e); // the transaction rolls back as it is dropped
        }
        if let Some(tx) = sql.into_pg_tx() {
            tx.commit()?;
        }
        Ok(())
    })()
    .map_err(DbError::classify);
    let out = forget_if_lost(conn, out);
    if let Err(e) = &out {
        noted(e);
        // Not started: the connection or the lock could not be had.
        if !taken {
            group::fail_all(take(), e);
        }
    }
    group::settle(done, &out)
}

pub(super) fn read<T, E>(
    conn: &mut PgConn,
    key: Option<&AuditKey>,
    f: impl FnOnce(&Sql) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DbError>,
{
    let out = (|| {
        let (client, stmts) = conn.open()?;
        let sql = Sql::pg(PgClient::Plain(client), stmts, key);
        match f(&sql) {
            Err(_) if sql.unavailable().is_some() => {
                Err(DbError::Unavailable(sql.unavailable().unwrap_or_default()))
            }
            out => Ok(out),
        }
    })();
    forget_if_lost(conn, out).unwrap_or_else(|e| Err(E::from(e)))
}

pub(super) fn snapshot<T, E: From<DbError>>(
    (config, tls): (&postgres::Config, &Tls),
    key: Option<&AuditKey>,
    f: impl FnOnce(&Sql) -> Result<T, E>,
) -> Result<T, E> {
    let mut conn = PgConn::new(config.clone(), tls.clone(), Arc::default());
    let (client, stmts) = conn.open()?;
    let tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(DbError::from)?;
    let sql = Sql::pg(PgClient::Tx(tx), stmts, key);
    let out = f(&sql)?;
    if let Some(tx) = sql.into_pg_tx() {
        tx.commit().map_err(DbError::from)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_left_out_of_logs() {
        assert_eq!(
            super::redact("postgres://aidant:secret@db.example:5432/aidant"),
            "postgres://aidant:***@db.example:5432/aidant"
        );
        assert_eq!(
            super::redact("postgres://aidant@db/aidant"),
            "postgres://aidant@db/aidant"
        );
    }
}
