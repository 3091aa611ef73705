//! The audit trail: an append-only table whose rows form a keyed hash chain.
//!
//! Each row's hash is HMAC-SHA-256, under a secret key kept in a file outside
//! the database ([`AuditKey`]), over the previous row's hash and the row's
//! fields; `audit_head` records the last sequence number and hash. Someone who
//! holds only the database file can therefore neither edit a row and recompute
//! the chain nor forge a row: [`verify`] finds it. Deleting the newest rows and
//! moving `audit_head` back leaves a chain that is still whole, so an admin
//! keeps an [`Anchor`] (the head's sequence, hash and time) outside the server
//! and [`verify_with`] checks the row at that sequence still has that hash.
//!
//! The key reaches [`append`] through the handle: `Db` hands every [`Sql`]
//! it makes the key it was opened with, so callers pass only the handle. A
//! handle without it cannot append at all.
//!
//! Databases written before the chain was keyed keep their rows' plain SHA-256
//! hashes. The first keyed row commits to the last of them through its
//! `prev_hash`, and the meta value `audit_keyed_from` (`SEQ:PREV_HASH:MAC`)
//! records, under the key, where keying starts and the hash it starts from. A
//! missing or altered marker on a database that has rows fails [`verify`].

use super::sql::{args, Row as SqlRow, Sql};
use super::DbError;
use hmac::{KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The hash that precedes the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The key file's name when none is given: next to the database file.
pub const DEFAULT_KEY_FILE: &str = "audit.key";

/// The meta key of the keying marker.
const MARKER: &str = "audit_keyed_from";

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
    fn from_sql(r: &SqlRow<'_>) -> Result<Self, DbError> {
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

/// The secret that keys the chain: 32 random bytes, kept in a file outside
/// the database (hex, created with mode 0600, never overwritten).
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

/// `audit.key` in the database file's folder.
pub fn default_key_path(db_path: &Path) -> PathBuf {
    match db_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(DEFAULT_KEY_FILE),
        _ => PathBuf::from(DEFAULT_KEY_FILE),
    }
}

impl AuditKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads the key file: 64 hex digits (surrounding whitespace ignored) or
    /// exactly 32 raw bytes.
    pub fn load(path: &Path) -> Result<Self, DbError> {
        let bytes = std::fs::read(path)
            .map_err(|e| DbError::AuditKey(format!("audit key file {}: {e}", path.display())))?;
        let text = std::str::from_utf8(&bytes).map(str::trim).ok();
        let key = match text.and_then(|t| hex::decode(t).ok()) {
            Some(k) if k.len() == 32 => k,
            _ if bytes.len() == 32 => bytes,
            _ => {
                return Err(DbError::AuditKey(format!(
                    "audit key file {}: expected 64 hex digits or 32 raw bytes",
                    path.display()
                )))
            }
        };
        let mut out = [0; 32];
        out.copy_from_slice(&key);
        Ok(Self(out))
    }

    /// Reads the key file, or creates it with a fresh random key (mode 0600,
    /// refusing to replace a file that appeared meanwhile). True when created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), DbError> {
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        let fail = |e: &dyn std::fmt::Display| {
            DbError::AuditKey(format!("creating audit key file {}: {e}", path.display()))
        };
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).map_err(|e| fail(&e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| fail(&e))?;
        use std::io::Write;
        file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| fail(&e))?;
        tracing::info!(path = %path.display(), "created the audit key file; keep it, and keep it out of backups of the database");
        Ok((Self(bytes), true))
    }

    fn mac(&self, message: &[u8]) -> String {
        hmac_sha256_hex(&self.0, message)
    }
}

/// HMAC-SHA-256 of `message` under `key`, as lowercase hex.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC takes a key of any length");
    m.update(message);
    hex::encode(m.finalize().into_bytes())
}

/// The handle's key applied to `message`.
fn keyed(c: &Sql, message: &[u8]) -> Result<String, DbError> {
    let key = c.audit_key().ok_or_else(|| {
        DbError::AuditKey("no audit key on this handle (open the database with Db::open)".into())
    })?;
    Ok(key.mac(message))
}

/// Length-prefixed parts, so field boundaries cannot be shifted.
fn framed(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

fn row_parts<'a>(prev: &'a str, seq: &'a str, at: &'a str, e: &'a Entry<'a>) -> [&'a str; 8] {
    [
        prev, seq, at, e.actor, e.action, e.subject, e.reason, e.detail,
    ]
}

/// The unkeyed hash of rows written before the chain was keyed.
fn legacy_hash(prev: &str, seq: i64, at: &str, e: &Entry<'_>) -> String {
    hex::encode(Sha256::digest(framed(&row_parts(
        prev,
        &seq.to_string(),
        at,
        e,
    ))))
}

