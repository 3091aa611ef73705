//! A new phone's first sync: the merged state of each visit it holds
//! (sync-core snapshots) instead of every op of their histories.

use super::scope::HOLDS;
use super::sql::{named, Backend, Sql};
use super::DbError;
use crate::domain::UserId;
use sync_core::VisitId;

/// A page of visit states.
pub struct SnapshotPage {
    /// The visits, by id (the ledger reads their merged states).
    pub visits: Vec<VisitId>,
    /// Where the phone's pulls start once it has every page: the cursor
    /// sequence as it stood when the first page was read.
    pub cursor: i64,
    /// The last visit of the page when more follow (`after_visit` for the next page).
    pub next: Option<VisitId>,
}

/// The merged states of the visits `user` holds (the rule pulls use), by id
/// after `after`, at most `limit`.
///
/// The cursor is read first: every op at or before it had committed, so
/// each state read after it holds it. A state may also hold later ops,
/// which the phone's pulls then bring again, harmlessly (ops are a set).
/// A visit the user comes to hold later arrives through a pull's grant.
pub fn snapshot_page(
    c: &Sql,
    user: UserId,
    after: Option<VisitId>,
    limit: i64,
) -> Result<SnapshotPage, DbError> {
    // The high-water mark of the cursor sequence: ops' AUTOINCREMENT, from
    // which grants also reserve their places (see `scope`).
    let cursor: i64 = c.query_row(
        match c.backend() {
            Backend::Sqlite => {
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'ops'), 0)"
            }
            Backend::Postgres => {
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ops_cursor_seq"
            }
        },
        (),
        |r| r.get(0),
    )?;
    let (after, holder, limit) = (
        after.map(|v| v.to_string()).unwrap_or_default(),
        user.0.to_string(),
        limit + 1,
    );
    let (sql, p) = named(
        &format!(
            "SELECT v.id FROM visits v WHERE v.id > :after AND {HOLDS} ORDER BY v.id LIMIT :limit"
        ),
        &[(":after", &after), (":holder", &holder), (":limit", &limit)],
    );
    let ids: Vec<String> = c.query_map(&sql, p, |r| r.get(0))?;
    let limit = limit - 1;
    let page = usize::try_from(limit).unwrap_or(0);
    let visits = ids
        .iter()
        .take(page)
        .map(|id| {
            id.parse()
                .map_err(|e: uuid::Error| DbError::decode("visits.id", e))
        })
        .collect::<Result<Vec<VisitId>, DbError>>()?;
    let next = if ids.len() > page {
        visits.last().copied()
    } else {
        None
    };
    Ok(SnapshotPage {
        visits,
        cursor,
        next,
    })
}
