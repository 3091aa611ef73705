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

use super::audit::AuditKey;
use super::sql::{PgClient, PgConn, Sql};
use super::{DbError, Store};
use std::collections::HashMap;
use std::sync::Mutex;

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

fn connect(url: &str) -> Result<PgConn, DbError> {
    let client = postgres::Client::connect(url, postgres::NoTls)?;
    Ok(PgConn {
        client: Some(client),
        stmts: HashMap::new(),
    })
}

pub(super) fn open(url: &str, readers: usize) -> Result<Store, DbError> {
    let mut writer = connect(url)?;
    migrate(writer.parts().0)?;
    let readers = (0..readers)
        .map(|_| connect(url).map(Mutex::new))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Store::Pg {
        url: url.to_owned(),
        writer: Box::new(Mutex::new(writer)),
        readers,
    })
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
    key: Option<&AuditKey>,
    f: impl FnOnce(&Sql) -> Result<T, E>,
) -> Result<Result<T, E>, DbError> {
    let (client, stmts) = conn.parts();
    if client.is_closed() {
        return Err(DbError::ConnectionClosed);
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    let sql = Sql::pg(PgClient::Tx(tx), stmts, key);
    match f(&sql) {
        Ok(out) => {
            if let Some(tx) = sql.into_pg_tx() {
                tx.commit()?;
            }
            Ok(Ok(out))
        }
        Err(e) => match sql.storage_failure() {
            Some(cause) => Err(DbError::StorageFull(cause)),
            None => Ok(Err(e)),
        },
    }
}

pub(super) fn read<T, E>(
    conn: &mut PgConn,
    key: Option<&AuditKey>,
    f: impl FnOnce(&Sql) -> Result<T, E>,
) -> Result<T, E> {
    let (client, stmts) = conn.parts();
    f(&Sql::pg(PgClient::Plain(client), stmts, key))
}

pub(super) fn snapshot<T, E: From<DbError>>(
    url: &str,
    key: Option<&AuditKey>,
    f: impl FnOnce(&Sql) -> Result<T, E>,
) -> Result<T, E> {
    let mut conn = connect(url)?;
    let (client, stmts) = conn.parts();
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
