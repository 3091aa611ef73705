//! A push's ops inserted a chunk to a statement (PostgreSQL, where each
//! statement is a round trip made while the write lock is held): the same
//! decisions as op by op, then the ids claimed [`ROWS_AT_ONCE`] to an
//! `INSERT`, and the segments likewise.

use super::push::{decide, note_accepted, quarantine, reject};
use super::{Cursors, Segment, SEGMENT_COLUMNS, SEGMENT_OPS};
use super::{Incoming, PushResult, Pusher};
use crate::db::sql::{Sql, Value};
use crate::db::DbError;
use std::collections::HashMap;
use sync_core::{Op, OperationId, VisitId};

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

/// Rows to a statement in [`insert_new`] (see [`chunks`]).
const ROWS_AT_ONCE: usize = 64;

/// Stores `rows` in segments (each visit's in order, up to [`SEGMENT_OPS`]
/// to one), several rows to a statement; each row's (index, cursor) by
/// index, or `None` if any id was taken (stored before, or named twice).
fn insert_new(
    c: &Sql,
    who: &Pusher,
    rows: &[NewOp<'_>],
    now: &str,
) -> Result<Option<Vec<(usize, i64)>>, DbError> {
    // Which segment each row goes into.
    let mut segments: Vec<(VisitId, OperationId, Vec<usize>)> = Vec::new();
    let mut open: HashMap<VisitId, usize> = HashMap::new();
    for (k, row) in rows.iter().enumerate() {
        match open.get(&row.op.visit) {
            Some(&si) if segments[si].2.len() < SEGMENT_OPS => segments[si].2.push(k),
            _ => {
                open.insert(row.op.visit, segments.len());
                segments.push((row.op.visit, row.operation, vec![k]));
            }
        }
    }
    let cursors = Cursors::default().take_many(c, segments.len())?;
    let mut out = Vec::with_capacity(rows.len());
    // The ids' values, three to a row, in one run: each chunk's statement
    // binds a slice of it (nothing copied again).
    let mut ids = Vec::with_capacity(rows.len() * 3);
    for ((_, _, members), &cursor) in segments.iter().zip(&cursors) {
        for &k in members {
            out.push((rows[k].at, cursor));
            ids.extend([
                Value::Text(rows[k].op.id.replica.to_string()),
                Value::Int(rows[k].op.id.seq as i64),
                Value::Int(cursor),
            ]);
        }
    }
    for (from, n) in chunks(rows.len()) {
        let sql = format!(
            "INSERT INTO op_ids (replica, seq, cursor) VALUES {} ON CONFLICT DO NOTHING RETURNING seq",
            placeholders(n, 3, "")
        );
        let claimed: Vec<i64> = c.query_map(&sql, &ids[from * 3..(from + n) * 3], |r| r.get(0))?;
        if claimed.len() != n {
            return Ok(None);
        }
    }
    let device = who.device().map(|d| d.to_string());
    let count = segments.len();
    let values: Vec<Value> = segments
        .into_iter()
        .zip(cursors)
        .flat_map(|((visit, operation, members), cursor)| {
            Segment {
                cursor,
                visit,
                operation,
                ops: members.iter().map(|&k| rows[k].op.clone()).collect(),
            }
            .values(&device, now)
        })
        .collect();
    for (from, n) in chunks(count) {
        let sql = format!(
            "INSERT INTO ops ({SEGMENT_COLUMNS}) VALUES {}",
            placeholders(n, 9, ", ''")
        );
        c.execute(&sql, &values[from * 9..(from + n) * 9])?;
    }
    out.sort_unstable();
    Ok(Some(out))
}

/// `rows` rows a chunk at a time, as (first, count): [`ROWS_AT_ONCE`], then
/// shorter tails in halves, so there are only a few statement shapes to
/// prepare.
fn chunks(rows: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let left = rows - from;
        if left == 0 {
            return None;
        }
        let n = if left >= ROWS_AT_ONCE {
            ROWS_AT_ONCE
        } else {
            1 << left.ilog2()
        };
        from += n;
        Some((from - n, n))
    })
}

/// `(?1, ?2, ?3), (?4, …)`: `rows` groups of `width` numbered parameters,
/// each followed by `tail` (more values) before its closing parenthesis.
fn placeholders(rows: usize, width: usize, tail: &str) -> String {
    (0..rows)
        .map(|k| {
            let cols: Vec<String> = (1..=width).map(|j| format!("?{}", k * width + j)).collect();
            format!("({}{tail})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
