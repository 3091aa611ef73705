//! The scope rule in SQL ("what a phone holds", see `permissions`), and the
//! grants that bring a visit's earlier history to phones that gain it later.
//!
//! A device holds a visit when its user is a member of the visit's operation
//! and the visit is theirs (in `visit_writers`), their team's
//! (`visits.team_id`), or shared with them or their team (a `share` grant).
//! [`HOLDS`] is that rule as one SQL condition over `visits v` with the named
//! parameter `:holder` (a user id); pull, push and the admin view of "who
//! holds this record" all use it.
//!
//! Grants live in the same sequence as `ops.cursor`: a pull meets a grant at
//! its place in the stream and sends there the visit's ops from before the
//! grant; the stream itself skips an op when a grant for the same puller and
//! visit comes later (that grant will carry it). So a phone that gains a
//! visit later still receives its whole history, each op once, and a pull
//! answered but lost is simply asked again. (A visit shared with someone who
//! already holds it is sent again whole: harmless, ops are idempotent.)

use super::sql::{args, named, Backend, Sql};
use super::DbError;
use crate::domain::{TeamId, UserId};
use sync_core::{OperationId, VisitId};

/// "The user `:holder` holds visit `v`", as an SQL condition.
pub const HOLDS: &str = "EXISTS (
    SELECT 1 FROM members m
     WHERE m.user_id = :holder AND m.operation_id = v.operation_id
       AND (EXISTS (SELECT 1 FROM visit_writers w WHERE w.visit_id = v.id AND w.user_id = :holder)
            OR (m.team_id IS NOT NULL AND m.team_id = v.team_id)
            OR EXISTS (SELECT 1 FROM grants g
                        WHERE g.visit_id = v.id AND g.kind = 'share'
                          AND (g.user_id = :holder OR (m.team_id IS NOT NULL AND g.team_id = m.team_id)))))";

/// "Grant `g` is for the user `:holder`" (them, or a team they are in now).
pub const GRANT_FOR: &str = "(g.user_id = :holder
    OR g.team_id IN (SELECT team_id FROM members WHERE user_id = :holder AND team_id IS NOT NULL))";

/// True when `user` holds `visit`.
pub fn holds(c: &Sql, user: UserId, visit: VisitId) -> Result<bool, DbError> {
    let (visit, holder) = (visit.to_string(), user.0.to_string());
    let (sql, p) = named(
        &format!("SELECT EXISTS (SELECT 1 FROM visits v WHERE v.id = :visit AND {HOLDS})"),
        &[(":visit", &visit), (":holder", &holder)],
    );
    c.query_row(&sql, p, |r| r.get(0))
}

/// Notes that `user`'s device wrote to `visit` (so the user holds it).
pub fn add_writer(c: &Sql, visit: VisitId, user: UserId) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO visit_writers (visit_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        args![visit.to_string(), user.0.to_string()],
    )?;
    Ok(())
}

/// Reserves `n` consecutive positions in the ops' cursor sequence (the next
/// op inserted gets a later cursor); returns the first.
fn reserve_cursors(c: &Sql, n: i64) -> Result<i64, DbError> {
    if c.backend() == Backend::Postgres {
        // Writers hold the write lock (see `db::pg`): nobody else draws from
        // the sequence until this transaction commits.
        let last: i64 = c.query_row(
            "SELECT setval('ops_cursor_seq', GREATEST(
                 (SELECT last_value FROM ops_cursor_seq),
                 (SELECT COALESCE(MAX(cursor), 0) FROM ops)) + ?1)",
            [n],
            |r| r.get(0),
        )?;
        return Ok(last - n + 1);
    }
    c.execute(
        "INSERT INTO sqlite_sequence (name, seq)
         SELECT 'ops', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'ops')",
        (),
    )?;
    let last: i64 = c.query_row(
        "UPDATE sqlite_sequence
            SET seq = MAX(seq, (SELECT COALESCE(MAX(cursor), 0) FROM ops)) + ?1
          WHERE name = 'ops' RETURNING seq",
        [n],
        |r| r.get(0),
    )?;
    Ok(last - n + 1)
}

