//! Pushes: each op decided by the permission table and the stored visits,
//! then stored once (its id claimed in `op_ids`), a refused one kept in the
//! quarantine. A push's new ops of a visit are stored together, in
//! segments (see `super`). On PostgreSQL a push's new ops go in a chunk to
//! a statement (`at_once`).

use super::{claim_id, insert_segment, stored_with_id, Cursors, Segment, SEGMENT_OPS};
use crate::db::scope::HOLDS;
use crate::db::sql::{args, named, Backend, Sql};
use crate::db::DbError;
use crate::domain::{DeviceId, Role, UserId};
use crate::permissions::{self, Facts, OpKind};
use serde::Serialize;
use std::collections::HashMap;
use sync_core::{Action, Op, OpId, OperationId, Status, VisitId};

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
    pub(super) fn device(&self) -> Option<uuid::Uuid> {
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
pub(super) struct Known {
    operation: OperationId,
    facts: Facts,
    /// The pusher's user is already among the visit's writers.
    written: bool,
}

pub(super) fn reject(code: &str, message: impl Into<String>, field: Option<String>) -> PushResult {
    PushResult::Rejected {
        code: code.to_owned(),
        message: message.into(),
        field,
    }
}

pub(super) fn quarantine(
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
    /// The ops stored now, each with the cursor of its segment: each
    /// visit's in push order.
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
        if let Some((results, cursors)) = super::at_once::store(c, who, &items, now)? {
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
    let device = who.device().map(|d| d.to_string());
    let mut known = HashMap::new();
    let mut cursors = Cursors::default();
    // A cursor drawn for a new segment whose op turned out to be stored
    // already: the next new segment takes it.
    let mut spare = None;
    let mut segments: Vec<Segment> = Vec::new();
    // Each visit's segment still taking ops, and where this push's new ops are.
    let mut open: HashMap<VisitId, usize> = HashMap::new();
    let mut here: HashMap<OpId, (usize, usize)> = HashMap::new();
    let mut seen = HashMap::new();
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
        let r = match decide(c, who, &op, now, &mut known)? {
            Err(refused) => refused,
            Ok(_) if here.contains_key(&op.id) => {
                let (si, k) = here[&op.id];
                same_or_reused(&segments[si].ops[k], &op)
            }
            Ok(operation) => {
                let room = open
                    .get(&op.visit)
                    .copied()
                    .filter(|&si| segments[si].ops.len() < SEGMENT_OPS);
                let cursor = match room {
                    Some(si) => segments[si].cursor,
                    None => match spare.take() {
                        Some(cursor) => cursor,
                        None => cursors.take(c)?,
                    },
                };
                if claim_id(c, &op, cursor)? {
                    let si = room.unwrap_or_else(|| {
                        segments.push(Segment {
                            cursor,
                            visit: op.visit,
                            operation,
                            ops: Vec::new(),
                        });
                        open.insert(op.visit, segments.len() - 1);
                        segments.len() - 1
                    });
                    if let Some(user) = note_accepted(who, &op, &mut known) {
                        crate::db::scope::add_writer(c, op.visit, user)?;
                    }
                    here.insert(op.id, (si, segments[si].ops.len()));
                    segments[si].ops.push(op);
                    out.results.push(PushResult::Accepted);
                    continue;
                }
                if room.is_none() {
                    spare = Some(cursor);
                }
                match stored_with_id(c, &op, &mut seen)? {
                    Some(stored) => same_or_reused(&stored, &op),
                    None => {
                        return Err(DbError::Inconsistent(format!(
                            "op {}:{} is in op_ids but in no stored segment",
                            op.id.replica, op.id.seq
                        )))
                    }
                }
            }
        };
        if matches!(r, PushResult::Rejected { .. }) {
            // Kept readable for whoever looks into the quarantine.
            let body = serde_json::to_string(&op).unwrap_or_default();
            quarantine(c, who.device(), Some(&op), &body, &r, now)?;
        }
        out.results.push(r);
    }
    for s in &segments {
        insert_segment(c, s, &device, now)?;
    }
    out.accepted = segments
        .into_iter()
        .flat_map(|s| {
            let cursor = s.cursor;
            s.ops.into_iter().map(move |op| (op, cursor))
        })
        .collect();
    Ok(out)
}

/// A pushed op whose id is stored already: a duplicate when it is the same
/// op, else a refusal (the id was used for another op).
pub(super) fn same_or_reused(stored: &Op, pushed: &Op) -> PushResult {
    if stored == pushed {
        PushResult::Duplicate
    } else {
        reject(
            "id_reused",
            "this op id was already used for a different op",
            None,
        )
    }
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
pub(super) fn decide(
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
                let member = crate::db::people::is_member(c, u, *operation)?;
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
            if !crate::db::people::operation_exists(c, *operation)? {
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
pub(super) fn note_accepted(
    who: &Pusher,
    op: &Op,
    known: &mut HashMap<VisitId, Known>,
) -> Option<UserId> {
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
