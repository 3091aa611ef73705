//! Stored ops, the derived visit index, pulls by cursor and the quarantine.
//!
//! Every accepted op is stored once (its id in `op_ids`). A push's accepted
//! ops of one visit are stored together, up to [`SEGMENT_OPS`] of them, in
//! one `ops` row (a *segment*: one sync-core wire batch under one cursor),
//! so a push writes a row per visit rather than per op. The stored ops are
//! the only source of truth; each visit's merged state is kept beside
//! them (`visit_states`, with the greatest cursor it holds) and the derived
//! rows are written from it, all by the ledger (`crate::ledger`): this
//! module only inserts and reads. Storing a push is in `push` (and, on
//! PostgreSQL, `at_once`); reading ops back, the visit index, pulls and the
//! quarantine are here.

use super::scope::{GRANT_FOR, HOLDS};
use super::sql::{args, named, Backend, Row, Sql, Value};
use super::DbError;
use crate::domain::UserId;
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use sync_core::{Op, OperationId, Visit, VisitId};

mod at_once;
mod push;

pub use push::{store, visit_operation, Incoming, PushResult, Pusher, Stored};

/// The most ops one segment (`ops` row) holds. A push's ops of one visit
/// beyond it go into further segments, so reading a segment back decodes a
/// bounded batch, and a pull page overshoots its limit by less than this.
pub const SEGMENT_OPS: usize = 128;

/// The ops of a stored segment, from its `wire` and `body` columns at `i`
/// and `i + 1` (`wire` when present; rows from before version 9 not yet
/// converted hold one op's JSON in `body`).
fn stored_ops_at(r: &Row<'_>, i: usize) -> Result<Vec<Op>, DbError> {
    let wire: Option<Vec<u8>> = r.get(i)?;
    match wire {
        Some(bytes) => decode_segment(&bytes, None),
        None => decode_segment(&[], Some(&r.get::<_, String>(i + 1)?)),
    }
}

/// A segment's ops from its `wire` bytes, or (`wire` NULL, read as empty)
/// the one op's JSON in `body`.
fn decode_segment(wire: &[u8], body: Option<&str>) -> Result<Vec<Op>, DbError> {
    if wire.is_empty() {
        return serde_json::from_str(body.unwrap_or_default())
            .map(|op| vec![op])
            .map_err(|e| DbError::decode("ops.body", e));
    }
    sync_core::wire::decode_limited(wire, SEGMENT_OPS)
        .ok()
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| DbError::decode("ops.wire", "not a wire batch of a segment's ops"))
}

/// Hands out the cursors of the segments a push stores, in order: each
/// greater than every cursor stored before (writers run one at a time:
/// SQLite's single writer, PostgreSQL's write lock). One drawn and not
/// used leaves a gap, which nothing minds.
#[derive(Default)]
pub(super) struct Cursors {
    next: Option<i64>,
}

impl Cursors {
    pub(super) fn take(&mut self, c: &Sql) -> Result<i64, DbError> {
        if c.backend() == Backend::Postgres {
            return c.query_row("SELECT nextval('ops_cursor_seq')", (), |r| r.get(0));
        }
        let next = match self.next {
            Some(n) => n,
            // Grants draw from the same sequence (`scope`): past both.
            None => c.query_row(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'ops'), 0),
                            COALESCE((SELECT MAX(cursor) FROM ops), 0)) + 1",
                (),
                |r| r.get(0),
            )?,
        };
        self.next = Some(next + 1);
        Ok(next)
    }

    /// `n` cursors at once (PostgreSQL: one round trip).
    pub(super) fn take_many(&mut self, c: &Sql, n: usize) -> Result<Vec<i64>, DbError> {
        if c.backend() == Backend::Postgres {
            return c.query_map(
                "SELECT nextval('ops_cursor_seq') FROM generate_series(1, ?1)",
                [n as i64],
                |r| r.get(0),
            );
        }
        (0..n).map(|_| self.take(c)).collect()
    }
}