/// The keyed hash of a row.
fn row_mac(c: &Sql, prev: &str, seq: i64, at: &str, e: &Entry<'_>) -> Result<String, DbError> {
    let seq = seq.to_string();
    let mut parts = vec!["aidant-audit-row"];
    parts.extend(row_parts(prev, &seq, at, e));
    keyed(c, &framed(&parts))
}

/// Where keying starts: the first keyed row's sequence and the hash it follows.
struct Marker {
    seq: i64,
    prev_hash: String,
    mac: String,
}

fn marker_mac(c: &Sql, seq: i64, prev_hash: &str) -> Result<String, DbError> {
    keyed(
        c,
        &framed(&["aidant-audit-keyed-from", &seq.to_string(), prev_hash]),
    )
}

/// The stored marker: `None` when absent, `Err(text)` when unreadable.
fn read_marker(c: &Sql) -> Result<Option<Result<Marker, String>>, DbError> {
    Ok(super::meta_get(c, MARKER)?.map(|v| {
        let mut it = v.splitn(3, ':');
        match (it.next().and_then(|s| s.parse().ok()), it.next(), it.next()) {
            (Some(seq), Some(prev), Some(mac)) if seq >= 1 => Ok(Marker {
                seq,
                prev_hash: prev.to_owned(),
                mac: mac.to_owned(),
            }),
            _ => Err(v),
        }
    }))
}

/// Ties a database to the key just registered on `c` (called by `Db::open`
/// for connections that write). With a marker: checks it against the key. No
/// marker and no rows: keyed from row 1. No marker, rows, and a key file that
/// was only just created (`key_created`): an unkeyed database being migrated;
/// keying starts at the next row. No marker and rows, with a key that existed
/// before: the marker was removed, and the database is refused.
pub(crate) fn attach(c: &Sql, key_created: bool, key_path: &Path) -> Result<(), DbError> {
    let (head_seq, head_hash) = head(c)?;
    let rows: i64 = c.query_row("SELECT COUNT(*) FROM audit", (), |r| r.get(0))?;
    match read_marker(c)? {
        Some(Ok(m)) => {
            if marker_mac(c, m.seq, &m.prev_hash)? != m.mac {
                return Err(DbError::AuditKey(format!(
                    "the audit key in {} is not the key this database's audit trail was written with \
                     (or its keying marker was altered); run `aidant audit verify`",
                    key_path.display()
                )));
            }
            Ok(())
        }
        Some(Err(v)) => Err(DbError::AuditKey(format!(
            "the audit trail's keying marker is unreadable ({v:?}); run `aidant audit verify`"
        ))),
        None if head_seq == 0 && rows == 0 => write_marker(c, 1, GENESIS),
        None if key_created => {
            tracing::info!(
                from = head_seq + 1,
                "audit chain: keying an existing, unkeyed trail from the next row"
            );
            write_marker(c, head_seq + 1, &head_hash)
        }
        None => Err(DbError::AuditKey(format!(
            "the audit trail has rows but no keying marker, while the key {} already existed: \
             the marker was removed (run `aidant audit verify`)",
            key_path.display()
        ))),
    }
}

/// True when the trail carries a keying marker (readable or not).
pub(crate) fn is_keyed(c: &Sql) -> Result<bool, DbError> {
    Ok(super::meta_get(c, MARKER)?.is_some())
}

fn write_marker(c: &Sql, seq: i64, prev_hash: &str) -> Result<(), DbError> {
    let mac = marker_mac(c, seq, prev_hash)?;
    super::meta_set(c, MARKER, &format!("{seq}:{prev_hash}:{mac}"))
}

