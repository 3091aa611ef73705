//! Users, operations, teams, memberships, devices, enrolment codes and sessions.
//! Secrets (tokens, codes) arrive here already hashed.

use super::sql::{args, Row, Sql};
use super::{conflict_on_unique, DbError};
use crate::domain::{Device, DeviceId, Operation, Role, Team, TeamId, User, UserId};
use sync_core::OperationId;
use uuid::Uuid;

fn uuid(r: &Row<'_>, i: usize) -> Result<Uuid, DbError> {
    let s: String = r.get(i)?;
    Uuid::parse_str(&s).map_err(|e| DbError::decode(format!("uuid in column {i}"), e))
}

fn user_row(r: &Row<'_>) -> Result<User, DbError> {
    let role: String = r.get(3)?;
    Ok(User {
        id: UserId(uuid(r, 0)?),
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Officer),
        created_at: r.get(4)?,
    })
}

const USER_COLS: &str = "id, username, display_name, role, created_at";

/// Creates a user. `password_hash` is an argon2 PHC string or `None`.
pub fn create_user(c: &Sql, user: &User, password_hash: Option<&str>) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO users (id, username, display_name, role, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            user.id.0.to_string(),
            user.username,
            user.display_name,
            user.role.as_str(),
            password_hash,
            user.created_at
        ],
    )
    .map_err(|e| conflict_on_unique(e, "username"))?;
    Ok(())
}

/// Sets a user's password hash.
pub fn set_password(c: &Sql, user: UserId, password_hash: &str) -> Result<(), DbError> {
    c.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        args![user.0.to_string(), password_hash],
    )?;
    Ok(())
}

/// True when at least one admin exists.
pub fn admin_exists(c: &Sql) -> Result<bool, DbError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')",
        (),
        |r| r.get(0),
    )
}

/// A user by id.
pub fn user(c: &Sql, id: UserId) -> Result<User, DbError> {
    c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
        [id.0.to_string()],
        user_row,
    )?
    .ok_or_else(|| DbError::NotFound("user".into()))
}

/// A user and their password hash, by username.
pub fn user_for_login(c: &Sql, username: &str) -> Result<Option<(User, Option<String>)>, DbError> {
    c.query_opt(
        &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = ?1"),
        [username],
        |r| Ok((user_row(r)?, r.get(5)?)),
    )
}

/// Every user.
pub fn users(c: &Sql) -> Result<Vec<User>, DbError> {
    let v = c.query_map(
        &format!("SELECT {USER_COLS} FROM users ORDER BY username"),
        (),
        user_row,
    )?;
    Ok(v)
}

/// Creates an operation.
pub fn create_operation(c: &Sql, op: &Operation, at: &str) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO operations (id, name, force_area, starts_on, ends_on, created_at, retention_days)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            op.id.to_string(),
            op.name,
            op.force_area,
            op.starts_on,
            op.ends_on,
            at,
            op.retention_days
        ],
    )
    .map_err(|e| conflict_on_unique(e, "operation"))?;
    Ok(())
}

const OPERATION_COLS: &str = "id, name, force_area, starts_on, ends_on, retention_days";

fn operation_row(r: &Row<'_>) -> Result<Operation, DbError> {
    Ok(Operation {
        id: OperationId(uuid(r, 0)?),
        name: r.get(1)?,
        force_area: r.get(2)?,
        starts_on: r.get(3)?,
        ends_on: r.get(4)?,
        retention_days: r.get(5)?,
    })
}

/// One operation.
pub fn operation(c: &Sql, id: OperationId) -> Result<Option<Operation>, DbError> {
    c.query_opt(
        &format!("SELECT {OPERATION_COLS} FROM operations WHERE id = ?1"),
        [id.to_string()],
        operation_row,
    )
}

/// Sets how long phones keep an operation's synced visits. False when there
/// is no such operation.
pub fn set_retention(c: &Sql, id: OperationId, days: u32) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE operations SET retention_days = ?2 WHERE id = ?1",
        args![id.to_string(), days],
    )? == 1)
}

