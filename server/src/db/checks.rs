//! The checks before submit (`sync_core::checks`) of each visit, kept in
//! the visit index by the ledger (in the same transaction, from the same
//! merged state) so the review list shows them without rebuilding visits.
//! An operation's dates never change, so the date warning stays true.

use super::sql::{args, Sql};
use super::DbError;
use sync_core::checks::{Checks, Dates};
use sync_core::summary::LocalDate;
use sync_core::{OperationId, VisitId};

/// An operation's dates, when it exists and they parse.
pub fn dates(c: &Sql, operation: OperationId) -> Result<Option<Dates>, DbError> {
    let row: Option<(String, String)> = c.query_opt(
        "SELECT starts_on, ends_on FROM operations WHERE id = ?1",
        [operation.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(row.and_then(|(s, e)| {
        Some(Dates {
            starts_on: LocalDate::parse(&s)?,
            ends_on: LocalDate::parse(&e)?,
        })
    }))
}

/// Stores a visit's checks (computed by the ledger).
pub fn store(c: &Sql, visit: VisitId, checks: &Checks) -> Result<(), DbError> {
    let json = serde_json::to_string(checks).map_err(|e| DbError::encode("visit checks", e))?;
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

/// Up to `limit` visits stored before checks were kept (migration 6).
pub fn unchecked(c: &Sql, limit: i64) -> Result<Vec<VisitId>, DbError> {
    let ids: Vec<String> = c.query_map(
        "SELECT id FROM visits WHERE checks IS NULL LIMIT ?1",
        [limit],
        |r| r.get(0),
    )?;
    ids.iter()
        .map(|s| {
            s.parse()
                .map_err(|e: uuid::Error| DbError::decode("visits.id", e))
        })
        .collect()
}
