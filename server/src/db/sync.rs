//! Stored ops, the derived visit index, pulls by cursor and the quarantine.
//!
//! Every accepted op is stored once (`UNIQUE (replica, seq)`). The stored ops
//! are the only source of truth; each visit's merged state is kept beside
//! them (`visit_states`, with the greatest cursor it holds) and the derived
//! rows are written from it, all by the ledger (`crate::ledger`): this
//! module only inserts and reads.

use super::scope::{GRANT_FOR, HOLDS};
use super::sql::{args, named, Backend, Row, Sql, Value};
use super::DbError;
use crate::domain::{DeviceId, Role, UserId};
use crate::permissions::{self, Facts, OpKind};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use sync_core::{Action, Op, OperationId, Status, Visit, VisitId};

/// One item of a push: a parsed op, or the raw text of one that did not parse.
pub enum Incoming {
    /// Parsed.
    Op(Op),
    /// Could not be read as an op.
    Malformed {
        /// The raw JSON (truncated).
        raw: String,
        /// Why.
        message: String,
    },
}

/// The result of one pushed op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PushResult {
    /// Stored.
    Accepted,
    /// Already stored before: nothing new.
    Duplicate,
    /// Not stored; kept in quarantine.
    Rejected {
        /// Stable code.
        code: String,
        /// What was wrong.
        message: String,
        /// The field concerned, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
}

/// Who pushes.
#[derive(Clone, Copy, Debug)]
pub enum Pusher {
    /// The server's own replica (reviews, resolutions): trusted, not subject
    /// to the permission table.
    Server,
    /// An enrolled device: its ops must carry its id as replica, and each op
    /// is decided by [`crate::permissions::decide`].
    Device {
        /// The device.
        device: DeviceId,
        /// The replica id its ops must carry (the device id until it rekeys).
        replica: uuid::Uuid,
        /// Its user.
        user: UserId,
        /// The user's role.
        role: Role,
    },
}

impl Pusher {
    fn device(&self) -> Option<uuid::Uuid> {
        match self {
            Pusher::Server => None,
            Pusher::Device { device, .. } => Some(device.0),
        }
    }

    fn replica(&self) -> Option<uuid::Uuid> {
        match self {
            Pusher::Server => None,
            Pusher::Device { replica, .. } => Some(*replica),
        }
    }
}

/// What one push has learnt about a visit (looked up once per push).
struct Known {
    operation: OperationId,
    facts: Facts,
    /// The pusher's user is already among the visit's writers.
    written: bool,
}

fn reject(code: &str, message: impl Into<String>, field: Option<String>) -> PushResult {
    PushResult::Rejected {
        code: code.to_owned(),
        message: message.into(),
        field,
    }
}

fn quarantine(
    c: &Sql,
    device: Option<uuid::Uuid>,
    op: Option<&Op>,
    body: &str,
    r: &PushResult,
    now: &str,
) -> Result<(), DbError> {
    if let PushResult::Rejected { code, message, .. } = r {
        c.execute(
            "INSERT INTO quarantine (device_id, replica, seq, body, code, message, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            args![
                device.map(|d| d.to_string()),
                op.map(|o| o.id.replica.to_string()),
                op.map(|o| o.id.seq as i64),
                body,
                code,
                message,
                now
            ],
        )?;
    }
    Ok(())
}

/// The operation a stored visit belongs to.
pub fn visit_operation(c: &Sql, visit: VisitId) -> Result<Option<OperationId>, DbError> {
    let s: Option<String> = c.query_opt(
        "SELECT operation_id FROM visits WHERE id = ?1",
        [visit.to_string()],
        |r| r.get(0),
    )?;
    s.map(|s| {
        s.parse()
            .map_err(|e: uuid::Error| DbError::decode("visits.operation_id", e))
    })
    .transpose()
}

/// What [`store`] did with a batch.
pub struct Stored {
    /// One result per item, in order.
    pub results: Vec<PushResult>,
    /// The ops stored now, in order, each with its cursor.
    pub accepted: Vec<(Op, i64)>,
}