fn head(c: &Sql) -> Result<(i64, String), DbError> {
    Ok(
        c.query_opt("SELECT seq, hash FROM audit_head WHERE id = 1", (), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .unwrap_or((0, GENESIS.to_owned())),
    )
}

/// Appends an entry inside the caller's transaction. Returns its sequence
/// number. `c` must carry the key ([`register_key`]; `Db::open` does it).
pub fn append(c: &Sql, at: &str, e: &Entry<'_>) -> Result<i64, DbError> {
    let (last, prev) = head(c)?;
    let seq = last + 1;
    let h = row_mac(c, &prev, seq, at, e)?;
    c.execute(
        "INSERT INTO audit (seq, at, actor, action, subject, reason, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        args![seq, at, e.actor, e.action, e.subject, e.reason, e.detail, prev, h],
    )?;
    c.execute(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        args![seq, h],
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
        /// `edited`, `deleted`, `inserted`; `unkeyed` (rows but no keying
        /// marker), `key` (the key does not match the marker: a wrong key or an
        /// altered marker); with an anchor, `truncated` (the chain ends before
        /// the anchored row) or `anchor` (the anchored row differs).
        problem: String,
        /// A sentence for the admin.
        message: String,
    },
}

fn broken(seq: i64, problem: &str, message: String) -> Result<Verdict, DbError> {
    Ok(Verdict::Broken {
        seq,
        problem: problem.to_owned(),
        message,
    })
}

/// Walks the whole chain and reports the first problem. `c` must carry the key.
pub fn verify(c: &Sql) -> Result<Verdict, DbError> {
    verify_with(c, None)
}

/// [`verify`], then, with an anchor, proves the row at its sequence still has
/// its hash and time: nothing up to it was removed or changed (each row's hash
/// commits to every row before it) and the chain was not cut back below it.
pub fn verify_with(c: &Sql, anchor: Option<&Anchor>) -> Result<Verdict, DbError> {
    let verdict = verify_chain(c)?;
    let (Verdict::Ok { rows }, Some(a)) = (&verdict, anchor) else {
        return Ok(verdict);
    };
    if a.seq > *rows {
        return broken(
            rows + 1,
            "truncated",
            format!(
                "the trail ends at row {rows}, but the anchor shows it reached row {} at {}: \
                 rows {}..={} were removed",
                a.seq,
                a.at,
                rows + 1,
                a.seq
            ),
        );
    }
    let found: Option<(String, String)> =
        c.query_opt("SELECT hash, at FROM audit WHERE seq = ?1", [a.seq], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    match found {
        Some((hash, at)) if hash == a.hash && at == a.at => Ok(verdict),
        _ => broken(
            a.seq,
            "anchor",
            format!(
                "row {} is not the row anchored at {}: the trail up to it was rewritten",
                a.seq, a.at
            ),
        ),
    }
}

fn verify_chain(c: &Sql) -> Result<Verdict, DbError> {
    let (head_seq, head_hash) = head(c)?;
    let any_row: bool = c.query_row("SELECT EXISTS (SELECT 1 FROM audit)", (), |r| r.get(0))?;
    let marker = match read_marker(c)? {
        Some(Ok(m)) => m,
        None if head_seq == 0 && !any_row => return Ok(Verdict::Ok { rows: 0 }),
        None => {
            return broken(
                1,
                "unkeyed",
                "the trail has no keying marker: it was removed, or no server with an audit \
                 key has opened this database yet"
                    .into(),
            )
        }
        Some(Err(v)) => {
            return broken(1, "key", format!("the keying marker {v:?} is unreadable"));
        }
    };
    if marker_mac(c, marker.seq, &marker.prev_hash)? != marker.mac {
        return broken(
            marker.seq,
            "key",
            "the audit key does not match this trail's keying marker: a wrong key file, or \
             the marker was altered"
                .into(),
        );
    }
    let start = marker.seq;
    // The hash the first keyed row must follow (checked when the walk passes it).
    let check_start = |prev: &str| -> Option<Result<Verdict, DbError>> {
        (prev != marker.prev_hash).then(|| {
            broken(
                start - 1,
                "edited",
                format!(
                    "rows 1..={} (written before the trail was keyed) were rewritten: row {} \
                     is not the row keying started from",
                    start - 1,
                    start - 1
                ),
            )
        })
    };
    if start == 1 {
        if let Some(v) = check_start(GENESIS) {
            return v;
        }
    }

    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    let mut verdict = None;
    c.query_each(
        "SELECT seq, at, actor, action, subject, reason, detail, prev_hash, hash FROM audit ORDER BY seq",
        (),
        |r| -> Result<(), DbError> {
            if verdict.is_some() {
                return Ok(());
            }
            verdict = check_row(c, Row::from_sql(r)?, &mut expected_seq, &mut prev, start, &check_start)?;
            Ok(())
        },
    )?;
    if let Some(v) = verdict {
        return Ok(v);
    }
    tail(expected_seq, start, head_seq, &head_hash, &prev)
}

/// Checks one row of the walk; a verdict when it is wrong.
fn check_row(
    c: &Sql,
    row: Row,
    expected_seq: &mut i64,
    prev: &mut String,
    start: i64,
    check_start: &dyn Fn(&str) -> Option<Result<Verdict, DbError>>,
) -> Result<Option<Verdict>, DbError> {
    let bad = |v: Result<Verdict, DbError>| v.map(Some);
    {
        let expected_seq_v = *expected_seq;
        if row.seq > expected_seq_v {
            return bad(broken(
                expected_seq_v,
                "deleted",
                format!("row {expected_seq_v} is missing"),
            ));
        }
        let entry = Entry {
            actor: &row.actor,
            action: &row.action,
            subject: &row.subject,
            reason: &row.reason,
            detail: &row.detail,
        };
        let recomputed = if row.seq < start {
            legacy_hash(&row.prev_hash, row.seq, &row.at, &entry)
        } else {
            row_mac(c, &row.prev_hash, row.seq, &row.at, &entry)?
        };
        if recomputed != row.hash {
            return bad(broken(
                row.seq,
                "edited",
                format!("row {} does not match its hash", row.seq),
            ));
        }
        if row.prev_hash != *prev {
            return bad(broken(
                row.seq,
                "inserted",
                format!("row {} does not follow row {}", row.seq, row.seq - 1),
            ));
        }
        if row.seq == start - 1 {
            if let Some(v) = check_start(&row.hash) {
                return bad(v);
            }
        }
        *expected_seq = row.seq + 1;
        *prev = row.hash;
    }
    Ok(None)
}

/// The end of the walk: nothing missing before the keyed rows, and the head
/// is the last row.
fn tail(
    expected_seq: i64,
    start: i64,
    head_seq: i64,
    head_hash: &str,
    prev: &str,
) -> Result<Verdict, DbError> {
    let last = expected_seq - 1;
    if last < start - 1 {
        return broken(
            last + 1,
            "deleted",
            format!("rows {}..={} are missing", last + 1, start - 1),
        );
    }
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

/// The head of the chain at one moment, to be kept outside the server (in
/// the day's return, say) and given back to [`verify_with`] later. Written
/// `aidant-audit-anchor:SEQ:HASH:TIME`; JSON `{"seq", "hash", "at"}` is read
/// too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Anchor {
    /// The row's sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// Its time (RFC 3339 UTC).
    pub at: String,
}

const ANCHOR_PREFIX: &str = "aidant-audit-anchor:";

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{ANCHOR_PREFIX}{}:{}:{}", self.seq, self.hash, self.at)
    }
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "not an audit anchor: expected {ANCHOR_PREFIX}SEQ:HASH:TIME (as `aidant audit anchor` prints) or its JSON"
            )
        };
        let a = if s.starts_with('{') {
            serde_json::from_str::<Anchor>(s).map_err(|e| format!("{}: {e}", bad()))?
        } else {
            let rest = s.strip_prefix(ANCHOR_PREFIX).ok_or_else(bad)?;
            let mut it = rest.splitn(3, ':');
            match (it.next().and_then(|n| n.parse().ok()), it.next(), it.next()) {
                (Some(seq), Some(hash), Some(at)) => Anchor {
                    seq,
                    hash: hash.to_owned(),
                    at: at.to_owned(),
                },
                _ => return Err(bad()),
            }
        };
        let hex_ok = a.hash.len() == 64 && a.hash.bytes().all(|b| b.is_ascii_hexdigit());
        if a.seq < 1 || !hex_ok || a.at.is_empty() {
            return Err(bad());
        }
        Ok(a)
    }
}

