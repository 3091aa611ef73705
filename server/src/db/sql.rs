//! The storage boundary: one SQL handle ([`Sql`]) over either backend, the
//! embedded SQLite file (rusqlite) or PostgreSQL (the synchronous `postgres`
//! crate, called only from the blocking pool).
//!
//! Statements are written once, in the SQL both engines read, with `?N` (or
//! bare `?`) placeholders; for PostgreSQL they become `$N`. Values cross the
//! boundary as [`ValueRef`] (integers, reals, text, bytes, null), so a
//! module under `db` never names either driver. The few statements the two
//! dialects cannot share branch on [`Sql::backend`].
//!
//! Portable SQL used here, and why: `IS NOT DISTINCT FROM` (not SQLite's
//! `IS`), `INSERT … ON CONFLICT … DO NOTHING/UPDATE` (not `INSERT OR …`),
//! `RETURNING` for generated keys (not `last_insert_rowid()`; the hot
//! insert of ops goes through [`Sql::insert_key`], which uses each engine's
//! own way), `CAST(SUM(…)
//! AS BIGINT)` (PostgreSQL's SUM of BIGINT is NUMERIC), explicit `<> 0` for
//! stored flags (PostgreSQL has no integer truthiness), and every column in
//! GROUP BY that is selected bare.

use super::audit::AuditKey;
pub use super::values::{args, FromValue, Params, ToValue, Value, ValueRef};
use super::values::{found, PgValue};
use super::DbError;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which engine a handle talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Names a column: by position or by name.
pub trait ColIndex: Copy + std::fmt::Display {
    /// The position in a SQLite row.
    fn lite(self, r: &rusqlite::Row<'_>) -> rusqlite::Result<usize>;
    /// The position in a PostgreSQL row.
    fn pg(self, r: &postgres::Row) -> Option<usize>;
}
impl ColIndex for usize {
    fn lite(self, _: &rusqlite::Row<'_>) -> rusqlite::Result<usize> {
        Ok(self)
    }
    fn pg(self, r: &postgres::Row) -> Option<usize> {
        (self < r.len()).then_some(self)
    }
}
impl ColIndex for &str {
    fn lite(self, r: &rusqlite::Row<'_>) -> rusqlite::Result<usize> {
        r.as_ref().column_index(self)
    }
    fn pg(self, r: &postgres::Row) -> Option<usize> {
        r.columns().iter().position(|c| c.name() == self)
    }
}

/// One row of a result, with the query it came from (to name the table in
/// a decoding error).
pub struct Row<'r>(RowRef<'r>, &'r str);

enum RowRef<'r> {
    Lite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

impl Row<'_> {
    /// A decoding error of column `idx`: which column of which table.
    fn bad(&self, idx: impl std::fmt::Display, reason: impl std::fmt::Display) -> DbError {
        DbError::decode(format!("column {idx} of {}", table_of(self.1)), reason)
    }

    /// The column `idx` as text, borrowed from the row.
    pub fn str<I: ColIndex>(&self, idx: I) -> Result<&str, DbError> {
        self.opt_str(idx)?
            .ok_or_else(|| self.bad(idx, "expected text, found null"))
    }

    /// The column `idx` as text or null, borrowed from the row.
    pub fn opt_str<I: ColIndex>(&self, idx: I) -> Result<Option<&str>, DbError> {
        let bad = |m: String| self.bad(idx, m);
        let v = match &self.0 {
            RowRef::Lite(r) => match r.get_ref(idx.lite(r)?)? {
                rusqlite::types::ValueRef::Null => None,
                rusqlite::types::ValueRef::Text(t) => {
                    Some(std::str::from_utf8(t).map_err(|e| bad(e.to_string()))?)
                }
                other => return Err(bad(format!("expected text, found {:?}", other.data_type()))),
            },
            RowRef::Pg(r) => {
                let i = idx.pg(r).ok_or_else(|| bad("no such column".into()))?;
                match r.try_get::<_, PgValue<'_>>(i)?.0 {
                    ValueRef::Null => None,
                    ValueRef::Text(t) => Some(t),
                    other => return Err(bad(format!("expected text, found {}", found(other)))),
                }
            }
        };
        Ok(v)
    }

    /// The column `idx` as `T`.
    pub fn get<I: ColIndex, T: FromValue>(&self, idx: I) -> Result<T, DbError> {
        let bad = |m: String| self.bad(idx, m);
        match &self.0 {
            RowRef::Lite(r) => {
                let i = idx.lite(r)?;
                let v = match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => ValueRef::Null,
                    rusqlite::types::ValueRef::Integer(i) => ValueRef::Int(i),
                    rusqlite::types::ValueRef::Real(f) => ValueRef::Real(f),
                    rusqlite::types::ValueRef::Text(t) => {
                        ValueRef::Text(std::str::from_utf8(t).map_err(|e| bad(e.to_string()))?)
                    }
                    rusqlite::types::ValueRef::Blob(b) => ValueRef::Blob(b),
                };
                T::from_value(v).map_err(bad)
            }
            RowRef::Pg(r) => {
                let i = idx.pg(r).ok_or_else(|| bad("no such column".into()))?;
                let v: PgValue<'_> = r.try_get(i)?;
                T::from_value(v.0).map_err(bad)
            }
        }
    }
}

