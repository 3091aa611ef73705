//! SQL for day summaries and exports: the per-visit export snapshot kept in
//! `visit_exports` (written when a visit's ops change), streaming cursors over
//! it for a day range, and the `exports` log with each export's hash.

use super::sql::{args, Row, Sql, Value};
use super::{Db, DbError};
use crate::domain::Operation;
use serde::Serialize;
use std::collections::HashMap;
use sync_core::summary::LocalDate;
use sync_core::{Op, OperationId, Visit, VisitId};

/// The format of `visit_exports` rows this build writes. When the stored
/// `meta.snapshot_version` differs, [`refresh_snapshots`] rebuilds every row.
pub const SNAPSHOT_VERSION: &str = "2";

/// A visit's export rows as rendered by `crate::export::cells::snapshot`
/// (the ledger renders; this module stores and streams them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The Europe/London day it started on (none without a start time).
    pub day: Option<LocalDate>,
    /// Its start, UTC ms.
    pub started_at: Option<i64>,
    /// Its own `force_area` field, when set.
    pub force_area: Option<String>,
    /// Its day summary, alone.
    pub summary: String,
    /// The cells of its visit row, packed.
    pub row: String,
    /// The person cells of every person not removed, row after row, packed.
    pub persons: String,
    /// How many persons `persons` holds.
    pub person_rows: usize,
}