/// Stores a batch in the caller's transaction (the ledger's first step:
/// `crate::ledger::push`): one result per item, in order. Rejected items go
/// to the quarantine; they never stop the others. Nothing derived is
/// written here.
pub fn store(c: &Sql, who: &Pusher, items: Vec<Incoming>, now: &str) -> Result<Stored, DbError> {
    let mut out = Stored {
        results: Vec::with_capacity(items.len()),
        accepted: Vec::new(),
    };
    if c.backend() == Backend::Postgres && items.len() > 1 {
        c.execute_batch("SAVEPOINT aidant_at_once")?;
        if let Some((results, cursors)) = store_at_once(c, who, &items, now)? {
            c.execute_batch("RELEASE SAVEPOINT aidant_at_once")?;
            out.results = results;
            let mut cursors = cursors.into_iter().peekable();
            for (i, item) in items.into_iter().enumerate() {
                if let (Incoming::Op(op), Some(&(at, cursor))) = (item, cursors.peek()) {
                    if at == i {
                        out.accepted.push((op, cursor));
                        cursors.next();
                    }
                }
            }
            return Ok(out);
        }
        // Some op was stored before: each is taken on its own below.
        c.execute_batch("ROLLBACK TO SAVEPOINT aidant_at_once; RELEASE SAVEPOINT aidant_at_once")?;
    }
    let mut known = HashMap::new();
    for item in items {
        let op = match item {
            Incoming::Malformed { raw, message } => {
                let r = reject("malformed", message, None);
                quarantine(c, who.device(), None, &raw, &r, now)?;
                out.results.push(r);
                continue;
            }
            Incoming::Op(op) => op,
        };
        let wire = sync_core::wire::encode([&op]);
        let mut cursor = None;
        let r = push_one(c, who, &op, &wire, now, &mut known, &mut cursor)?;
        if matches!(r, PushResult::Rejected { .. }) {
            // Kept readable for whoever looks into the quarantine.
            let body = serde_json::to_string(&op).unwrap_or_default();
            quarantine(c, who.device(), Some(&op), &body, &r, now)?;
        }
        out.results.push(r);
        if let Some(cursor) = cursor {
            out.accepted.push((op, cursor));
        }
    }
    Ok(out)
}

/// [`store`] on PostgreSQL when every op the permission table lets in is
/// new (a device's usual push): the same decisions, in the same order, but
/// the ops are inserted a chunk to a statement instead of one round trip
/// each. `None` when any of them was stored before (a retried push), or
/// named twice: the caller then rolls this back and takes each op on its
/// own, so a duplicate is told apart from a reused id exactly as there.
/// Returns each item's result and, for those inserted, (index, cursor).
#[allow(clippy::type_complexity)]
fn store_at_once(
    c: &Sql,
    who: &Pusher,
    items: &[Incoming],
    now: &str,
) -> Result<Option<(Vec<PushResult>, Vec<(usize, i64)>)>, DbError> {
    let mut results = Vec::with_capacity(items.len());
    let mut rows = Vec::with_capacity(items.len());
    let mut writers = Vec::new();
    let mut known = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let op = match item {
            Incoming::Malformed { raw, message } => {
                let r = reject("malformed", message.clone(), None);
                quarantine(c, who.device(), None, raw, &r, now)?;
                results.push(r);
                continue;
            }
            Incoming::Op(op) => op,
        };
        match decide(c, who, op, now, &mut known)? {
            Ok(operation) => {
                if let Some(user) = note_accepted(who, op, &mut known) {
                    writers.push((op.visit, user));
                }
                rows.push(NewOp {
                    at: i,
                    op,
                    operation,
                });
                results.push(PushResult::Accepted);
            }
            Err(r) => {
                let body = serde_json::to_string(op).unwrap_or_default();
                quarantine(c, who.device(), Some(op), &body, &r, now)?;
                results.push(r);
            }
        }
    }
    let Some(cursors) = insert_new(c, who, &rows, now)? else {
        return Ok(None);
    };
    for (visit, user) in writers {
        super::scope::add_writer(c, visit, user)?;
    }
    Ok(Some((results, cursors)))
}

/// An op [`store_at_once`] will insert.
struct NewOp<'a> {
    /// Its index in the push.
    at: usize,
    op: &'a Op,
    operation: OperationId,
}

/// Rows to a statement in [`insert_new`]; shorter tails go in halves, so
/// there are only a few statement shapes to prepare.
const ROWS_AT_ONCE: usize = 64;