/// The table a query reads (the word after its first `FROM`), for messages.
pub(super) fn table_of(sql: &str) -> &str {
    let mut words = sql.split_whitespace();
    while let Some(w) = words.next() {
        if w.eq_ignore_ascii_case("from") {
            return words.next().unwrap_or("a query");
        }
    }
    "a query"
}

/// Named parameters (`:name`, each possibly used several times) rewritten
/// as numbered ones, with the values in that order: `named(sql, &[(":a",
/// &a), …])`. Names not given are left as they are (and fail to bind).
pub fn named<'a>(sql: &str, params: &[(&str, &'a dyn ToValue)]) -> (String, Vec<ValueRef<'a>>) {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut rest = sql;
    let mut prev = None;
    while let Some(ch) = rest.chars().next() {
        if ch == '\'' {
            quoted = !quoted;
        } else if ch == ':' && !quoted && prev != Some(':') {
            let end = rest[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(rest.len(), |p| p + 1);
            if let Some(k) = params.iter().position(|(n, _)| *n == &rest[..end]) {
                out.push('?');
                out.push_str(&(k + 1).to_string());
                rest = &rest[end..];
                prev = None;
                continue;
            }
        }
        out.push(ch);
        prev = Some(ch);
        rest = &rest[ch.len_utf8()..];
    }
    let values = params
        .iter()
        .map(|(_, v)| {
            let v: &'a dyn ToValue = *v;
            v.to_value()
        })
        .collect();
    (out, values)
}

/// `?N` and bare `?` placeholders as PostgreSQL's `$N` (outside quotes).
pub fn to_pg(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    let mut bare = 0;
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '?' if !quoted => {
                out.push('$');
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    while let Some(d) = chars.next_if(char::is_ascii_digit) {
                        out.push(d);
                    }
                } else {
                    bare += 1;
                    out.push_str(&bare.to_string());
                }
            }
            _ => out.push(ch),
        }
    }
    out
}

/// A PostgreSQL connection with its prepared statements, opened on first use
/// and opened again after it was lost (the server restarted, or ended the
/// backend): [`PgConn::open`] replaces a closed one, and checks one left
/// idle for a second or more first; [`PgConn::lost`] drops one whose last
/// call failed for that reason ([`PgConn::lost`]).
pub(crate) struct PgConn {
    config: postgres::Config,
    tls: super::pg_tls::Tls,
    /// `None` until opened, and again once lost.
    client: Option<postgres::Client>,
    stmts: HashMap<String, postgres::Statement>,
    /// When [`PgConn::open`] last handed the client out.
    last_used: Instant,
    /// Connections lost so far by this one and its siblings (the other
    /// connections of the same `Db`): when one finds its connection gone
    /// (a restart ends them all), the others check theirs before next use.
    losses: Arc<AtomicU64>,
    /// `losses` when this one last checked.
    losses_seen: u64,
}

/// A connection idle this long is checked (one empty query) before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// How long that check may take before the connection counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

impl PgConn {
    /// A connection to `config`'s database, not yet opened, counting its
    /// losses in `losses` with its siblings'.
    pub(crate) fn new(
        config: postgres::Config,
        tls: super::pg_tls::Tls,
        losses: Arc<AtomicU64>,
    ) -> Self {
        PgConn {
            config,
            tls,
            client: None,
            stmts: HashMap::new(),
            last_used: Instant::now(),
            losses_seen: losses.load(Ordering::Acquire),
            losses,
        }
    }

