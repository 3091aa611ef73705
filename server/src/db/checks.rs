//! The checks before submit (`sync_core::checks`) of each visit, kept in
//! the visit index at reindex time (in the same transaction, from the same
//! merged state) so the review list shows them without rebuilding visits.
//! An operation's dates never change, so the date warning stays true.

use super::sql::{args, Sql};
use super::Db;
use super::DbError;
use sync_core::checks::{check, Checks, Dates};
use sync_core::summary::LocalDate;
use sync_core::{Visit, VisitId};

/// The operation's dates, when the visit has one and they parse.
fn dates(c: &Sql, v: &Visit) -> Result<Option<Dates>, DbError> {
    let Some(op) = v.operation() else {
        return Ok(None);
    };
    let row: Option<(String, String)> = c.query_opt(
        "SELECT starts_on, ends_on FROM operations WHERE id = ?1",
        [op.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(row.and_then(|(s, e)| {
        Some(Dates {
            starts_on: LocalDate::parse(&s)?,
            ends_on: LocalDate::parse(&e)?,
        })
    }))
}

/// Computes and stores a visit's checks.
pub fn store(c: &Sql, visit: VisitId, v: &Visit) -> Result<(), DbError> {
    let checks = check(v, dates(c, v)?);
    let json = serde_json::to_string(&checks).map_err(|e| DbError::encode("visit checks", e))?;
    c.execute(
        "UPDATE visits SET checks = ?2 WHERE id = ?1",
        args![visit.to_string(), json],
    )?;
    Ok(())
}

/// Reads stored checks; none stored (or unreadable) reads as no problems.
pub fn parse(json: Option<&str>) -> Checks {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// Computes the checks of visits stored before they existed (migration 6),
/// in batches; returns how many it filled.
pub fn backfill(db: &Db) -> Result<usize, DbError> {
    let mut done = 0;
    loop {
        let n = db.write_blocking(|tx| {
            let ids: Vec<String> = tx.query_map(
                "SELECT id FROM visits WHERE checks IS NULL LIMIT 500",
                (),
                |r| r.get(0),
            )?;
            for id in &ids {
                let visit: VisitId = id
                    .parse()
                    .map_err(|e: uuid::Error| DbError::decode("visits.id", e))?;
                match super::sync::visit_state(tx, visit)? {
                    Some(v) => store(tx, visit, &v)?,
                    None => {
                        tx.execute("UPDATE visits SET checks = '{}' WHERE id = ?1", [id])?;
                    }
                }
            }
            Ok(ids.len())
        })?;
        if n == 0 {
            return Ok(done);
        }
        done += n;
    }
}