/// Notes a new op's id under the cursor of the segment that will hold it;
/// false when the id is stored already.
pub(super) fn claim_id(c: &Sql, op: &Op, cursor: i64) -> Result<bool, DbError> {
    Ok(c.execute(
        "INSERT INTO op_ids (replica, seq, cursor) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        args![op.id.replica.to_string(), op.id.seq as i64, cursor],
    )? == 1)
}

/// The stored op with `op`'s id, if any. `seen` keeps the segments read,
/// by cursor: a retried push names many ops of the same few segments.
pub(super) fn stored_with_id(
    c: &Sql,
    op: &Op,
    seen: &mut std::collections::HashMap<i64, Vec<Op>>,
) -> Result<Option<Op>, DbError> {
    let cursor: Option<i64> = c.query_opt(
        "SELECT cursor FROM op_ids WHERE replica = ?1 AND seq = ?2",
        args![op.id.replica.to_string(), op.id.seq as i64],
        |r| r.get(0),
    )?;
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let ops = match seen.entry(cursor) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => e.insert(
            c.query_opt(
                "SELECT wire, body FROM ops WHERE cursor = ?1",
                [cursor],
                |r| stored_ops_at(r, 0),
            )?
            .unwrap_or_default(),
        ),
    };
    Ok(ops.iter().find(|o| o.id == op.id).cloned())
}

/// A segment to store: a push's accepted ops of one visit, in push order.
pub(super) struct Segment {
    pub(super) cursor: i64,
    pub(super) visit: VisitId,
    pub(super) operation: OperationId,
    pub(super) ops: Vec<Op>,
}

impl Segment {
    /// Its row's values, in the column order of [`SEGMENT_COLUMNS`].
    pub(super) fn values(&self, device: &Option<String>, now: &str) -> Vec<Value> {
        let (first, last) = (&self.ops[0], &self.ops[self.ops.len() - 1]);
        vec![
            Value::Int(self.cursor),
            Value::Text(first.id.replica.to_string()),
            Value::Int(first.id.seq as i64),
            Value::Int(last.id.seq as i64),
            Value::Text(self.visit.to_string()),
            Value::Text(self.operation.to_string()),
            Value::Blob(sync_core::wire::encode(&self.ops)),
            device.clone().map_or(Value::Null, Value::Text),
            Value::Text(now.to_owned()),
        ]
    }
}

/// The columns [`Segment::values`] fills, then `body` ('' for rows in wire).
macro_rules! segment_columns {
    () => {
        "cursor, replica, seq, last_seq, visit_id, operation_id, wire, device_id, received_at, body"
    };
}

/// [`segment_columns`] as a constant, for statements built at run time.
pub(super) const SEGMENT_COLUMNS: &str = segment_columns!();

/// Stores a segment.
pub(super) fn insert_segment(
    c: &Sql,
    s: &Segment,
    device: &Option<String>,
    now: &str,
) -> Result<(), DbError> {
    c.execute(
        concat!(
            "INSERT INTO ops (",
            segment_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '')"
        ),
        s.values(device, now),
    )?;
    Ok(())
}