/// Stores a visit's export snapshot, with the visit's team (`visits.team_id`:
/// the creator's team when it was created) and the operation's force area
/// when the visit has none.
pub fn store_snapshot(c: &Sql, visit: VisitId, snap: &Snapshot) -> Result<(), DbError> {
    let id = visit.to_string();
    let found: Option<(String, String, Option<String>)> = c.query_opt(
        "SELECT v.operation_id, o.force_area, v.team_id
         FROM visits v JOIN operations o ON o.id = v.operation_id
         WHERE v.id = ?1",
        [&id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let Some((operation, op_force_area, team)) = found else {
        return Ok(());
    };
    write_snapshot(c, &id, &operation, &op_force_area, team.as_deref(), snap)
}

fn write_snapshot(
    c: &Sql,
    visit: &str,
    operation: &str,
    op_force_area: &str,
    team: Option<&str>,
    snap: &Snapshot,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO visit_exports
           (visit_id, operation_id, day, started_at, team_id, force_area, person_rows, summary, row_cells, persons)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (visit_id) DO UPDATE SET operation_id = excluded.operation_id,
           day = excluded.day, started_at = excluded.started_at, team_id = excluded.team_id,
           force_area = excluded.force_area, person_rows = excluded.person_rows,
           summary = excluded.summary, row_cells = excluded.row_cells, persons = excluded.persons",
        args![
        visit,
        operation,
        snap.day.map(|d| d.to_string()),
        snap.started_at,
        team,
        snap.force_area.as_deref().unwrap_or(op_force_area),
        snap.person_rows as i64,
        snap.summary,
        snap.row,
        snap.persons,
        ],
    )?;
    Ok(())
}

/// Bulk loading, for benchmarks and tests only (through
/// `crate::ledger::bulk_visit`, which then writes its derived rows): stores
/// a visit merged by the caller (its ops when given, with the device that
/// sent each, in `team`) in the caller's transaction, without the per-op
/// checks of a push. Never for data from devices.
pub fn bulk_visit(
    c: &Sql,
    v: &Visit,
    ops: &[(&Op, Option<uuid::Uuid>)],
    team: Option<&str>,
    now: &str,
) -> Result<(), DbError> {
    let operation = v
        .operation()
        .ok_or_else(|| DbError::Inconsistent(format!("visit {} has no create op", v.id())))?
        .to_string();
    let id = v.id().to_string();
    // A merged state stored before would no longer hold the latest op; it
    // is not used then, and is dropped here so nothing stale lingers.
    c.execute("DELETE FROM visit_states WHERE visit_id = ?1", [&id])?;
    for (op, device) in ops {
        let cursor = c.insert_key(
            "INSERT INTO ops (replica, seq, visit_id, operation_id, body, wire, device_id, received_at)
             VALUES (?1, ?2, ?3, ?4, '', ?5, ?6, ?7)",
            "cursor",
            args![
                op.id.replica.to_string(),
                op.id.seq as i64,
                id,
                operation,
                sync_core::wire::encode([*op]),
                device.map(|d| d.to_string()),
                now
            ],
        )?
        .ok_or_else(|| DbError::Inconsistent("an op row was not inserted".into()))?;
        if !super::sync::claim_id(c, op, cursor)? {
            return Err(DbError::Inconsistent(format!(
                "op {}:{} is stored already",
                op.id.replica, op.id.seq
            )));
        }
    }
    // The visit's identity; the rest of its index row, its checks and its
    // export rows are written by the ledger, as for pushes.
    c.execute(
        "INSERT INTO visits (id, operation_id, status, voided, conflicts, updated_at, team_id)
         VALUES (?1, ?2, 'draft', 0, 0, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET operation_id = excluded.operation_id,
           team_id = excluded.team_id",
        args![id, operation, now, team],
    )?;
    Ok(())
}

/// Bulk loading, for benchmarks and tests only: an enrolled device for a user
/// (with a token hash nobody holds).
pub fn bulk_device(
    c: &Sql,
    device: uuid::Uuid,
    user: uuid::Uuid,
    label: &str,
    now: &str,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO devices (id, user_id, label, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            device.to_string(),
            user.to_string(),
            label,
            format!("bulk-{device}"),
            now
        ],
    )?;
    Ok(())
}

/// True when the stored export rows were rendered by another format than
/// [`SNAPSHOT_VERSION`] (the first start after migration 2, or a build that
/// renders cells differently): the ledger then renders them all again.
pub fn snapshots_outdated(c: &Sql) -> Result<bool, DbError> {
    Ok(super::meta_get(c, "snapshot_version")?.as_deref() != Some(SNAPSHOT_VERSION))
}

/// Records that every export row is in [`SNAPSHOT_VERSION`]'s format.
pub fn snapshots_refreshed(c: &Sql) -> Result<(), DbError> {
    super::meta_set(c, "snapshot_version", SNAPSHOT_VERSION)
}

/// Runs `f` on a connection of its own, inside one read transaction: every
/// query sees the same state, and a long export holds none of the shared
/// reader connections.
pub fn with_snapshot<T: Send, E: From<DbError> + Send>(
    db: &Db,
    f: impl FnOnce(&Sql) -> Result<T, E> + Send,
) -> Result<T, E> {
    db.read_snapshot(f)
}

/// An operation, if it exists.
pub fn operation(c: &Sql, id: OperationId) -> Result<Option<Operation>, DbError> {
    super::people::operation(c, id)
}

/// An operation and a range of Europe/London days.
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    /// The operation.
    pub operation: OperationId,
    /// First day.
    pub from: LocalDate,
    /// Last day (inclusive).
    pub to: LocalDate,
}

