//! The checks before submit (`sync_core::checks`) of each visit, kept in
//! the visit index at reindex time (in the same transaction, from the same
//! merged state) so the review list shows them without rebuilding visits.
//! An operation's dates never change, so the date warning stays true.

use super::DbError;
use rusqlite::{params, Connection, OptionalExtension};
use sync_core::checks::{check, Checks, Dates};
use sync_core::summary::LocalDate;
use sync_core::{Visit, VisitId};

/// The operation's dates, when the visit has one and they parse.
fn dates(c: &Connection, v: &Visit) -> Result<Option<Dates>, DbError> {
    let Some(op) = v.operation() else {
        return Ok(None);
    };
    let row: Option<(String, String)> = c
        .prepare_cached("SELECT starts_on, ends_on FROM operations WHERE id = ?1")?
        .query_row([op.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(s, e)| {
        Some(Dates {
            starts_on: LocalDate::parse(&s)?,
            ends_on: LocalDate::parse(&e)?,
        })
    }))
}

/// Computes and stores a visit's checks.
pub fn store(c: &Connection, visit: VisitId, v: &Visit) -> Result<(), DbError> {
    let checks = check(v, dates(c, v)?);
    let json = serde_json::to_string(&checks).map_err(|e| DbError::Corrupt(e.to_string()))?;
    c.prepare_cached("UPDATE visits SET checks = ?2 WHERE id = ?1")?
        .execute(params![visit.to_string(), json])?;
    Ok(())
}

/// Reads stored checks; none stored (or unreadable) reads as no problems.
pub fn parse(json: Option<&str>) -> Checks {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// Computes the checks of visits stored before they existed (migration 6),
/// in batches; returns how many it filled.
pub fn backfill(c: &mut Connection) -> Result<usize, DbError> {
    let mut done = 0;
    loop {
        let tx = c.transaction()?;
        let ids: Vec<String> = tx
            .prepare("SELECT id FROM visits WHERE checks IS NULL LIMIT 500")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(done);
        }
        for id in &ids {
            let visit: VisitId = id
                .parse()
                .map_err(|e: uuid::Error| DbError::Corrupt(e.to_string()))?;
            match super::sync::visit_state(&tx, visit)? {
                Some(v) => store(&tx, visit, &v)?,
                None => {
                    tx.execute("UPDATE visits SET checks = '{}' WHERE id = ?1", [id])?;
                }
            }
        }
        tx.commit()?;
        done += ids.len();
    }
}
