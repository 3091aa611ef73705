//! The audit trail: who did what, when and why, through the API (`trail`);
//! then the keyed hash chain against a file edited behind the server's back,
//! checked with the library, with `aidant audit verify` (with and without an
//! anchor from `aidant audit anchor`) and over HTTP: rewrites by someone
//! holding the file but not the key (`rewrites`), truncation below an anchor
//! (`anchors`), a trail written before the chain was keyed (`keying`), the
//! key file itself and a wrong key (`key_file`), the commands' help (`cli`).
//! The helpers below read and tamper with copies of a stopped database.

mod anchors;
mod cli;
mod key_file;
mod keying;
mod rewrites;
mod trail;

use serde_json::Value;
use server::db::audit::{self, Verdict};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The verdict of the library's verifier on a file.
pub(super) fn verify_lib(path: &Path) -> Verdict {
    let db = server::db::Db::open(path).expect("open");
    db.read_blocking(audit::verify).expect("verify")
}

/// `aidant audit verify --db PATH`: (success, stdout JSON, stderr).
pub(super) fn verify_bin(path: &Path) -> (bool, Value, String) {
    verify_bin_with(path, &[])
}

pub(super) fn broken(v: &Verdict) -> (i64, &str) {
    match v {
        Verdict::Broken { seq, problem, .. } => (*seq, problem.as_str()),
        Verdict::Ok { rows } => panic!("chain of {rows} rows reported intact"),
    }
}

/// A copy of the (stopped) database, all in one file.
pub(super) fn copy_of(pristine: &Path, dir: &Path, name: &str) -> (PathBuf, rusqlite::Connection) {
    let path = dir.join(name);
    std::fs::copy(pristine, &path).expect("copy");
    let c = rusqlite::Connection::open(&path).expect("open copy");
    (path, c)
}

/// The key file a server or `Db::open` created in `dir`.
pub(super) fn key_of(dir: &Path) -> audit::AuditKey {
    audit::AuditKey::load(&dir.join("audit.key")).expect("audit.key next to the database")
}

pub(super) fn last_seq(c: &rusqlite::Connection) -> i64 {
    c.query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))
        .unwrap()
}

/// `aidant ARGS` with no database or key taken from the environment:
/// (success, stdout, stderr).
pub(super) fn aidant(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aidant"))
        .args(args)
        .env_remove("AIDANT_DB")
        .env_remove("AIDANT_AUDIT_KEY_FILE")
        .env_remove("AIDANT_ADMIN_PASSWORD")
        .output()
        .expect("run aidant");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(super) fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `aidant audit anchor --db PATH`: the one-line anchor, and its JSON form.
pub(super) fn anchor_bin(path: &Path) -> (String, Value) {
    let (ok, out, err) = aidant(&["audit", "anchor", "--db", s(path)]);
    assert!(ok, "{out}{err}");
    let mut lines = out.lines();
    let line = lines.next().expect("anchor line").to_owned();
    let json = serde_json::from_str(lines.next().expect("JSON line")).expect("JSON anchor");
    (line, json)
}

/// `aidant audit verify --db PATH ARGS…`: (success, stdout JSON, stderr).
pub(super) fn verify_bin_with(path: &Path, args: &[&str]) -> (bool, Value, String) {
    let mut all = vec!["audit", "verify", "--db", s(path)];
    all.extend(args);
    let (ok, out, err) = aidant(&all);
    let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (ok, json, err)
}

pub(super) fn verify_anchored(path: &Path, anchor: &audit::Anchor) -> Verdict {
    let db = server::db::Db::open(path).expect("open");
    db.read_blocking(|c| audit::verify_with(c, Some(anchor)))
        .expect("verify")
}

/// The library's verdict without opening for writing (which would refuse a
/// database whose marker is gone or whose key does not match).
pub(super) fn verify_only(path: &Path, key: &Path) -> Verdict {
    let db = server::db::Db::open_to_verify(path, key).expect("open to verify");
    db.read_blocking(audit::verify).expect("verify")
}

/// Appends `n` rows through the library (keyed, like the server).
pub(super) fn append_rows(db: &server::db::Db, n: usize, what: &str) {
    for i in 0..n {
        db.write_blocking(|tx| {
            audit::append(
                tx,
                &server::now_rfc3339(),
                &audit::Entry {
                    actor: "user:00000000-0000-4000-8000-000000000001",
                    action: "visit.read",
                    subject: &format!("visit:{what}-{i}"),
                    reason: "safeguarding follow-up",
                    detail: "{}",
                },
            )
        })
        .expect("append");
    }
}

/// A database in `dir` whose trail has `n` rows, and a single-file snapshot
/// of it (`pristine.sqlite3`) to copy and tamper with.
pub(super) fn trail(dir: &Path, n: usize) -> PathBuf {
    let live = dir.join("aidant.sqlite3");
    let db = server::db::Db::open(&live).expect("open");
    append_rows(&db, n, "early");
    drop(db);
    snapshot(&live, &dir.join("pristine.sqlite3"))
}

pub(super) fn snapshot(live: &Path, to: &Path) -> PathBuf {
    rusqlite::Connection::open(live)
        .unwrap()
        .execute("VACUUM INTO ?1", [s(to)])
        .expect("snapshot");
    to.to_owned()
}

/// SHA-256 over the length-prefixed fields: the unkeyed hash the server wrote
/// before the chain was keyed (and all an attacker without the key can do).
pub(super) fn plain_hash(prev: &str, seq: i64, fields: &[String; 6]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let seq = seq.to_string();
    for part in [prev, &seq]
        .into_iter()
        .chain(fields.iter().map(String::as_str))
    {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Rewrites rows `from..=to` as the unkeyed code would: each hash recomputed
/// with plain SHA-256 and chained; `audit_head` moved when the last row is.
pub(super) fn rechain_plain(c: &rusqlite::Connection, from: i64, to: i64) {
    let mut prev: String = if from == 1 {
        audit::GENESIS.to_owned()
    } else {
        c.query_row("SELECT hash FROM audit WHERE seq = ?1", [from - 1], |r| {
            r.get(0)
        })
        .unwrap()
    };
    for seq in from..=to {
        let fields: [String; 6] = c
            .query_row(
                "SELECT at, actor, action, subject, reason, detail FROM audit WHERE seq = ?1",
                [seq],
                |r| {
                    Ok([
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ])
                },
            )
            .unwrap();
        let h = plain_hash(&prev, seq, &fields);
        c.execute(
            "UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, h, seq],
        )
        .unwrap();
        prev = h;
    }
    if to == last_seq(c) {
        c.execute(
            "UPDATE audit_head SET seq = ?1, hash = ?2",
            rusqlite::params![to, prev],
        )
        .unwrap();
    }
}

pub(super) fn marker(c: &rusqlite::Connection) -> Option<String> {
    use rusqlite::OptionalExtension;
    c.query_row(
        "SELECT value FROM meta WHERE key = 'audit_keyed_from'",
        [],
        |r| r.get(0),
    )
    .optional()
    .unwrap()
}

/// Appends a row as the server would, keyed with `key` (the right one, or
/// one an attacker guessed), behind the server's back.
pub(super) fn forge_row(c: &rusqlite::Connection, key: &audit::AuditKey) {
    audit::append(
        &server::db::Sql::lite(c, Some(key)),
        &server::now_rfc3339(),
        &audit::Entry {
            actor: "system",
            action: "forged",
            subject: "-",
            reason: "",
            detail: "{}",
        },
    )
    .unwrap();
}
