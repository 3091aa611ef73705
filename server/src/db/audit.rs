//! The audit trail: an append-only table whose rows form a hash chain. Each
//! row's hash is SHA-256 over the previous row's hash and the row's fields, and
//! `audit_head` records the last sequence number and hash, so an edited,
//! inserted or deleted row (including the last) is detected by [`verify`].

use super::DbError;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash that precedes the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry to append.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    /// Who: `user:<id>`, `device:<id>`, `ip:<addr>` or `system`.
    pub actor: &'a str,
    /// What happened, a stable identifier such as `visit.read`.
    pub action: &'a str,
    /// What it concerned (a visit, a user, a device…).
    pub subject: &'a str,
    /// Why, as given by the person (may be empty where none is asked).
    pub reason: &'a str,
    /// Extra facts as JSON.
    pub detail: &'a str,
}

/// A stored row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// RFC 3339 UTC time.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// About what.
    pub subject: String,
    /// Why.
    pub reason: String,
    /// Extra facts (JSON).
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

impl Row {
    /// Reads `seq, at, actor, action, subject, reason, detail, prev_hash, hash`.
    fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Row {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            reason: r.get(5)?,
            detail: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        })
    }
}

fn hash(prev: &str, seq: i64, at: &str, e: &Entry<'_>) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        at,
        e.actor,
        e.action,
        e.subject,
        e.reason,
        e.detail,
    ] {
        // Length-prefixed so field boundaries cannot be shifted.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

fn head(c: &Connection) -> Result<(i64, String), DbError> {
    Ok(
        c.query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
        .unwrap_or((0, GENESIS.to_owned())),
    )
}

/// Appends an entry inside the caller's transaction. Returns its sequence number.
pub fn append(c: &Connection, at: &str, e: &Entry<'_>) -> Result<i64, DbError> {
    let (last, prev) = head(c)?;
    let seq = last + 1;
    let h = hash(&prev, seq, at, e);
    c.execute(
        "INSERT INTO audit (seq, at, actor, action, subject, reason, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![seq, at, e.actor, e.action, e.subject, e.reason, e.detail, prev, h],
    )?;
    c.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        params![seq, h],
    )?;
    Ok(seq)
}

/// The outcome of checking the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// Every row checks out.
    Ok {
        /// Rows checked.
        rows: i64,
    },
    /// The first row found wrong.
    Broken {
        /// Its sequence number (or where a missing row should be).
        seq: i64,
        /// `edited`, `deleted` or `inserted`.
        problem: String,
        /// A sentence for the admin.
        message: String,
    },
}

/// Walks the whole chain and reports the first problem.
pub fn verify(c: &Connection) -> Result<Verdict, DbError> {
    let mut stmt = c.prepare(
        "SELECT seq, at, actor, action, subject, reason, detail, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    let broken = |seq: i64, problem: &str, message: String| {
        Ok(Verdict::Broken {
            seq,
            problem: problem.to_owned(),
            message,
        })
    };
    while let Some(r) = rows.next()? {
        let row = Row::from_sql(r)?;
        if row.seq > expected_seq {
            return broken(
                expected_seq,
                "deleted",
                format!("row {expected_seq} is missing"),
            );
        }
        let entry = Entry {
            actor: &row.actor,
            action: &row.action,
            subject: &row.subject,
            reason: &row.reason,
            detail: &row.detail,
        };
        let recomputed = hash(&row.prev_hash, row.seq, &row.at, &entry);
        if recomputed != row.hash {
            return broken(
                row.seq,
                "edited",
                format!("row {} does not match its hash", row.seq),
            );
        }
        if row.prev_hash != prev {
            return broken(
                row.seq,
                "inserted",
                format!("row {} does not follow row {}", row.seq, row.seq - 1),
            );
        }
        prev = row.hash;
        expected_seq = row.seq + 1;
    }
    let (head_seq, head_hash) = head(c)?;
    let last = expected_seq - 1;
    if head_seq > last {
        return broken(
            last + 1,
            "deleted",
            format!("rows {}..={head_seq} are missing", last + 1),
        );
    }
    if head_seq < last {
        // The first row past the recorded head is the first one added.
        return broken(
            head_seq + 1,
            "inserted",
            format!(
                "rows {}..={last} were added outside the server",
                head_seq + 1
            ),
        );
    }
    if head_hash != prev {
        return broken(
            last.max(1),
            "inserted",
            format!("row {last} is not the row the server last wrote"),
        );
    }
    Ok(Verdict::Ok { rows: last })
}

/// Number of rows.
pub fn len(c: &Connection) -> Result<i64, DbError> {
    Ok(head(c)?.0)
}

/// The newest rows, newest first.
pub fn recent(c: &Connection, limit: i64, before: Option<i64>) -> Result<Vec<Row>, DbError> {
    let mut stmt = c.prepare(
        "SELECT seq, at, actor, action, subject, reason, detail, prev_hash, hash FROM audit
         WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![before.unwrap_or(i64::MAX), limit], Row::from_sql)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The newest rows about one subject (such as `visit:<id>`), newest first.
pub fn by_subject(c: &Connection, subject: &str, limit: i64) -> Result<Vec<Row>, DbError> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, at, actor, action, subject, reason, detail, prev_hash, hash FROM audit
         WHERE subject = ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![subject, limit], Row::from_sql)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