/// Team names of an operation by team id.
pub fn team_names(c: &Sql, operation: OperationId) -> Result<HashMap<String, String>, DbError> {
    Ok(c.query_map(
        "SELECT id, name FROM teams WHERE operation_id = ?1",
        [operation.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?
    .into_iter()
    .collect())
}

/// One visit's stored summary, as read.
pub struct SummaryRef<'a> {
    /// `YYYY-MM-DD`.
    pub day: &'a str,
    /// Team id, if any.
    pub team_id: Option<&'a str>,
    /// Force area.
    pub force_area: &'a str,
    /// JSON `DaySummary` of the visit alone.
    pub summary: &'a str,
}

/// Calls `f` with every visit's stored summary in the scope.
pub fn for_each_summary<E: From<DbError>>(
    c: &Sql,
    scope: &Scope,
    mut f: impl FnMut(SummaryRef<'_>) -> Result<(), E>,
) -> Result<(), E> {
    c.query_each(
        "SELECT day, team_id, force_area, summary FROM visit_exports
         WHERE operation_id = ?1 AND day BETWEEN ?2 AND ?3",
        args![
            scope.operation.to_string(),
            scope.from.to_string(),
            scope.to.to_string()
        ],
        |r: &Row<'_>| {
            f(SummaryRef {
                day: r.str(0)?,
                team_id: r.opt_str(1)?,
                force_area: r.str(2)?,
                summary: r.str(3)?,
            })
        },
    )
}

/// Visits and (when `persons`) person rows in the scope; counting persons
/// reads every row, counting visits only the index.
pub fn counts(c: &Sql, scope: &Scope, persons: bool) -> Result<(u64, u64), DbError> {
    let sql = if persons {
        "SELECT COUNT(*), CAST(COALESCE(SUM(person_rows), 0) AS BIGINT) FROM visit_exports
         WHERE operation_id = ?1 AND day BETWEEN ?2 AND ?3"
    } else {
        "SELECT COUNT(*), 0 FROM visit_exports
         WHERE operation_id = ?1 AND day BETWEEN ?2 AND ?3"
    };
    c.query_row(
        sql,
        args![
            scope.operation.to_string(),
            scope.from.to_string(),
            scope.to.to_string()
        ],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
}

/// Which stored cells to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cells {
    /// The visit row.
    Visit,
    /// The person rows (visits without persons are skipped).
    Persons,
}

/// One visit's stored cells, as read.
pub struct CellsRef<'a> {
    /// Visit id.
    pub visit_id: &'a str,
    /// `YYYY-MM-DD`.
    pub day: &'a str,
    /// Team id, if any.
    pub team_id: Option<&'a str>,
    /// Force area.
    pub force_area: &'a str,
    /// JSON: an array of cells ([`Cells::Visit`]) or of arrays ([`Cells::Persons`]).
    pub cells: &'a str,
}

/// Calls `f` with every visit's cells in the scope, by day, start and id.
/// Rows are read one at a time: memory does not grow with the result.
pub fn for_each_cells<E: From<DbError>>(
    c: &Sql,
    scope: &Scope,
    which: Cells,
    mut f: impl FnMut(CellsRef<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let sql = match which {
        Cells::Visit => {
            "SELECT visit_id, day, team_id, force_area, row_cells FROM visit_exports
             WHERE operation_id = ?1 AND day BETWEEN ?2 AND ?3
             ORDER BY operation_id, day, started_at, visit_id"
        }
        Cells::Persons => {
            "SELECT visit_id, day, team_id, force_area, persons FROM visit_exports
             WHERE operation_id = ?1 AND day BETWEEN ?2 AND ?3 AND person_rows > 0
             ORDER BY operation_id, day, started_at, visit_id"
        }
    };
    c.query_each(
        sql,
        args![
            scope.operation.to_string(),
            scope.from.to_string(),
            scope.to.to_string()
        ],
        |r: &Row<'_>| {
            f(CellsRef {
                visit_id: r.str(0)?,
                day: r.str(1)?,
                team_id: r.opt_str(2)?,
                force_area: r.str(3)?,
                cells: r.str(4)?,
            })
        },
    )
}

/// An export being started.
pub struct NewExport<'a> {
    /// Id.
    pub id: &'a str,
    /// Scope.
    pub scope: &'a Scope,
    /// `json`, `csv`, `xlsx` or `html`.
    pub format: &'a str,
    /// `visits`, `persons` or `all`.
    pub content: &'a str,
    /// Victim-identifying columns included.
    pub identifying: bool,
    /// Why, as given.
    pub reason: &'a str,
    /// Audit actor.
    pub actor: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
}

/// Records an export as running.
pub fn insert_export(c: &Sql, e: &NewExport<'_>) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO exports (id, operation_id, from_day, to_day, format, content, identifying, reason, actor, created_at, status, completed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'running', 0)",
        args![
            e.id,
            e.scope.operation.to_string(),
            e.scope.from.to_string(),
            e.scope.to.to_string(),
            e.format,
            e.content,
            e.identifying,
            e.reason,
            e.actor,
            e.created_at
        ],
    )?;
    Ok(())
}

