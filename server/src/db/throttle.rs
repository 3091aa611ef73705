//! Failed logins, counted in fixed windows in the database (migration 8),
//! so that every instance on one database sees the same counts. Attempts
//! per source address stay in each instance's memory (`ratelimit.rs`): they
//! shield the server from a flood before any database work, which a shared
//! count would defeat.

use super::sql::{args, Sql};
use super::DbError;

/// Failures counted for `key` in the window holding `now_ms`, and the
/// milliseconds left in that window.
pub fn failures(c: &Sql, key: &str, now_ms: i64, window_ms: i64) -> Result<(u32, i64), DbError> {
    let row: Option<(i64, i64)> = c.query_opt(
        "SELECT window_start, count FROM login_failures WHERE key = ?1",
        [key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(match row {
        Some((start, n)) if now_ms - start < window_ms && now_ms >= start => (
            u32::try_from(n).unwrap_or(u32::MAX),
            window_ms - (now_ms - start),
        ),
        _ => (0, 0),
    })
}

/// Counts one failure for `key` (a new window when the last one is over)
/// and forgets windows long over.
pub fn record_failure(c: &Sql, key: &str, now_ms: i64, window_ms: i64) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO login_failures (key, window_start, count) VALUES (?1, ?2, 1)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN ?2 - login_failures.window_start >= ?3
                          OR ?2 < login_failures.window_start
                        THEN 1 ELSE login_failures.count + 1 END,
           window_start = CASE WHEN ?2 - login_failures.window_start >= ?3
                                 OR ?2 < login_failures.window_start
                               THEN ?2 ELSE login_failures.window_start END",
        args![key, now_ms, window_ms],
    )?;
    c.execute(
        "DELETE FROM login_failures WHERE window_start < ?1",
        [now_ms - 2 * window_ms],
    )?;
    Ok(())
}

/// Forgets `key`'s failures (after a success).
pub fn clear(c: &Sql, key: &str) -> Result<(), DbError> {
    c.execute("DELETE FROM login_failures WHERE key = ?1", [key])?;
    Ok(())
}