    /// The open client and its statements, connecting first when there is
    /// none or the last one was closed. A connection that fails is
    /// [`DbError::Unavailable`].
    pub(crate) fn open(
        &mut self,
    ) -> Result<
        (
            &mut postgres::Client,
            &mut HashMap<String, postgres::Statement>,
        ),
        DbError,
    > {
        if let Some(client) = &mut self.client {
            // A connection left idle, or one whose sibling was just lost, may
            // have been ended meanwhile (PostgreSQL restarted): one round
            // trip says, before a request finds out halfway. One in steady
            // use is not checked.
            let losses = self.losses.load(Ordering::Acquire);
            let check = self.last_used.elapsed() >= CHECK_AFTER_IDLE || losses != self.losses_seen;
            self.losses_seen = losses;
            if client.is_closed() || (check && client.is_valid(CHECK_TIMEOUT).is_err()) {
                self.lost();
            }
        }
        let client = match self.client.take() {
            Some(client) => client,
            None => {
                self.stmts.clear();
                match &self.tls {
                    super::pg_tls::Tls::Off => self.config.connect(postgres::NoTls),
                    super::pg_tls::Tls::On(tls) => self.config.connect(tls.clone()),
                }
                .map_err(|e| {
                    DbError::Unavailable(format!("connecting: {}", super::pg::describe(&e)))
                })?
            }
        };
        self.last_used = Instant::now();
        let client = self.client.insert(client);
        Ok((client, &mut self.stmts))
    }

    /// True while a client is open (until lost).
    pub(crate) fn is_open(&self) -> bool {
        self.client.is_some()
    }

    /// Drops a client found lost, and has its siblings check theirs.
    pub(crate) fn lost(&mut self) {
        self.losses_seen = self.losses.fetch_add(1, Ordering::AcqRel) + 1;
        self.discard();
    }

    /// Drops the client (its prepared statements with it): the next
    /// [`PgConn::open`] connects again.
    fn discard(&mut self) {
        self.stmts.clear();
        if let Some(client) = self.client.take() {
            close(client);
        }
    }
}

/// Closing blocks on the client's own runtime, which may not happen on a
/// thread that drives one (a server's last handle can be dropped by an actix
/// worker): close it on a thread of its own then.
fn close(client: postgres::Client) {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::spawn(move || drop(client));
    } else {
        drop(client);
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        self.discard();
    }
}

/// Rows [`Sql::query_each`] fetches at a time on PostgreSQL, in a
/// transaction: a long read (an export, the audit chain) holds this many
/// rows in memory, not all of them.
const PG_FETCH: i32 = 256;

pub(crate) enum PgClient<'a> {
    Tx(postgres::Transaction<'a>),
    Plain(&'a mut postgres::Client),
}

pub(crate) struct PgSession<'a> {
    client: PgClient<'a>,
    stmts: &'a mut HashMap<String, postgres::Statement>,
}