/// How an export ended.
pub struct Finished<'a> {
    /// `completed`, `cancelled` or `failed`.
    pub status: &'a str,
    /// RFC 3339.
    pub at: &'a str,
    /// Table rows written.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of the content (completed exports only).
    pub sha256: Option<&'a str>,
}

/// Records how a running export ended.
pub fn finish_export(c: &Sql, id: &str, f: &Finished<'_>) -> Result<(), DbError> {
    c.execute(
        "UPDATE exports SET status = ?2, completed = ?3, finished_at = ?4, rows = ?5, bytes = ?6, sha256 = ?7
         WHERE id = ?1 AND status = 'running'",
        args![
            id,
            f.status,
            f.status == "completed",
            f.at,
            f.rows as i64,
            f.bytes as i64,
            f.sha256
        ],
    )?;
    Ok(())
}

/// A stored export.
#[derive(Clone, Debug, Serialize)]
pub struct ExportRow {
    /// Id.
    pub id: String,
    /// Operation.
    pub operation: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Format.
    pub format: String,
    /// `visits`, `persons` or `all`.
    pub content: String,
    /// Victim-identifying columns included.
    pub identifying: bool,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// Started (RFC 3339).
    pub created_at: String,
    /// `running`, `completed`, `cancelled` or `failed`.
    pub status: String,
    /// True once every byte was handed over.
    pub completed: bool,
    /// Ended.
    pub finished_at: Option<String>,
    /// Table rows written.
    pub rows: Option<i64>,
    /// Size.
    pub bytes: Option<i64>,
    /// SHA-256 of the content, hex (completed exports).
    pub sha256: Option<String>,
}

/// Exports in the given operations (`None`: all), newest first.
pub fn exports(
    c: &Sql,
    scope: Option<&[OperationId]>,
    operation: Option<OperationId>,
    limit: i64,
) -> Result<Vec<ExportRow>, DbError> {
    let mut sql = format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if !super::filter_operations(&mut sql, &mut args, scope, operation) {
        return Ok(Vec::new());
    }
    sql.push_str(" ORDER BY created_at DESC, id LIMIT ?");
    args.push(Value::Int(limit));
    c.query_map(&sql, args, export_row)
}

const EXPORT_COLUMNS: &str =
    "id, operation_id, from_day, to_day, format, content, identifying, reason, actor,
    created_at, status, completed, finished_at, rows, bytes, sha256";

fn export_row(r: &Row<'_>) -> Result<ExportRow, DbError> {
    Ok(ExportRow {
        id: r.get(0)?,
        operation: r.get(1)?,
        from: r.get(2)?,
        to: r.get(3)?,
        format: r.get(4)?,
        content: r.get(5)?,
        identifying: r.get(6)?,
        reason: r.get(7)?,
        actor: r.get(8)?,
        created_at: r.get(9)?,
        status: r.get(10)?,
        completed: r.get(11)?,
        finished_at: r.get(12)?,
        rows: r.get(13)?,
        bytes: r.get(14)?,
        sha256: r.get(15)?,
    })
}

/// One export by id.
pub fn export(c: &Sql, id: &str) -> Result<Option<ExportRow>, DbError> {
    c.query_opt(
        &format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE id = ?1"),
        [id],
        export_row,
    )
}

/// Days outside `starts_on..=ends_on` on which visits of the operation were
/// recorded, with how many: what the operation's default summary leaves out.
pub fn days_outside(
    c: &Sql,
    operation: OperationId,
    starts_on: &str,
    ends_on: &str,
) -> Result<Vec<(String, i64)>, DbError> {
    c.query_map(
        "SELECT day, COUNT(*) FROM visit_exports
          WHERE operation_id = ?1 AND day IS NOT NULL AND (day < ?2 OR day > ?3)
          GROUP BY day ORDER BY day",
        args![operation.to_string(), starts_on, ends_on],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