/// Operations, all of them or only those listed.
pub fn operations(c: &Sql, only: Option<&[OperationId]>) -> Result<Vec<Operation>, DbError> {
    let all = c.query_map(
        &format!("SELECT {OPERATION_COLS} FROM operations ORDER BY starts_on DESC, name"),
        (),
        operation_row,
    )?;
    Ok(match only {
        None => all,
        Some(ids) => all.into_iter().filter(|o| ids.contains(&o.id)).collect(),
    })
}

/// True when the operation exists.
pub fn operation_exists(c: &Sql, id: OperationId) -> Result<bool, DbError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM operations WHERE id = ?1)",
        [id.to_string()],
        |r| r.get(0),
    )
}

/// Creates a team.
pub fn create_team(c: &Sql, team: &Team) -> Result<(), DbError> {
    if !operation_exists(c, team.operation_id)? {
        return Err(DbError::NotFound("operation".into()));
    }
    c.execute(
        "INSERT INTO teams (id, operation_id, name) VALUES (?1, ?2, ?3)",
        args![
            team.id.0.to_string(),
            team.operation_id.to_string(),
            team.name
        ],
    )
    .map_err(|e| conflict_on_unique(e, "team name in this operation"))?;
    Ok(())
}

/// Adds (or moves) a user into an operation, optionally in a team. When the
/// user lands in a team they were not in, their phones receive the history of
/// the team's visits on their next pull (`scope::joined_team`); `by` is the
/// audit actor. Returns how many visits that brings.
pub fn add_member(
    c: &Sql,
    user: UserId,
    op: OperationId,
    team: Option<TeamId>,
    by: &str,
    now: &str,
) -> Result<usize, DbError> {
    if !operation_exists(c, op)? {
        return Err(DbError::NotFound("operation".into()));
    }
    self::user(c, user)?;
    if let Some(t) = team {
        let ok: bool = c.query_row(
            "SELECT EXISTS (SELECT 1 FROM teams WHERE id = ?1 AND operation_id = ?2)",
            args![t.0.to_string(), op.to_string()],
            |r| r.get(0),
        )?;
        if !ok {
            return Err(DbError::NotFound("team in this operation".into()));
        }
    }
    let before: Option<Option<String>> = c.query_opt(
        "SELECT team_id FROM members WHERE user_id = ?1 AND operation_id = ?2",
        args![user.0.to_string(), op.to_string()],
        |r| r.get(0),
    )?;
    c.execute(
        "INSERT INTO members (user_id, operation_id, team_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, operation_id) DO UPDATE SET team_id = excluded.team_id",
        args![
            user.0.to_string(),
            op.to_string(),
            team.map(|t| t.0.to_string())
        ],
    )?;
    match team {
        Some(t) if before.flatten().as_deref() != Some(t.0.to_string().as_str()) => {
            super::scope::joined_team(c, user, op, t, by, now)
        }
        _ => Ok(0),
    }
}

/// True when the user belongs to the operation.
pub fn is_member(c: &Sql, user: UserId, op: OperationId) -> Result<bool, DbError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM members WHERE user_id = ?1 AND operation_id = ?2)",
        args![user.0.to_string(), op.to_string()],
        |r| r.get(0),
    )
}

/// The team a user is in within an operation, if any.
pub fn team_of(c: &Sql, user: UserId, op: OperationId) -> Result<Option<TeamId>, DbError> {
    let t: Option<Option<String>> = c.query_opt(
        "SELECT team_id FROM members WHERE user_id = ?1 AND operation_id = ?2",
        args![user.0.to_string(), op.to_string()],
        |r| r.get(0),
    )?;
    t.flatten()
        .map(|t| {
            Uuid::parse_str(&t)
                .map(TeamId)
                .map_err(|e| DbError::decode("members.team_id", e))
        })
        .transpose()
}

/// True when the team belongs to the operation.
pub fn team_in(c: &Sql, team: TeamId, op: OperationId) -> Result<bool, DbError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM teams WHERE id = ?1 AND operation_id = ?2)",
        args![team.0.to_string(), op.to_string()],
        |r| r.get(0),
    )
}