/// `values` as the driver takes parameters.
fn pg_refs<'v>(values: &'v [ValueRef<'_>]) -> Vec<&'v (dyn postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|v| v as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl PgSession<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let translated = to_pg(sql);
        let s = match &mut self.client {
            PgClient::Tx(t) => t.prepare(&translated)?,
            PgClient::Plain(c) => c.prepare(&translated)?,
        };
        if self.stmts.len() > 512 {
            self.stmts.clear();
        }
        self.stmts.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, values: &[ValueRef<'_>]) -> Result<Vec<postgres::Row>, DbError> {
        let s = self.statement(sql)?;
        let refs = pg_refs(values);
        Ok(match &mut self.client {
            PgClient::Tx(t) => t.query(&s, &refs)?,
            PgClient::Plain(c) => c.query(&s, &refs)?,
        })
    }

    /// A portal over `sql`'s rows, fetched [`PG_FETCH`] at a time by
    /// [`PgSession::fetch`]; `None` outside a transaction (a portal lives
    /// only as long as its transaction).
    fn portal(
        &mut self,
        sql: &str,
        values: &[ValueRef<'_>],
    ) -> Result<Option<postgres::Portal>, DbError> {
        let s = self.statement(sql)?;
        let refs = pg_refs(values);
        Ok(match &mut self.client {
            PgClient::Tx(t) => Some(t.bind(&s, &refs)?),
            PgClient::Plain(_) => None,
        })
    }

    fn fetch(&mut self, portal: &postgres::Portal) -> Result<Vec<postgres::Row>, DbError> {
        match &mut self.client {
            PgClient::Tx(t) => Ok(t.query_portal(portal, PG_FETCH)?),
            PgClient::Plain(_) => Ok(Vec::new()),
        }
    }

    fn execute(&mut self, sql: &str, values: &[ValueRef<'_>]) -> Result<u64, DbError> {
        let s = self.statement(sql)?;
        let refs = pg_refs(values);
        Ok(match &mut self.client {
            PgClient::Tx(t) => t.execute(&s, &refs)?,
            PgClient::Plain(c) => c.execute(&s, &refs)?,
        })
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match &mut self.client {
            PgClient::Tx(t) => t.batch_execute(sql)?,
            PgClient::Plain(c) => c.batch_execute(sql)?,
        }
        Ok(())
    }
}

enum Handle<'a> {
    Lite(&'a rusqlite::Connection),
    Pg(RefCell<PgSession<'a>>),
}

/// A connection or an open transaction on either backend: what every
/// function under `db` takes. Reads and writes alike (a write transaction
/// reads what it has written).
pub struct Sql<'a> {
    h: Handle<'a>,
    key: Option<&'a AuditKey>,
    /// The cause of the first full-disk (or I/O) failure of a statement run
    /// through this handle: whatever error type a write's closure turns it
    /// into, `Db::write_blocking` still reports `DbError::StorageFull`.
    storage_failure: Cell<Option<String>>,
    /// The cause of the first failure of a statement run through this
    /// handle because the database could not be reached (a lost PostgreSQL
    /// connection): the connection is then reopened whatever error type
    /// the closure turned it into.
    unavailable: Cell<Option<String>>,
    /// Which open database this handle writes to (0: a handle made by a
    /// tool or a test on a connection of its own), for caches kept beside
    /// a database (the ledger's states).
    store_id: u64,
    /// Run once the write transaction this handle belongs to commits;
    /// dropped unrun when it does not.
    after_commit: RefCell<Vec<Box<dyn FnOnce() + Send>>>,
}

impl<'a> Sql<'a> {
    /// A handle on a SQLite connection opened by the caller (tools and tests
    /// that work on a database file directly).
    pub fn lite(c: &'a rusqlite::Connection, key: Option<&'a AuditKey>) -> Self {
        Sql {
            h: Handle::Lite(c),
            key,
            storage_failure: Cell::new(None),
            unavailable: Cell::new(None),
            store_id: 0,
            after_commit: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn pg(
        client: PgClient<'a>,
        stmts: &'a mut HashMap<String, postgres::Statement>,
        key: Option<&'a AuditKey>,
    ) -> Self {
        Sql {
            h: Handle::Pg(RefCell::new(PgSession { client, stmts })),
            key,
            storage_failure: Cell::new(None),
            unavailable: Cell::new(None),
            store_id: 0,
            after_commit: RefCell::new(Vec::new()),
        }
    }

    /// Gives back a PostgreSQL transaction to commit.
    pub(crate) fn into_pg_tx(self) -> Option<postgres::Transaction<'a>> {
        match self.h {
            Handle::Pg(s) => match s.into_inner().client {
                PgClient::Tx(t) => Some(t),
                PgClient::Plain(_) => None,
            },
            Handle::Lite(_) => None,
        }
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        match self.h {
            Handle::Lite(_) => Backend::Sqlite,
            Handle::Pg(_) => Backend::Postgres,
        }
    }

    /// Notes `e` when it is a full disk or an I/O error (see
    /// [`Sql::storage_failure`]) and gives it back unchanged.
    fn seen(&self, e: DbError) -> DbError {
        if let Some(cause) = e.storage_cause() {
            let first = self.storage_failure.take().unwrap_or(cause);
            self.storage_failure.set(Some(first));
        }
        if e.is_unavailable() {
            let first = self.unavailable.take().unwrap_or_else(|| e.to_string());
            self.unavailable.set(Some(first));
        }
        e
    }

    /// This handle for the write transaction of open database `id`.
    pub(crate) fn for_store(mut self, id: u64) -> Self {
        self.store_id = id;
        self
    }

    /// Which open database this handle is on (0: none known, see
    /// [`Sql::lite`]).
    pub fn store_id(&self) -> u64 {
        self.store_id
    }

    /// Runs `f` once this handle's write transaction has committed (never
    /// when it rolls back, nor on a read handle): for what may only be
    /// believed once the data is durable, such as a cached state.
    pub fn after_commit(&self, f: impl FnOnce() + Send + 'static) {
        self.after_commit.borrow_mut().push(Box::new(f));
    }

    /// What [`Sql::after_commit`] gathered, to run after the commit.
    pub(crate) fn take_after_commit(&self) -> Vec<Box<dyn FnOnce() + Send>> {
        std::mem::take(&mut *self.after_commit.borrow_mut())
    }

    /// Forgets the failures noted so far (a group commit's handle, before
    /// its next write).
    pub(crate) fn clear_failures(&self) {
        self.storage_failure.set(None);
        self.unavailable.set(None);
    }

    /// The cause of the first statement through this handle that failed
    /// because the database could not be reached, if one did.
    pub(crate) fn unavailable(&self) -> Option<String> {
        let cause = self.unavailable.take();
        self.unavailable.set(cause.clone());
        cause
    }

    /// The cause of the first statement through this handle that failed
    /// for want of space or with an I/O error, if one did.
    pub(crate) fn storage_failure(&self) -> Option<String> {
        let cause = self.storage_failure.take();
        self.storage_failure.set(cause.clone());
        cause
    }

    /// The audit trail's key, when the database was opened with one.
    pub(crate) fn audit_key(&self) -> Option<&AuditKey> {
        self.key
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize, DbError> {
        let values = params.values();
        let run = || match &self.h {
            Handle::Lite(c) => Ok(c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(values.iter()))?),
            Handle::Pg(s) => Ok(s.borrow_mut().execute(sql, &values)? as usize),
        };
        run().map_err(|e| self.seen(e))
    }

    /// Runs an `INSERT … ON CONFLICT DO NOTHING` of one row; the new row's
    /// `key` (its integer primary key) when it was inserted. On SQLite this
    /// reads the last inserted rowid rather than adding `RETURNING`, which
    /// makes SQLite buffer the row and keep a statement journal for every
    /// insert; on PostgreSQL it adds `RETURNING key`.
    pub fn insert_key(
        &self,
        sql: &str,
        key: &str,
        params: impl Params,
    ) -> Result<Option<i64>, DbError> {
        match &self.h {
            Handle::Lite(c) => {
                let changed = self.execute(sql, params)?;
                Ok((changed == 1).then(|| c.last_insert_rowid()))
            }
            Handle::Pg(_) => {
                self.query_opt(&format!("{sql} RETURNING {key}"), params, |r| r.get(0))
            }
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.h {
            Handle::Lite(c) => c.execute_batch(sql).map_err(DbError::from),
            Handle::Pg(s) => s.borrow_mut().batch(sql),
        }
        .map_err(|e| self.seen(e))
    }

    /// Every row, each mapped by `f`. `f` may itself query this handle.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let values = params.values();
        let mut out = Vec::new();
        match &self.h {
            Handle::Lite(_) => self.query_each(sql, values, |r| -> Result<(), DbError> {
                out.push(f(r)?);
                Ok(())
            })?,
            // One round trip: every row at once (a portal would be two).
            Handle::Pg(s) => {
                let rows = s
                    .borrow_mut()
                    .query(sql, &values)
                    .map_err(|e| self.seen(e))?;
                for r in &rows {
                    out.push(f(&Row(RowRef::Pg(r), sql))?);
                }
            }
        }
        Ok(out)
    }

    /// Calls `f` on every row in turn. `f` may itself query this handle. On
    /// SQLite rows are read one at a time; on PostgreSQL [`PG_FETCH`] at a
    /// time in a transaction (`Db::read_snapshot`, writes), and all
    /// together on a plain connection (`Db::read`: keep those reads small).
    pub fn query_each<E: From<DbError>>(
        &self,
        sql: &str,
        params: impl Params,
        mut f: impl FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let values = params.values();
        match &self.h {
            Handle::Lite(c) => {
                let seen = |e: rusqlite::Error| self.seen(e.into());
                let mut stmt = c.prepare_cached(sql).map_err(seen)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(values.iter()))
                    .map_err(seen)?;
                while let Some(r) = rows.next().map_err(seen)? {
                    f(&Row(RowRef::Lite(r), sql))?;
                }
                Ok(())
            }
            Handle::Pg(s) => {
                let portal = s
                    .borrow_mut()
                    .portal(sql, &values)
                    .map_err(|e| self.seen(e))?;
                let Some(portal) = portal else {
                    let rows = s
                        .borrow_mut()
                        .query(sql, &values)
                        .map_err(|e| self.seen(e))?;
                    for r in &rows {
                        f(&Row(RowRef::Pg(r), sql))?;
                    }
                    return Ok(());
                };
                loop {
                    // Not borrowed while `f` runs: it may query this handle.
                    let rows = s.borrow_mut().fetch(&portal).map_err(|e| self.seen(e))?;
                    for r in &rows {
                        f(&Row(RowRef::Pg(r), sql))?;
                    }
                    if rows.len() < PG_FETCH as usize {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// The first row mapped by `f`, or `None`.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let values = params.values();
        match &self.h {
            Handle::Lite(c) => {
                let seen = |e: rusqlite::Error| self.seen(e.into());
                let mut stmt = c.prepare_cached(sql).map_err(seen)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(values.iter()))
                    .map_err(seen)?;
                match rows.next().map_err(seen)? {
                    Some(r) => f(&Row(RowRef::Lite(r), sql)).map(Some),
                    None => Ok(None),
                }
            }
            Handle::Pg(s) => {
                let rows = s
                    .borrow_mut()
                    .query(sql, &values)
                    .map_err(|e| self.seen(e))?;
                match rows.first() {
                    Some(r) => f(&Row(RowRef::Pg(r), sql)).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// The first row mapped by `f`; [`DbError::NoRow`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| DbError::NoRow(sql.chars().take(80).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::{to_pg, PG_FETCH};

    /// A long read in a snapshot gives every row once, in order, across
    /// PostgreSQL's fetches, while the callback queries the same handle
    /// (run on both backends by `scripts/test.sh`).
    #[test]
    fn a_long_read_gives_every_row_in_order_while_the_callback_queries() {
        let (_dir, db) = crate::db::scratch();
        let n = 3 * PG_FETCH as i64 + 7;
        db.write_blocking(|tx| {
            tx.execute_batch("CREATE TABLE t (n BIGINT PRIMARY KEY)")?;
            for i in 0..n {
                tx.execute("INSERT INTO t (n) VALUES (?1)", [i])?;
            }
            Ok(())
        })
        .unwrap();
        let (seen, counted) = db
            .read_snapshot(|c| {
                let (mut seen, mut counted) = (Vec::new(), 0i64);
                c.query_each(
                    "SELECT n FROM t ORDER BY n",
                    (),
                    |r| -> Result<(), crate::db::DbError> {
                        let i: i64 = r.get(0)?;
                        seen.push(i);
                        counted +=
                            c.query_row("SELECT COUNT(*) FROM t WHERE n <= ?1", [i], |r| {
                                r.get::<_, i64>(0)
                            })?;
                        Ok(())
                    },
                )?;
                Ok::<_, crate::db::DbError>((seen, counted))
            })
            .unwrap();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
        assert_eq!(counted, n * (n + 1) / 2);
    }

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(to_pg("SELECT ?1, ?12 FROM t"), "SELECT $1, $12 FROM t");
        assert_eq!(to_pg("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(to_pg("x = '?' AND y = ?2"), "x = '?' AND y = $2");
    }

    #[test]
    fn named_parameters_become_numbered() {
        let (a, b) = (1i64, "x".to_owned());
        let (sql, values) = super::named(
            "SELECT :b, :a, ':a', :b, x::text",
            &[(":a", &a), (":b", &b)],
        );
        assert_eq!(sql, "SELECT ?2, ?1, ':a', ?2, x::text");
        let (sql, _) = super::named("SELECT 'é', :a", &[(":a", &a)]);
        assert_eq!(sql, "SELECT 'é', ?1");
        assert_eq!(values.len(), 2);
    }
}