/// Inserts `rows` in order, several to a statement; their (index, cursor)
/// in order, or `None` if any was not inserted (its id was taken).
fn insert_new(
    c: &Sql,
    who: &Pusher,
    rows: &[NewOp<'_>],
    now: &str,
) -> Result<Option<Vec<(usize, i64)>>, DbError> {
    let device = who.device().map(|d| d.to_string());
    let mut out = Vec::with_capacity(rows.len());
    let mut rest = rows;
    while !rest.is_empty() {
        let n = if rest.len() >= ROWS_AT_ONCE {
            ROWS_AT_ONCE
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let mut sql = String::from(
            "INSERT INTO ops (replica, seq, visit_id, operation_id, body, wire, device_id, received_at) VALUES ",
        );
        let mut params: Vec<Value> = Vec::with_capacity(n * 7);
        for (k, row) in chunk.iter().enumerate() {
            let b = k * 7;
            if k > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(?{}, ?{}, ?{}, ?{}, '', ?{}, ?{}, ?{})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            ));
            params.extend([
                Value::Text(row.op.id.replica.to_string()),
                Value::Int(row.op.id.seq as i64),
                Value::Text(row.op.visit.to_string()),
                Value::Text(row.operation.to_string()),
                Value::Blob(sync_core::wire::encode([row.op])),
                device.clone().map_or(Value::Null, Value::Text),
                Value::Text(now.to_owned()),
            ]);
        }
        sql.push_str(" ON CONFLICT (replica, seq) DO NOTHING RETURNING replica, seq, cursor");
        let got: HashMap<(String, i64), i64> = c
            .query_map(&sql, &params, |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?
            .into_iter()
            .collect();
        if got.len() != chunk.len() {
            return Ok(None);
        }
        for row in chunk {
            let key = (row.op.id.replica.to_string(), row.op.id.seq as i64);
            match got.get(&key) {
                Some(&cursor) => out.push((row.at, cursor)),
                None => return Ok(None),
            }
        }
    }
    Ok(Some(out))
}

/// The facts the permission table needs about an existing visit, for `user`.
fn lookup(c: &Sql, visit: VisitId, user: UserId) -> Result<Option<Known>, DbError> {
    let (visit, holder) = (visit.to_string(), user.0.to_string());
    let (sql, p) = named(
        &format!(
            "SELECT v.operation_id, v.status, v.created_by IS NOT DISTINCT FROM :holder,
                    EXISTS (SELECT 1 FROM members WHERE user_id = :holder AND operation_id = v.operation_id),
                    {HOLDS}, v.status_round
               FROM visits v WHERE v.id = :visit"
        ),
        &[(":visit", &visit), (":holder", &holder)],
    );
    let row: Option<(String, String, bool, bool, bool, u32)> = c.query_opt(&sql, p, |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })?;
    let Some((operation, status, creator, member, holds, round)) = row else {
        return Ok(None);
    };
    let operation = operation
        .parse()
        .map_err(|e: uuid::Error| DbError::decode("visits.operation_id", e))?;
    Ok(Some(Known {
        operation,
        facts: Facts {
            member,
            holds,
            creator,
            round,
            status_rank: Status::parse(&status).rank().unwrap_or(0),
        },
        written: false,
    }))
}

