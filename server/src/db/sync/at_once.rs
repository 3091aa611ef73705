//! A push's ops inserted a chunk to a statement (PostgreSQL, where each
//! statement is a round trip made while the write lock is held): the same
//! decisions as op by op, then one `INSERT` per [`ROWS_AT_ONCE`] ops.

use super::push::{decide, note_accepted, quarantine, reject};
use super::{Incoming, PushResult, Pusher};
use crate::db::sql::{Sql, Value};
use crate::db::DbError;
use std::collections::HashMap;
use sync_core::{Op, OperationId};

/// [`super::store`] on PostgreSQL when every op the permission table lets in is
/// new (a device's usual push): the same decisions, in the same order, but
/// the ops are inserted a chunk to a statement instead of one round trip
/// each. `None` when any of them was stored before (a retried push), or
/// named twice: the caller then rolls this back and takes each op on its
/// own, so a duplicate is told apart from a reused id exactly as there.
/// Returns each item's result and, for those inserted, (index, cursor).
#[allow(clippy::type_complexity)]
pub(super) fn store(
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
        crate::db::scope::add_writer(c, visit, user)?;
    }
    Ok(Some((results, cursors)))
}

/// An op [`store`] will insert.
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