/// Who a grant is for.
#[derive(Clone, Copy, Debug)]
pub enum Grantee {
    /// One user's devices.
    User(UserId),
    /// Every device of a team's members.
    Team(TeamId),
}

/// Shares `visit` with a user or a team: they hold it from now on, and their
/// phones receive its whole history on their next pull.
pub fn share(c: &Sql, visit: VisitId, to: Grantee, by: &str, now: &str) -> Result<(), DbError> {
    let cursor = reserve_cursors(c, 1)?;
    let (user, team) = match to {
        Grantee::User(u) => (Some(u.0.to_string()), None),
        Grantee::Team(t) => (None, Some(t.0.to_string())),
    };
    c.execute(
        "INSERT INTO grants (cursor, visit_id, kind, user_id, team_id, granted_by, granted_at)
         VALUES (?1, ?2, 'share', ?3, ?4, ?5, ?6)",
        args![cursor, visit.to_string(), user, team, by, now],
    )?;
    Ok(())
}

/// After `user` joined `team` in `operation`: their phones receive the whole
/// history of the team's visits on their next pull. Returns how many.
pub fn joined_team(
    c: &Sql,
    user: UserId,
    operation: OperationId,
    team: TeamId,
    by: &str,
    now: &str,
) -> Result<usize, DbError> {
    let visits: Vec<String> = c.query_map(
        "SELECT id FROM visits WHERE operation_id = ?1 AND team_id = ?2
          ORDER BY started_at NULLS FIRST, id",
        args![operation.to_string(), team.0.to_string()],
        |r| r.get(0),
    )?;
    if visits.is_empty() {
        return Ok(0);
    }
    let first = reserve_cursors(c, visits.len() as i64)?;
    let user = user.0.to_string();
    for (i, v) in visits.iter().enumerate() {
        c.execute(
            "INSERT INTO grants (cursor, visit_id, kind, user_id, granted_by, granted_at)
             VALUES (?1, ?2, 'team', ?3, ?4, ?5)",
            args![first + i as i64, v, user, by, now],
        )?;
    }
    Ok(visits.len())
}

/// The grants a user's device meets after `after`: `(cursor, visit)`, in
/// cursor order, at most `limit`, only for visits the user holds now.
pub fn grants_after(
    c: &Sql,
    user: UserId,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String)>, DbError> {
    let holder = user.0.to_string();
    let (sql, p) = named(
        &format!(
            "SELECT g.cursor, g.visit_id FROM grants g JOIN visits v ON v.id = g.visit_id
              WHERE g.cursor > :after AND {GRANT_FOR} AND {HOLDS}
              ORDER BY g.cursor LIMIT :limit"
        ),
        &[(":after", &after), (":holder", &holder), (":limit", &limit)],
    );
    c.query_map(&sql, p, |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Users (with their devices) who hold a visit now, for the admin view.
pub fn holders(c: &Sql, visit: VisitId) -> Result<Vec<Holder>, DbError> {
    c.query_map(
        &format!(
            "SELECT u.id, u.username, u.display_name, u.role,
                (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
           FROM users u, visits v
          WHERE v.id = ?1 AND {}
          ORDER BY u.username",
            HOLDS.replace(":holder", "u.id")
        ),
        [visit.to_string()],
        |r| {
            Ok(Holder {
                user_id: r.get(0)?,
                username: r.get(1)?,
                display_name: r.get(2)?,
                role: r.get(3)?,
                devices: r.get(4)?,
            })
        },
    )
}

/// A user who holds a visit.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Holder {
    /// User id.
    pub user_id: String,
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Their devices not revoked.
    pub devices: i64,
}

/// The display names of the people whose phones wrote to a visit, by name.
pub fn writer_names(c: &Sql, visit: VisitId) -> Result<Vec<String>, DbError> {
    c.query_map(
        "SELECT u.display_name FROM visit_writers w JOIN users u ON u.id = w.user_id
          WHERE w.visit_id = ?1 ORDER BY u.display_name",
        [visit.to_string()],
        |r| r.get(0),
    )
}