/// The permission table's and the stored visits' answer for one op, up to
/// its insert: the operation it goes into, or why it is refused. A create
/// op's visit row is written here.
fn decide(
    c: &Sql,
    who: &Pusher,
    op: &Op,
    now: &str,
    known: &mut HashMap<VisitId, Known>,
) -> Result<Result<OperationId, PushResult>, DbError> {
    if let Some(r) = who.replica() {
        if op.id.replica.0 != r {
            return Ok(Err(reject(
                "wrong_replica",
                "a device may push only its own ops (replica must be the device's current replica id)",
                None,
            )));
        }
    }
    if let Err(e) = op.validate() {
        return Ok(Err(reject("invalid", e.reason.to_string(), e.field)));
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = known.entry(op.visit) {
        let found = match who {
            Pusher::Device { user, .. } => lookup(c, op.visit, *user)?,
            Pusher::Server => visit_operation(c, op.visit)?.map(|operation| Known {
                operation,
                facts: Facts {
                    member: true,
                    holds: true,
                    creator: false,
                    round: 0,
                    status_rank: 0,
                },
                written: true,
            }),
        };
        if let Some(k) = found {
            slot.insert(k);
        }
    }
    let kind = OpKind::of(&op.action);
    let operation = match (&op.action, known.get(&op.visit)) {
        (Action::Create { operation }, None) => {
            let (user, role) = match who {
                Pusher::Device { user, role, .. } => (Some(*user), Some(*role)),
                Pusher::Server => (None, None),
            };
            if let (Some(u), Some(role)) = (user, role) {
                let member = super::people::is_member(c, u, *operation)?;
                let facts = Facts {
                    member,
                    holds: true,
                    creator: true,
                    round: 0,
                    status_rank: 0,
                };
                if let Err(r) = permissions::decide(role, kind, facts) {
                    return Ok(Err(reject(r.code, r.message, None)));
                }
            }
            if !super::people::operation_exists(c, *operation)? {
                return Ok(Err(reject("unknown_operation", "no such operation", None)));
            }
            c.execute(
                "INSERT INTO visits (id, operation_id, status, voided, conflicts, updated_at, created_by, team_id)
                 VALUES (?1, ?2, 'draft', 0, 0, ?3, ?4,
                         (SELECT team_id FROM members WHERE user_id = ?4 AND operation_id = ?2))",
                args![
                    op.visit.to_string(),
                    operation.to_string(),
                    now,
                    user.map(|u| u.0.to_string())
                ],
            )?;
            known.insert(
                op.visit,
                Known {
                    operation: *operation,
                    facts: Facts {
                        member: true,
                        holds: true,
                        creator: true,
                        round: 0,
                        status_rank: 0,
                    },
                    written: false,
                },
            );
            *operation
        }
        (Action::Create { operation }, Some(k)) if *operation != k.operation => {
            return Ok(Err(reject(
                "operation_mismatch",
                "the visit already belongs to another operation",
                None,
            )));
        }
        (_, Some(k)) => {
            if let Pusher::Device { role, .. } = who {
                if let Err(r) = permissions::decide(*role, kind, k.facts) {
                    return Ok(Err(reject(r.code, r.message, None)));
                }
            }
            k.operation
        }
        (_, None) => {
            return Ok(Err(reject(
                "unknown_visit",
                "no such visit: push its create op first",
                None,
            )));
        }
    };

    Ok(Ok(operation))
}

/// Notes an inserted op in what the push knows of its visit (its status
/// for the next ops' decisions); returns the visit if the pusher's user
/// must now be recorded among its writers.
fn note_accepted(who: &Pusher, op: &Op, known: &mut HashMap<VisitId, Known>) -> Option<UserId> {
    let k = known.get_mut(&op.visit)?;
    if let Action::Status { status, round, .. } = &op.action {
        k.facts.observe_status(status, *round);
    }
    match (k.written, who) {
        (false, Pusher::Device { user, .. }) => {
            k.written = true;
            Some(*user)
        }
        _ => None,
    }
}

fn push_one(
    c: &Sql,
    who: &Pusher,
    op: &Op,
    wire: &[u8],
    now: &str,
    known: &mut HashMap<VisitId, Known>,
    stored_at: &mut Option<i64>,
) -> Result<PushResult, DbError> {
    let operation = match decide(c, who, op, now, known)? {
        Ok(operation) => operation,
        Err(refused) => return Ok(refused),
    };
    let inserted = c.insert_key(
        "INSERT INTO ops (replica, seq, visit_id, operation_id, body, wire, device_id, received_at)
         VALUES (?1, ?2, ?3, ?4, '', ?5, ?6, ?7) ON CONFLICT (replica, seq) DO NOTHING",
        "cursor",
        args![
            op.id.replica.to_string(),
            op.id.seq as i64,
            op.visit.to_string(),
            operation.to_string(),
            wire,
            who.device().map(|d| d.to_string()),
            now
        ],
    )?;
    if let Some(cursor) = inserted {
        *stored_at = Some(cursor);
        if let Some(user) = note_accepted(who, op, known) {
            super::scope::add_writer(c, op.visit, user)?;
        }
        return Ok(PushResult::Accepted);
    }
    let stored = c.query_row(
        "SELECT wire, body FROM ops WHERE replica = ?1 AND seq = ?2",
        args![op.id.replica.to_string(), op.id.seq as i64],
        stored_op,
    )?;
    Ok(if stored == *op {
        PushResult::Duplicate
    } else {
        reject(
            "id_reused",
            "this op id was already used for a different op",
            None,
        )
    })
}

/// A stored op from its `wire` and `body` columns (`wire` when present;
/// rows from before version 9 not yet converted hold JSON in `body`).
fn stored_op(r: &Row<'_>) -> Result<Op, DbError> {
    stored_op_at(r, 0)
}

fn stored_op_at(r: &Row<'_>, i: usize) -> Result<Op, DbError> {
    let wire: Option<Vec<u8>> = r.get(i)?;
    match wire {
        Some(bytes) => sync_core::wire::decode_limited(&bytes, 1)
            .ok()
            .and_then(|mut ops| ops.pop())
            .ok_or_else(|| DbError::decode("ops.wire", "not a one-op wire batch")),
        None => {
            let body: String = r.get(i + 1)?;
            serde_json::from_str(&body).map_err(|e| DbError::decode("ops.body", e))
        }
    }
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

/// A visit's ops stored after cursor `after`, in cursor order, with their
/// cursors.
pub fn ops_after(c: &Sql, visit: VisitId, after: i64) -> Result<Vec<(Op, i64)>, DbError> {
    c.query_map(
        "SELECT wire, body, cursor FROM ops WHERE visit_id = ?1 AND cursor > ?2 ORDER BY cursor",
        args![visit.to_string(), after],
        |r| Ok((stored_op(r)?, r.get(2)?)),
    )
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

/// The ops a device may pull after `after`, at most about `limit` (a visit's
/// history brought by a grant is never split, so a page can be longer):
/// ops of visits its user holds, never the ops of its current replica up to
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
    let more = limit + 1;
    let (sql, p) = named(
        &format!(
            "SELECT o.cursor, o.wire, o.body, o.visit_id FROM ops o
              WHERE o.cursor > :after AND (o.replica <> :replica OR o.seq > :mine)
                AND o.visit_id IN (SELECT v.id FROM visits v WHERE {HOLDS})
                AND NOT EXISTS (SELECT 1 FROM grants g
                                 WHERE g.visit_id = o.visit_id AND g.cursor > o.cursor AND {GRANT_FOR})
              ORDER BY o.cursor LIMIT :limit"
        ),
        &[
            (":after", &after),
            (":replica", &me),
            (":mine", &mine),
            (":holder", &holder),
            (":limit", &more),
        ],
    );
    let ops: Vec<(i64, Op, String)> =
        c.query_map(&sql, p, |r| Ok((r.get(0)?, stored_op_at(r, 1)?, r.get(3)?)))?;
    let grants = super::scope::grants_after(c, user, after, limit + 1)?;
    let mut page = Page {
        ops: Vec::new(),
        cursor: after,
        more: false,
        visits: 0,
    };
    let mut visits = BTreeSet::new();
    let (mut i, mut j) = (0, 0);
    while (page.ops.len() as i64) < limit {
        let take_op = match (ops.get(i), grants.get(j)) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(o), Some(g)) => o.0 < g.0,
        };
        if take_op {
            let (oc, op, visit) = &ops[i];
            page.ops.push(op.clone());
            visits.insert(visit.as_str());
            page.cursor = *oc;
            i += 1;
        } else {
            let (gc, visit) = &grants[j];
            let before = page.ops.len();
            c.query_each(
                "SELECT wire, body FROM ops WHERE visit_id = ?1 AND cursor < ?2
                    AND (replica <> ?3 OR seq > ?4)
                  ORDER BY cursor",
                args![visit, gc, me, mine],
                |r| -> Result<(), DbError> {
                    page.ops.push(stored_op(r)?);
                    Ok(())
                },
            )?;
            if page.ops.len() > before {
                visits.insert(visit.as_str());
            }
            page.cursor = *gc;
            j += 1;
        }
    }
    page.more = i < ops.len() || j < grants.len();
    page.visits = visits.len();
    Ok(page)
}

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
        // Not MAX(cursor): an insert that hits ON CONFLICT DO NOTHING (a
        // duplicate push) still uses up an AUTOINCREMENT value.
        c.query_row("SELECT COUNT(*) FROM ops", (), |r| r.get(0))?,
        c.query_row("SELECT COUNT(*) FROM quarantine", (), |r| r.get(0))?,
    ))
}

/// The next sequence number for a replica (the server's own ops).
pub fn next_seq(c: &Sql, replica: &str) -> Result<u64, DbError> {
    let max: i64 = c.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM ops WHERE replica = ?1",
        [replica],
        |r| r.get(0),
    )?;
    Ok(max as u64 + 1)
}