/// The current head as an anchor; `None` while the trail is empty.
pub fn anchor(c: &Sql) -> Result<Option<Anchor>, DbError> {
    let (seq, hash) = head(c)?;
    if seq == 0 {
        return Ok(None);
    }
    let at: Option<String> =
        c.query_opt("SELECT at FROM audit WHERE seq = ?1", [seq], |r| r.get(0))?;
    let at = at.ok_or_else(|| {
        DbError::Inconsistent(format!("audit_head names row {seq}, which is missing"))
    })?;
    Ok(Some(Anchor { seq, hash, at }))
}

/// Number of rows.
pub fn len(c: &Sql) -> Result<i64, DbError> {
    Ok(head(c)?.0)
}

/// The newest rows, newest first.
pub fn recent(c: &Sql, limit: i64, before: Option<i64>) -> Result<Vec<Row>, DbError> {
    c.query_map(
        "SELECT seq, at, actor, action, subject, reason, detail, prev_hash, hash FROM audit
         WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
        args![before.unwrap_or(i64::MAX), limit],
        Row::from_sql,
    )
}

/// The newest rows about one subject (such as `visit:<id>`), newest first.
pub fn by_subject(c: &Sql, subject: &str, limit: i64) -> Result<Vec<Row>, DbError> {
    c.query_map(
        "SELECT seq, at, actor, action, subject, reason, detail, prev_hash, hash FROM audit
         WHERE subject = ?1 ORDER BY seq DESC LIMIT ?2",
        args![subject, limit],
        Row::from_sql,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 (a key shorter than the block) and 6 (longer than it).
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn anchors_read_back_what_they_print() {
        let a = Anchor {
            seq: 42,
            hash: "ab".repeat(32),
            at: "2025-05-06T10:11:12.345Z".into(),
        };
        assert_eq!(a.to_string().parse::<Anchor>(), Ok(a.clone()));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json.parse::<Anchor>(), Ok(a));
        for bad in [
            "",
            "aidant-audit-anchor:x:ab:now",
            "aidant-audit-anchor:3:abc:2025-05-06T10:11:12Z",
            "aidant-audit-anchor:0:".to_owned().as_str(),
        ] {
            assert!(bad.parse::<Anchor>().is_err(), "{bad}");
        }
    }
}