/// Up to `limit` ops after cursor `after` stored as JSON (before version
/// 9), rewritten as wire bytes; returns the last cursor it looked at
/// (`None`: there were none left).
pub fn convert_to_wire(c: &Sql, after: i64, limit: i64) -> Result<Option<i64>, DbError> {
    let rows: Vec<(i64, String)> = c.query_map(
        "SELECT cursor, body FROM ops WHERE cursor > ?1 AND wire IS NULL ORDER BY cursor LIMIT ?2",
        args![after, limit],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    for (cursor, body) in &rows {
        let op: Op = serde_json::from_str(body)
            .map_err(|e| DbError::decode(format!("ops.body at cursor {cursor}"), e))?;
        c.execute(
            "UPDATE ops SET wire = ?2, body = '' WHERE cursor = ?1",
            args![cursor, sync_core::wire::encode([&op])],
        )?;
    }
    Ok(rows.last().map(|(cursor, _)| *cursor))
}

/// A visit's merged state as kept (`visit_states`), with the greatest op
/// cursor it holds; `None` when none is kept or it cannot be read (the
/// ledger then folds the visit from its ops).
pub fn kept_state(c: &Sql, visit: VisitId) -> Result<Option<(Visit, i64)>, DbError> {
    let kept: Option<(Vec<u8>, i64)> = c.query_opt(
        "SELECT state, through FROM visit_states WHERE visit_id = ?1",
        [visit.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(kept.and_then(|(bytes, through)| {
        sync_core::snapshot::decode_limited(&bytes, 1)
            .ok()
            .and_then(|mut vs| vs.pop())
            .filter(|v| v.id() == visit)
            .map(|v| (v, through))
    }))
}

/// A visit's ops stored after cursor `after`, in cursor order, each with
/// its segment's cursor.
pub fn ops_after(c: &Sql, visit: VisitId, after: i64) -> Result<Vec<(Op, i64)>, DbError> {
    let mut out = Vec::new();
    c.query_each(
        "SELECT wire, body, cursor FROM ops WHERE visit_id = ?1 AND cursor > ?2 ORDER BY cursor",
        args![visit.to_string(), after],
        |r| -> Result<(), DbError> {
            let cursor: i64 = r.get(2)?;
            out.extend(stored_ops_at(r, 0)?.into_iter().map(|op| (op, cursor)));
            Ok(())
        },
    )?;
    Ok(out)
}

/// Keeps a visit's merged state, holding the ops up to cursor `through`.
pub fn keep_state(c: &Sql, v: &Visit, through: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO visit_states (visit_id, state, through) VALUES (?1, ?2, ?3)
         ON CONFLICT (visit_id) DO UPDATE SET state = excluded.state, through = excluded.through",
        args![
            v.id().to_string(),
            sync_core::snapshot::encode([v]),
            through
        ],
    )?;
    Ok(())
}

/// Every visit's id.
pub fn visit_ids(c: &Sql) -> Result<Vec<VisitId>, DbError> {
    let ids: Vec<String> = c.query_map("SELECT id FROM visits", (), |r| r.get(0))?;
    ids.iter()
        .map(|s| {
            s.parse()
                .map_err(|e: uuid::Error| DbError::decode("visits.id", e))
        })
        .collect()
}

/// A visit's row in the index, as the ledger computes it from the merged
/// state.
pub struct IndexRow {
    visit: VisitId,
    status: String,
    location_kind: Option<String>,
    started_at: Option<i64>,
    voided: bool,
    conflicts: i64,
    round: u32,
}

impl IndexRow {
    /// The index row of a merged visit.
    pub fn of(v: &Visit) -> Self {
        IndexRow {
            visit: v.id(),
            status: v.status().as_str().to_owned(),
            location_kind: v.location_kind().map(|k| k.as_str().to_owned()),
            started_at: v.started_at(),
            voided: v.is_voided(),
            conflicts: v.conflicts().len() as i64,
            round: v.status_register().round(),
        }
    }
}

/// Writes a visit's index row (the visit's identity row exists: its create
/// op made it).
pub fn write_index(c: &Sql, row: &IndexRow, now: &str) -> Result<(), DbError> {
    c.execute(
        "UPDATE visits SET status = ?2, location_kind = ?3, started_at = ?4, voided = ?5, conflicts = ?6, updated_at = ?7,
                status_round = ?8
         WHERE id = ?1",
        args![
            row.visit.to_string(),
            row.status.as_str(),
            row.location_kind.clone(),
            row.started_at,
            row.voided,
            row.conflicts,
            now,
            row.round
        ],
    )?;
    Ok(())
}

/// A page of ops for a pull.
pub struct Page {
    /// The ops, in cursor order.
    pub ops: Vec<Op>,
    /// Where the next pull starts (`after` for the next request).
    pub cursor: i64,
    /// True when more follow.
    pub more: bool,
    /// Distinct visits the page carries ops of.
    pub visits: usize,
}

/// A segment as a pull reads it: cursor, `wire` (empty when NULL), `body`,
/// visit, replica.
type SegmentRow = (i64, Vec<u8>, Option<String>, String, String);

/// The ops a device may pull after `after`, at most `limit` (neither a
/// segment nor a visit's history brought by a grant is split, so a page
/// holding just one of them can be longer): ops of visits its user holds, never the ops of its current replica up to
/// `me.1` (the phone holds them; all of them when `None`: a phone restored
/// from an old backup says how far it holds its own and gets the rest
/// back), and, at each grant the
/// stream meets, the granted visit's ops from before the grant (which the
/// stream itself skips; see `scope`).
pub fn pull(
    c: &Sql,
    (replica, mine): (uuid::Uuid, Option<i64>),
    user: UserId,
    after: i64,
    limit: i64,
) -> Result<Page, DbError> {
    let holder = user.0.to_string();
    let me = replica.to_string();
    let mine = mine.unwrap_or(i64::MAX);
    // Segments after cursor `from`, at most `n` of them. A page needs at
    // most `limit` segments (each holds an op at least) but usually far
    // fewer (a push's ops of a visit are one), so they are read a growing
    // chunk at a time rather than `limit` at once.
    let fetch = |from: i64, n: i64| -> Result<VecDeque<SegmentRow>, DbError> {
        let (sql, p) = named(
            &format!(
                "SELECT o.cursor, o.wire, o.body, o.visit_id, o.replica FROM ops o
                  WHERE o.cursor > :after AND (o.replica <> :replica OR COALESCE(o.last_seq, o.seq) > :mine)
                    AND o.visit_id IN (SELECT v.id FROM visits v WHERE {HOLDS})
                    AND NOT EXISTS (SELECT 1 FROM grants g
                                     WHERE g.visit_id = o.visit_id AND g.cursor > o.cursor AND {GRANT_FOR})
                  ORDER BY o.cursor LIMIT :limit"
            ),
            &[
                (":after", &from),
                (":replica", &me),
                (":mine", &mine),
                (":holder", &holder),
                (":limit", &n),
            ],
        );
        Ok(c.query_map(&sql, p, |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?.unwrap_or_default(),
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?
        .into())
    };
    // A segment of this replica's ops can start at or below `mine`: only
    // the ops after it go.
    let theirs = |ops: Vec<Op>, from_me: bool| -> Vec<Op> {
        if from_me {
            ops.into_iter().filter(|o| o.id.seq as i64 > mine).collect()
        } else {
            ops
        }
    };
    let mut chunk = (limit + 1).min(FIRST_CHUNK);
    let mut segments = fetch(after, chunk)?;
    // Where the next chunk starts, or `None` once the last chunk came short.
    let mut next = segments
        .back()
        .filter(|_| segments.len() as i64 == chunk)
        .map(|s| s.0);
    let grants = super::scope::grants_after(c, user, after, limit + 1)?;
    let mut page = Page {
        ops: Vec::new(),
        cursor: after,
        more: false,
        visits: 0,
    };
    let mut visits = BTreeSet::new();
    let mut j = 0;
    while (page.ops.len() as i64) < limit {
        if let (true, Some(from)) = (segments.is_empty(), next) {
            chunk = (chunk * 2).min(limit + 1);
            segments = fetch(from, chunk)?;
            next = segments
                .back()
                .filter(|_| segments.len() as i64 == chunk)
                .map(|s| s.0);
        }
        let take_op = match (segments.front(), grants.get(j)) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(o), Some(g)) => o.0 < g.0,
        };
        if take_op {
            let (oc, wire, body, visit, from) = &segments[0];
            let ops = theirs(decode_segment(wire, body.as_deref())?, *from == me);
            // A segment is never split: one that would take the page past
            // its limit starts the next page (a page is longer than the
            // limit only when one segment alone is).
            if !page.ops.is_empty() && (page.ops.len() + ops.len()) as i64 > limit {
                break;
            }
            page.ops.extend(ops);
            visits.insert(visit.clone());
            page.cursor = *oc;
            segments.pop_front();
        } else {
            let (gc, visit) = &grants[j];
            let before = page.ops.len();
            c.query_each(
                "SELECT wire, body, replica FROM ops WHERE visit_id = ?1 AND cursor < ?2
                    AND (replica <> ?3 OR COALESCE(last_seq, seq) > ?4)
                  ORDER BY cursor",
                args![visit, gc, me, mine],
                |r| -> Result<(), DbError> {
                    let from: String = r.get(2)?;
                    page.ops.extend(theirs(stored_ops_at(r, 0)?, from == me));
                    Ok(())
                },
            )?;
            if page.ops.len() > before {
                visits.insert(visit.clone());
            }
            page.cursor = *gc;
            j += 1;
        }
    }
    page.more = !segments.is_empty()
        || j < grants.len()
        || match next {
            Some(from) => !fetch(from, 1)?.is_empty(),
            None => false,
        };
    page.visits = visits.len();
    Ok(page)
}

/// Segments a pull reads first (then twice as many each time, up to the
/// page's limit): a page of 500 ops in segments of 40 needs 13.
const FIRST_CHUNK: i64 = 32;

/// A row of the visit index.
#[derive(Clone, Debug, Serialize)]
pub struct VisitRow {
    /// Visit.
    pub id: String,
    /// Operation.
    pub operation_id: String,
    /// Status.
    pub status: String,
    /// Kind of place.
    pub location_kind: Option<String>,
    /// Start (UTC ms).
    pub started_at: Option<i64>,
    /// Voided.
    pub voided: bool,
    /// Fields in conflict.
    pub conflicts: i64,
    /// Last change stored.
    pub updated_at: String,
    /// The status's round (0 until first returned).
    pub round: u32,
    /// Problems that would stop an officer's phone submitting it
    /// (`sync_core::checks`; the server refuses nothing for them).
    pub blocking: Vec<sync_core::checks::Problem>,
    /// Problems a supervisor should look at (`sync_core::checks`).
    pub warnings: Vec<sync_core::checks::Problem>,
}

/// Visits in the given operations (`None`: all), newest first, optionally by
/// operation and status.
pub fn visits(
    c: &Sql,
    scope: Option<&[OperationId]>,
    operation: Option<OperationId>,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<VisitRow>, DbError> {
    let mut sql = String::from(
        "SELECT id, operation_id, status, location_kind, started_at, voided, conflicts, updated_at,
                status_round, checks FROM visits WHERE 1 = 1",
    );
    let mut args: Vec<Value> = Vec::new();
    if !super::filter_operations(&mut sql, &mut args, scope, operation) {
        return Ok(Vec::new());
    }
    if let Some(s) = status {
        sql.push_str(" AND status = ?");
        args.push(Value::Text(s.to_owned()));
    }
    sql.push_str(" ORDER BY started_at DESC NULLS LAST, id LIMIT ?");
    args.push(Value::Int(limit));
    c.query_map(&sql, args, |r| {
        let checks = super::checks::parse(r.get::<_, Option<String>>(9)?.as_deref());
        Ok(VisitRow {
            id: r.get(0)?,
            operation_id: r.get(1)?,
            status: r.get(2)?,
            location_kind: r.get(3)?,
            started_at: r.get(4)?,
            voided: r.get(5)?,
            conflicts: r.get(6)?,
            updated_at: r.get(7)?,
            round: r.get(8)?,
            blocking: checks.blocking,
            warnings: checks.warnings,
        })
    })
}

/// A quarantined op.
#[derive(Clone, Debug, Serialize)]
pub struct QuarantineRow {
    /// Row id.
    pub id: i64,
    /// Pushing device.
    pub device_id: Option<String>,
    /// Op's replica, if it parsed.
    pub replica: Option<String>,
    /// Op's sequence number, if it parsed.
    pub seq: Option<i64>,
    /// The op as received.
    pub body: String,
    /// Rejection code.
    pub code: String,
    /// Rejection message.
    pub message: String,
    /// When.
    pub received_at: String,
}

/// Newest quarantined ops first.
pub fn quarantined(
    c: &Sql,
    limit: i64,
    before: Option<i64>,
) -> Result<Vec<QuarantineRow>, DbError> {
    c.query_map(
        "SELECT id, device_id, replica, seq, body, code, message, received_at FROM quarantine
         WHERE id < ?2 ORDER BY id DESC LIMIT ?1",
        args![limit, before.unwrap_or(i64::MAX)],
        |r| {
            Ok(QuarantineRow {
                id: r.get(0)?,
                device_id: r.get(1)?,
                replica: r.get(2)?,
                seq: r.get(3)?,
                body: r.get(4)?,
                code: r.get(5)?,
                message: r.get(6)?,
                received_at: r.get(7)?,
            })
        },
    )
}

/// Counts for metrics: ops stored, ops quarantined.
pub fn counts(c: &Sql) -> Result<(i64, i64), DbError> {
    Ok((
        // Not MAX(cursor): a segment holds several ops, and cursors have
        // gaps.
        c.query_row("SELECT COUNT(*) FROM op_ids", (), |r| r.get(0))?,
        c.query_row("SELECT COUNT(*) FROM quarantine", (), |r| r.get(0))?,
    ))
}

/// The next sequence number for a replica (the server's own ops).
pub fn next_seq(c: &Sql, replica: &str) -> Result<u64, DbError> {
    let max: i64 = c.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM op_ids WHERE replica = ?1",
        [replica],
        |r| r.get(0),
    )?;
    Ok(max as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 11 on a database of version 10: every op's id claimed under
    /// its row's cursor, the rows kept, and the cursor sequence's high-water
    /// mark (which a grant may have taken past the last op) carried over,
    /// so the next segment's cursor comes after it.
    #[test]
    fn op_segments_migrate_in_place_keeping_the_cursor_high_water_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v10.sqlite3");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            for (i, sql) in crate::db::MIGRATIONS[..10].iter().enumerate() {
                c.execute_batch(sql).unwrap();
                c.pragma_update(None, "user_version", i as i64 + 1).unwrap();
            }
            for seq in 1..=3 {
                c.execute(
                    "INSERT INTO ops (replica, seq, visit_id, operation_id, body, wire, received_at)
                     VALUES ('r', ?1, 'v', 'o', '', x'00', 'now')",
                    [seq],
                )
                .unwrap();
            }
            // A grant reserved cursors 4 and 5.
            c.execute("UPDATE sqlite_sequence SET seq = 5 WHERE name = 'ops'", [])
                .unwrap();
        }
        let db = crate::db::Db::open(&path).unwrap();
        let (ids, high, unique): (Vec<(String, i64, i64)>, i64, i64) = db
            .read_blocking(|c| {
                Ok((
                    c.query_map(
                        "SELECT replica, seq, cursor FROM op_ids ORDER BY seq",
                        (),
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )?,
                    c.query_row(
                        "SELECT seq FROM sqlite_sequence WHERE name = 'ops'",
                        (),
                        |r| r.get(0),
                    )?,
                    c.query_row(
                        "SELECT COUNT(*) FROM sqlite_master
                          WHERE tbl_name = 'ops' AND type = 'index' AND name LIKE 'sqlite_autoindex%'",
                        (),
                        |r| r.get(0),
                    )?,
                ))
            })
            .unwrap();
        assert_eq!(
            ids,
            vec![("r".into(), 1, 1), ("r".into(), 2, 2), ("r".into(), 3, 3)]
        );
        assert_eq!(high, 5);
        assert_eq!(unique, 0, "ops keeps its UNIQUE (replica, seq)");
        let next = db.write_blocking(|c| Cursors::default().take(c)).unwrap();
        assert_eq!(next, 6);
    }
}