/// The operations a user belongs to.
pub fn memberships(c: &Sql, user: UserId) -> Result<Vec<OperationId>, DbError> {
    let v = c.query_map(
        "SELECT operation_id FROM members WHERE user_id = ?1",
        [user.0.to_string()],
        |r| Ok(OperationId(uuid(r, 0)?)),
    )?;
    Ok(v)
}

/// Stores a one-time enrolment code (hashed) for a user.
pub fn create_enrolment_code(
    c: &Sql,
    code_hash: &str,
    user: UserId,
    issued_by: UserId,
    at: &str,
    expires_at: &str,
) -> Result<(), DbError> {
    self::user(c, user)?;
    c.execute(
        "INSERT INTO enrolment_codes (code_hash, user_id, issued_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            code_hash,
            user.0.to_string(),
            issued_by.0.to_string(),
            at,
            expires_at
        ],
    )?;
    Ok(())
}

/// Why an enrolment code was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeProblem {
    /// No such code.
    Unknown,
    /// Already used.
    Used,
    /// Past its expiry.
    Expired,
}

/// Uses an enrolment code: creates the device and marks the code used, in the
/// caller's transaction. `now` and `expires_at` are RFC 3339 UTC (comparable as text).
pub fn enrol_device(
    c: &Sql,
    code_hash: &str,
    device: DeviceId,
    label: &str,
    token_hash: &str,
    recovery: &str,
    now: &str,
) -> Result<Result<UserId, CodeProblem>, DbError> {
    let row: Option<(String, String, Option<String>)> = c.query_opt(
        "SELECT user_id, expires_at, used_at FROM enrolment_codes WHERE code_hash = ?1",
        [code_hash],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let Some((user, expires_at, used_at)) = row else {
        return Ok(Err(CodeProblem::Unknown));
    };
    if used_at.is_some() {
        return Ok(Err(CodeProblem::Used));
    }
    if expires_at.as_str() <= now {
        return Ok(Err(CodeProblem::Expired));
    }
    let user =
        UserId(Uuid::parse_str(&user).map_err(|e| DbError::decode("enrolment_codes.user_id", e))?);
    c.execute(
        "INSERT INTO devices (id, user_id, label, token_hash, enrolled_at, recovery_secret)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            device.0.to_string(),
            user.0.to_string(),
            label,
            token_hash,
            now,
            recovery
        ],
    )?;
    c.execute(
        "UPDATE enrolment_codes SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
        args![code_hash, now, device.0.to_string()],
    )?;
    Ok(Ok(user))
}

fn device_row(r: &Row<'_>) -> Result<Device, DbError> {
    Ok(Device {
        id: DeviceId(uuid(r, 0)?),
        user_id: UserId(uuid(r, 1)?),
        label: r.get(2)?,
        enrolled_at: r.get(3)?,
        revoked_at: r.get(4)?,
        last_seen_at: r.get(5)?,
        revoke_mode: r.get(6)?,
    })
}

/// Every device.
pub fn devices(c: &Sql) -> Result<Vec<Device>, DbError> {
    let v = c.query_map("SELECT id, user_id, label, enrolled_at, revoked_at, last_seen_at, revoke_mode FROM devices ORDER BY enrolled_at", (), device_row)?;
    Ok(v)
}

/// A device's recovery code (see migration 5), if it has one.
pub fn recovery_secret(c: &Sql, id: DeviceId) -> Result<Option<String>, DbError> {
    let found: Option<Option<String>> = c.query_opt(
        "SELECT recovery_secret FROM devices WHERE id = ?1",
        [id.0.to_string()],
        |r| r.get(0),
    )?;
    found.ok_or_else(|| DbError::NotFound("device".into()))
}

/// Revokes a device (`mode`: `lost` or `reassigned`). Returns false when it
/// was already revoked.
pub fn revoke_device(c: &Sql, id: DeviceId, mode: &str, at: &str) -> Result<bool, DbError> {
    let exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1)",
        [id.0.to_string()],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(DbError::NotFound("device".into()));
    }
    let n = c.execute(
        "UPDATE devices SET revoked_at = ?2, revoke_mode = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        args![id.0.to_string(), at, mode],
    )?;
    Ok(n == 1)
}

/// Number of devices seen at least once.
pub fn devices_seen(c: &Sql) -> Result<i64, DbError> {
    c.query_row(
        "SELECT COUNT(*) FROM devices WHERE last_seen_at IS NOT NULL",
        (),
        |r| r.get(0),
    )
}

/// What a bearer token resolves to.
pub enum TokenOwner {
    /// A login session.
    Session(UserId),
    /// An enrolled device.
    Device {
        /// The device.
        device: DeviceId,
        /// Its user.
        user: UserId,
        /// True when revoked.
        revoked: bool,
        /// True when revoked as reassigned (it may still push).
        reassigned: bool,
        /// True when it has not synced since `stale_before` (its token expired).
        expired: bool,
        /// The replica id its ops carry now (the device id until it rekeys).
        replica: Uuid,
    },
}

/// Resolves a token hash; sessions past `now` are ignored. A device whose
/// last sync (or enrolment) is before `stale_before` is reported expired.
pub fn token_owner(
    c: &Sql,
    token_hash: &str,
    now: &str,
    stale_before: &str,
) -> Result<Option<TokenOwner>, DbError> {
    let session: Option<String> = c.query_opt(
        "SELECT user_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
        args![token_hash, now],
        |r| r.get(0),
    )?;
    if let Some(u) = session {
        let u = Uuid::parse_str(&u).map_err(|e| DbError::decode("sessions.user_id", e))?;
        return Ok(Some(TokenOwner::Session(UserId(u))));
    }
    let device = c.query_opt(
        "SELECT id, user_id, revoked_at IS NOT NULL,
                    COALESCE(last_seen_at, enrolled_at) < ?2, COALESCE(replica_id, id),
                    revoke_mode IS NOT DISTINCT FROM 'reassigned'
               FROM devices WHERE token_hash = ?1",
        args![token_hash, stale_before],
        |r| {
            Ok(TokenOwner::Device {
                device: DeviceId(uuid(r, 0)?),
                user: UserId(uuid(r, 1)?),
                revoked: r.get(2)?,
                expired: r.get(3)?,
                replica: uuid(r, 4)?,
                reassigned: r.get(5)?,
            })
        },
    )?;
    Ok(device)
}

/// The user a device belongs to, their role, and the device's replica id.
pub fn device_owner(c: &Sql, device: DeviceId) -> Result<(UserId, Role, Uuid), DbError> {
    c.query_opt(
        "SELECT u.id, u.role, COALESCE(d.replica_id, d.id)
           FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?1",
        [device.0.to_string()],
        |r| {
            let role: String = r.get(1)?;
            Ok((
                UserId(uuid(r, 0)?),
                Role::parse(&role).unwrap_or(Role::Officer),
                uuid(r, 2)?,
            ))
        },
    )?
    .ok_or_else(|| DbError::NotFound("device".into()))
}

/// Gives a device a fresh replica id (after it reused op ids); returns it.
pub fn rekey_device(c: &Sql, device: DeviceId) -> Result<Uuid, DbError> {
    let replica = Uuid::new_v4();
    let n = c.execute(
        "UPDATE devices SET replica_id = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        args![device.0.to_string(), replica.to_string()],
    )?;
    if n == 0 {
        return Err(DbError::NotFound("device".into()));
    }
    Ok(replica)
}

/// Notes that a device made a request.
pub fn touch_device(c: &Sql, id: DeviceId, at: &str) -> Result<(), DbError> {
    c.execute(
        "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1",
        args![id.0.to_string(), at],
    )?;
    Ok(())
}

/// Stores a login session.
pub fn create_session(
    c: &Sql,
    token_hash: &str,
    user: UserId,
    at: &str,
    expires_at: &str,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        args![token_hash, user.0.to_string(), at, expires_at],
    )?;
    Ok(())
}
